// PageWalker: the hardware walk, its permission checks, A/D updates and #PF error codes.

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>

#include "ossim/mmu/frame_allocator.hpp"
#include "ossim/mmu/page_table.hpp"
#include "ossim/mmu/page_walker.hpp"
#include "ossim/mmu/physical_memory.hpp"
#include "ossim/mmu/pte.hpp"

using namespace ossim;
using namespace ossim::mmu;
using fault::kInstruction;
using fault::kProtection;
using fault::kReservedBit;
using fault::kUser;
using fault::kWrite;

namespace {

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
constexpr std::uint64_t k2M = page_bytes(PageSize::k2M);
constexpr std::uint64_t k1G = page_bytes(PageSize::k1G);
constexpr AccessType kRead = AccessType::kRead;
constexpr AccessType kWriteAccess = AccessType::kWrite;
constexpr AccessType kFetch = AccessType::kExecute;
constexpr bool kUserMode = true;
constexpr bool kSupervisor = false;

// The entry at `level` (4 = PML4E ... 1 = PTE) on the path to `va`, found by hand.
PhysAddr entry_address(const PhysicalMemory& memory, PhysAddr root, VirtAddr va, unsigned level) {
  PhysAddr table = root;
  for (unsigned l = 4; l > level; --l) {
    table = pte::address(memory.read<pte::Entry>(table + ((va >> (12 + 9 * (l - 1))) & 511) * 8));
  }
  return table + ((va >> (12 + 9 * (level - 1))) & 511) * 8;
}

struct Space {
  PhysicalMemory memory{16 * kMiB};
  FrameAllocator frames{memory, 1};
  PageTable table{memory, frames};
  PageWalker walker{memory};
  PagingMode mode;

  WalkResult walk(VirtAddr va, AccessType type, bool user) {
    return walker.walk(table.root(), va, type, user, mode);
  }
  pte::Entry entry(VirtAddr va, unsigned level) const {
    return memory.read<pte::Entry>(entry_address(memory, table.root(), va, level));
  }
  void set_bits(VirtAddr va, unsigned level, pte::Entry set, pte::Entry clear = 0) {
    const PhysAddr at = entry_address(memory, table.root(), va, level);
    memory.write(at, (memory.read<pte::Entry>(at) | set) & ~clear);
  }
  // A fault's error code, requiring that the walk failed.
  std::uint32_t fault_code(VirtAddr va, AccessType type, bool user) {
    const WalkResult result = walk(va, type, user);
    REQUIRE_FALSE(result.ok);
    return result.error_code;
  }
};

constexpr pte::Entry kUserRw = pte::kUser | pte::kWritable;

}  // namespace

