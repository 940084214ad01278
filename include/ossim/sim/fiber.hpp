#pragma once

/// @file
/// Fibers: the execution contexts of simulated threads.
///
/// Every simulated thread of control (a task's user code and kernel stack, a CPU's idle
/// loop) runs on a Fiber. One host thread runs all of a
/// simulation's fibers, one at a time; the engine's event loop runs on the *host fiber*
/// (the host thread's own stack). A FiberRuntime, owned by the engine, knows which fiber
/// is running and passes control directly from one fiber to another: a kernel's
/// context_switch(prev, next) resumes next without going through the engine.
///
/// Stacks come from a FiberStackPool: fixed-size stacks carved from large mappings,
/// reused after a fiber finishes, and committed by the host only as they are touched.
///
/// Two ways to switch stacks (FiberSwitch): ossim's own switch on x86-64 (System V, ELF),
/// which keeps the host's return prediction in step (src/sim/stack_switch.hpp says why),
/// and Boost.Context's fibers, on every platform. Both give the same behaviour; the tests
/// run on both.

#include <boost/context/fiber.hpp>
#include <boost/context/stack_context.hpp>

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <vector>

#include "ossim/sim/prefetch.hpp"
#include "ossim/sim/huge_page_heap.hpp"

namespace ossim::sim {

/// Stacks of one size for the fibers of one simulation. Not thread-safe (one simulation
/// runs on one host thread).
class FiberStackPool {
 public:
  /// `stack_bytes` is rounded up to whole host pages. With `guard_page`, the lowest page
  /// of each stack is made inaccessible so an overflow faults on the host instead of
  /// corrupting memory; if the host refuses (too many mappings), stacks go unguarded.
  FiberStackPool(std::size_t stack_bytes, bool guard_page);
  FiberStackPool(const FiberStackPool&) = delete;
  FiberStackPool& operator=(const FiberStackPool&) = delete;
  /// Precondition: every stack has been returned.
  ~FiberStackPool();

  boost::context::stack_context allocate();
  void deallocate(boost::context::stack_context& stack) noexcept;

  std::size_t stack_bytes() const { return stack_bytes_; }
  std::size_t stacks_in_use() const { return in_use_; }
  std::size_t stacks_cached() const { return free_.size(); }
  bool guard_pages() const { return guard_page_; }

 private:
  void grow();

  std::size_t stack_bytes_;    // usable bytes per stack (multiple of the page size)
  std::size_t slot_bytes_;     // stack plus its guard page
  bool guard_page_;
  std::size_t in_use_ = 0;
  std::vector<void*> free_;    // tops of free stacks
  struct Chunk {
    void* base;
    std::size_t bytes;
  };
  std::vector<Chunk> chunks_;
};

/// How a FiberRuntime switches stacks.
enum class FiberSwitch {
  /// ossim's own switch where the build has it (x86-64 System V, ELF), else Boost.Context.
  kNative,
  /// Boost.Context's `fiber` (jump_fcontext).
  kBoostContext,
};

class FiberRuntime;

/// One thread of control with its own stack. Built suspended; runs its body the first
/// time something switches to it. When the body returns (or throws), the fiber is
/// finished and control passes to its finish target (the host fiber unless set).
class Fiber : public HugePageAllocated {
 public:
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;
  /// Destroying a suspended fiber unwinds its stack (destructors in its frames run).
  /// Precondition: the fiber is not running.
  ~Fiber();

  bool started() const { return started_; }
  bool finished() const { return finished_; }
  const char* name() const { return name_; }

  /// Where control goes when the body returns. Must not be this fiber.
  void set_finish_target(Fiber& target) { finish_target_ = &target; }

