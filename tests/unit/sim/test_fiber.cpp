// Fibers: suspended execution contexts, direct switches between them, and their stacks.

#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cfenv>
#include <csignal>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "ossim/sim/engine.hpp"

namespace {

using namespace ossim::sim;

std::size_t page_bytes() { return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)); }
std::size_t round_up_to_page(std::size_t n) { return (n + page_bytes() - 1) / page_bytes() * page_bytes(); }

// Records its name in a log when destroyed.
struct Unwound {
  std::vector<std::string>* log;
  const char* what;
  ~Unwound() { log->push_back(what); }
};

// The address of a local in the caller's stack frame region.
[[gnu::noinline]] std::uintptr_t stack_address() {
  volatile char marker = 0;
  return reinterpret_cast<std::uintptr_t>(&marker);
}

// Uses about 512 bytes of stack per level; the result depends on every level so the
// recursion cannot be turned into a loop.
[[gnu::noinline]] std::uint64_t recurse(int depth, std::uintptr_t& deepest) {
  volatile char pad[512];
  pad[0] = static_cast<char>(depth);
  pad[511] = 1;
  if (depth == 0) {
    deepest = reinterpret_cast<std::uintptr_t>(&pad[0]);
    return 1;
  }
  return recurse(depth - 1, deepest) + static_cast<std::uint64_t>(pad[0] & 1) + pad[511];
}

}  // namespace

// Every test that builds an engine runs once with each way of switching stacks.
#define ANY_FIBER_SWITCH GENERATE(FiberSwitch::kNative, FiberSwitch::kBoostContext)

TEST_CASE("a fiber does not run until something switches to it", "[sim][fiber]") {
  Engine engine({.seed = 1, .fiber_switch = ANY_FIBER_SWITCH});
  bool ran = false;
  auto fiber = engine.fibers().create([&] { ran = true; }, "lazy");
  CHECK_FALSE(ran);
  CHECK_FALSE(fiber->finished());
  CHECK(std::string(fiber->name()) == "lazy");
  CHECK(engine.fibers().on_host());
  CHECK(engine.fibers().switches() == 0);
}

// Regression, fixed (was src/sim/fiber.cpp:87, Fiber::Fiber): the constructor meant for the host fiber sets
// started_ = true, and FiberRuntime::create (fiber.cpp:103) builds every fiber with it, so
// a freshly created fiber already reports started() == true.
TEST_CASE("started() is false until the fiber is first switched to", "[sim][fiber][regression]") {
  Engine engine({.seed = 1, .fiber_switch = ANY_FIBER_SWITCH});
  auto fiber = engine.fibers().create([] {});
  CHECK_FALSE(fiber->started());
  engine.fibers().switch_to(*fiber);
  CHECK(fiber->started());
}

TEST_CASE("switch_to runs the body, and control returns to the host when the body ends",
          "[sim][fiber]") {
  Engine engine({.seed = 1, .fiber_switch = ANY_FIBER_SWITCH});
  FiberRuntime& fibers = engine.fibers();
  std::vector<std::string> log;
  std::unique_ptr<Fiber> fiber;
  fiber = fibers.create([&] {
    log.push_back("body");
    CHECK(&fibers.running() == fiber.get());
    CHECK_FALSE(fibers.on_host());
  });
  log.push_back("before");
  fibers.switch_to(*fiber);
  log.push_back("after");
  CHECK(log == std::vector<std::string>{"before", "body", "after"});
  CHECK(fiber->started());
  CHECK(fiber->finished());
  CHECK(fibers.on_host());
  CHECK(&fibers.running() == &fibers.host());
  CHECK(fibers.switches() == 2);  // host -> fiber, fiber -> host
}

TEST_CASE("a fiber that switches back to the host resumes where it left off", "[sim][fiber]") {
  Engine engine({.seed = 1, .fiber_switch = ANY_FIBER_SWITCH});
  FiberRuntime& fibers = engine.fibers();
  std::vector<int> log;
  auto fiber = fibers.create([&] {
    for (int i = 0; i < 3; ++i) {
      log.push_back(i);
      fibers.switch_to(fibers.host());
    }
  });
  for (int round = 0; round < 3; ++round) {
    fibers.switch_to(*fiber);
    log.push_back(100 + round);
  }
  CHECK_FALSE(fiber->finished());
  fibers.switch_to(*fiber);
  CHECK(fiber->finished());
  CHECK(log == std::vector<int>{0, 100, 1, 101, 2, 102});
}

