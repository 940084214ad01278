// Tlb: set-associative, PCID-tagged translation cache with LRU, FIFO or random replacement.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "ossim/mmu/tlb.hpp"
#include "ossim/sim/random.hpp"

using namespace ossim;
using namespace ossim::mmu;

namespace {

constexpr std::uint64_t k2M = page_bytes(PageSize::k2M);
constexpr std::uint64_t k1G = page_bytes(PageSize::k1G);

// A TLB entry for the page holding `va`; its frame is derived from the page so that every
// page gets a distinct, recognisable one.
TlbEntry make_entry(VirtAddr va, std::uint16_t pcid = 0, std::uint8_t flags = 0,
                    PageSize size = PageSize::k4K) {
  TlbEntry entry;
  entry.shift = static_cast<std::uint8_t>(page_shift(size));
  entry.tag = va >> entry.shift;
  entry.page_base = 0x10'0000'0000ULL + (entry.tag << entry.shift);
  entry.pcid = pcid;
  entry.flags = flags;
  return entry;
}

Tlb make_tlb(unsigned entries, unsigned ways, TlbReplacement policy = TlbReplacement::kLru,
             std::uint64_t seed = 7) {
  return Tlb(TlbConfig{"test-tlb", entries, ways, policy}, sim::RandomStream(seed, "tlb"));
}

bool hits(Tlb& tlb, VirtAddr va, std::uint16_t pcid = 0) { return tlb.lookup(va, pcid) != nullptr; }

// Virtual page numbers in a one-set TLB all compete; these are 4K page addresses.
VirtAddr page(unsigned n) { return VirtAddr{n} << 12; }

}  // namespace

TEST_CASE("a lookup misses before an insert and hits after it, and both are counted") {
  Tlb tlb = make_tlb(64, 4);
  CHECK(tlb.sets() == 16);
  CHECK(tlb.occupancy() == 0);
  CHECK(tlb.lookup(0x5123, 0) == nullptr);
  CHECK(tlb.stats().misses == 1);
  CHECK(tlb.stats().hits == 0);

  tlb.insert(make_entry(0x5000));
  CHECK(tlb.stats().fills == 1);
  CHECK(tlb.occupancy() == 1);
  const TlbEntry* entry = tlb.lookup(0x5123, 0);
  REQUIRE(entry != nullptr);
  CHECK(entry->page_base == 0x10'0000'5000ULL);
  CHECK(entry->size() == PageSize::k4K);
  CHECK(tlb.stats().hits == 1);
  CHECK_FALSE(hits(tlb, 0x6000));  // the next page
  CHECK(tlb.stats().misses == 2);

  tlb.reset_stats();
  CHECK(tlb.stats().hits == 0);
  CHECK(tlb.stats().misses == 0);
  CHECK(hits(tlb, 0x5FFF));  // reset_stats keeps entries
}

TEST_CASE("a refill of the same page and PCID replaces its entry instead of taking a way") {
  Tlb tlb = make_tlb(4, 4);
  tlb.insert(make_entry(page(1)));
  TlbEntry updated = make_entry(page(1), 0, TlbEntry::kDirty);
  updated.page_base = 0xABC000;
  tlb.insert(updated);
  CHECK(tlb.occupancy() == 1);
  CHECK(tlb.stats().evictions == 0);
  const TlbEntry* entry = tlb.lookup(page(1), 0);
  REQUIRE(entry != nullptr);
  CHECK(entry->page_base == 0xABC000);
  CHECK(entry->has(TlbEntry::kDirty));
}

TEST_CASE("LRU replacement evicts the least recently used way of a full set") {
  Tlb tlb = make_tlb(4, 4, TlbReplacement::kLru);  // one set
  REQUIRE(tlb.sets() == 1);
  for (unsigned n = 1; n <= 4; ++n) tlb.insert(make_entry(page(n)));
  CHECK(tlb.stats().evictions == 0);
  // Use pages 1, 2 and 4: page 3 becomes the least recently used although 1 was filled first.
  REQUIRE(hits(tlb, page(1)));
  REQUIRE(hits(tlb, page(2)));
  REQUIRE(hits(tlb, page(4)));
  tlb.insert(make_entry(page(5)));
  CHECK(tlb.stats().evictions == 1);
  CHECK(tlb.occupancy() == 4);
  CHECK_FALSE(hits(tlb, page(3)));
  CHECK(hits(tlb, page(1)));
  CHECK(hits(tlb, page(2)));
  CHECK(hits(tlb, page(4)));
  CHECK(hits(tlb, page(5)));
  // Now 1, 2, 4, 5 were used in that order: the next fill evicts 1.
  tlb.insert(make_entry(page(6)));
  CHECK_FALSE(hits(tlb, page(1)));
  CHECK(hits(tlb, page(2)));
}

