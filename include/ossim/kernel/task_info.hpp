#pragma once

/// @file
/// What the kernel tells the outside about a task: its state and its accounting, as
/// metrics, traces and tests read them.

#include <cstdint>
#include <string>
#include <string_view>

#include "ossim/kernel/latency_histogram.hpp"
#include "ossim/sim/tick.hpp"

namespace ossim::kernel {

/// Linux's task states (the letters ps shows: R, S, D, T, Z, X).
enum class TaskState : std::uint8_t {
  kRunning,          // R: running or runnable
  kInterruptible,    // S: asleep, a signal wakes it
  kUninterruptible,  // D: asleep until the event it waits for
  kStopped,          // T
  kZombie,           // Z: exited, not yet reaped
  kDead,             // X: reaped
};

std::string_view task_state_name(TaskState state);

/// Per-task accounting. Times are simulated picoseconds; kTickNever marks "not yet".
struct TaskAccounting {
  /// max_lateness before any job with a deadline has completed.
  static constexpr std::int64_t kNoLateness = INT64_MIN;

  sim::Tick arrival = 0;                    // created (fork/clone) or spawned
  sim::Tick first_run = sim::kTickNever;    // first put on a CPU
  sim::Tick completion = sim::kTickNever;   // exited
  sim::Tick user_time = 0;
  sim::Tick system_time = 0;
  sim::Tick wait_time = 0;                  // runnable but not running
  std::uint64_t voluntary_switches = 0;     // blocked (nvcsw)
  std::uint64_t involuntary_switches = 0;   // preempted or yielded (nivcsw)
  std::uint64_t preemptions = 0;            // involuntary switches but yields
  std::uint64_t slices = 0;                 // times put on a CPU
  std::uint64_t migrations = 0;             // moves to another CPU's run queue while runnable
  LatencyHistogram wakeup_latency;          // woken -> on a CPU, per wakeup
  // Jobs of a periodic or sporadic task, as the task reports them (sched_job_complete).
  std::uint64_t jobs = 0;
  std::uint64_t deadline_misses = 0;        // jobs that completed after their deadline
  std::int64_t max_lateness = kNoLateness;  // completion - deadline of the worst job, ps
  std::int64_t total_lateness = 0;          // summed over the jobs with a deadline
  std::uint64_t minor_faults = 0;
  std::uint64_t major_faults = 0;
  /// References to pages of a region with a resident limit (the page_refs workload),
  /// reported by the task: to a resident page (hit) or not (miss, first touches included).
  std::uint64_t page_hits = 0;
  std::uint64_t page_misses = 0;
  std::uint64_t syscalls = 0;
  // The task's share of its CPUs' TLB counters (kernel/task/tlb_usage.hpp).
  std::uint64_t tlb_hits = 0;    // first-level iTLB + dTLB hits
  std::uint64_t tlb_misses = 0;  // first-level iTLB + dTLB misses
  std::uint64_t page_walks = 0;  // misses of every TLB level
};

/// A snapshot of one task.
struct TaskInfo {
  int tid = 0;
  int tgid = 0;
  int ppid = 0;
  int pgid = 0;
  int sid = 0;
  std::string name;
  std::string label;    // the SpawnRequest's label (a scenario workload's name), inherited by fork; or empty
  TaskState state = TaskState::kRunning;
  int exit_status = 0;  // wait status encoding, valid once the task has exited
  bool exited = false;
  TaskAccounting accounting;
};

}  // namespace ossim::kernel
