// EventQueue: the pending-event set ordered by (time, insertion sequence).

#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <new>
#include <cstdint>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "ossim/sim/event_queue.hpp"
#include "ossim/sim/random.hpp"

namespace {

using ossim::sim::Event;
using ossim::sim::EventQueue;
using ossim::sim::kTickNever;
using ossim::sim::Tick;

// The queue never fires events itself; an event only needs an identity here.
struct TaggedEvent final : Event {
  explicit TaggedEvent(int tag = 0) : Event("tagged"), id(tag) {}
  void fire() override {}
  int id;
};

int pop_id(EventQueue& queue) { return static_cast<TaggedEvent&>(queue.pop()).id; }

std::vector<int> drain(EventQueue& queue) {
  std::vector<int> ids;
  while (!queue.empty()) ids.push_back(pop_id(queue));
  return ids;
}

// Events with ids 0..n-1.
std::vector<std::unique_ptr<TaggedEvent>> make_events(int n) {
  std::vector<std::unique_ptr<TaggedEvent>> events;
  for (int i = 0; i < n; ++i) events.push_back(std::make_unique<TaggedEvent>(i));
  return events;
}

}  // namespace

TEST_CASE("events pop in order of time whatever order they were scheduled in", "[sim][event_queue]") {
  EventQueue queue;
  auto events = make_events(8);
  const Tick times[] = {50, 10, 70, 30, 0, 60, 20, 40};
  for (int i = 0; i < 8; ++i) queue.schedule(*events[i], times[i]);

  std::vector<Tick> popped_times;
  while (!queue.empty()) popped_times.push_back(queue.pop().when());
  CHECK(popped_times == std::vector<Tick>{0, 10, 20, 30, 40, 50, 60, 70});
}

TEST_CASE("two events at the same tick pop in the order they were scheduled", "[sim][event_queue]") {
  EventQueue queue;
  auto events = make_events(20);
  // Scheduled ids 19, 18, ..., 0 all at tick 5: insertion order is the reverse of id order.
  for (int i = 19; i >= 0; --i) queue.schedule(*events[i], 5);
  std::vector<int> expected;
  for (int i = 19; i >= 0; --i) expected.push_back(i);
  CHECK(drain(queue) == expected);
}

TEST_CASE("a reschedule to the same tick counts as a new insertion for tie-breaking", "[sim][event_queue]") {
  EventQueue queue;
  auto events = make_events(3);
  for (auto& event : events) queue.schedule(*event, 100);
  queue.reschedule(*events[0], 100);  // now inserted after 1 and 2
  CHECK(drain(queue) == std::vector<int>{1, 2, 0});
}

TEST_CASE("a reschedule to a tick shared with others goes after those already there", "[sim][event_queue]") {
  EventQueue queue;
  auto events = make_events(4);
  queue.schedule(*events[0], 10);
  queue.schedule(*events[1], 20);
  queue.schedule(*events[2], 20);
  queue.schedule(*events[3], 30);
  queue.reschedule(*events[0], 20);  // later
  queue.reschedule(*events[3], 20);  // earlier
  CHECK(drain(queue) == std::vector<int>{1, 2, 0, 3});
}

TEST_CASE("cancel removes the head, a middle and the last element and keeps the rest in order",
          "[sim][event_queue]") {
  EventQueue queue;
  auto events = make_events(30);
  for (int i = 0; i < 30; ++i) queue.schedule(*events[i], static_cast<Tick>(i) * 10);

  queue.cancel(*events[0]);   // head
  queue.cancel(*events[17]);  // somewhere in the middle
  queue.cancel(*events[29]);  // last in time
  CHECK(queue.size() == 27);
  CHECK_FALSE(events[0]->scheduled());
  CHECK_FALSE(events[17]->scheduled());
  CHECK_FALSE(events[29]->scheduled());
  CHECK(queue.next_time() == 10);

  std::vector<int> expected;
  for (int i = 1; i < 29; ++i) {
    if (i != 17) expected.push_back(i);
  }
  CHECK(drain(queue) == expected);
}

