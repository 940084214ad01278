// FrameAllocator: the binary buddy allocator over the frame table.

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "ossim/mmu/frame_allocator.hpp"
#include "ossim/mmu/physical_memory.hpp"
#include "ossim/sim/random.hpp"

using namespace ossim;
using mmu::FrameAllocator;
using mmu::FrameNumber;
using mmu::PhysicalMemory;

namespace {

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;

std::vector<std::uint64_t> free_block_counts(const FrameAllocator& frames) {
  std::vector<std::uint64_t> counts;
  for (unsigned order = 0; order <= FrameAllocator::kMaxOrder; ++order) {
    counts.push_back(frames.free_blocks(order));
  }
  return counts;
}

}  // namespace

TEST_CASE("every frame can be allocated exactly once, then allocation returns nullopt") {
  PhysicalMemory memory(kMiB);  // 256 frames
  FrameAllocator frames(memory);
  CHECK(frames.managed_frames() == 256);
  CHECK(frames.free_frames() == 256);

  std::set<FrameNumber> seen;
  for (int i = 0; i < 256; ++i) {
    auto frame = frames.allocate();
    REQUIRE(frame);
    REQUIRE(*frame < 256);
    REQUIRE(seen.insert(*frame).second);
  }
  CHECK(frames.free_frames() == 0);
  CHECK_FALSE(frames.allocate());
  CHECK_FALSE(frames.allocate(3));
  CHECK_FALSE(frames.allocate_zeroed());
  CHECK(frames.free_frames() == 0);
}

TEST_CASE("a request larger than any free block, or above the maximum order, returns nullopt") {
  PhysicalMemory memory(kMiB);  // one free block of order 8
  FrameAllocator frames(memory);
  CHECK_FALSE(frames.allocate(9));
  CHECK_FALSE(frames.allocate(FrameAllocator::kMaxOrder + 1));
  CHECK(frames.free_frames() == 256);
  CHECK(frames.allocate(8));
  CHECK_FALSE(frames.allocate(0));
}

TEST_CASE("freeing every frame merges buddies back into the largest blocks") {
  PhysicalMemory memory(8 * kMiB);  // 2048 frames: one order-11 block
  FrameAllocator frames(memory);
  const auto initial = free_block_counts(frames);
  CHECK(frames.free_blocks(11) == 1);

  std::vector<FrameNumber> taken;
  while (auto frame = frames.allocate()) taken.push_back(*frame);
  REQUIRE(taken.size() == 2048);
  for (std::uint64_t count : free_block_counts(frames)) CHECK(count == 0);

  // Free in an interleaved order so merges happen at every level.
  for (std::size_t i = 0; i < taken.size(); i += 2) frames.free(taken[i]);
  CHECK(frames.free_blocks(0) == 1024);
  CHECK(frames.free_blocks(1) == 0);
  for (std::size_t i = 1; i < taken.size(); i += 2) frames.free(taken[i]);

  CHECK(frames.free_frames() == 2048);
  CHECK(free_block_counts(frames) == initial);
  CHECK(frames.allocate(11) == std::optional<FrameNumber>(0));
}

TEST_CASE("a block is not merged with its buddy while the buddy is allocated") {
  PhysicalMemory memory(16 * mmu::kPageBytes);  // one order-4 block
  FrameAllocator frames(memory);
  const auto a = frames.allocate(2);
  const auto b = frames.allocate(2);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE((*a ^ *b) == 4);  // buddies
  frames.free(*a, 2);
  CHECK(frames.free_blocks(2) == 1);  // a alone
  CHECK(frames.free_blocks(3) == 1);  // the upper half left by the first split
  frames.free(*b, 2);
  CHECK(frames.free_blocks(2) == 0);
  CHECK(frames.free_blocks(3) == 0);
  CHECK(frames.free_blocks(4) == 1);
}

TEST_CASE("order-9 (2 MiB) blocks are aligned to 512 frames") {
  PhysicalMemory memory(8 * kMiB);
  FrameAllocator frames(memory, 3);  // frames 0-2 reserved break up the first 2 MiB
  std::vector<FrameNumber> blocks;
  while (auto block = frames.allocate(9)) blocks.push_back(*block);
  CHECK(blocks.size() == 3);  // [512, 1024), [1024, 1536), [1536, 2048)
  for (FrameNumber first : blocks) {
    CHECK(first % 512 == 0);
    CHECK(first >= 512);
    CHECK(memory.frame(first).order == 9);
  }
  CHECK(frames.free_frames() == 2048 - 3 - 3 * 512);
}

