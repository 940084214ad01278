// The end of a task: exit and exit_group, signals' default actions, reparenting to init,
// zombies and the notification of the parent, and the task's fiber base (task_main),
// which also restarts a task on its new image after execve.

#include "kernel/fs/file_table.hpp"
#include "kernel/fs/vfs.hpp"
#include "kernel/kernel_core.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/task/signal_handlers.hpp"
#include "kernel/trace_points.hpp"

namespace ossim::kernel {

void KernelCore::task_main(Task& task) {
  scheduler_->finish_first_switch(task);
  task.mode_since = task.ctx().cpu().now();
  task.in_user = false;
  for (;;) {
    try {
      task.ctx().registers().rsp = task.user_stack_top;
      task.process.set_entry_stack(task.entry_is_exec_image ? task.user_stack_top : 0);
      // Like ret_from_fork / the end of execve: act on pending work, then go to user mode.
      exit_to_user_mode(task);
      task.ctx().cpu().enter_user_mode();
      // A program starts by fetching the instruction at its entry point, the first byte
      // of its text: its first fault, served from the executable's page cache (a major
      // fault when the page is not cached yet).
      if (task.entry_is_exec_image) task.ctx().cpu().fetch(layout::kTextBase);
      const int code = task.entry ? task.entry(task.process) : 0;
      // Returning from main is exit_group(code) (libc's exit); from a thread function,
      // exit(code) of that thread.
      if (task.thread_entry) task.process.exit(code);
      task.process.exit_group(code);
    } catch (const ExecUnwind&) {
      continue;  // execve replaced the image: run the new entry
    } catch (const TaskExitUnwind&) {
      break;
    }
  }
  exit_finish(task);
  // Returning ends the fiber; the CPU has been handed to the next task.
}

void KernelCore::do_exit(Task& task, int status) {
  task.exiting = true;
  task.exit_status = status;
  throw TaskExitUnwind{};
}

void KernelCore::do_group_exit(Task& task, int status) {
  Task& leader = *task.group_leader;
  if (!leader.group_exiting) {
    leader.group_exiting = true;
    leader.group_exit_status = status;
    const cpu::Cpu* cpu = task.ctx().running() ? &task.ctx().cpu() : nullptr;
    const sim::Tick now = this->now(cpu);
    // Every other thread gets kSigKill and dies at its next return to user mode.
    const auto kill = [&](Task& thread) {
      if (&thread != &task && !thread.exiting) send_signal(thread, sys::kSigKill, now, cpu);
    };
    kill(leader);
    for (Task& thread : leader.threads) kill(thread);
  }
  do_exit(task, leader.group_exit_status);
}

void KernelCore::send_signal(Task& task, int signal, sim::Tick now, const cpu::Cpu* from) {
  if (signal <= 0 || signal > sys::kSignalCount || task.exiting) return;
  const std::uint64_t action = task.sighand ? task.sighand->action[static_cast<std::size_t>(signal)] : kSigDefault;
  const DefaultAction fallback = default_action(signal);
  if (signal == sys::kSigCont || signal == sys::kSigKill) {
    // kSigCont resumes a stopped task even if the signal itself is ignored.
    if (task.state == TaskState::kStopped) {
      task.state = TaskState::kInterruptible;
      scheduler_->wake_up(task, now, from);
    }
  }
  if (signal != sys::kSigKill && signal != sys::kSigStop &&
      (action == kSigIgnore || (action == kSigDefault && (fallback == DefaultAction::kIgnore ||
                                                          fallback == DefaultAction::kContinue)))) {
    return;  // discarded at generation, as Linux does for ignored signals
  }
  task.pending_signals |= signal_bit(signal);
  trace::signal(*this, task, signal, now);
  if ((task.blocked_signals & signal_bit(signal)) != 0 && signal != sys::kSigKill && signal != sys::kSigStop) return;
  if (task.state == TaskState::kInterruptible) {
    scheduler_->wake_up(task, now, from);
  } else if (task.se.on_cpu && task.state == TaskState::kRunning) {
    // Running on a CPU: make it pass through the kernel soon (signal_wake_up's kick).
    scheduler_->resched(scheduler_->rq(task.se.cpu), now, from);
  }
}

void KernelCore::force_signal(Task& task, int signal, sim::Tick now, const cpu::Cpu* from) {
  task.blocked_signals &= ~signal_bit(signal);
  if (task.sighand && task.sighand->action[static_cast<std::size_t>(signal)] == kSigIgnore) {
    task.sighand->action[static_cast<std::size_t>(signal)] = kSigDefault;
  }
  send_signal(task, signal, now, from);
}

void KernelCore::handle_signal(Task& task) {
  const std::uint64_t deliverable = task.pending_signals & ~task.blocked_signals;
  const int signal = __builtin_ctzll(deliverable) + 1;
  task.pending_signals &= ~signal_bit(signal);
  if (signal == sys::kSigKill) {
    // Killed by a sibling's execve: only this thread goes.
    Task* survivor = task.group_leader->exec_survivor;
    if (survivor != nullptr && survivor != &task) do_exit(task, sys::signaled_status(signal));
    do_group_exit(task, sys::signaled_status(signal));
  }
  const std::uint64_t action = task.sighand ? task.sighand->action[static_cast<std::size_t>(signal)] : kSigDefault;
  if (action == kSigIgnore) return;
  switch (default_action(signal)) {
    case DefaultAction::kIgnore:
    case DefaultAction::kContinue:
      return;
    case DefaultAction::kStop:
      task.state = TaskState::kStopped;
      scheduler_->schedule(task);
      return;
    case DefaultAction::kTerminate:
    case DefaultAction::kCoreDump:
      // No core file is written (RLIMIT_CORE is 0), so the status has no core bit.
      do_group_exit(task, sys::signaled_status(signal));
  }
}

void KernelCore::reparent_children(Task& task) {
  // Orphans go to another live thread of the group, else to init.
  Task* heir = init_;
  Task& leader = *task.group_leader;
  if (&leader != &task && !leader.exiting) heir = &leader;
  for (Task& thread : leader.threads) {
    if (&thread != &task && !thread.exiting) {
      heir = &thread;
      break;
    }
  }
  if (heir == &task || heir == nullptr) return;
  const sim::Tick now = this->now(task.ctx().running() ? &task.ctx().cpu() : nullptr);
  while (!task.children.empty()) {
    Task& child = task.children.front();
    task.children.pop_front();
    child.parent = heir;
    heir->children.push_back(child);
    if (child.state == TaskState::kZombie && child.threads.empty()) notify_parent(child, now, nullptr);
  }
}

void KernelCore::notify_parent(Task& task, sim::Tick now, const cpu::Cpu* from) {
  Task* parent = task.parent;
  if (parent == nullptr) return;
  Task& parent_leader = *parent->group_leader;
  // A parent that ignores kSigChld has its children reaped at once (POSIX).
  if (parent->sighand && parent->sighand->action[sys::kSigChld] == kSigIgnore) {
    task.state = TaskState::kDead;
    // Its fiber has ended unless it is the task exiting now (freed after its last switch).
    if (task.ctx().finished()) release_task(task);
  }
  ++parent_leader.child_events;
  if (task.exit_signal > 0) send_signal(*parent, task.exit_signal, now, from);
  wake_up_all(parent_leader.child_exit, now, from);
}

void KernelCore::exit_finish(Task& task) {
  // The task's own shootdowns end in its time, before its clocks stop.
  cpu::Cpu& cpu = tlb_shootdown_->complete(task.ctx().cpu());
  // Leave the address space before it may go: the kernel's page table from here on.
  cpu.write_cr3(kernel_root());
  scheduler_->rq(cpu.id()).loaded_mm = nullptr;
  const sim::Tick now = cpu.now();
  stop_mode_clock(task, now);
  task.in_user = false;
  if (task.sleep_timer.scheduled()) engine().cancel(task.sleep_timer);
  task.mm.reset();
  if (task.files) {
    std::shared_ptr<FileTable> files = std::move(task.files);
    if (files.use_count() == 1) files->close_all();
  }
  task.fs.reset();
  // Any shootdown the teardown sent ends before the task can be reaped (its fiber waits).
  tlb_shootdown_->complete(cpu);
  reparent_children(task);
  task.acct.completion = now;
  ++stats_.exits;
  trace::task_exit(*this, task, now);

  Task& leader = *task.group_leader;
  if (&leader != &task) {
    // A thread: gone at once (no zombie); the group's leader may now be reapable.
    task.state = TaskState::kDead;
    if (task.thread_hook.is_linked()) task.thread_hook.unlink();
    if (leader.state == TaskState::kZombie && leader.threads.empty()) notify_parent(leader, now, &cpu);
  } else {
    task.state = TaskState::kZombie;
    if (leader.group_exiting) task.exit_status = leader.group_exit_status;
    if (task.threads.empty()) notify_parent(task, now, &cpu);
  }
  if (&task == init_) {
    init_status_ = task.exit_status;
    power_off();
  }
  scheduler_->switch_from_dead(task);
}

}  // namespace ossim::kernel
