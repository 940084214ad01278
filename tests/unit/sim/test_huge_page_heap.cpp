// HugePageHeap: cache-line-aligned objects from huge-page chunks, reused after delete, and
// the base class that routes a class's new and delete there.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "ossim/sim/huge_page_heap.hpp"
#include "ossim/sim/prefetch.hpp"

namespace {

using ossim::sim::HugePageAllocated;
using ossim::sim::HugePageHeap;
using ossim::sim::kHostCacheLine;

std::uintptr_t address(const void* p) { return reinterpret_cast<std::uintptr_t>(p); }

// 200 bytes: a size class of four cache lines.
struct Record : HugePageAllocated {
  explicit Record(int v) : value(v) { std::memset(payload, v, sizeof payload); }
  int value;
  char payload[196];
};

int destroyed = 0;
struct Counted : HugePageAllocated {
  ~Counted() { ++destroyed; }
  std::uint64_t word = 7;
};

}  // namespace

TEST_CASE("huge-page heap objects start on a cache line and do not overlap", "[sim][huge_page_heap]") {
  std::vector<std::pair<char*, std::size_t>> objects;
  for (std::size_t bytes : {1, 8, 63, 64, 65, 200, 1032, 4096}) {
    for (int i = 0; i < 50; ++i) {
      auto* p = static_cast<char*>(HugePageHeap::allocate(bytes));
      CHECK(address(p) % kHostCacheLine == 0);
      std::memset(p, 0xAB, bytes);  // the whole object is writable
      objects.emplace_back(p, bytes);
    }
  }
  std::sort(objects.begin(), objects.end());
  for (std::size_t i = 1; i < objects.size(); ++i) {
    CHECK(objects[i - 1].first + objects[i - 1].second <= objects[i].first);
  }
  for (auto [p, bytes] : objects) HugePageHeap::deallocate(p, bytes);
}

TEST_CASE("a freed object is reused by the next object of its size class", "[sim][huge_page_heap]") {
  void* first = HugePageHeap::allocate(300);
  HugePageHeap::deallocate(first, 300);
  void* again = HugePageHeap::allocate(320);  // 300 and 320 bytes: both five cache lines
  CHECK(again == first);
  void* other_class = HugePageHeap::allocate(100);
  CHECK(other_class != first);
  HugePageHeap::deallocate(again, 320);
  HugePageHeap::deallocate(other_class, 100);
}

TEST_CASE("objects larger than the largest size class come from the ordinary heap",
          "[sim][huge_page_heap]") {
  const std::size_t big = HugePageHeap::kLargestObject + 1;
  auto* p = static_cast<char*>(HugePageHeap::allocate(big));
  std::memset(p, 1, big);
  HugePageHeap::deallocate(p, big);
  HugePageHeap::deallocate(nullptr, 64);  // like delete of a null pointer: nothing
}

TEST_CASE("a HugePageAllocated class uses the heap through new, delete and unique_ptr",
          "[sim][huge_page_heap]") {
  STATIC_REQUIRE(sizeof(Counted) == sizeof(std::uint64_t));  // the base adds no bytes
  auto record = std::make_unique<Record>(5);
  CHECK(address(record.get()) % kHostCacheLine == 0);
  CHECK(record->value == 5);
  CHECK(record->payload[195] == 5);
  destroyed = 0;
  Counted* counted = new Counted;
  CHECK(counted->word == 7);
  delete counted;
  CHECK(destroyed == 1);
  // The next Counted reuses the one just deleted.
  auto next = std::make_unique<Counted>();
  CHECK(next.get() == counted);
}

TEST_CASE("huge-page heap allocations from several threads never hand out one object twice",
          "[sim][huge_page_heap]") {
  constexpr int kThreads = 4;
  constexpr int kRounds = 2000;
  std::vector<std::vector<void*>> kept(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&kept, t] {
      for (int i = 0; i < kRounds; ++i) {
        void* p = HugePageHeap::allocate(128);
        *static_cast<int*>(p) = t;
        if (i % 2 == 0) {
          kept[t].push_back(p);
        } else {
          HugePageHeap::deallocate(p, 128);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<void*> distinct;
  for (int t = 0; t < kThreads; ++t) {
    for (void* p : kept[t]) {
      CHECK(*static_cast<int*>(p) == t);  // no other thread was given it meanwhile
      distinct.insert(p);
    }
  }
  CHECK(distinct.size() == static_cast<std::size_t>(kThreads * kRounds / 2));
  for (auto& list : kept) {
    for (void* p : list) HugePageHeap::deallocate(p, 128);
  }
}