TEST_CASE("reserved low frames are never handed out") {
  PhysicalMemory memory(kMiB);
  FrameAllocator frames(memory, 5);
  CHECK(frames.managed_frames() == 251);
  for (FrameNumber f = 0; f < 5; ++f) {
    CHECK((memory.frame(f).flags & mmu::Frame::kReserved) != 0);
  }
  std::uint64_t count = 0;
  while (auto frame = frames.allocate()) {
    REQUIRE(*frame >= 5);
    ++count;
  }
  CHECK(count == 251);
  // Freeing the frame next to a reserved one does not merge into the reserved range.
  frames.free(5);
  CHECK(frames.free_blocks(0) == 1);
  CHECK(frames.allocate() == std::optional<FrameNumber>(5));
}

TEST_CASE("an allocated block has refcount 1 and the owner on its head, the owner on its tail") {
  PhysicalMemory memory(kMiB);
  FrameAllocator frames(memory);
  const auto first = frames.allocate(2, 0xABCD);
  REQUIRE(first);
  const mmu::Frame& head = memory.frame(*first);
  CHECK(head.refcount == 1);
  CHECK(head.owner == 0xABCD);
  CHECK(head.order == 2);
  CHECK((head.flags & mmu::Frame::kHead) != 0);
  CHECK((head.flags & mmu::Frame::kFree) == 0);
  for (FrameNumber f = *first + 1; f < *first + 4; ++f) {
    CHECK(memory.frame(f).refcount == 0);
    CHECK(memory.frame(f).owner == 0xABCD);
    CHECK((memory.frame(f).flags & mmu::Frame::kHead) == 0);
  }
  CHECK(frames.free_frames() == 256 - 4);
}

TEST_CASE("allocate_zeroed returns a block whose previous contents are gone") {
  PhysicalMemory memory(4 * mmu::kPageBytes);
  FrameAllocator frames(memory);
  const auto block = frames.allocate(2);
  REQUIRE(block);
  for (std::uint64_t offset = 0; offset < 4 * mmu::kPageBytes; offset += 8) {
    memory.write<std::uint64_t>(offset, 0xDEADBEEFDEADBEEFULL);
  }
  frames.free(*block, 2);

  const auto zeroed = frames.allocate_zeroed(1);  // the only memory there is
  REQUIRE(zeroed);
  for (std::uint64_t offset = 0; offset < 2 * mmu::kPageBytes; offset += 8) {
    REQUIRE(memory.read<std::uint64_t>(mmu::address_of(*zeroed) + offset) == 0);
  }
  // The other half was not part of the request and keeps its bytes.
  const FrameNumber other = *zeroed ^ 2;
  CHECK(memory.read<std::uint64_t>(mmu::address_of(other)) == 0xDEADBEEFDEADBEEFULL);
}

TEST_CASE("two allocators given the same requests hand out the same frames") {
  PhysicalMemory memory_a(4 * kMiB);
  PhysicalMemory memory_b(4 * kMiB);
  FrameAllocator a(memory_a, 7);
  FrameAllocator b(memory_b, 7);
  sim::RandomStream random(1234, "frame-allocator-determinism");
  std::vector<std::pair<FrameNumber, unsigned>> live;
  for (int step = 0; step < 2000; ++step) {
    if (!live.empty() && random.bernoulli(0.4)) {
      const auto index = random.uniform_below(live.size());
      a.free(live[index].first, live[index].second);
      b.free(live[index].first, live[index].second);
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(index));
    } else {
      const auto order = static_cast<unsigned>(random.uniform_below(4));
      const auto from_a = a.allocate(order);
      const auto from_b = b.allocate(order);
      REQUIRE(from_a == from_b);
      if (from_a) live.emplace_back(*from_a, order);
    }
  }
  CHECK(a.free_frames() == b.free_frames());
  CHECK(free_block_counts(a) == free_block_counts(b));
}