TEST_CASE("FIFO replacement evicts the oldest fill even if it was just used") {
  Tlb tlb = make_tlb(4, 4, TlbReplacement::kFifo);
  for (unsigned n = 1; n <= 4; ++n) tlb.insert(make_entry(page(n)));
  for (int i = 0; i < 3; ++i) REQUIRE(hits(tlb, page(1)));
  tlb.insert(make_entry(page(5)));
  CHECK(tlb.stats().evictions == 1);
  CHECK_FALSE(hits(tlb, page(1)));
  CHECK(hits(tlb, page(2)));
  tlb.insert(make_entry(page(6)));
  CHECK_FALSE(hits(tlb, page(2)));
  CHECK(hits(tlb, page(3)));
  CHECK(hits(tlb, page(4)));
  CHECK(hits(tlb, page(5)));
  CHECK(hits(tlb, page(6)));
}

TEST_CASE("only pages that map to the same set compete for its ways") {
  Tlb tlb = make_tlb(16, 4);  // 4 sets: set = virtual page number mod 4
  REQUIRE(tlb.sets() == 4);
  tlb.insert(make_entry(page(1)));  // set 1
  for (unsigned n = 0; n <= 16; n += 4) tlb.insert(make_entry(page(n)));  // five pages in set 0
  CHECK(tlb.stats().evictions == 1);
  CHECK(tlb.occupancy() == 5);
  CHECK_FALSE(hits(tlb, page(0)));  // the LRU of set 0
  CHECK(hits(tlb, page(1)));
  for (unsigned way = 0; way < 4; ++way) {
    const TlbEntry& entry = tlb.entry_at(0, way);
    REQUIRE(entry.valid());
    CHECK(entry.tag % 4 == 0);
    CHECK(entry.tag != 0);
  }
}

TEST_CASE("random replacement is deterministic for a fixed seed and counts evictions") {
  Tlb a = make_tlb(8, 8, TlbReplacement::kRandom, 99);
  Tlb b = make_tlb(8, 8, TlbReplacement::kRandom, 99);
  for (unsigned n = 1; n <= 100; ++n) {
    a.insert(make_entry(page(n)));
    b.insert(make_entry(page(n)));
    if (n % 3 == 0) {
      REQUIRE(hits(a, page(n)) == hits(b, page(n)));
    }
  }
  CHECK(a.stats().fills == 100);
  CHECK(a.stats().evictions == 92);
  CHECK(a.occupancy() == 8);
  std::vector<std::uint64_t> survivors;
  for (unsigned way = 0; way < 8; ++way) {
    CHECK(a.entry_at(0, way).tag == b.entry_at(0, way).tag);
    survivors.push_back(a.entry_at(0, way).tag);
  }
  // Random replacement is not FIFO in disguise: some survivor is older than the last 8 fills.
  CHECK(*std::min_element(survivors.begin(), survivors.end()) < 93);
}

TEST_CASE("an entry filled under PCID 1 does not hit under PCID 2, a global one hits under any") {
  Tlb tlb = make_tlb(64, 4);
  tlb.insert(make_entry(0x1000, 1));
  tlb.insert(make_entry(0x2000, 1, TlbEntry::kGlobal));
  CHECK(hits(tlb, 0x1000, 1));
  CHECK_FALSE(hits(tlb, 0x1000, 2));
  CHECK_FALSE(hits(tlb, 0x1000, 0));
  CHECK(hits(tlb, 0x2000, 1));
  CHECK(hits(tlb, 0x2000, 2));
  CHECK(hits(tlb, 0x2000, 4095));

  // The same page under two PCIDs is two entries with their own frames.
  TlbEntry other = make_entry(0x1000, 2);
  other.page_base = 0x77000;
  tlb.insert(other);
  CHECK(tlb.occupancy() == 3);
  CHECK(tlb.lookup(0x1000, 1)->page_base == 0x10'0000'1000ULL);
  CHECK(tlb.lookup(0x1000, 2)->page_base == 0x77000);
}

