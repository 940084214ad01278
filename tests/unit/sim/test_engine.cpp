// Engine: simulated time, the event loop, stop, and reproducibility from the seed.

#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ossim/sim/engine.hpp"

namespace {

using namespace ossim::sim;

// A log of "name@time" lines that events append to when they fire.
struct Recorder {
  std::vector<std::string> lines;
  void note(const Engine& engine, const std::string& what) {
    lines.push_back(what + "@" + std::to_string(engine.now()));
  }
};

}  // namespace

TEST_CASE("now() advances to the time of each event as it fires", "[sim][engine]") {
  Engine engine({.seed = 1});
  std::vector<Tick> seen;
  CallbackEvent a([&] { seen.push_back(engine.now()); });
  CallbackEvent b([&] { seen.push_back(engine.now()); });
  CallbackEvent c([&] { seen.push_back(engine.now()); });
  engine.schedule(c, 300);
  engine.schedule(a, 100);
  engine.schedule(b, 200);
  CHECK(engine.now() == 0);
  CHECK(engine.next_event_time() == 100);

  REQUIRE(engine.step());
  CHECK(engine.now() == 100);
  engine.run();
  CHECK(seen == std::vector<Tick>{100, 200, 300});
  CHECK(engine.now() == 300);
}

TEST_CASE("step() on an empty engine returns false and leaves time alone", "[sim][engine]") {
  Engine engine({.seed = 1});
  CHECK_FALSE(engine.step());
  CHECK(engine.now() == 0);
  CallbackEvent once([] {});
  engine.schedule(once, 50);
  CHECK(engine.step());
  CHECK_FALSE(engine.step());
  CHECK(engine.now() == 50);
  CHECK(engine.events_fired() == 1);
}

TEST_CASE("run() fires every pending event, including ones scheduled while it runs", "[sim][engine]") {
  Engine engine({.seed = 1});
  Recorder log;
  CallbackEvent late([&] { log.note(engine, "late"); });
  CallbackEvent early([&] {
    log.note(engine, "early");
    engine.schedule_in(late, 1000);
  });
  engine.schedule(early, 10);
  engine.run();
  CHECK(log.lines == std::vector<std::string>{"early@10", "late@1010"});
  CHECK(engine.pending_events() == 0);
  CHECK(engine.next_event_time() == kTickNever);
}

TEST_CASE("two events at the same tick fire in the order they were scheduled", "[sim][engine]") {
  Engine engine({.seed = 1});
  std::vector<int> order;
  std::vector<std::unique_ptr<CallbackEvent>> events;
  for (int i = 0; i < 10; ++i) {
    events.push_back(std::make_unique<CallbackEvent>([&order, i] { order.push_back(i); }));
  }
  // Schedule in a scrambled order; that order is the firing order.
  const int schedule_order[] = {3, 9, 0, 5, 1, 8, 2, 7, 4, 6};
  for (int i : schedule_order) engine.schedule(*events[i], 77);
  engine.run();
  CHECK(order == std::vector<int>(std::begin(schedule_order), std::end(schedule_order)));
}

TEST_CASE("run_until(t) fires events at exactly t, keeps later ones and sets now() to t", "[sim][engine]") {
  Engine engine({.seed = 1});
  Recorder log;
  CallbackEvent before([&] { log.note(engine, "before"); });
  CallbackEvent at([&] { log.note(engine, "at"); });
  CallbackEvent after([&] { log.note(engine, "after"); });
  engine.schedule(before, 40);
  engine.schedule(at, 100);
  engine.schedule(after, 101);

  engine.run_until(100);
  CHECK(log.lines == std::vector<std::string>{"before@40", "at@100"});
  CHECK(engine.now() == 100);
  CHECK(after.scheduled());
  CHECK(engine.pending_events() == 1);

  engine.run_until(500);  // nothing at 500 itself: time still moves to the limit
  CHECK(log.lines.back() == "after@101");
  CHECK(engine.now() == 500);
}

