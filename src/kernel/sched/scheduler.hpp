#pragma once

// The scheduling core (Linux's kernel/sched/core.c): per-CPU run queues, task states,
// wakeups, the timer tick, and schedule() / context_switch(). Policies live behind the
// SchedClass interface (sched_class.hpp); the core never orders tasks itself.
//
// Execution model. schedule() runs on the fiber of the task giving up its CPU. It picks
// the next task and switches to it directly (Cpu::switch_to); it returns when some CPU
// switches back to the task, possibly another CPU. A task that is woken while it is still
// current on its CPU (it is between setting its state and switching away) is queued on that
// CPU's run queue only, so no other CPU can pick it before the switch has happened (the
// role of Linux's on_cpu check in try_to_wake_up).
//
// The kernel is not preemptible (CONFIG_PREEMPT_NONE): need_resched is acted on when a
// task returns to user mode, blocks, yields or exits.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <boost/intrusive/list.hpp>

#include "ossim/sim/event.hpp"
#include "ossim/sim/tick.hpp"
#include "kernel/sched/sched_class.hpp"
#include "kernel/task/task.hpp"

namespace ossim::cpu {
class Cpu;
}

namespace ossim::kernel {

class KernelCore;
class Task;

/// One CPU's run queue.
struct RunQueue {
  /// Every runnable task here, the running one included, in the order they were queued
  /// (Linux's rq->cfs_tasks): what load balancing looks through, whatever their class.
  using TaskList = boost::intrusive::list<
      Task, boost::intrusive::member_hook<Task, boost::intrusive::list_member_hook<Task::AutoUnlink>, &Task::rq_node>,
      boost::intrusive::constant_time_size<false>>;
  TaskList tasks;
  sim::Tick next_balance = 0;     // when this CPU next balances while busy
  unsigned cpu = 0;
  Task* curr = nullptr;           // the task on the CPU (the idle task when none)
  Task* idle = nullptr;
  Task* switched_from = nullptr;  // the previous task, until the switch is finished
  std::uint64_t nr_running = 0;   // runnable tasks here, the running one included (not idle)
  std::uint64_t rt_queued = 0;    // of them, real-time and deadline tasks (2+: overloaded)
  std::uint64_t switches = 0;
  sim::Tick idle_since = 0;       // when the idle task last went on the CPU
  sim::Tick idle_time = 0;
  Task* hrtick_task = nullptr;    // whose slice the hrtick event ends
  sim::Tick hrtick_deadline = sim::kTickNever;
  /// The address space whose page table the CPU has loaded (nullptr: the kernel's). Only
  /// compared, never dereferenced: it may be gone (then its CR3 was replaced first).
  const void* loaded_mm = nullptr;
  std::unique_ptr<sim::CallbackEvent> hrtick;
};

class Scheduler {
 public:
  /// Interrupt vectors the core uses: Linux's LOCAL_TIMER_VECTOR and RESCHEDULE_VECTOR.
  static constexpr std::uint8_t kTimerVector = 0xEC;
  static constexpr std::uint8_t kRescheduleVector = 0xFD;

  /// The classes, highest first (Linux's stack; the idle class is the run queues' idle
  /// tasks). Every task's class is one of them.
  enum class ClassRank : std::uint8_t { kDeadline, kRealtime, kFair };
  static constexpr std::size_t kClassCount = 3;

  Scheduler(KernelCore& kernel, unsigned cpus);
  /// Installs the class of a rank (at construction of the kernel, before any task).
  void set_class(ClassRank rank, std::unique_ptr<SchedClass> sched_class);
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;
  ~Scheduler();

  unsigned cpu_count() const { return static_cast<unsigned>(rqs_.size()); }
  /// The kernel (its engine, for a class's timers and random streams; its config).
  KernelCore& kernel() { return kernel_; }
  RunQueue& rq(unsigned cpu) { return rqs_[cpu]; }
  const RunQueue& rq(unsigned cpu) const { return rqs_[cpu]; }
  SchedClass& fair_class() { return *classes_[static_cast<std::size_t>(ClassRank::kFair)]; }
  /// The class that schedules tasks of `policy` (sys::kSched*); nullptr if there is none.
  SchedClass* class_for(int policy) const;
  /// Position of a class in the stack: lower is higher priority; the idle task (no class)
  /// comes last.
  static std::size_t rank_of(const SchedClass* sched_class) {
    return sched_class == nullptr ? kClassCount : sched_class->rank();
  }