TEST_CASE("invalidate_page removes the page for one PCID, and global entries only if asked") {
  Tlb tlb = make_tlb(64, 4);
  tlb.insert(make_entry(0x1000, 1));
  tlb.insert(make_entry(0x1000, 2));
  tlb.insert(make_entry(0x3000, 1));
  tlb.insert(make_entry(0x5000, 1, TlbEntry::kGlobal));

  tlb.invalidate_page(0x1234, 1);
  CHECK_FALSE(hits(tlb, 0x1000, 1));
  CHECK(hits(tlb, 0x1000, 2));
  CHECK(hits(tlb, 0x3000, 1));
  CHECK(tlb.stats().invalidations == 1);

  tlb.invalidate_page(0x5000, 2, false);  // INVPCID individual-address: globals kept
  CHECK(hits(tlb, 0x5000, 2));
  tlb.invalidate_page(0x5000, 2, true);  // invlpg: the global goes, whatever the PCID
  CHECK_FALSE(hits(tlb, 0x5000, 1));
  CHECK(tlb.stats().invalidations == 2);
  CHECK(tlb.occupancy() == 2);
}

TEST_CASE("invlpg removes both entries that serve a page under a PCID: its own and a global one") {
  Tlb tlb = make_tlb(64, 4);
  tlb.insert(make_entry(0x7000, 3));
  tlb.insert(make_entry(0x7000, 2));
  // A global entry filled under PCID 1 replaces neither: neither serves PCID 1.
  tlb.insert(make_entry(0x7000, 1, TlbEntry::kGlobal));
  REQUIRE(tlb.occupancy() == 3);
  tlb.invalidate_page(0x7000, 2);
  CHECK(tlb.occupancy() == 1);
  CHECK_FALSE(hits(tlb, 0x7000, 2));
  CHECK_FALSE(hits(tlb, 0x7000, 1));
  CHECK(hits(tlb, 0x7000, 3));
  CHECK(tlb.stats().invalidations == 2);
}