TEST_CASE("run_until an earlier time than now() does not move time backwards", "[sim][engine]") {
  Engine engine({.seed = 1});
  engine.run_until(1000);
  CHECK(engine.now() == 1000);
  engine.run_until(10);
  CHECK(engine.now() == 1000);
}

TEST_CASE("stop() from inside an event makes run() return after that event", "[sim][engine]") {
  Engine engine({.seed = 1});
  Recorder log;
  CallbackEvent first([&] { log.note(engine, "first"); });
  CallbackEvent stopper([&] {
    log.note(engine, "stopper");
    engine.stop();
  });
  CallbackEvent third([&] { log.note(engine, "third"); });
  engine.schedule(first, 1);
  engine.schedule(stopper, 2);
  engine.schedule(third, 3);

  engine.run();
  CHECK(log.lines == std::vector<std::string>{"first@1", "stopper@2"});
  CHECK(engine.now() == 2);
  CHECK(third.scheduled());

  engine.run();  // a new run() is not stopped by the old request
  CHECK(log.lines.back() == "third@3");
}

TEST_CASE("stop() inside run_until leaves now() at the stopping event, not the limit", "[sim][engine]") {
  Engine engine({.seed = 1});
  CallbackEvent stopper([&] { engine.stop(); });
  CallbackEvent later([] {});
  engine.schedule(stopper, 10);
  engine.schedule(later, 20);
  engine.run_until(100);
  CHECK(engine.now() == 10);
  CHECK(later.scheduled());
  engine.run_until(100);
  CHECK(engine.now() == 100);
  CHECK_FALSE(later.scheduled());
}

TEST_CASE("an event that reschedules itself fires periodically", "[sim][engine]") {
  Engine engine({.seed = 1});
  constexpr Tick kPeriod = 250 * kNanosecond;
  std::vector<Tick> ticks;
  std::unique_ptr<CallbackEvent> timer;
  timer = std::make_unique<CallbackEvent>([&] {
    ticks.push_back(engine.now());
    CHECK_FALSE(timer->scheduled());  // a firing event is no longer pending
    engine.schedule_in(*timer, kPeriod);
  });
  engine.schedule_in(*timer, kPeriod);

  engine.run_until(kMicrosecond);
  CHECK(ticks == std::vector<Tick>{kPeriod, 2 * kPeriod, 3 * kPeriod, 4 * kPeriod});
  CHECK(timer->when() == 5 * kPeriod);
  CHECK(engine.events_fired() == 4);
}

TEST_CASE("schedule_in is relative to now() and saturates at kTickNever", "[sim][engine]") {
  Engine engine({.seed = 1});
  engine.run_until(5000);
  CallbackEvent relative([] {});
  CallbackEvent far([] {});
  engine.schedule_in(relative, 7);
  engine.schedule_in(far, kTickNever - 1);  // 5000 + that would wrap
  CHECK(relative.when() == 5007);
  CHECK(far.when() == kTickNever);
  CHECK(tick_add(kTickNever, 1) == kTickNever);
  CHECK(tick_add(3, 4) == 7);
}

TEST_CASE("scheduling or rescheduling in the past clamps the time to now()", "[sim][engine]") {
  Engine engine({.seed = 1});
  engine.run_until(100);
  Tick fired_at = 0;
  CallbackEvent past([&] { fired_at = engine.now(); });
  CallbackEvent moved([] {});
  engine.schedule(past, 50);
  CHECK(past.when() == 100);
  engine.schedule(moved, 300);
  engine.reschedule(moved, 0);
  CHECK(moved.when() == 100);
  engine.run();
  CHECK(fired_at == 100);
  CHECK(engine.now() == 100);
}