TEST_CASE("switch_to the running fiber is a no-op", "[sim][fiber]") {
  Engine engine({.seed = 1, .fiber_switch = ANY_FIBER_SWITCH});
  engine.fibers().switch_to(engine.fibers().host());
  CHECK(engine.fibers().switches() == 0);
  CHECK(engine.fibers().on_host());
}

TEST_CASE("two fibers ping-pong directly, without going through the host, in order", "[sim][fiber]") {
  Engine engine({.seed = 1, .fiber_switch = ANY_FIBER_SWITCH});
  FiberRuntime& fibers = engine.fibers();
  std::vector<std::string> log;
  std::unique_ptr<Fiber> ping, pong;
  ping = fibers.create([&] {
    for (int i = 0; i < 4; ++i) {
      log.push_back("ping" + std::to_string(i));
      CHECK(&fibers.running() == ping.get());
      fibers.switch_to(*pong);
    }
  }, "ping");
  pong = fibers.create([&] {
    for (int i = 0; i < 4; ++i) {
      log.push_back("pong" + std::to_string(i));
      CHECK(&fibers.running() == pong.get());
      fibers.switch_to(*ping);
    }
  }, "pong");
  ping->set_finish_target(fibers.host());

  fibers.switch_to(*ping);
  CHECK(log == std::vector<std::string>{"ping0", "pong0", "ping1", "pong1", "ping2", "pong2",
                                        "ping3", "pong3"});
  CHECK(ping->finished());
  CHECK_FALSE(pong->finished());  // suspended in its last switch_to(ping)
  CHECK(fibers.on_host());
  // host->ping, then 8 direct switches, then ping finishing -> host.
  CHECK(fibers.switches() == 10);
}

TEST_CASE("a finishing fiber passes control to its finish target", "[sim][fiber]") {
  Engine engine({.seed = 1, .fiber_switch = ANY_FIBER_SWITCH});
  FiberRuntime& fibers = engine.fibers();
  std::vector<std::string> log;
  std::unique_ptr<Fiber> waiter, fresh, worker;
  waiter = fibers.create([&] {
    log.push_back("waiter starts");
    fibers.switch_to(fibers.host());
    log.push_back("waiter resumed by worker's end");
  }, "waiter");
  fresh = fibers.create([&] { log.push_back("fresh starts after waiter's end"); }, "fresh");
  worker = fibers.create([&] { log.push_back("worker"); }, "worker");
  worker->set_finish_target(*waiter);
  waiter->set_finish_target(*fresh);  // a never-started fiber as target

  fibers.switch_to(*waiter);  // runs until it yields to the host
  fibers.switch_to(*worker);  // worker ends -> waiter ends -> fresh ends -> host
  CHECK(log == std::vector<std::string>{"waiter starts", "worker", "waiter resumed by worker's end",
                                        "fresh starts after waiter's end"});
  CHECK(worker->finished());
  CHECK(waiter->finished());
  CHECK(fresh->finished());
  CHECK(fibers.on_host());
  CHECK(fibers.stacks().stacks_in_use() == 0);
}

TEST_CASE("an exception thrown in a fiber body is rethrown on the host by switch_to", "[sim][fiber]") {
  Engine engine({.seed = 1, .fiber_switch = ANY_FIBER_SWITCH});
  FiberRuntime& fibers = engine.fibers();
  auto thrower = fibers.create([] { throw std::runtime_error("boom"); });
  CHECK_THROWS_WITH(fibers.switch_to(*thrower), "boom");
  CHECK(thrower->finished());
  CHECK(fibers.on_host());
  CHECK(fibers.stacks().stacks_in_use() == 0);

  // The failure is delivered once: the next fiber runs normally.
  bool ran = false;
  auto next = fibers.create([&] { ran = true; });
  CHECK_NOTHROW(fibers.switch_to(*next));
  CHECK(ran);
}