  /// Makes `idle` the idle task of `cpu` and its current task (boot).
  void init_idle(unsigned cpu, Task& idle, sim::Tick now);

  /// Gives up the CPU that `prev` (the current task of its CPU, running this) is on.
  /// If prev's state is not RUNNING it is dequeued (it blocks); otherwise it stays
  /// runnable. Returns when prev runs again.
  void schedule(Task& prev);
  /// The last switch of an exiting task: picks the next task and hands the CPU to it as
  /// the caller's fiber ends. The caller returns from its fiber body right after.
  void switch_from_dead(Task& dead);
  /// Called first by a task that has just been switched to for the first time (what
  /// schedule()'s tail does for a task that was switched out before).
  void finish_first_switch(Task& self);

  /// try_to_wake_up: a sleeping task becomes runnable; false if it was not asleep.
  /// `now` is the waker's time (its CPU clock, or the event time on the host).
  bool wake_up(Task& task, sim::Tick now, const cpu::Cpu* waker_cpu);
  /// A new task's first enqueue (wake_up_new_task).
  void wake_up_new(Task& task, sim::Tick now, const cpu::Cpu* waker_cpu);
  /// Removes an exiting task that is not running... (unused for running tasks).
  /// The periodic tick on `cpu` (timer interrupt context).
  void tick(cpu::Cpu& cpu);
  /// sched_yield() by the current task.
  void yield(Task& curr);
  /// The hrtick: preempts the slice's task when its slice ends.
  void arm_hrtick(RunQueue& rq, Task& next, sim::Tick now);
  /// __sched_setscheduler: gives `task` new scheduling parameters, moving it to another
  /// class if its policy says so, and another CPU if its CPU is no longer allowed.
  /// Returns false, changing nothing, if the new class refuses it (admission control).
  /// The caller has validated the parameters.
  bool set_params(Task& task, const SchedParams& params, sim::Tick now, const cpu::Cpu* from);
  /// A new task's class from its (inherited) parameters: sched_fork.
  void fork_params(Task& child, const Task& parent);
  /// The CPU selection the classes share for a waking or new task, among the CPUs it may
  /// run on: `prev_cpu` if idle, else the idle CPU with the lowest number, else the CPU
  /// with the fewest runnable tasks (`prev_cpu` on a tie).
  unsigned idle_or_least_loaded_cpu(const Task& task, unsigned prev_cpu) const;
  /// Moves a runnable task that is not on a CPU to `dest`'s run queue (and preempts
  /// there if it should). Counts a migration.
  void migrate(Task& task, unsigned dest, sim::Tick now, const cpu::Cpu* from);
  /// The task's class leaves it for good (exit).
  void detach(Task& task);

  // ---- Load balancing (SMP) ---------------------------------------------------------
  // A CPU about to go idle pulls a task from the busiest CPU (Linux's newidle balance);
  // at each tick an idle CPU does the same, and a busy one every balance interval evens
  // out the run-queue lengths by one task at a time. The task pulled is the most recently
  // queued one that is not running and may run here, from the highest class among them.
  // Real-time and deadline tasks also move by priority (Linux's push and pull): after a
  // preemption, such a task that could run at once on another CPU (idle, or running a
  // task it outranks: a lower class, a lower real-time priority, a later deadline) is
  // pushed there; and a CPU about to pick pulls the best such task waiting elsewhere if
  // it outranks everything of those classes it has. Together they run the m best real-
  // time tasks on m CPUs (global fixed priority, global EDF), within the affinity masks.
  // Every migration costs the task costs.migration of CPU time (cold caches) when it next
  // runs.
  /// Pulls one task to `rq` if another CPU has `min_surplus` more runnable tasks; true if
  /// it did.
  bool pull_one(RunQueue& rq, std::uint64_t min_surplus, sim::Tick now);