TEST_CASE("invalidate_page of any address in a large page removes that page's entry") {
  Tlb tlb = make_tlb(64, 4);
  tlb.insert(make_entry(4 * k2M, 0, 0, PageSize::k2M));
  tlb.insert(make_entry(2 * k1G, 0, 0, PageSize::k1G));
  tlb.invalidate_page(4 * k2M + 0x1F'F000, 0);
  CHECK_FALSE(hits(tlb, 4 * k2M));
  tlb.invalidate_page(2 * k1G + 0x1234'5678, 0);
  CHECK_FALSE(hits(tlb, 2 * k1G));
  CHECK(tlb.occupancy() == 0);
}

TEST_CASE("flush_pcid removes that PCID's non-global entries and keeps the rest") {
  Tlb tlb = make_tlb(64, 4);
  tlb.insert(make_entry(0x1000, 1));
  tlb.insert(make_entry(0x2000, 1));
  tlb.insert(make_entry(0x3000, 1, TlbEntry::kGlobal));
  tlb.insert(make_entry(0x1000, 2));
  tlb.flush_pcid(1);
  CHECK(tlb.stats().flushes == 1);
  CHECK(tlb.stats().invalidations == 2);
  CHECK_FALSE(hits(tlb, 0x1000, 1));
  CHECK_FALSE(hits(tlb, 0x2000, 1));
  CHECK(hits(tlb, 0x3000, 1));
  CHECK(hits(tlb, 0x1000, 2));
  CHECK(tlb.occupancy() == 2);
}

TEST_CASE("flush(false) keeps only global entries and flush(true) empties the TLB") {
  Tlb tlb = make_tlb(64, 4);
  tlb.insert(make_entry(0x1000, 0));
  tlb.insert(make_entry(0x2000, 3));
  tlb.insert(make_entry(0x3000, 0, TlbEntry::kGlobal));
  tlb.insert(make_entry(k2M, 0, TlbEntry::kGlobal, PageSize::k2M));
  tlb.flush(false);
  CHECK(tlb.occupancy() == 2);
  CHECK_FALSE(hits(tlb, 0x1000, 0));
  CHECK_FALSE(hits(tlb, 0x2000, 3));
  CHECK(hits(tlb, 0x3000, 0));
  CHECK(hits(tlb, k2M + 0x1000, 0));
  tlb.flush(true);
  CHECK(tlb.occupancy() == 0);
  CHECK_FALSE(hits(tlb, 0x3000, 0));
  CHECK_FALSE(hits(tlb, k2M, 0));
  CHECK(tlb.stats().flushes == 2);
  CHECK(tlb.stats().invalidations == 4);
}

TEST_CASE("a large-page entry hits for every address in its page and none outside") {
  Tlb tlb = make_tlb(64, 4);
  tlb.insert(make_entry(6 * k2M, 0, 0, PageSize::k2M));
  tlb.insert(make_entry(3 * k1G, 0, 0, PageSize::k1G));
  for (VirtAddr offset : {VirtAddr{0}, VirtAddr{0x1000}, VirtAddr{0x12345}, k2M - 1}) {
    const TlbEntry* entry = tlb.lookup(6 * k2M + offset, 0);
    REQUIRE(entry != nullptr);
    CHECK(entry->size() == PageSize::k2M);
  }
  CHECK_FALSE(hits(tlb, 6 * k2M - 1));
  CHECK_FALSE(hits(tlb, 7 * k2M));
  CHECK(hits(tlb, 3 * k1G + k1G - 1));
  CHECK(tlb.lookup(3 * k1G + 0x1234'5678, 0)->size() == PageSize::k1G);
  CHECK_FALSE(hits(tlb, 4 * k1G));
  // A 4K entry inside a large page is found as well.
  tlb.insert(make_entry(6 * k2M + 0x3000));
  CHECK(tlb.lookup(6 * k2M + 0x3000, 0)->size() == PageSize::k4K);
  CHECK(tlb.lookup(6 * k2M + 0x4000, 0)->size() == PageSize::k2M);
}

TEST_CASE("a geometry that cannot be built throws std::invalid_argument") {
  CHECK_THROWS_AS(make_tlb(64, 0), std::invalid_argument);
  CHECK_THROWS_AS(make_tlb(0, 4), std::invalid_argument);
  CHECK_THROWS_AS(make_tlb(48, 4), std::invalid_argument);  // 12 sets
  CHECK_THROWS_AS(make_tlb(10, 4), std::invalid_argument);  // not a multiple
  CHECK_NOTHROW(make_tlb(1, 1));
  CHECK_NOTHROW(make_tlb(12, 12));  // one fully associative set
  CHECK(make_tlb(1536, 12).sets() == 128);
}

TEST_CASE("hits count from zero again after reset_stats while fills go on") {
  Tlb tlb = make_tlb(64, 4);
  tlb.insert(make_entry(page(1)));
  for (int i = 0; i < 3; ++i) REQUIRE(hits(tlb, page(1)));
  CHECK(tlb.stats().hits == 3);
  tlb.reset_stats();
  CHECK(tlb.stats().hits == 0);
  tlb.insert(make_entry(page(2)));
  REQUIRE(hits(tlb, page(2)));
  REQUIRE(hits(tlb, page(1)));
  CHECK_FALSE(hits(tlb, page(3)));
  CHECK(tlb.stats().hits == 2);
  CHECK(tlb.stats().fills == 1);
  CHECK(tlb.stats().misses == 1);
}

TEST_CASE("LRU evicts the least recently used way wherever it sits, in a set of odd size") {
  constexpr unsigned kWays = 7;
  for (unsigned victim = 0; victim < kWays; ++victim) {
    Tlb tlb = make_tlb(kWays, kWays, TlbReplacement::kLru);
    for (unsigned n = 0; n < kWays; ++n) tlb.insert(make_entry(page(n)));  // page n in way n
    REQUIRE(hits(tlb, page(victim)));  // the victim is used first, then every other way
    for (unsigned n = 0; n < kWays; ++n) {
      if (n != victim) REQUIRE(hits(tlb, page(n)));
    }
    tlb.insert(make_entry(page(100)));
    CHECK(tlb.entry_at(0, victim).tag == page(100) >> 12);
    CHECK(tlb.stats().evictions == 1);
  }
}

TEST_CASE("a fill goes to the first empty way before evicting anything") {
  Tlb tlb = make_tlb(5, 5, TlbReplacement::kLru);
  for (unsigned n = 0; n < 5; ++n) tlb.insert(make_entry(page(n)));
  tlb.invalidate_page(page(3), 0);
  tlb.invalidate_page(page(1), 0);
  tlb.insert(make_entry(page(10)));
  CHECK(tlb.entry_at(0, 1).tag == page(10) >> 12);
  tlb.insert(make_entry(page(11)));
  CHECK(tlb.entry_at(0, 3).tag == page(11) >> 12);
  CHECK(tlb.stats().evictions == 0);
}

TEST_CASE("insert_absent after a miss fills the same way as insert, under every policy") {
  for (TlbReplacement policy : {TlbReplacement::kLru, TlbReplacement::kFifo, TlbReplacement::kRandom}) {
    Tlb plain = make_tlb(32, 8, policy, 3);
    Tlb absent = make_tlb(32, 8, policy, 3);
    sim::RandomStream pick(11, "pages");
    for (int i = 0; i < 5'000; ++i) {
      const VirtAddr va = page(static_cast<unsigned>(pick.uniform_below(200)));
      const std::uint16_t pcid = static_cast<std::uint16_t>(pick.uniform_below(2));
      const bool hit_plain = plain.lookup(va, pcid) != nullptr;
      REQUIRE(hit_plain == (absent.lookup(va, pcid) != nullptr));
      if (!hit_plain) {
        plain.insert(make_entry(va, pcid));
        absent.insert_absent(make_entry(va, pcid));
      }
      if (pick.uniform_below(50) == 0) {
        plain.invalidate_page(va, pcid);
        absent.invalidate_page(va, pcid);
      }
    }
    for (unsigned set = 0; set < plain.sets(); ++set) {
      for (unsigned way = 0; way < 8; ++way) {
        CHECK(plain.entry_at(set, way).valid() == absent.entry_at(set, way).valid());
        CHECK(plain.entry_at(set, way).tag == absent.entry_at(set, way).tag);
        CHECK(plain.entry_at(set, way).pcid == absent.entry_at(set, way).pcid);
      }
    }
    CHECK(plain.stats().evictions == absent.stats().evictions);
    CHECK(plain.stats().hits == absent.stats().hits);
  }
}

TEST_CASE("an entry gives the host address of any byte of its page, or nullptr without RAM") {
  Tlb tlb = make_tlb(64, 4);
  std::vector<std::byte> backing(2 * k2M);
  TlbEntry small = make_entry(0x7000);
  small.host = backing.data();
  tlb.insert(small);
  TlbEntry large = make_entry(0x4000'0000, 0, 0, PageSize::k2M);
  large.host = backing.data() + 16;
  tlb.insert(large);
  tlb.insert(make_entry(0x9000));  // no host memory behind it
  const TlbEntry* hit_small = tlb.lookup(0x7ABC, 0);
  const TlbEntry* hit_large = tlb.lookup(0x4012'3456, 0);
  const TlbEntry* hit_none = tlb.lookup(0x9010, 0);
  REQUIRE(hit_small != nullptr);
  REQUIRE(hit_large != nullptr);
  REQUIRE(hit_none != nullptr);
  CHECK(hit_small->host_address(0x7ABC) == backing.data() + 0xABC);
  CHECK(hit_large->host_address(0x4012'3456) == backing.data() + 16 + 0x12'3456);
  CHECK(hit_none->host_address(0x9010) == nullptr);
}

TEST_CASE("flushing a PCID removes exactly its non-global entries, whatever fills and evictions came before") {
  // Model check: the TLB against a plain scan of its own ways (entry_at), after a random
  // mix of fills under 6 PCIDs, global fills, single-page invalidations and PCID flushes.
  Tlb tlb = make_tlb(64, 4);
  sim::RandomStream random(11, "pcid-lists");
  for (int step = 0; step < 5000; ++step) {
    const auto pcid = static_cast<std::uint16_t>(random.uniform_below(6));
    const VirtAddr va = random.uniform_below(256) << 12;
    const std::uint64_t action = random.uniform_below(10);
    if (action < 7) {
      tlb.insert(make_entry(va, pcid, random.uniform_below(20) == 0 ? TlbEntry::kGlobal : 0));
    } else if (action < 8) {
      tlb.invalidate_page(va, pcid);
    } else {
      tlb.flush_pcid(pcid);
      for (unsigned set = 0; set < tlb.sets(); ++set) {
        for (unsigned way = 0; way < 4; ++way) {
          const TlbEntry& e = tlb.entry_at(set, way);
          INFO("step " << step << " set " << set << " way " << way);
          CHECK_FALSE((e.valid() && e.pcid == pcid && !e.has(TlbEntry::kGlobal)));
        }
      }
    }
  }
  // Every remaining valid entry is still found by a lookup under its PCID.
  for (unsigned set = 0; set < tlb.sets(); ++set) {
    for (unsigned way = 0; way < 4; ++way) {
      const TlbEntry& e = tlb.entry_at(set, way);
      if (e.valid()) CHECK(hits(tlb, e.tag << e.shift, e.pcid));
    }
  }
}