TEST_CASE("an exception in a fiber reached through another fiber surfaces on the host, not the "
          "finish target", "[sim][fiber]") {
  Engine engine({.seed = 1, .fiber_switch = ANY_FIBER_SWITCH});
  FiberRuntime& fibers = engine.fibers();
  bool target_ran = false;
  auto target = fibers.create([&] { target_ran = true; });
  std::unique_ptr<Fiber> inner;
  auto outer = fibers.create([&] { fibers.switch_to(*inner); });
  inner = fibers.create([] { throw std::logic_error("inner failed"); });
  inner->set_finish_target(*target);

  CHECK_THROWS_AS(fibers.switch_to(*outer), std::logic_error);
  CHECK(fibers.on_host());
  CHECK_FALSE(target_ran);
  CHECK(inner->finished());
  CHECK_FALSE(outer->finished());  // still suspended in switch_to(inner)
}

TEST_CASE("destroying a suspended fiber unwinds its stack", "[sim][fiber]") {
  Engine engine({.seed = 1, .fiber_switch = ANY_FIBER_SWITCH});
  FiberRuntime& fibers = engine.fibers();
  std::vector<std::string> log;
  auto fiber = fibers.create([&] {
    Unwound outer{&log, "outer"};
    {
      Unwound inner{&log, "inner"};
      fibers.switch_to(fibers.host());
      log.push_back("never resumed");
    }
  });
  fibers.switch_to(*fiber);
  CHECK(log.empty());
  CHECK(fibers.stacks().stacks_in_use() == 1);
  fiber.reset();
  CHECK(log == std::vector<std::string>{"inner", "outer"});
  CHECK(fibers.stacks().stacks_in_use() == 0);
  CHECK(fibers.on_host());
}

TEST_CASE("destroying a fiber that never started does not run its body", "[sim][fiber]") {
  Engine engine({.seed = 1, .fiber_switch = ANY_FIBER_SWITCH});
  bool ran = false;
  auto fiber = engine.fibers().create([&] { ran = true; });
  CHECK(engine.fibers().stacks().stacks_in_use() == 1);
  fiber.reset();
  CHECK_FALSE(ran);
  CHECK(engine.fibers().stacks().stacks_in_use() == 0);
}

// Regression, fixed (was include/ossim/sim/fiber.hpp, class Fiber members): `context_` is declared before
// `body_`, so ~Fiber destroys the body (and everything it captured by value) first and only
// then unwinds the suspended stack, whose frames are still running inside that body.
// Destructors in those frames then see the body's captures already destroyed.
TEST_CASE("a suspended fiber's captures are still alive while its stack unwinds",
          "[sim][fiber][regression]") {
  Engine engine({.seed = 1, .fiber_switch = ANY_FIBER_SWITCH});
  FiberRuntime& fibers = engine.fibers();
  auto captured = std::make_shared<int>(7);
  std::weak_ptr<int> watch = captured;
  bool capture_gone_during_unwind = true;
  // The local records, from its own members only, whether the body's capture is alive.
  struct CheckCapture {
    std::weak_ptr<int>* watch;
    bool* gone;
    ~CheckCapture() { *gone = watch->expired(); }
  };
  auto fiber = fibers.create([&fibers, &watch, &capture_gone_during_unwind, captured] {
    CheckCapture local{&watch, &capture_gone_during_unwind};  // built while the body is intact
    (void)captured;
    fibers.switch_to(fibers.host());
  });
  captured.reset();  // the body's copy is now the only owner
  fibers.switch_to(*fiber);
  CHECK_FALSE(watch.expired());
  fiber.reset();
  CHECK(watch.expired());
  CHECK_FALSE(capture_gone_during_unwind);
}

TEST_CASE("stacks go back to the pool when fibers finish and are reused", "[sim][fiber]") {
  Engine engine({.seed = 1, .fiber_stack_bytes = 32 * 1024, .fiber_switch = ANY_FIBER_SWITCH});
  FiberRuntime& fibers = engine.fibers();
  FiberStackPool& pool = fibers.stacks();
  CHECK(pool.stacks_in_use() == 0);
  CHECK(pool.stacks_cached() == 0);  // nothing mapped until the first fiber

  auto make = [&](std::uintptr_t& where) { return fibers.create([&where] { where = stack_address(); }); };
  std::uintptr_t first_address = 0, second_address = 0;
  auto first = make(first_address);
  CHECK(pool.stacks_in_use() == 1);
  const std::size_t total = pool.stacks_in_use() + pool.stacks_cached();
  fibers.switch_to(*first);
  CHECK(pool.stacks_in_use() == 0);
  CHECK(pool.stacks_cached() == total);

  auto second = make(second_address);
  fibers.switch_to(*second);
  // The same stack, so the same frame lands at (nearly) the same address.
  const auto distance = first_address > second_address ? first_address - second_address
                                                       : second_address - first_address;
  CHECK(distance < page_bytes());

  // A thousand short-lived fibers, one at a time, never need more stacks.
  for (int i = 0; i < 1000; ++i) {
    std::uintptr_t where = 0;
    auto fiber = make(where);
    fibers.switch_to(*fiber);
  }
  CHECK(pool.stacks_in_use() == 0);
  CHECK(pool.stacks_cached() == total);
}

