#include "kernel/trace_points.hpp"

#include "ossim/sim/trace.hpp"
#include "kernel/kernel_core.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/page_cache.hpp"
#include "kernel/mm/swap_area.hpp"

#include <string>

namespace ossim::kernel::trace {

namespace {

using sim::TraceCategory;
using sim::TraceTaskState;

constexpr std::uint32_t kNoTrack = ~std::uint32_t{0};

sim::TrackId task_track(sim::Trace& trace, Task& task) {
  if (task.trace_track == kNoTrack) task.trace_track = trace.task_track(task.tgid, task.tid, task.name);
  return task.trace_track;
}

TraceTaskState state_of(const Task& task) {
  switch (task.state) {
    case TaskState::kRunning: return TraceTaskState::kRunnable;
    case TaskState::kInterruptible: return TraceTaskState::kSleeping;
    case TaskState::kUninterruptible: return TraceTaskState::kBlocked;
    case TaskState::kStopped: return TraceTaskState::kStopped;
    case TaskState::kZombie:
    case TaskState::kDead: return TraceTaskState::kZombie;
  }
  return TraceTaskState::kRunnable;
}

/// The trace when `category` is being recorded, else nullptr: the one check every trace
/// point starts with, so that an untraced run pays a load and a test.
sim::Trace* active(KernelCore& kernel, TraceCategory category) {
  sim::Trace* trace = kernel.trace();
  return trace != nullptr && trace->enabled(category) ? trace : nullptr;
}

}  // namespace

std::uint32_t Tracks::cpu(sim::Trace& trace, unsigned cpu) {
  if (cpu >= cpus_.size()) cpus_.resize(cpu + 1, kNone);
  if (cpus_[cpu] == kNone) cpus_[cpu] = trace.cpu_track(cpu);
  return cpus_[cpu];
}

std::uint32_t Tracks::runqueue(sim::Trace& trace, unsigned cpu) {
  if (cpu >= runqueues_.size()) runqueues_.resize(cpu + 1, kNone);
  if (runqueues_[cpu] == kNone) runqueues_[cpu] = trace.counter_track("runqueue cpu" + std::to_string(cpu));
  return runqueues_[cpu];
}

std::uint32_t Tracks::free_frames(sim::Trace& trace) {
  if (free_frames_ == kNone) free_frames_ = trace.counter_track("free frames");
  return free_frames_;
}

std::uint32_t Tracks::page_cache_pages(sim::Trace& trace) {
  if (page_cache_pages_ == kNone) page_cache_pages_ = trace.counter_track("page cache pages");
  return page_cache_pages_;
}

std::uint32_t Tracks::swap_used(sim::Trace& trace) {
  if (swap_used_ == kNone) swap_used_ = trace.counter_track("swap used pages");
  return swap_used_;
}

std::uint32_t Tracks::page_fault_rate(sim::Trace& trace) {
  if (page_fault_rate_ == kNone) page_fault_rate_ = trace.counter_track("page faults/s");
  return page_fault_rate_;
}

void runqueue_length(KernelCore& kernel, const RunQueue& rq, sim::Tick now) {
  sim::Trace* trace = active(kernel, TraceCategory::kCounter);
  if (trace == nullptr) return;
  trace->counter(TraceCategory::kCounter, kernel.trace_tracks().runqueue(*trace, rq.cpu), now,
                 static_cast<std::int64_t>(rq.nr_running));
}

void task_woken(KernelCore& kernel, Task& task, sim::Tick now, const cpu::Cpu* waker) {
  sim::Trace* trace = kernel.trace();
  if (trace == nullptr) return;
  if (trace->enabled(TraceCategory::kTask)) trace->task_state(task_track(*trace, task), TraceTaskState::kRunnable, now);
  if (trace->enabled(TraceCategory::kFlow) && waker != nullptr) {
    Task& source = kernel.current(*waker);
    const sim::TrackId from = source.idle ? kernel.trace_tracks().cpu(*trace, waker->id()) : task_track(*trace, source);
    trace->flow(TraceCategory::kFlow, from, now, task_track(*trace, task), now, "wakeup");
  }
}

void task_created(KernelCore& kernel, Task& task, sim::Tick now) {
  sim::Trace* trace = active(kernel, TraceCategory::kTask);
  if (trace == nullptr) return;
  trace->task_state(task_track(*trace, task), TraceTaskState::kRunnable, now);
}

void task_renamed(KernelCore& kernel, Task& task) {
  sim::Trace* trace = kernel.trace();
  if (trace == nullptr || task.trace_track == kNoTrack) return;
  trace->rename_task(task.trace_track, task.name);
}

void context_switch(KernelCore& kernel, const RunQueue& rq, Task& prev, Task& next, sim::Tick now) {
  sim::Trace* trace = kernel.trace();
  if (trace == nullptr) return;
  if (trace->enabled(TraceCategory::kSched)) {
    const sim::TrackId cpu = kernel.trace_tracks().cpu(*trace, rq.cpu);
    if (next.idle) {
      trace->close_open_slice(cpu, now);
    } else {
      trace->cpu_run(cpu, task_track(*trace, next), now);
    }
  }
  if (trace->enabled(TraceCategory::kTask)) {
    if (!prev.idle && prev.state != TaskState::kZombie && prev.state != TaskState::kDead) {
      trace->task_state(task_track(*trace, prev), state_of(prev), now);
    }
    if (!next.idle) trace->task_state(task_track(*trace, next), TraceTaskState::kRunning, now);
  }
}

void syscall(KernelCore& kernel, Task& task, std::uint64_t number, const std::uint64_t (&args)[6],
             std::int64_t result) {
  sim::Trace* trace = active(kernel, TraceCategory::kSyscall);
  if (trace == nullptr) return;
  const std::string_view name = sys::syscall_name(number);
  // Names in the table are string literals, so they outlive the trace.
  const sim::TraceName trace_name = name.empty() ? sim::TraceName("syscall") : sim::TraceName::from_static(name.data());
  const sim::Tick now = task.ctx().cpu().now();
  trace->instant(TraceCategory::kSyscall, task_track(*trace, task), now, trace_name,
                 {{"nr", number}, sim::TraceArg::hex("arg0", args[0]), sim::TraceArg::hex("arg1", args[1]),
                  sim::TraceArg::hex("arg2", args[2]), {"result", result}});
}

void interrupt(KernelCore& kernel, cpu::Cpu& cpu, std::uint8_t vector) {
  sim::Trace* trace = active(kernel, TraceCategory::kIrq);
  if (trace == nullptr) return;
  trace->instant(TraceCategory::kIrq, kernel.trace_tracks().cpu(*trace, cpu.id()), cpu.now(), "irq",
                 {{"vector", static_cast<std::uint64_t>(vector)}});
}

void page_fault(KernelCore& kernel, Task& task, cpu::Cpu& cpu, std::uint64_t address, std::uint64_t error_code,
                FaultOutcome outcome) {
  sim::Trace* trace = kernel.trace();
  if (trace == nullptr) return;
  const sim::Tick now = cpu.now();
  if (trace->enabled(TraceCategory::kFault)) {
    const sim::TraceName kind = outcome == FaultOutcome::kMinor   ? sim::TraceName("minor")
                                : outcome == FaultOutcome::kMajor ? sim::TraceName("major")
                                : outcome == FaultOutcome::kSegv  ? sim::TraceName("segv")
                                : outcome == FaultOutcome::kBus   ? sim::TraceName("sigbus")
                                                                  : sim::TraceName("oom");
    const sim::TrackId track = task.idle ? kernel.trace_tracks().cpu(*trace, cpu.id()) : task_track(*trace, task);
    trace->instant(TraceCategory::kFault, track, now, "page_fault",
                   {sim::TraceArg::hex("address", address), sim::TraceArg::hex("error_code", error_code),
                    {"kind", kind}});
  }
  if (trace->enabled(TraceCategory::kCounter)) {
    trace->counter(TraceCategory::kCounter, kernel.trace_tracks().free_frames(*trace), now,
                   static_cast<std::int64_t>(kernel.machine().frames().free_frames()));
  }
}

void memory_sample(KernelCore& kernel, sim::Tick now) {
  sim::Trace* trace = active(kernel, TraceCategory::kCounter);
  if (trace == nullptr) return;
  Tracks& tracks = kernel.trace_tracks();
  const std::uint64_t faults = kernel.stats().page_faults;
  const std::uint64_t in_period = faults - tracks.faults_at_last_sample;
  tracks.faults_at_last_sample = faults;
  trace->counter(TraceCategory::kCounter, tracks.page_cache_pages(*trace), now,
                 static_cast<std::int64_t>(kernel.page_cache_pool().cached_pages));
  trace->counter(TraceCategory::kCounter, tracks.page_fault_rate(*trace), now,
                 static_cast<std::int64_t>(in_period * kernel.config().hz));
  if (const SwapArea* swap = kernel.swap_area()) {
    trace->counter(TraceCategory::kCounter, tracks.swap_used(*trace), now, static_cast<std::int64_t>(swap->used()));
  }
}

void exception(KernelCore& kernel, Task& task, cpu::Cpu& cpu, std::uint8_t vector, int signal) {
  sim::Trace* trace = active(kernel, TraceCategory::kFault);
  if (trace == nullptr || task.idle) return;
  trace->instant(TraceCategory::kFault, task_track(*trace, task), cpu.now(), "exception",
                 {{"vector", static_cast<std::uint64_t>(vector)}, {"signal", signal}});
}

void signal(KernelCore& kernel, Task& task, int signal, sim::Tick now) {
  sim::Trace* trace = active(kernel, TraceCategory::kTask);
  if (trace == nullptr) return;
  trace->instant(TraceCategory::kTask, task_track(*trace, task), now, "signal", {{"signal", signal}});
}

void task_reaped(KernelCore& kernel, Task& task, sim::Tick now) {
  sim::Trace* trace = kernel.trace();
  if (trace == nullptr || task.trace_track == kNoTrack) return;
  trace->close_open_slice(task.trace_track, now);
}

void task_exit(KernelCore& kernel, Task& task, sim::Tick now) {
  sim::Trace* trace = active(kernel, TraceCategory::kTask);
  if (trace == nullptr) return;
  trace->task_state(task_track(*trace, task), TraceTaskState::kZombie, now);
}

}  // namespace ossim::kernel::trace