TEST_CASE("a walk reads 4 entries for a 4K page, 3 for a 2M page and 2 for a 1G page") {
  Space s;
  REQUIRE(s.table.map(0x1000, 0x0ABC'D000, PageSize::k4K, 0));
  REQUIRE(s.table.map(k2M, 0x0C00'0000, PageSize::k2M, 0));
  REQUIRE(s.table.map(k1G, 5 * k1G, PageSize::k1G, 0));

  const WalkResult small = s.walk(0x1234, kRead, kSupervisor);
  REQUIRE(small.ok);
  CHECK(small.entries_read == 4);
  CHECK(small.page_base == 0x0ABC'D000);
  CHECK(small.page_size == PageSize::k4K);

  const WalkResult medium = s.walk(k2M + 0x1'2345, kRead, kSupervisor);
  REQUIRE(medium.ok);
  CHECK(medium.entries_read == 3);
  CHECK(medium.page_base == 0x0C00'0000);
  CHECK(medium.page_size == PageSize::k2M);

  const WalkResult large = s.walk(k1G + 0x2345'6789, kRead, kSupervisor);
  REQUIRE(large.ok);
  CHECK(large.entries_read == 2);
  CHECK(large.page_base == 5 * k1G);
  CHECK(large.page_size == PageSize::k1G);
}

TEST_CASE("a 5-level walk reads 5 entries") {
  Space s;
  PageTable table(s.memory, s.frames, 5);
  REQUIRE(table.map(0x0001'0000'0000'0000ULL, 0x7000, PageSize::k4K, 0));
  PagingMode mode;
  mode.five_level = true;
  const WalkResult result = s.walker.walk(table.root(), 0x0001'0000'0000'0010ULL, kRead, false, mode);
  REQUIRE(result.ok);
  CHECK(result.entries_read == 5);
  CHECK(result.page_base == 0x7000);
}

TEST_CASE("the walker ignores the PCID and flag bits of the CR3 value") {
  Space s;
  REQUIRE(s.table.map(0x1000, 0x3000, PageSize::k4K, 0));
  const std::uint64_t cr3 = s.table.root() | 0x7FF | (std::uint64_t{1} << 63);
  const WalkResult result = s.walker.walk(cr3, 0x1000, kRead, false, s.mode);
  REQUIRE(result.ok);
  CHECK(result.page_base == 0x3000);
}

TEST_CASE("a successful read sets A at every level, and a write also sets D on the leaf only") {
  Space s;
  REQUIRE(s.table.map(0x40'1000, 0x5000, PageSize::k4K, pte::kWritable));
  for (unsigned level = 4; level >= 1; --level) {
    REQUIRE((s.entry(0x40'1000, level) & (pte::kAccessed | pte::kDirty)) == 0);
  }

  const WalkResult read = s.walk(0x40'1000, kRead, kSupervisor);
  REQUIRE(read.ok);
  CHECK_FALSE(read.dirty);
  for (unsigned level = 4; level >= 1; --level) {
    CHECK((s.entry(0x40'1000, level) & pte::kAccessed) != 0);
    CHECK((s.entry(0x40'1000, level) & pte::kDirty) == 0);
  }

  const WalkResult write = s.walk(0x40'1000, kWriteAccess, kSupervisor);
  REQUIRE(write.ok);
  CHECK(write.dirty);
  CHECK((s.entry(0x40'1000, 1) & pte::kDirty) != 0);
  for (unsigned level = 4; level >= 2; --level) CHECK((s.entry(0x40'1000, level) & pte::kDirty) == 0);

  // A later read reports the page as dirty.
  CHECK(s.walk(0x40'1000, kRead, kSupervisor).dirty);
}

TEST_CASE("a write to a 2M page sets D in the PDE, A in the upper entries") {
  Space s;
  REQUIRE(s.table.map(k2M, 0x60'0000, PageSize::k2M, pte::kWritable));
  REQUIRE(s.walk(k2M + 8, kWriteAccess, kSupervisor).ok);
  CHECK((s.entry(k2M, 2) & (pte::kAccessed | pte::kDirty)) == (pte::kAccessed | pte::kDirty));
  CHECK((s.entry(k2M, 3) & (pte::kAccessed | pte::kDirty)) == pte::kAccessed);
  CHECK((s.entry(k2M, 4) & (pte::kAccessed | pte::kDirty)) == pte::kAccessed);
}

TEST_CASE("a faulting access sets no A or D bit at any level") {
  Space s;
  REQUIRE(s.table.map(0x1000, 0x5000, PageSize::k4K, 0));  // read-only, supervisor
  REQUIRE(s.table.map(0x3000, 0x6000, PageSize::k4K, 0));
  REQUIRE(s.table.unmap(0x3000));  // leaves the PT, with a non-present PTE

  std::array<pte::Entry, 4> before{};
  for (unsigned level = 4; level >= 1; --level) before[level - 1] = s.entry(0x1000, level);
  CHECK(s.fault_code(0x1000, kWriteAccess, kSupervisor) == (kProtection | kWrite));
  CHECK(s.fault_code(0x1000, kRead, kUserMode) == (kProtection | kUser));
  CHECK(s.fault_code(0x3000, kRead, kSupervisor) == 0);  // not present at the PTE
  for (unsigned level = 4; level >= 1; --level) CHECK(s.entry(0x1000, level) == before[level - 1]);
}

TEST_CASE("a not-present fault has P clear and the W, U and I bits of the access") {
  Space s;
  REQUIRE(s.table.map(0x1000, 0x5000, PageSize::k4K, kUserRw));
  const VirtAddr missing_pte = 0x2000;              // PT exists, PTE empty
  const VirtAddr missing_pml4e = 0x7000'0000'0000;  // nothing at all

  CHECK(s.fault_code(missing_pte, kRead, kSupervisor) == 0);
  CHECK(s.fault_code(missing_pte, kWriteAccess, kSupervisor) == kWrite);
  CHECK(s.fault_code(missing_pte, kRead, kUserMode) == kUser);
  CHECK(s.fault_code(missing_pte, kWriteAccess, kUserMode) == (kWrite | kUser));
  CHECK(s.fault_code(missing_pte, kFetch, kSupervisor) == kInstruction);
  CHECK(s.fault_code(missing_pte, kFetch, kUserMode) == (kInstruction | kUser));
  CHECK(s.fault_code(missing_pml4e, kWriteAccess, kUserMode) == (kWrite | kUser));

  CHECK(s.walk(missing_pte, kRead, kSupervisor).entries_read == 4);
  CHECK(s.walk(missing_pml4e, kRead, kSupervisor).entries_read == 1);
}

TEST_CASE("a write to a read-only page faults with P|W, plus U in user mode") {
  Space s;
  REQUIRE(s.table.map(0x1000, 0x5000, PageSize::k4K, pte::kUser));
  CHECK(s.fault_code(0x1000, kWriteAccess, kSupervisor) == (kProtection | kWrite));
  CHECK(s.fault_code(0x1000, kWriteAccess, kUserMode) == (kProtection | kWrite | kUser));
  CHECK(s.walk(0x1000, kRead, kUserMode).ok);
  CHECK(s.walk(0x1000, kRead, kSupervisor).ok);
}

TEST_CASE("a supervisor write to a read-only page faults with WP=1 and succeeds with WP=0") {
  Space s;
  REQUIRE(s.table.map(0x1000, 0x5000, PageSize::k4K, pte::kUser));
  s.mode.write_protect = true;
  CHECK(s.fault_code(0x1000, kWriteAccess, kSupervisor) == (kProtection | kWrite));
  s.mode.write_protect = false;
  const WalkResult result = s.walk(0x1000, kWriteAccess, kSupervisor);
  CHECK(result.ok);
  CHECK((s.entry(0x1000, 1) & pte::kDirty) != 0);
  // WP never lets user mode write.
  CHECK(s.fault_code(0x1000, kWriteAccess, kUserMode) == (kProtection | kWrite | kUser));
}

TEST_CASE("a user-mode access to a supervisor page faults with P|U") {
  Space s;
  REQUIRE(s.table.map(0x1000, 0x5000, PageSize::k4K, pte::kWritable));
  CHECK(s.fault_code(0x1000, kRead, kUserMode) == (kProtection | kUser));
  CHECK(s.fault_code(0x1000, kWriteAccess, kUserMode) == (kProtection | kWrite | kUser));
  CHECK(s.fault_code(0x1000, kFetch, kUserMode) == (kProtection | kUser | kInstruction));
  CHECK(s.walk(0x1000, kWriteAccess, kSupervisor).ok);
}

TEST_CASE("a fetch from a no-execute page faults with P|I, and reads are unaffected") {
  Space s;
  REQUIRE(s.table.map(0x1000, 0x5000, PageSize::k4K, kUserRw | pte::kNoExecute));
  REQUIRE(s.table.map(0x2000, 0x6000, PageSize::k4K, kUserRw));
  CHECK(s.fault_code(0x1000, kFetch, kSupervisor) == (kProtection | kInstruction));
  CHECK(s.fault_code(0x1000, kFetch, kUserMode) == (kProtection | kUser | kInstruction));
  CHECK(s.walk(0x1000, kRead, kUserMode).ok);
  CHECK(s.walk(0x1000, kWriteAccess, kUserMode).ok);
  CHECK(s.walk(0x2000, kFetch, kUserMode).ok);
}

TEST_CASE("with SMEP a supervisor fetch from a user page faults with P|I") {
  Space s;
  REQUIRE(s.table.map(0x1000, 0x5000, PageSize::k4K, pte::kUser));
  REQUIRE(s.table.map(0x2000, 0x6000, PageSize::k4K, 0));
  s.mode.smep = false;
  CHECK(s.walk(0x1000, kFetch, kSupervisor).ok);
  s.mode.smep = true;
  CHECK(s.fault_code(0x1000, kFetch, kSupervisor) == (kProtection | kInstruction));
  CHECK(s.walk(0x1000, kRead, kSupervisor).ok);    // SMEP is about fetches only
  CHECK(s.walk(0x1000, kFetch, kUserMode).ok);     // and about supervisor mode only
  CHECK(s.walk(0x2000, kFetch, kSupervisor).ok);   // supervisor pages are fine
  // A page is a user page only if US is set at every level.
  s.set_bits(0x1000, 3, 0, pte::kUser);
  CHECK(s.walk(0x1000, kFetch, kSupervisor).ok);
}

TEST_CASE("PS set in a PML4E is a reserved-bit fault with RSVD|P") {
  Space s;
  REQUIRE(s.table.map(0x1000, 0x5000, PageSize::k4K, kUserRw));
  s.set_bits(0x1000, 4, pte::kPageSize);
  const WalkResult result = s.walk(0x1000, kRead, kSupervisor);
  REQUIRE_FALSE(result.ok);
  CHECK(result.error_code == (kReservedBit | kProtection));
  CHECK(result.entries_read == 1);
  CHECK(s.fault_code(0x1000, kWriteAccess, kUserMode) == (kReservedBit | kProtection | kWrite | kUser));
  CHECK((s.entry(0x1000, 4) & pte::kAccessed) == 0);
}

TEST_CASE("physical-address bits above MAXPHYADDR in an entry fault with RSVD|P") {
  Space s;
  REQUIRE(s.table.map(0x1000, 0x5000, PageSize::k4K, kUserRw));
  REQUIRE(s.table.map(0x40'0000, 0x7000, PageSize::k4K, kUserRw));
  s.set_bits(0x1000, 1, pte::Entry{1} << 46);  // in the PTE
  s.set_bits(0x40'0000, 2, pte::Entry{1} << 51);  // in a PDE
  CHECK(s.fault_code(0x1000, kRead, kSupervisor) == (kReservedBit | kProtection));
  CHECK(s.fault_code(0x40'0000, kFetch, kUserMode) == (kReservedBit | kProtection | kUser | kInstruction));
  // Bit 45 is a real address bit, and the software-available high bits are ignored.
  s.set_bits(0x1000, 1, (pte::Entry{1} << 45) | pte::kSoftwareHighMask, pte::Entry{1} << 46);
  const WalkResult ok = s.walk(0x1000, kRead, kSupervisor);
  REQUIRE(ok.ok);
  CHECK(ok.page_base == ((pte::Entry{1} << 45) | 0x5000));
}

TEST_CASE("a large page whose address is not aligned to its size is a reserved-bit fault") {
  Space s;
  REQUIRE(s.table.map(k2M, 0x60'0000, PageSize::k2M, 0));
  REQUIRE(s.table.map(k1G, k1G, PageSize::k1G, 0));
  s.set_bits(k2M, 2, pte::Entry{1} << 12);  // PAT bit: allowed
  const WalkResult pat = s.walk(k2M, kRead, kSupervisor);
  REQUIRE(pat.ok);
  CHECK(pat.page_base == 0x60'0000);
  s.set_bits(k2M, 2, pte::Entry{1} << 13);
  CHECK(s.fault_code(k2M, kRead, kSupervisor) == (kReservedBit | kProtection));
  s.set_bits(k1G, 3, pte::Entry{1} << 21);
  CHECK(s.fault_code(k1G, kRead, kSupervisor) == (kReservedBit | kProtection));
}

TEST_CASE("RW and US are ANDed and NX is ORed across the levels") {
  Space s;
  REQUIRE(s.table.map(0x1000, 0x5000, PageSize::k4K, kUserRw));
  const WalkResult full = s.walk(0x1000, kRead, kUserMode);
  REQUIRE(full.ok);
  CHECK(full.permissions.writable);
  CHECK(full.permissions.user);
  CHECK(full.permissions.executable);

  SECTION("RW cleared in the PDE makes the page read-only") {
    s.set_bits(0x1000, 2, 0, pte::kWritable);
    const WalkResult read = s.walk(0x1000, kRead, kUserMode);
    REQUIRE(read.ok);
    CHECK_FALSE(read.permissions.writable);
    CHECK(s.fault_code(0x1000, kWriteAccess, kUserMode) == (kProtection | kWrite | kUser));
    CHECK(s.fault_code(0x1000, kWriteAccess, kSupervisor) == (kProtection | kWrite));
  }
  SECTION("US cleared in the PDPTE makes the page supervisor-only") {
    s.set_bits(0x1000, 3, 0, pte::kUser);
    CHECK(s.fault_code(0x1000, kRead, kUserMode) == (kProtection | kUser));
    const WalkResult read = s.walk(0x1000, kRead, kSupervisor);
    REQUIRE(read.ok);
    CHECK_FALSE(read.permissions.user);
  }
  SECTION("NX set in the PML4E makes the page non-executable") {
    s.set_bits(0x1000, 4, pte::kNoExecute);
    CHECK(s.fault_code(0x1000, kFetch, kUserMode) == (kProtection | kUser | kInstruction));
    const WalkResult read = s.walk(0x1000, kRead, kUserMode);
    REQUIRE(read.ok);
    CHECK_FALSE(read.permissions.executable);
    CHECK(read.permissions.writable);
  }
}

TEST_CASE("a walk reports global only for a G leaf with global pages enabled") {
  Space s;
  REQUIRE(s.table.map(0x1000, 0x5000, PageSize::k4K, pte::kGlobal));
  REQUIRE(s.table.map(0x2000, 0x6000, PageSize::k4K, 0));
  CHECK(s.walk(0x1000, kRead, kSupervisor).global);
  CHECK_FALSE(s.walk(0x2000, kRead, kSupervisor).global);
  s.mode.global_pages = false;
  CHECK_FALSE(s.walk(0x1000, kRead, kSupervisor).global);
}

// The walker has a one-pass path for the common case (4 KiB page, A and D already set,
// access allowed) and falls back to the level-by-level walk for everything else. A walk
// repeated once the first has set A/D goes through the one-pass path; it must give the
// same result and leave every entry as it was.
TEST_CASE("a walk repeated over entries whose A and D bits are set gives the same result and writes nothing") {
  Space s;
  const pte::Entry kinds[] = {pte::kWritable | pte::kUser,
                              pte::kUser,
                              pte::kWritable,
                              pte::kWritable | pte::kUser | pte::kNoExecute,
                              pte::kWritable | pte::kUser | pte::kGlobal,
                              0};
  for (unsigned i = 0; i < std::size(kinds); ++i) {
    REQUIRE(s.table.map(0x40'0000 + i * 0x1000, 0x20'0000 + i * 0x1000, PageSize::k4K, kinds[i]));
  }
  REQUIRE(s.table.map(0x80'0000, 0xA0'0000, PageSize::k2M, pte::kWritable | pte::kUser));
  for (bool global_pages : {true, false}) {
    s.mode.global_pages = global_pages;
    for (unsigned i = 0; i <= std::size(kinds); ++i) {
      const VirtAddr va = i < std::size(kinds) ? 0x40'0000 + i * 0x1000 + 0x123 : 0x81'2345;
      for (AccessType type : {kRead, kWriteAccess, kFetch}) {
        for (bool user : {kUserMode, kSupervisor}) {
          const WalkResult first = s.walk(va, type, user);
          const std::array<pte::Entry, 4> before{s.entry(va, 4), s.entry(va, 3), s.entry(va, 2),
                                                 i < std::size(kinds) ? s.entry(va, 1) : 0};
          const WalkResult again = s.walk(va, type, user);
          INFO("page " << i << " access " << static_cast<int>(type) << " user " << user);
          CHECK(again.ok == first.ok);
          CHECK(again.error_code == first.error_code);
          CHECK(again.page_base == first.page_base);
          CHECK(again.page_size == first.page_size);
          CHECK(again.permissions.writable == first.permissions.writable);
          CHECK(again.permissions.user == first.permissions.user);
          CHECK(again.permissions.executable == first.permissions.executable);
          CHECK(again.global == first.global);
          CHECK(again.dirty == first.dirty);
          CHECK(again.entries_read == first.entries_read);
          const std::array<pte::Entry, 4> after{s.entry(va, 4), s.entry(va, 3), s.entry(va, 2),
                                                i < std::size(kinds) ? s.entry(va, 1) : 0};
          CHECK(after == before);
        }
      }
    }
  }
}

TEST_CASE("a read through set A bits does not set D, and a write to a clean page still does") {
  Space s;
  REQUIRE(s.table.map(0x40'0000, 0x20'0000, PageSize::k4K, pte::kWritable | pte::kUser));
  REQUIRE(s.walk(0x40'0000, kRead, kUserMode).ok);
  REQUIRE(s.walk(0x40'0000, kRead, kUserMode).ok);  // everything accessed: the one-pass path
  CHECK((s.entry(0x40'0000, 1) & pte::kDirty) == 0);
  const WalkResult write = s.walk(0x40'0000, kWriteAccess, kUserMode);
  REQUIRE(write.ok);
  CHECK(write.dirty);
  CHECK((s.entry(0x40'0000, 1) & pte::kDirty) != 0);
}