// Regression, fixed (was src/sim/event_queue.cpp, EventQueue::sort_bucket_into_bottom): see
// test_event_queue.cpp. run_until() peeks at an event at kTickNever (here from a saturated
// schedule_in), the queue's bottom_last_ wraps to a small time, and an event scheduled
// afterwards goes into an already consumed bucket and never fires.
TEST_CASE("an event scheduled after run_until saw a far-future event still fires",
          "[sim][engine][regression]") {
  Engine engine({.seed = 1});
  bool later_fired = false;
  CallbackEvent early([] {});
  CallbackEvent never([] {});
  CallbackEvent later([&] { later_fired = true; });
  engine.schedule(early, 5);
  engine.schedule_in(never, kTickNever);  // saturates to kTickNever
  engine.run_until(100);
  engine.schedule(later, 200);
  CHECK(engine.next_event_time() == 200);
  engine.run_until(1000);
  CHECK(later_fired);
  CHECK(engine.pending_events() == 1);
}

TEST_CASE("cancel through the engine keeps the event from firing", "[sim][engine]") {
  Engine engine({.seed = 1});
  bool fired = false;
  CallbackEvent event([&] { fired = true; });
  engine.schedule(event, 10);
  engine.cancel(event);
  engine.run();
  CHECK_FALSE(fired);
  CHECK(engine.events_fired() == 0);
}

TEST_CASE("events_fired counts every event fired by step, run and run_until", "[sim][engine]") {
  Engine engine({.seed = 1});
  std::vector<std::unique_ptr<CallbackEvent>> events;
  for (int i = 0; i < 9; ++i) {
    events.push_back(std::make_unique<CallbackEvent>([] {}));
    engine.schedule(*events.back(), static_cast<Tick>(i) * 10);
  }
  engine.step();
  CHECK(engine.events_fired() == 1);
  engine.run_until(40);  // 10, 20, 30, 40
  CHECK(engine.events_fired() == 5);
  engine.run();
  CHECK(engine.events_fired() == 9);
}

TEST_CASE("two engines stepped in turn do not see each other's time, order, randomness or fibers",
          "[sim][engine]") {
  Engine a({.seed = 11, .fiber_stack_bytes = 32 * 1024});
  Engine b({.seed = 22, .fiber_stack_bytes = 32 * 1024});
  std::vector<std::string> log_a, log_b;

  // Each engine has a fiber that records which fiber its own runtime thinks is running.
  std::unique_ptr<Fiber> fiber_a, fiber_b;
  fiber_a = a.fibers().create([&] {
    for (int i = 0; i < 3; ++i) {
      log_a.push_back(std::string("fiber running=") + a.fibers().running().name() +
                      " b_on_host=" + (b.fibers().on_host() ? "1" : "0"));
      a.fibers().switch_to(a.fibers().host());
    }
  }, "fa");
  fiber_b = b.fibers().create([&] {
    for (int i = 0; i < 3; ++i) {
      log_b.push_back(std::string("fiber running=") + b.fibers().running().name() +
                      " a_on_host=" + (a.fibers().on_host() ? "1" : "0"));
      b.fibers().switch_to(b.fibers().host());
    }
  }, "fb");

  // Same-tick events in both engines, scheduled alternately.
  std::vector<std::unique_ptr<CallbackEvent>> events;
  for (int i = 0; i < 3; ++i) {
    events.push_back(std::make_unique<CallbackEvent>([&, i] {
      log_a.push_back("a" + std::to_string(i) + "@" + std::to_string(a.now()));
      a.fibers().switch_to(*fiber_a);
    }));
    a.schedule(*events.back(), 10 * static_cast<Tick>(i + 1));
    events.push_back(std::make_unique<CallbackEvent>([&, i] {
      log_b.push_back("b" + std::to_string(i) + "@" + std::to_string(b.now()));
      b.fibers().switch_to(*fiber_b);
    }));
    b.schedule(*events.back(), 1000 + static_cast<Tick>(2 - i));  // b's run in reverse
  }

  RandomStream stream_a = a.random_stream("x");
  RandomStream stream_b = b.random_stream("x");
  std::vector<std::uint64_t> draws_a, draws_b;
  while (a.step()) {
    draws_a.push_back(stream_a.next_u64());
    CHECK(b.now() <= 1000 + 2);
    REQUIRE(b.step());
    draws_b.push_back(stream_b.next_u64());
    CHECK(a.now() < 1000);
  }
  CHECK_FALSE(b.step());

  CHECK(log_a == std::vector<std::string>{"a0@10", "fiber running=fa b_on_host=1", "a1@20",
                                          "fiber running=fa b_on_host=1", "a2@30",
                                          "fiber running=fa b_on_host=1"});
  CHECK(log_b == std::vector<std::string>{"b2@1000", "fiber running=fb a_on_host=1", "b1@1001",
                                          "fiber running=fb a_on_host=1", "b0@1002",
                                          "fiber running=fb a_on_host=1"});
  CHECK(a.now() == 30);
  CHECK(b.now() == 1002);
  CHECK(a.events_fired() == 3);
  CHECK(b.events_fired() == 3);

  // Each engine's stream is what a lone stream with the same (seed, name) would give.
  RandomStream lone_a(11, "x"), lone_b(22, "x");
  for (std::size_t i = 0; i < draws_a.size(); ++i) CHECK(draws_a[i] == lone_a.next_u64());
  for (std::size_t i = 0; i < draws_b.size(); ++i) CHECK(draws_b[i] == lone_b.next_u64());
  CHECK(draws_a != draws_b);
  CHECK(a.fibers().on_host());
  CHECK(b.fibers().on_host());
}

