#pragma once

// The task: what Linux's task_struct is. One per thread of execution; the threads of a
// process share a thread-group id (tgid) and, through reference-counted pointers, an
// address space, a file table, a file-system context and signal handlers.
//
// A task's fiber (its cpu::Context) is both its user-mode execution and its kernel stack:
// syscalls and faults run on it. The task is owned by the kernel's TaskTable until it is
// reaped.

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/intrusive/list.hpp>
#include <boost/intrusive/set.hpp>
#include <boost/intrusive/set_hook.hpp>

#include "ossim/sys/types.hpp"
#include "ossim/cpu/context.hpp"
#include "ossim/kernel/task_info.hpp"
#include "ossim/mmu/page_table.hpp"
#include "ossim/sim/event.hpp"
#include "ossim/sim/huge_page_heap.hpp"
#include "ossim/sim/tick.hpp"
#include "ossim/user/process.hpp"
#include "kernel/sched/sched_params.hpp"
#include "kernel/task/tlb_usage.hpp"
#include "kernel/task/wait_queue.hpp"

namespace ossim::kernel {

class AddressSpace;
class FileTable;
class FsContext;
class SignalHandlers;
class SchedClass;
class KernelCore;

using sys::pid_t;
using ChildHook = boost::intrusive::list_member_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

/// The scheduler's view of a task (Linux's sched_entity plus the policy fields of the
/// task). A policy class may use the `policy_data` words, and the task's run_list and
/// tree_node hooks, as it likes.
struct SchedEntity {
  SchedClass* sched_class = nullptr;
  std::uint64_t policy_data[4] = {};              // policy-private state
  SchedParams params;    // policy, priorities, tickets... (sched_setattr)
  sim::Tick slice_start = 0;       // when the current slice began (exec_start)
  sim::Tick slice_runtime = 0;     // runtime within the current slice
  sim::Tick total_runtime = 0;     // sum_exec_runtime
  sim::Tick enqueued_at = 0;       // when it last became runnable and was queued
  unsigned cpu = 0;                // the CPU whose run queue holds it (or last ran it)
  bool on_rq = false;              // runnable: queued or running
  bool on_cpu = false;             // current on some CPU (the switch away may be unfinished)
  bool yielding = false;           // in sched_yield(): the switch away is not a preemption
  sim::Tick migration_debt = 0;    // cold-cache time owed on the next run after a migration
  bool evicted = false;            // switched away for its affinity, to be queued elsewhere
  sim::Tick woken_at = sim::kTickNever;  // when last woken, until it runs (wakeup latency)
};

/// Everything that ends a task's code: thrown by exit paths, caught at the fiber base.
struct TaskExitUnwind {};
/// Thrown by execve once the new image is in place; the task's base runs the new entry.
struct ExecUnwind {};

class Task : public sim::HugePageAllocated {
 public:
  /// A task whose fiber will run `body`, or KernelCore::task_main when it is empty.
  Task(KernelCore& owner, pid_t id, std::string comm, std::function<void()> body = {});
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task();

  bool is_thread_group_leader() const { return group_leader == this; }
  bool is_kernel_thread() const { return !mm; }
  bool runnable() const { return state == TaskState::kRunning; }
  cpu::Context& ctx() { return *context; }

  // --- identity, filled by fork/clone --------------------------------------------------
  KernelCore& kernel;
  pid_t tid;
  pid_t tgid;
  std::string name;               // comm
  std::string label;              // a spawned process's label (SpawnRequest), for metrics
  bool idle = false;              // a CPU's idle task (pid 0)
  Task* parent = nullptr;         // who gets kSigChld and reaps it (real_parent)
  Task* group_leader = this;
  pid_t pgid = 0;
  pid_t sid = 0;
  sys::uid_t uid = 0;
  sys::gid_t gid = 0;
  ChildHook sibling_hook;         // in parent->children
  ChildHook thread_hook;          // in group_leader->threads
  using ChildList = boost::intrusive::list<
      Task, boost::intrusive::member_hook<Task, ChildHook, &Task::sibling_hook>,
      boost::intrusive::constant_time_size<false>>;
  using ThreadList = boost::intrusive::list<
      Task, boost::intrusive::member_hook<Task, ChildHook, &Task::thread_hook>,
      boost::intrusive::constant_time_size<false>>;
  ChildList children;             // tasks whose parent is this one
  ThreadList threads;             // leader only: the other threads of the group