  /// An address space is going away: no CPU may skip loading CR3 on the strength of
  /// having it loaded (a new one could reuse its address).
  void forget_mm(const void* mm) {
    for (RunQueue& rq : rqs_) {
      if (rq.loaded_mm == mm) rq.loaded_mm = nullptr;
    }
  }
  /// Brings the runtime accounting of rq.curr up to `now`.
  void update_curr(RunQueue& rq, sim::Tick now);
  /// Asks the CPU of `rq` to reschedule: sets need_resched on its current task and, if
  /// the CPU is not the caller's, interrupts it (an IPI from a CPU, or the timer
  /// interrupt's equivalent from the host).
  void resched(RunQueue& rq, sim::Tick now, const cpu::Cpu* from);

 private:
  Task& pick_next(RunQueue& rq, sim::Tick now);
  /// Everything a switch does before the CPU changes hands: costs, accounting, trace,
  /// hrtick, run-queue bookkeeping.
  void prepare_switch(RunQueue& rq, Task& prev, Task& next, sim::Tick now);
  void context_switch(RunQueue& rq, Task& prev, Task& next, sim::Tick now);
  /// Host-cache hints for the switches after the one to `next` (see the definition).
  void prefetch_upcoming(const RunQueue& rq, const Task& next) const;
  void finish_switch(RunQueue& rq, Task& self);
  /// switch_mm()'s answer when the CR3 loaded stays (no CR3 value has every bit set).
  static constexpr std::uint64_t kKeepCr3 = ~std::uint64_t{0};
  /// The CR3 value to load when switching from prev to next, or kKeepCr3. A plain number
  /// rather than an optional: GCC returns an optional<uint64_t> through the stack, its
  /// flag stored as a byte and reloaded as a word, and the host stalls on that on every
  /// switch (a failed store-to-load forward).
  std::uint64_t switch_mm(RunQueue& rq, Task& prev, Task& next);
  /// switch_mm()'s answer as Cpu::switch_to() takes it.
  static std::optional<std::uint64_t> cr3_to_load(std::uint64_t cr3) {
    return cr3 == kKeepCr3 ? std::nullopt : std::optional(cr3);
  }
  void enqueue(RunQueue& rq, Task& task, EnqueueReason reason, sim::Tick now);
  void dequeue(RunQueue& rq, Task& task, DequeueReason reason, sim::Tick now);
  void on_hrtick(RunQueue& rq);
  /// After a wakeup, creation or migration onto `rq`: preempt its current task if `task`
  /// should run first (a higher class, or the class's own check).
  void check_preempt(RunQueue& rq, Task& task, sim::Tick now, const cpu::Cpu* from);
  /// Moves a queued task that is not on a CPU to `dest` without a preemption check.
  void move_queued(Task& task, unsigned dest, sim::Tick now);
  /// A CPU where `task` (real-time or deadline, runnable, off its CPU) would run at once,
  /// other than its own; its own when there is none.
  unsigned push_target(const Task& task) const;
  /// Real-time pull (Linux's pull_rt_task / pull_dl_task), before `rq` picks: the best
  /// real-time or deadline task waiting on another CPU (queued there, not running, not
  /// about to preempt there, allowed here) moves here if it outranks everything `rq` has
  /// of those classes. True if one moved.
  bool pull_realtime(RunQueue& rq, sim::Tick now);
  /// Whether `a` should run before `b`: a higher class, or the same class's preference.
  bool outranks(const Task& a, const Task& b) const;
  bool is_realtime_rank(const Task& task) const { return rank_of(task.se.sched_class) < kFairRank; }
  /// Counts a real-time or deadline task into (+1) or out of (-1) `rq`'s rt_queued.
  void count_realtime(RunQueue& rq, int delta);

  static constexpr std::size_t kFairRank = static_cast<std::size_t>(ClassRank::kFair);

  KernelCore& kernel_;
  std::array<std::unique_ptr<SchedClass>, kClassCount> classes_;
  std::vector<RunQueue> rqs_;
  /// Run queues with two or more real-time or deadline tasks: only then can a pull find
  /// one waiting.
  unsigned rt_overloaded_ = 0;
};

}  // namespace ossim::kernel