TEST_CASE("ten thousand fibers with small stacks can be alive at once", "[sim][fiber]") {
  Engine engine({.seed = 1, .fiber_stack_bytes = 16 * 1024, .fiber_switch = ANY_FIBER_SWITCH});
  FiberRuntime& fibers = engine.fibers();
  constexpr int kFibers = 10'000;
  std::vector<std::unique_ptr<Fiber>> all;
  std::vector<int> phase(kFibers, 0);
  all.reserve(kFibers);
  for (int i = 0; i < kFibers; ++i) {
    all.push_back(fibers.create([&fibers, &phase, i] {
      phase[i] = 1;
      fibers.switch_to(fibers.host());
      phase[i] = 2;
    }));
  }
  for (auto& fiber : all) fibers.switch_to(*fiber);  // each runs to its switch
  CHECK(fibers.stacks().stacks_in_use() == kFibers);
  CHECK(std::count(phase.begin(), phase.end(), 1) == kFibers);
  for (int i = kFibers - 1; i >= 0; --i) fibers.switch_to(*all[i]);  // resume in reverse
  CHECK(std::count(phase.begin(), phase.end(), 2) == kFibers);
  CHECK(fibers.stacks().stacks_in_use() == 0);
  CHECK(fibers.switches() == 4u * kFibers);
}

