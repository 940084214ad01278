// HugePageArray: a fixed array of objects on memory advised for transparent huge pages.

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "ossim/sim/event_queue.hpp"
#include "ossim/sim/huge_page_array.hpp"

namespace {

using ossim::sim::HugePageArray;

// Records its construction argument and, when destroyed, its index.
struct Recorder {
  Recorder(int base, std::vector<int>& destroyed) : value(base + next_index++), destroyed_(destroyed) {}
  ~Recorder() { destroyed_.push_back(value); }
  static inline int next_index = 0;
  int value;
  std::vector<int>& destroyed_;
};

}  // namespace

TEST_CASE("a huge-page array builds each object from the arguments and destroys them in reverse",
          "[sim][huge_page_array]") {
  std::vector<int> destroyed;
  Recorder::next_index = 0;
  {
    HugePageArray<Recorder> array(5, 100, destroyed);
    REQUIRE(array.size() == 5);
    for (std::size_t i = 0; i < array.size(); ++i) CHECK(array[i].value == 100 + static_cast<int>(i));
    // Whole huge pages only: the array starts on a 2 MiB boundary.
    CHECK(reinterpret_cast<std::uintptr_t>(array.begin()) % (std::uintptr_t{2} << 20) == 0);
    CHECK(array.end() - array.begin() == 5);
  }
  CHECK(destroyed == std::vector<int>{104, 103, 102, 101, 100});
}

TEST_CASE("an empty huge-page array maps nothing and can be iterated", "[sim][huge_page_array]") {
  HugePageArray<int> array(0);
  CHECK(array.size() == 0);
  CHECK(array.begin() == array.end());
}

TEST_CASE("events in a huge-page array larger than one huge page are scheduled and popped in order",
          "[sim][huge_page_array]") {
  struct Plain final : ossim::sim::Event {
    void fire() override {}
  };
  // 100 000 events of 56 bytes: several 2 MiB pages.
  HugePageArray<Plain> events(100'000);
  ossim::sim::EventQueue queue;
  for (std::size_t i = 0; i < events.size(); ++i) queue.schedule(events[i], (i * 7919) % 100'003);
  ossim::sim::Tick last = 0;
  std::size_t popped = 0;
  while (!queue.empty()) {
    const ossim::sim::Tick when = queue.pop().when();
    REQUIRE(when >= last);
    last = when;
    ++popped;
  }
  CHECK(popped == events.size());
}