TEST_CASE("cancel of the latest events, most recently scheduled, leaves the rest in order", "[sim][event_queue]") {
  EventQueue queue;
  auto events = make_events(6);
  // Scheduled in increasing time: in an array-based queue these sit in the last slots.
  for (int i = 0; i < 6; ++i) queue.schedule(*events[i], static_cast<Tick>(i));
  queue.cancel(*events[5]);
  queue.cancel(*events[4]);
  CHECK(drain(queue) == std::vector<int>{0, 1, 2, 3});
}

TEST_CASE("cancel of an event that is not scheduled does nothing", "[sim][event_queue]") {
  EventQueue queue;
  EventQueue other;
  auto events = make_events(3);
  queue.schedule(*events[0], 1);
  other.schedule(*events[1], 2);
  queue.cancel(*events[2]);  // never scheduled
  queue.cancel(*events[1]);  // scheduled elsewhere
  CHECK(queue.size() == 1);
  CHECK(other.size() == 1);
  CHECK(events[1]->scheduled());
}

TEST_CASE("reschedule moves an event earlier and later", "[sim][event_queue]") {
  EventQueue queue;
  auto events = make_events(5);
  for (int i = 0; i < 5; ++i) queue.schedule(*events[i], 100 + static_cast<Tick>(i) * 100);
  // times: 0→100 1→200 2→300 3→400 4→500
  queue.reschedule(*events[4], 50);   // earliest now
  queue.reschedule(*events[0], 450);  // between 3 and the old 4
  CHECK(events[4]->when() == 50);
  CHECK(events[0]->when() == 450);
  CHECK(queue.next_time() == 50);
  CHECK(queue.size() == 5);
  CHECK(drain(queue) == std::vector<int>{4, 1, 2, 3, 0});
}

TEST_CASE("reschedule of an unscheduled event schedules it", "[sim][event_queue]") {
  EventQueue queue;
  TaggedEvent event(7);
  queue.reschedule(event, 42);
  CHECK(event.scheduled());
  CHECK(queue.size() == 1);
  CHECK(queue.next_time() == 42);
}

TEST_CASE("reschedule of an event pending in another queue moves it to this one", "[sim][event_queue]") {
  EventQueue first;
  EventQueue second;
  TaggedEvent event(1);
  first.schedule(event, 10);
  second.reschedule(event, 20);
  CHECK(first.empty());
  CHECK(second.size() == 1);
  CHECK(&second.pop() == &event);
}

TEST_CASE("a popped event is no longer scheduled and remembers its time", "[sim][event_queue]") {
  EventQueue queue;
  TaggedEvent event(1);
  queue.schedule(event, 33);
  CHECK(event.scheduled());
  Event& popped = queue.pop();
  CHECK(&popped == &event);
  CHECK_FALSE(event.scheduled());
  CHECK(event.when() == 33);
  // It can be scheduled again.
  queue.schedule(event, 34);
  CHECK(queue.next_time() == 34);
}

TEST_CASE("destroying a scheduled event removes it from the queue", "[sim][event_queue]") {
  EventQueue queue;
  auto events = make_events(10);
  for (int i = 0; i < 10; ++i) queue.schedule(*events[i], static_cast<Tick>(10 - i));
  events[9].reset();  // the head (time 1)
  events[4].reset();  // a middle one (time 6)
  CHECK(queue.size() == 8);
  CHECK(queue.next_time() == 2);
  CHECK(drain(queue) == std::vector<int>{8, 7, 6, 5, 3, 2, 1, 0});
}

TEST_CASE("events that outlive their queue become unscheduled", "[sim][event_queue]") {
  auto events = make_events(5);
  {
    EventQueue queue;
    for (auto& event : events) queue.schedule(*event, 7);
  }
  for (auto& event : events) CHECK_FALSE(event->scheduled());
  // And they can join another queue (and be destroyed later) without touching the dead one.
  EventQueue next;
  for (auto& event : events) next.schedule(*event, 1);
  CHECK(next.size() == 5);
  events.clear();
  CHECK(next.empty());
}