namespace {

// A small simulation: "worker" events that, when they fire, draw random delays and
// schedule others; plus one fiber-based process that sleeps for random times. Returns the
// whole log as one string.
std::string run_random_simulation(std::uint64_t seed) {
  Engine engine({.seed = seed, .fiber_stack_bytes = 32 * 1024});
  RandomStream random = engine.random_stream("x");
  std::string log;
  constexpr int kWorkers = 12;
  std::vector<std::unique_ptr<CallbackEvent>> workers(kWorkers);
  for (int i = 0; i < kWorkers; ++i) {
    workers[i] = std::make_unique<CallbackEvent>([&, i] {
      log += "w" + std::to_string(i) + "@" + std::to_string(engine.now()) + "\n";
      if (engine.now() > 200 * kMicrosecond) return;
      // Wake 1 or 2 workers (possibly at the same tick as others: delays are coarse).
      const auto fan_out = 1 + random.uniform_below(2);
      for (std::uint64_t k = 0; k < fan_out; ++k) {
        const auto target = random.uniform_below(kWorkers);
        const Tick delay = random.uniform_below(8) * kMicrosecond;
        if (!workers[target]->scheduled()) engine.schedule_in(*workers[target], delay);
      }
    });
  }

  std::unique_ptr<Fiber> sleeper;
  CallbackEvent wake([&] { engine.fibers().switch_to(*sleeper); });
  RandomStream sleeper_random = engine.random_stream("sleeper");
  sleeper = engine.fibers().create([&] {
    for (int n = 0; n < 20; ++n) {
      log += "s@" + std::to_string(engine.now()) + "\n";
      engine.schedule_in(wake, static_cast<Tick>(sleeper_random.exponential(5.0 * kMicrosecond)));
      engine.fibers().switch_to(engine.fibers().host());
    }
  });

  engine.schedule(*workers[0], 0);
  engine.fibers().switch_to(*sleeper);  // runs until its first sleep
  engine.run();
  log += "fired=" + std::to_string(engine.events_fired()) + "\n";
  return log;
}

}  // namespace

TEST_CASE("the same seed gives a byte-identical run and a different seed a different one",
          "[sim][engine]") {
  const std::string first = run_random_simulation(42);
  const std::string second = run_random_simulation(42);
  const std::string other = run_random_simulation(43);
  CHECK(first.size() > 1000);  // the simulation did real work
  CHECK(first == second);
  CHECK(first != other);
}

TEST_CASE("random_stream depends on the engine's seed and the component's name", "[sim][engine]") {
  Engine engine({.seed = 42});
  CHECK(engine.seed() == 42);
  RandomStream from_engine = engine.random_stream("cpu0");
  RandomStream direct(42, "cpu0");
  RandomStream other_name = engine.random_stream("cpu1");
  const auto value = from_engine.next_u64();
  CHECK(value == direct.next_u64());
  CHECK(value != other_name.next_u64());
}