  /// A hint to the host's caches, for a fiber about to be resumed: fetches the stack it
  /// will read as it returns, from the registers its switch saved up through its callers'
  /// frames. With ossim's own switch that is the whole stack in use, up to 4 KiB (a task
  /// blocked in nanosleep has 1.8 KiB, up to its workload's frame); with Boost's, the
  /// 1.1 KiB around the switch. Changes nothing; a no-op for a fiber never suspended.
  void prefetch_resume_frames() const {
    if (saved_sp_ != nullptr) {
      const char* line = static_cast<const char*>(saved_sp_);
      const char* const top = static_cast<const char*>(stack_.sp);
      const char* const end = top != nullptr && top - line < kLargestResume ? top : line + kLargestResume;
      for (; line < end; line += kHostCacheLine) __builtin_prefetch(line, 1);
    } else if (boost_resume_from_ != nullptr) {
      prefetch_bytes<kBoostResumeBytes>(boost_resume_from_);
    }
  }

 private:
  static constexpr std::ptrdiff_t kLargestResume = 4096;
  static constexpr std::size_t kBoostResumeBytes = 18 * kHostCacheLine;

  friend class FiberRuntime;
  Fiber(FiberRuntime& runtime, const char* name);

  FiberRuntime& runtime_;
  // The body is declared before the Boost context so that it is destroyed after it:
  // destroying a suspended context unwinds frames that still use the body's captures.
  std::function<void()> body_;
  // Boost.Context switch: how to resume this fiber while it is suspended.
  boost::context::fiber context_;
  // Native switch: the stack (sp null once given back) and, while suspended, the stack
  // pointer its registers are saved at.
  boost::context::stack_context stack_{};
  void* saved_sp_ = nullptr;
  Fiber* finish_target_ = nullptr;
  // Boost.Context switch: the lowest stack byte a resume reads first.
  const void* boost_resume_from_ = nullptr;
  const char* name_;
  bool started_ = false;
  bool finished_ = false;
  bool unwinding_ = false;  // native switch: being destroyed, its frames unwinding
};

/// The fibers of one simulation and the switches between them.
class FiberRuntime {
 public:
  FiberRuntime(std::size_t stack_bytes, bool guard_pages, FiberSwitch how = FiberSwitch::kNative);
  FiberRuntime(const FiberRuntime&) = delete;
  FiberRuntime& operator=(const FiberRuntime&) = delete;
  ~FiberRuntime();

  /// A new suspended fiber that will run `body`. `name` must outlive the fiber.
  std::unique_ptr<Fiber> create(std::function<void()> body, const char* name = "fiber");

  /// Suspends the running fiber and resumes `next`; returns when something switches back.
  /// If a fiber's body threw, the exception is rethrown here on the host fiber.
  /// Precondition: `next` is not finished.
  void switch_to(Fiber& next);

  Fiber& running() const { return *running_; }
  Fiber& host() { return host_; }
  bool on_host() const { return running_ == &host_; }
  FiberStackPool& stacks() { return stacks_; }
  std::uint64_t switches() const { return switches_; }
  /// The switch in use: kNative only where the build has ossim's own.
  FiberSwitch switch_kind() const { return native_ ? FiberSwitch::kNative : FiberSwitch::kBoostContext; }

 private:
  friend class Fiber;
  /// Runs `self`'s body, keeping an exception for the host; returns where control goes
  /// next, with the fiber marked finished and the runtime's bookkeeping done.
  Fiber& run_body(Fiber& self);
  /// The first code on a new fiber's stack, for each switch.
  boost::context::fiber start_boost(Fiber& self, boost::context::fiber&& from);
  [[noreturn]] static void start_native(void* fiber);
  void adopt_suspended(boost::context::fiber&& from) { handoff_from_->context_ = std::move(from); }
  /// Native switch: resumes suspended `fiber` to unwind its frames, and returns when
  /// they are unwound (its stack back in the pool).
  void unwind_native(Fiber& fiber);
  void rethrow_failure_on_host();

  bool native_;
  FiberStackPool stacks_;
  Fiber host_;
  Fiber* running_;
  Fiber* handoff_from_ = nullptr;  // the fiber that just switched away
  std::exception_ptr failure_;     // a body's exception, waiting for the host
  std::uint64_t switches_ = 0;
};

}  // namespace ossim::sim