TEST_CASE("size, empty and next_time track the pending set", "[sim][event_queue]") {
  EventQueue queue;
  CHECK(queue.empty());
  CHECK(queue.size() == 0);
  CHECK(queue.next_time() == kTickNever);

  TaggedEvent a(0), b(1);
  queue.schedule(a, 20);
  CHECK_FALSE(queue.empty());
  CHECK(queue.size() == 1);
  CHECK(queue.next_time() == 20);
  queue.schedule(b, 5);
  CHECK(queue.size() == 2);
  CHECK(queue.next_time() == 5);
  queue.cancel(b);
  CHECK(queue.next_time() == 20);
  queue.pop();
  CHECK(queue.empty());
  CHECK(queue.next_time() == kTickNever);
}

namespace {

// A model check: random schedule / reschedule / cancel / pop operations on a queue and on
// a reference std::set of (time, sequence, id), where every schedule or reschedule takes
// the next sequence number. Every pop must return the reference's first element, and size,
// next_time and scheduled() must agree after every operation. `pick_time(below, now)`
// chooses each new time (`now` is the time of the last pop). The generator is the
// standard's mt19937_64, whose raw output is specified exactly, used only through %, so
// the inputs do not depend on the code under test. Returns the first disagreement, or ""
// when there is none.
// With `destroy_some`, a third of the cancels instead destroy the event (which cancels it)
// and put a new one in its place, often at the same address.
// `event_count` events take part (ids 0..event_count-1); few of them keep the queue short.
template <typename PickTime>
std::string disagreement_with_reference(std::uint64_t seed, int operations, PickTime pick_time,
                                        bool destroy_some = false, int event_count = 2000) {
  const int kEvents = event_count;
  std::mt19937_64 generator(seed);
  auto below = [&](std::uint64_t n) { return generator() % n; };

  auto events = make_events(kEvents);
  EventQueue queue;  // destroyed first, so no event is left pointing into it
  using Key = std::tuple<Tick, std::uint64_t, int>;
  std::set<Key> reference;
  std::vector<std::uint64_t> sequence_of(kEvents, 0);
  std::vector<bool> pending(kEvents, false);
  std::uint64_t next_sequence = 0;
  std::size_t pops = 0;
  Tick now = 0;
  int op = 0;
  auto failure = [&](const std::string& what) { return "operation " + std::to_string(op) + ": " + what; };

  auto forget = [&](int id) {
    if (pending[id]) reference.erase(Key{events[id]->when(), sequence_of[id], id});
    pending[id] = false;
  };
  auto put = [&](int id, Tick when) {
    forget(id);
    sequence_of[id] = next_sequence++;
    reference.insert(Key{when, sequence_of[id], id});
    pending[id] = true;
  };

  for (; op < operations; ++op) {
    const int id = static_cast<int>(below(kEvents));
    const Tick when = pick_time(below, now);
    // Alternate phases that grow the queue and drain it, so that it is often refilled
    // from empty as well as kept in a steady state.
    const bool growing = (op / 3'000) % 2 == 0;
    const auto dice = below(8);
    switch (growing ? dice : (dice < 3 ? dice * 2 : 7)) {
      case 0:
      case 1:
      case 2:  // schedule (reschedule if already pending)
        put(id, when);
        if (events[id]->scheduled()) {
          queue.reschedule(*events[id], when);
        } else {
          queue.schedule(*events[id], when);
        }
        break;
      case 3:
      case 4:  // reschedule, whether pending or not
        put(id, when);
        queue.reschedule(*events[id], when);
        break;
      case 5:
        forget(id);
        if (destroy_some && below(3) == 0) {
          events[id].reset();
          events[id] = std::make_unique<TaggedEvent>(id);
        } else {
          queue.cancel(*events[id]);
        }
        break;
      default: {
        if (reference.empty()) {
          if (!queue.empty()) return failure("queue not empty");
          break;
        }
        const Key expected = *reference.begin();
        reference.erase(reference.begin());
        pending[std::get<2>(expected)] = false;
        const int got = pop_id(queue);
        ++pops;
        if (got != std::get<2>(expected) || events[got]->when() != std::get<0>(expected)) {
          return failure("popped " + std::to_string(got) + "@" + std::to_string(events[got]->when()) +
                         ", expected " + std::to_string(std::get<2>(expected)) + "@" +
                         std::to_string(std::get<0>(expected)));
        }
        now = std::get<0>(expected);
        break;
      }
    }
    const Tick expected_next = reference.empty() ? kTickNever : std::get<0>(*reference.begin());
    if (queue.size() != reference.size()) return failure("size " + std::to_string(queue.size()));
    if (queue.next_time() != expected_next) {
      return failure("next_time " + std::to_string(queue.next_time()) + ", expected " +
                     std::to_string(expected_next));
    }
    if (events[id]->scheduled() != pending[id]) return failure("scheduled() of " + std::to_string(id));
  }
  if (pops < static_cast<std::size_t>(operations) / 8) return "too few pops to mean anything";

  // The whole remaining order must agree too.
  for (; !reference.empty(); reference.erase(reference.begin())) {
    if (pop_id(queue) != std::get<2>(*reference.begin())) return failure("final drain out of order");
  }
  for (auto& event : events) {
    if (event->scheduled()) return failure("an event is still scheduled after the drain");
  }
  if (queue.stale_entries() != 0) return failure("stale entries left in an empty queue");
  return "";
}

// Runs `check` in a child process, so that a queue broken badly enough to crash fails this
// test instead of ending the whole test program. Returns what `check` returned, or how
// the child died.
template <typename Check>
std::string in_child_process(Check check) {
  int fds[2];
  if (::pipe(fds) != 0) return "pipe failed";
  const pid_t child = ::fork();
  if (child < 0) return "fork failed";
  if (child == 0) {
    ::close(fds[0]);
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    for (int signal : {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL}) std::signal(signal, SIG_DFL);
    const std::string result = check();
    [[maybe_unused]] const auto written = ::write(fds[1], result.data(), result.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string result;
  char buffer[512];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) result.append(buffer, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  if (WIFSIGNALED(status)) return "crashed with signal " + std::to_string(WTERMSIG(status));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "child failed with status " + std::to_string(status);
  return result;
}

}  // namespace

TEST_CASE("random operations agree with a reference when times are few and ties common",
          "[sim][event_queue]") {
  // Mostly 40 distinct ticks, now and then a far one; times may lie before earlier pops.
  auto pick_time = [](auto below, Tick) -> Tick { return below(16) == 0 ? 1000 + below(1000) : below(40); };
  CHECK(in_child_process([&] { return disagreement_with_reference(20240611, 40'000, pick_time); }) == "");
}

TEST_CASE("random operations agree with a reference when times only move forward",
          "[sim][event_queue]") {
  // Like an engine: now + delay, with delays from zero (a tie with now) to very long,
  // and bursts of many events on one tick.
  auto pick_time = [](auto below, Tick now) -> Tick {
    switch (below(6)) {
      case 0: return now;
      case 1: return now + below(4);
      case 2: return now + 1'000 * below(100);
      case 3: return now + below(std::uint64_t{1} << 20);
      case 4: return now + (std::uint64_t{1} << 40) + below(3);
      default: return now + 500;  // a crowded tick
    }
  };
  CHECK(in_child_process([&] { return disagreement_with_reference(77, 40'000, pick_time); }) == "");
}

TEST_CASE("random operations agree with a reference when times come in dense clusters",
          "[sim][event_queue]") {
  // Most events land in a narrow window at the next 2^30 boundary, others far apart: many
  // events in a small part of a wide range.
  auto pick_time = [](auto below, Tick now) -> Tick {
    const Tick next_cluster = ((now >> 30) + 1) << 30;
    switch (below(4)) {
      case 0: return now + below(std::uint64_t{1} << 40);
      case 1: return now + below(3);
      default: return next_cluster + below(200);
    }
  };
  CHECK(in_child_process([&] { return disagreement_with_reference(31337, 40'000, pick_time); }) == "");
}

// Regression, fixed (was src/sim/event_queue.cpp, EventQueue::sort_bucket_into_bottom and split_bucket):
// `bucket_start + ((Tick{1} << shift) - 1)` wraps past kTickNever for the last bucket of a
// rung whose range was clipped at kTickNever, so bottom_last_ (or a child rung's `last`)
// becomes a small time. Later insertions then land in an already consumed bucket and are
// lost or popped out of order. See also the next test and test_engine.cpp.
TEST_CASE("random operations agree with a reference over the whole 64-bit time range",
          "[sim][event_queue][regression]") {
  auto pick_time = [](auto below, Tick) -> Tick {
    switch (below(5)) {
      case 0: return kTickNever - below(3);
      case 1: return below(3);
      case 2: return Tick{1} << below(64);
      default: return below(kTickNever);
    }
  };
  CHECK(in_child_process([&] { return disagreement_with_reference(5, 30'000, pick_time); }) == "");
}

// Regression, fixed: the bucket_last overflow described above, in its smallest form.
TEST_CASE("an event scheduled after the queue reached the end of time still pops first",
          "[sim][event_queue][regression]") {
  auto events = make_events(3);
  EventQueue queue;
  queue.schedule(*events[0], 5);
  queue.schedule(*events[1], kTickNever);
  CHECK(pop_id(queue) == 0);
  CHECK(queue.next_time() == kTickNever);  // the queue has looked at the last event
  queue.schedule(*events[2], 1000);
  REQUIRE(queue.next_time() == 1000);  // (REQUIRE: draining a broken queue would crash)
  CHECK(drain(queue) == std::vector<int>{2, 1});
}

TEST_CASE("a crowd of events on one tick far in the future pops in insertion order",
          "[sim][event_queue]") {
  EventQueue queue;
  auto events = make_events(1000);
  // A spread of early events, then many more on one late tick than a sorted batch holds.
  for (int i = 0; i < 100; ++i) queue.schedule(*events[i], static_cast<Tick>(i) * 1'000);
  for (int i = 100; i < 1000; ++i) queue.schedule(*events[i], 5'000'000);
  std::vector<int> expected;
  for (int i = 0; i < 1000; ++i) expected.push_back(i);
  CHECK(drain(queue) == expected);
}

// Regression: the queue once refilled its sorted bottom list on the first schedule, so
// filling it in random order sent about half of all later events through the O(n) sorted
// insert (quadratic in total). Counted, not timed.
TEST_CASE("filling the queue in random order keeps events out of the sorted bottom list",
          "[sim][event_queue][regression]") {
  struct Plain final : Event {
    void fire() override {}
  };
  constexpr std::size_t kEvents = 100'000;
  std::vector<Plain> events(kEvents);
  EventQueue queue;
  ossim::sim::RandomStream random(3);
  for (auto& event : events) queue.schedule(event, 1 + random.uniform_below(1'000'000'000));
  Tick last = 0;
  while (!queue.empty()) {
    const Tick when = queue.pop().when();
    REQUIRE(when >= last);
    last = when;
  }
  CHECK(queue.stats().sorted_inserts < kEvents / 100);
}

// The sorted bottom takes an entry from whichever end is nearer; one due before its head
// goes into the slot freed by the last pop.
TEST_CASE("events scheduled among those already sorted for popping keep (time, insertion) order",
          "[sim][event_queue]") {
  auto events = make_events(30);
  EventQueue queue;
  std::vector<std::tuple<Tick, int>> expected;  // (time, id), ids in insertion order
  for (int i = 0; i < 20; ++i) {
    queue.schedule(*events[i], static_cast<Tick>(10 * (i + 1)));
    expected.emplace_back(10 * (i + 1), i);
  }
  for (int i = 0; i < 3; ++i) CHECK(pop_id(queue) == i);  // 10, 20, 30: the rest is sorted now
  const std::uint64_t sorted_before = queue.stats().sorted_inserts;
  // Before the head (at "now" and before it), at the head's time, early and late in the
  // sorted run, on ticks already taken, and at its end.
  const Tick times[] = {30, 5, 40, 45, 45, 185, 200, 200, 41, 30};
  int id = 20;
  for (Tick when : times) {
    queue.schedule(*events[id], when);
    expected.emplace_back(when, id);
    ++id;
  }
  CHECK(queue.stats().sorted_inserts - sorted_before == std::size(times));
  CHECK(queue.next_time() == 5);
  std::stable_sort(expected.begin() + 3, expected.end(),
                   [](const auto& a, const auto& b) { return std::get<0>(a) < std::get<0>(b); });
  std::vector<int> expected_ids;
  for (auto it = expected.begin() + 3; it != expected.end(); ++it) expected_ids.push_back(std::get<1>(*it));
  CHECK(drain(queue) == expected_ids);
}

TEST_CASE("random operations agree with a reference when a handful of events stay close to now",
          "[sim][event_queue]") {
  // A kernel's pattern: few pending events, all due within a short while, many at "now",
  // so that nearly every schedule goes into the sorted bottom at one end or the other.
  auto pick_time = [](auto below, Tick now) -> Tick { return below(3) == 0 ? now : now + below(2000); };
  for (int events : {3, 8, 40}) {
    CAPTURE(events);
    CHECK(in_child_process([&] { return disagreement_with_reference(events, 40'000, pick_time, true, events); }) ==
          "");
  }
}

// ---- Lazy cancellation: stale entries -------------------------------------------------------

TEST_CASE("random operations agree with a reference when events are destroyed and replaced",
          "[sim][event_queue]") {
  auto pick_time = [](auto below, Tick now) -> Tick {
    switch (below(4)) {
      case 0: return now + below(4);
      case 1: return now + below(std::uint64_t{1} << 20);
      case 2: return below(1000);
      default: return now + 500;
    }
  };
  CHECK(in_child_process([&] { return disagreement_with_reference(4242, 40'000, pick_time, true); }) == "");
}

TEST_CASE("cancelled and rescheduled events leave stale entries that are skipped", "[sim][event_queue]") {
  EventQueue queue;
  auto events = make_events(11);
  queue.schedule(*events[10], 1);  // stays the earliest, so no stale entry reaches the head
  for (int i = 0; i < 10; ++i) queue.schedule(*events[i], 100 + static_cast<Tick>(i));
  // Each reschedule leaves the old entry behind.
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 10; ++i) queue.reschedule(*events[i], 200 + static_cast<Tick>(9 - i) * 10 + round);
  }
  queue.cancel(*events[3]);
  CHECK(queue.stale_entries() == 31);
  CHECK(queue.size() == 10);
  CHECK(pop_id(queue) == 10);
  CHECK(queue.next_time() == 202);  // event 9, last rescheduled to 200 + 0 + 2
  CHECK(drain(queue) == std::vector<int>{9, 8, 7, 6, 5, 4, 2, 1, 0});
  CHECK(queue.stale_entries() == 0);
}

TEST_CASE("cancel then reschedule pops the event once, at its new time", "[sim][event_queue]") {
  EventQueue queue;
  auto events = make_events(3);
  queue.schedule(*events[0], 10);
  queue.schedule(*events[1], 20);
  queue.schedule(*events[2], 30);
  queue.cancel(*events[0]);
  CHECK(queue.next_time() == 20);
  queue.reschedule(*events[0], 25);
  queue.cancel(*events[0]);
  queue.schedule(*events[0], 20);  // a tie with event 1, inserted after it
  CHECK(queue.size() == 3);
  CHECK(drain(queue) == std::vector<int>{1, 0, 2});
  CHECK_FALSE(events[0]->scheduled());
  CHECK(events[0]->when() == 20);
}

TEST_CASE("ties keep insertion order through reschedules and stale entries", "[sim][event_queue]") {
  EventQueue queue;
  auto events = make_events(6);
  for (int i = 0; i < 6; ++i) queue.schedule(*events[i], 7);
  queue.reschedule(*events[2], 7);  // now last
  queue.reschedule(*events[0], 9);
  queue.reschedule(*events[0], 7);  // now after 2
  queue.cancel(*events[4]);
  queue.schedule(*events[4], 7);  // now after 0
  CHECK(drain(queue) == std::vector<int>{1, 3, 5, 2, 0, 4});
}

TEST_CASE("the earliest event cancelled, with later ones stale, still gives the exact next time",
          "[sim][event_queue]") {
  EventQueue queue;
  auto events = make_events(4);
  queue.schedule(*events[0], 5);
  queue.schedule(*events[1], 6);
  queue.schedule(*events[2], 7);
  queue.schedule(*events[3], 8);
  queue.reschedule(*events[1], 50);
  queue.reschedule(*events[2], 60);
  queue.cancel(*events[0]);
  CHECK(queue.next_time() == 8);
  CHECK(pop_id(queue) == 3);
  CHECK(queue.next_time() == 50);
  CHECK(drain(queue) == std::vector<int>{1, 2});
}

TEST_CASE("endless reschedules with no pops keep the stale entries bounded", "[sim][event_queue]") {
  EventQueue queue;
  auto events = make_events(100);
  for (int i = 0; i < 100; ++i) queue.schedule(*events[i], 1'000 + static_cast<Tick>(i));
  std::size_t most_stale = 0;
  for (int round = 0; round < 100'000; ++round) {
    queue.reschedule(*events[round % 100], 2'000 + static_cast<Tick>(round % 977));
    most_stale = std::max(most_stale, queue.stale_entries());
  }
  CHECK(queue.stats().collections > 0);
  CHECK(most_stale <= queue.size() + 1024 + 1);
  CHECK(queue.size() == 100);
  Tick last = 0;
  while (!queue.empty()) {
    const Tick when = queue.pop().when();
    REQUIRE(when >= last);
    last = when;
  }
}

TEST_CASE("an event destroyed while its stale entries remain is never read again", "[sim][event_queue]") {
  CHECK(in_child_process([]() -> std::string {
    EventQueue queue;
    auto events = make_events(3);
    queue.schedule(*events[0], 10);
    queue.schedule(*events[1], 20);
    queue.schedule(*events[2], 30);
    // One storage, two events in turn: the second at the same address as the first.
    alignas(TaggedEvent) unsigned char storage[sizeof(TaggedEvent)];
    auto* first = new (storage) TaggedEvent(100);
    queue.schedule(*first, 15);
    queue.reschedule(*first, 25);  // a stale entry at 15
    queue.reschedule(*first, 5);   // and one at 25
    first->~TaggedEvent();         // destroyed while scheduled: cancelled, three stale entries
    std::memset(storage, 0xa5, sizeof storage);  // a read of the dead event would see garbage
    if (queue.size() != 3) return "size " + std::to_string(queue.size());
    if (queue.next_time() != 10) return "next_time " + std::to_string(queue.next_time());
    auto* second = new (storage) TaggedEvent(200);
    queue.schedule(*second, 25);  // same address, same time as a dead entry
    std::vector<int> order = drain(queue);
    second->~TaggedEvent();
    if (order != std::vector<int>{0, 1, 200, 2}) return "wrong order";
    if (queue.stale_entries() != 0) return "stale entries left";
    return "";
  }) == "");
}

TEST_CASE("destroying a rescheduled event, then the queue, leaves the other events usable",
          "[sim][event_queue]") {
  auto events = make_events(4);
  {
    EventQueue queue;
    for (int i = 0; i < 4; ++i) queue.schedule(*events[i], 10 + static_cast<Tick>(i));
    queue.reschedule(*events[1], 100);
    queue.cancel(*events[2]);
    queue.reschedule(*events[3], 5);
    events[3].reset();
    CHECK(queue.size() == 2);
    CHECK(queue.next_time() == 10);
  }
  for (int i = 0; i < 3; ++i) CHECK_FALSE(events[i]->scheduled());
  EventQueue next;
  for (int i = 0; i < 3; ++i) next.schedule(*events[i], 3 - static_cast<Tick>(i));
  CHECK(drain(next) == std::vector<int>{2, 1, 0});
}

TEST_CASE("an event with stale entries in one queue can be scheduled in another", "[sim][event_queue]") {
  EventQueue first;
  EventQueue second;
  auto events = make_events(4);
  first.schedule(*events[3], 1);  // stays the earliest, so no stale entry reaches the head
  first.schedule(*events[0], 10);
  first.schedule(*events[1], 20);
  first.reschedule(*events[0], 30);  // a stale entry at 10 in `first`
  first.cancel(*events[0]);          // and one at 30
  CHECK(first.stale_entries() == 2);
  second.schedule(*events[0], 5);    // `first` drops its entries for event 0
  CHECK(first.stale_entries() == 0);
  second.schedule(*events[2], 6);
  CHECK(first.size() == 2);
  CHECK(first.next_time() == 1);
  CHECK(drain(first) == std::vector<int>{3, 1});
  CHECK(drain(second) == std::vector<int>{0, 2});
}