TEST_CASE("random allocations and frees never overlap and keep free_frames consistent") {
  PhysicalMemory memory(4 * kMiB);  // 1024 frames
  FrameAllocator frames(memory, 3);
  const std::uint64_t managed = frames.managed_frames();
  const auto initial = free_block_counts(frames);
  sim::RandomStream random(20240601, "frame-allocator-random");

  std::vector<int> owner_of(memory.frame_count(), -1);  // which live block holds a frame
  std::vector<std::pair<FrameNumber, unsigned>> live;
  std::uint64_t allocated = 0;
  int next_id = 0;
  for (int step = 0; step < 5000; ++step) {
    if (!live.empty() && random.bernoulli(0.45)) {
      const auto index = random.uniform_below(live.size());
      const auto [first, order] = live[index];
      for (FrameNumber f = first; f < first + (FrameNumber{1} << order); ++f) owner_of[f] = -1;
      frames.free(first, order);
      allocated -= FrameNumber{1} << order;
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(index));
    } else {
      const auto order = static_cast<unsigned>(random.uniform_below(6));
      const auto first = frames.allocate(order);
      if (!first) {
        // Only allowed when no block that large could be free.
        for (unsigned o = order; o <= FrameAllocator::kMaxOrder; ++o) REQUIRE(frames.free_blocks(o) == 0);
        continue;
      }
      REQUIRE(*first >= 3);
      REQUIRE(*first % (FrameNumber{1} << order) == 0);
      REQUIRE(*first + (FrameNumber{1} << order) <= memory.frame_count());
      for (FrameNumber f = *first; f < *first + (FrameNumber{1} << order); ++f) {
        REQUIRE(owner_of[f] == -1);
        owner_of[f] = next_id;
      }
      ++next_id;
      allocated += FrameNumber{1} << order;
      live.emplace_back(*first, order);
    }
    REQUIRE(frames.free_frames() + allocated == managed);
    std::uint64_t in_free_blocks = 0;
    for (unsigned o = 0; o <= FrameAllocator::kMaxOrder; ++o) {
      in_free_blocks += frames.free_blocks(o) << o;
    }
    REQUIRE(in_free_blocks == frames.free_frames());
  }
  for (const auto& [first, order] : live) frames.free(first, order);
  CHECK(frames.free_frames() == managed);
  CHECK(free_block_counts(frames) == initial);
}

// Regression (fixed): FrameAllocator::free (src/mmu/frame_allocator.cpp, free()) resets only the head of
// the final merged block (via push_free) and the owner of the freed block's tail frames.
// When the freed block is the upper buddy of a free block, its own head frame keeps
// kHead, refcount 1 and the owner, so a free frame still looks allocated.
TEST_CASE("a freed frame that merged into its lower buddy no longer looks allocated", "[regression]") {
  PhysicalMemory memory(2 * mmu::kPageBytes);
  FrameAllocator frames(memory);
  const auto low = frames.allocate(0, 1);
  const auto high = frames.allocate(0, 2);
  REQUIRE(low == std::optional<FrameNumber>(0));
  REQUIRE(high == std::optional<FrameNumber>(1));
  frames.free(0);
  frames.free(1);  // merges into the order-1 block headed by frame 0
  CHECK(frames.free_blocks(1) == 1);
  const mmu::Frame& freed = memory.frame(1);
  CHECK(freed.refcount == 0);
  CHECK(freed.owner == 0);
  CHECK((freed.flags & mmu::Frame::kHead) == 0);
}

TEST_CASE("split turns a 2 MiB block into 512 frames freed one by one, which merge back into the block", "[thp]") {
  PhysicalMemory memory(8 * kMiB);
  FrameAllocator frames(memory);
  const auto counts_before = free_block_counts(frames);
  const auto block = frames.allocate(9, 77);
  REQUIRE(block);
  frames.split(*block, 9);
  for (FrameNumber f = *block; f < *block + 512; ++f) {
    CHECK(memory.frame(f).refcount == 1);
    CHECK(memory.frame(f).order == 0);
    CHECK(memory.frame(f).owner == 77);
  }
  CHECK(frames.free_frames() == 2048 - 512);
  for (FrameNumber f = *block; f < *block + 512; ++f) frames.free(f);
  CHECK(frames.free_frames() == 2048);
  CHECK(free_block_counts(frames) == counts_before);
}
