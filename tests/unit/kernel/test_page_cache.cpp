// The page cache on its own, over a store that records its calls: the contract a disk
// file system will rely on (pages read through the store once, whole-page writes not read
// first, write-back of exactly the dirty pages, truncation freeing frames).

#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "ossim/mmu/frame_allocator.hpp"
#include "ossim/mmu/physical_memory.hpp"
#include "kernel/mm/page_cache.hpp"

using namespace ossim;
using kernel::PageCache;

namespace {

constexpr std::uint64_t kPage = mmu::kPageBytes;

/// A store whose page i holds the byte 'A' + i, recording every call.
class RecordingStore final : public kernel::BackingStore {
 public:
  kernel::Status read_page(std::uint64_t index, mmu::FrameNumber, std::span<std::byte> page) override {
    reads.push_back(index);
    if (fail_reads) return sys::Errno::kEIO;
    std::memset(page.data(), 'A' + static_cast<int>(index), page.size());
    return {};
  }
  kernel::Status write_page(std::uint64_t index, mmu::FrameNumber, std::span<const std::byte> page) override {
    writes.push_back(index);
    written_first_byte.push_back(static_cast<char>(page[0]));
    return {};
  }
  bool evictable() const override { return true; }

  std::vector<std::uint64_t> reads, writes;
  std::vector<char> written_first_byte;
  bool fail_reads = false;
};

struct CacheFixture {
  mmu::PhysicalMemory memory{1 << 20};
  mmu::FrameAllocator frames{memory};
  kernel::PageCachePool pool{memory, frames};
  RecordingStore store;
};

std::string text(std::span<const std::byte> bytes) { return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()); }

}  // namespace

TEST_CASE("a page cache reads a missing page through its store once and serves it from memory after",
          "[kernel][page_cache]") {
  CacheFixture f;
  PageCache cache(f.pool, f.store);
  std::byte out[6];
  REQUIRE(cache.read(kPage - 3, out).value() == 6);
  CHECK(text(out) == "AAABBB");
  REQUIRE(cache.read(kPage - 3, out).value() == 6);
  CHECK(f.store.reads == std::vector<std::uint64_t>{0, 1});
  CHECK(cache.pages() == 2);
  CHECK(f.pool.cached_pages == 2);
  CHECK(cache.dirty_pages() == 0);
}

TEST_CASE("a write of a whole page does not read it from the store, a partial write does", "[kernel][page_cache]") {
  CacheFixture f;
  PageCache cache(f.pool, f.store);
  const std::vector<std::byte> whole(kPage, std::byte{'w'});
  REQUIRE(cache.write(0, whole).value() == kPage);
  const std::byte part[2] = {std::byte{'p'}, std::byte{'q'}};
  REQUIRE(cache.write(kPage + 10, part).value() == 2);
  CHECK(f.store.reads == std::vector<std::uint64_t>{1});
  std::byte out[4];
  REQUIRE(cache.read(kPage + 8, out).value() == 4);
  CHECK(text(out) == "BBpq");
  CHECK(cache.dirty_pages() == 2);
}

TEST_CASE("write_back writes exactly the dirty pages of its range through the store and cleans them",
          "[kernel][page_cache]") {
  CacheFixture f;
  PageCache cache(f.pool, f.store);
  const std::byte one[1] = {std::byte{'x'}};
  for (std::uint64_t i = 0; i < 4; ++i) REQUIRE(cache.get(i).ok());
  REQUIRE(cache.write(1 * kPage, one).ok());
  REQUIRE(cache.write(3 * kPage, one).ok());
  cache.mark_dirty(2);
  REQUIRE(cache.write_back(0, 3).ok());
  CHECK(f.store.writes == std::vector<std::uint64_t>{1, 2});
  CHECK(f.store.written_first_byte == std::vector<char>{'x', 'C'});
  CHECK(cache.dirty_pages() == 1);  // page 3 was outside the range
  REQUIRE(cache.write_back(0, 10).ok());
  CHECK(f.store.writes == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(cache.dirty_pages() == 0);
}

TEST_CASE("truncating a page cache frees the pages past the new end and zeroes the partial page's tail",
          "[kernel][page_cache]") {
  CacheFixture f;
  PageCache cache(f.pool, f.store);
  const std::uint64_t free_before = f.frames.free_frames();
  for (std::uint64_t i = 0; i < 4; ++i) REQUIRE(cache.get(i).ok());
  CHECK(f.frames.free_frames() == free_before - 4);
  cache.truncate(kPage + 2);
  CHECK(cache.pages() == 2);
  CHECK(f.frames.free_frames() == free_before - 2);
  std::byte out[4];
  REQUIRE(cache.read(kPage, out).value() == 4);
  CHECK(text(out) == std::string("BB\0\0", 4));
}

TEST_CASE("a page the store cannot read stays out of the cache and its frame is returned", "[kernel][page_cache]") {
  CacheFixture f;
  PageCache cache(f.pool, f.store);
  const std::uint64_t free_before = f.frames.free_frames();
  f.store.fail_reads = true;
  auto page = cache.get(5);
  REQUIRE_FALSE(page.ok());
  CHECK(page.error() == sys::Errno::kEIO);
  CHECK(cache.pages() == 0);
  CHECK(f.pool.cached_pages == 0);
  CHECK(f.frames.free_frames() == free_before);
}

TEST_CASE("a page cache returns every frame when it is destroyed, except those still mapped", "[kernel][page_cache]") {
  CacheFixture f;
  const std::uint64_t free_before = f.frames.free_frames();
  mmu::FrameNumber mapped = 0;
  {
    PageCache cache(f.pool, f.store);
    for (std::uint64_t i = 0; i < 3; ++i) REQUIRE(cache.get(i).ok());
    mapped = cache.find(1)->frame;
    ++f.memory.frame(mapped).refcount;  // as a mapping PTE would hold
  }
  CHECK(f.pool.cached_pages == 0);
  CHECK(f.frames.free_frames() == free_before - 1);
  CHECK(f.memory.frame(mapped).refcount == 1);
}