  // --- state (the run state itself is with the scheduling fields below) -----------------
  bool exiting = false;           // do_exit has begun
  bool thread_entry = false;      // the entry is a clone(kCloneThread) function: returning exits the thread only
  bool group_exiting = false;     // leader: the whole group is exiting with group_exit_status
  int group_exit_status = 0;
  Task* exec_survivor = nullptr;  // leader: the thread whose execve is killing the others
  int exit_status = 0;            // wait status encoding (exited_status / signaled_status)
  int exit_signal = 17;           // kSigChld for processes; -1 for threads (no notification)
  std::uint64_t pending_signals = 0;  // bit (n-1) for signal n
  std::uint64_t blocked_signals = 0;
  WaitQueue child_exit;           // leader: wait4 by any thread of the group sleeps here
  std::uint64_t child_events = 0; // leader: bumped when a child's state changes

  // --- resources (shared between threads as the clone flags say) ----------------------
  std::shared_ptr<AddressSpace> mm;
  std::shared_ptr<FileTable> files;
  std::shared_ptr<FsContext> fs;
  std::shared_ptr<SignalHandlers> sighand;

  // --- scheduling and accounting ------------------------------------------------------
  // A timer's wakeup touches the sleep timer, the state and the scheduling entity and
  // hooks: they sit together, in as few host cache lines as they fit.
  sim::CallbackEvent sleep_timer; // nanosleep and timed waits: wakes the task
  bool timer_fired = false;
  TaskState state = TaskState::kRunning;
  bool need_resched = false;
  SchedEntity se;
  // Hooks unlink themselves when a task is destroyed while queued (at teardown), so the
  // containers using them must not keep a size (constant_time_size<false>).
  using AutoUnlink = boost::intrusive::link_mode<boost::intrusive::auto_unlink>;
  boost::intrusive::list_member_hook<AutoUnlink> run_list;  // FIFO/RR queues of a policy class
  boost::intrusive::set_member_hook<AutoUnlink> tree_node;  // ordered queues (CFS, EDF...)
  boost::intrusive::list_member_hook<AutoUnlink> rq_node;   // the core's list of a run queue's tasks
  TaskAccounting acct;
  bool in_user = false;           // user time is accruing (between kernel entries)
  sim::Tick mode_since = 0;       // when the current user or system stint began
  TlbUsage tlb_at_switch_in;      // its CPU's TLB counters when it was put on it
  /// The walk of its user stack page, being prefetched while it waits to run (a host-
  /// cache hint only: Scheduler::prefetch_upcoming).
  mutable mmu::PageTable::WalkPrefetch stack_walk_prefetch;
  std::uint32_t trace_track = ~std::uint32_t{0};  // the task's track in the trace, once made
  void on_sleep_timer();

  // --- code --------------------------------------------------------------------------
  /// What the task runs when its fiber starts or after an exec.
  user::Entry entry;
  std::uint64_t user_stack_top = 0;  // rsp for the entry (argv block after exec)
  bool entry_is_exec_image = false;  // the entry is a program's main, with argc at rsp
  bool did_exec = false;             // has called execve since fork (setpgid's EACCES)
  std::unique_ptr<cpu::Context> context;
  user::Process process;
};

/// A policy class's FIFO queue of tasks, linked through Task::run_list.
using TaskRunList = boost::intrusive::list<
    Task, boost::intrusive::member_hook<Task, boost::intrusive::list_member_hook<Task::AutoUnlink>, &Task::run_list>,
    boost::intrusive::constant_time_size<false>>;

/// A policy class's ordered queue of tasks by `Compare`, linked through Task::tree_node.
template <typename Compare>
using TaskTree = boost::intrusive::multiset<
    Task, boost::intrusive::member_hook<Task, boost::intrusive::set_member_hook<Task::AutoUnlink>, &Task::tree_node>,
    boost::intrusive::compare<Compare>, boost::intrusive::constant_time_size<false>>;

}  // namespace ossim::kernel