TEST_CASE("the stack size is configurable and rounded up to whole pages", "[sim][fiber]") {
  const std::size_t page = page_bytes();
  CHECK(FiberStackPool(100'000, false).stack_bytes() == round_up_to_page(100'000));
  CHECK(FiberStackPool(64 * 1024 + 1, false).stack_bytes() == 64 * 1024 + page);
  CHECK(FiberStackPool(64 * 1024, false).stack_bytes() == 64 * 1024);
  const std::size_t tiny = FiberStackPool(1, false).stack_bytes();
  CHECK(tiny >= 1);
  CHECK(tiny % page == 0);

  Engine engine({.seed = 1, .fiber_stack_bytes = 200'000, .fiber_guard_pages = false});
  CHECK(engine.fibers().stacks().stack_bytes() == round_up_to_page(200'000));
  CHECK_FALSE(engine.fibers().stacks().guard_pages());

  FiberStackPool pool(40'000, true);
  auto stack = pool.allocate();
  CHECK(stack.size == pool.stack_bytes());
  CHECK(reinterpret_cast<std::uintptr_t>(stack.sp) % page == 0);
  CHECK(pool.stacks_in_use() == 1);
  pool.deallocate(stack);
  CHECK(pool.stacks_in_use() == 0);
}

TEST_CASE("recursion that uses most of a configured stack works", "[sim][fiber]") {
  constexpr std::size_t kStack = 1024 * 1024;
  Engine engine({.seed = 1, .fiber_stack_bytes = kStack, .fiber_switch = ANY_FIBER_SWITCH});
  std::uint64_t result = 0;
  std::uintptr_t top = 0, deepest = 0;
  auto fiber = engine.fibers().create([&] {
    top = stack_address();
    result = recurse(1200, deepest);  // about 600 KiB of frames
  });
  engine.fibers().switch_to(*fiber);
  CHECK(fiber->finished());
  CHECK(result == 1 + 1200 + 600);  // 1 at the bottom, pad[511] per level, odd depths
  CHECK(top - deepest > kStack / 2);  // the recursion really went deep
  CHECK(top - deepest < kStack);
}

TEST_CASE("touching the page under a guarded stack faults instead of corrupting memory",
          "[sim][fiber]") {
  FiberStackPool pool(32 * 1024, true);
  auto stack = pool.allocate();
  REQUIRE(pool.guard_pages());
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // Die of the fault quietly: no core file, and not through Catch's fatal-signal handler.
    const rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    std::signal(SIGSEGV, SIG_DFL);
    volatile char* below = static_cast<char*>(stack.sp) - stack.size - 1;
    *below = 1;
    ::_exit(0);  // reached only if the write did not fault
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGSEGV);
  // And the stack itself is writable down to its lowest byte.
  static_cast<char*>(stack.sp)[-1] = 1;
  static_cast<char*>(stack.sp)[-static_cast<std::ptrdiff_t>(stack.size)] = 1;
  pool.deallocate(stack);
}

TEST_CASE("the default switch is ossim's own where the build has it", "[sim][fiber]") {
  Engine engine({.seed = 1});
#if defined(__x86_64__) && defined(__linux__)
  CHECK(engine.fibers().switch_kind() == FiberSwitch::kNative);
#endif
  Engine boost_engine({.seed = 1, .fiber_switch = FiberSwitch::kBoostContext});
  CHECK(boost_engine.fibers().switch_kind() == FiberSwitch::kBoostContext);
}

TEST_CASE("each fiber keeps its own floating-point rounding mode across switches", "[sim][fiber]") {
  // The ABI makes MXCSR's and the x87 control word's control bits callee-saved, so a
  // switch preserves them per fiber, as a kernel preserves them per thread.
  Engine engine({.seed = 1, .fiber_switch = ANY_FIBER_SWITCH});
  FiberRuntime& fibers = engine.fibers();
  const int host_mode = std::fegetround();
  int seen_in_fiber = -1;
  auto fiber = fibers.create([&] {
    std::fesetround(FE_UPWARD);
    fibers.switch_to(fibers.host());
    seen_in_fiber = std::fegetround();  // after the host ran with its own mode
  });
  fibers.switch_to(*fiber);
  CHECK(std::fegetround() == host_mode);  // the fiber's change did not leak out
  std::fesetround(FE_TOWARDZERO);
  fibers.switch_to(*fiber);
  CHECK(seen_in_fiber == FE_UPWARD);
  CHECK(std::fegetround() == FE_TOWARDZERO);
  std::fesetround(host_mode);
}

TEST_CASE("exceptions thrown and caught inside a fiber stay inside it", "[sim][fiber]") {
  Engine engine({.seed = 1, .fiber_switch = ANY_FIBER_SWITCH});
  FiberRuntime& fibers = engine.fibers();
  std::vector<std::string> log;
  auto fiber = fibers.create([&] {
    for (int i = 0; i < 3; ++i) {
      try {
        Unwound frame{&log, "frame"};
        fibers.switch_to(fibers.host());
        throw std::runtime_error("caught " + std::to_string(i));
      } catch (const std::runtime_error& error) {
        log.push_back(error.what());
      }
    }
  });
  for (int i = 0; i < 4; ++i) CHECK_NOTHROW(fibers.switch_to(*fiber));
  CHECK(fiber->finished());
  CHECK(log == std::vector<std::string>{"frame", "caught 0", "frame", "caught 1", "frame", "caught 2"});
}

TEST_CASE("destroying a suspended fiber from another fiber unwinds it and comes back there",
          "[sim][fiber]") {
  Engine engine({.seed = 1, .fiber_switch = ANY_FIBER_SWITCH});
  FiberRuntime& fibers = engine.fibers();
  std::vector<std::string> log;
  std::unique_ptr<Fiber> victim = fibers.create([&] {
    Unwound frame{&log, "victim unwound"};
    fibers.switch_to(fibers.host());
  }, "victim");
  fibers.switch_to(*victim);
  auto destroyer = fibers.create([&] {
    log.push_back("destroying");
    victim.reset();
    log.push_back("destroyed");
    CHECK(&fibers.running() != &fibers.host());
  }, "destroyer");
  const std::uint64_t switches_before = fibers.switches();
  fibers.switch_to(*destroyer);
  CHECK(log == std::vector<std::string>{"destroying", "victim unwound", "destroyed"});
  CHECK(fibers.on_host());
  CHECK(fibers.switches() == switches_before + 2);  // teardown switches are not counted
  CHECK(fibers.stacks().stacks_in_use() == 0);
}
