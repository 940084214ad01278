#include "kernel/task/task.hpp"

#include "kernel/fs/file_table.hpp"
#include "kernel/fs/vfs.hpp"
#include "kernel/kernel_core.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/task/signal_handlers.hpp"

namespace ossim::kernel {

Task::Task(KernelCore& owner, pid_t id, std::string comm, std::function<void()> body)
    : kernel(owner),
      tid(id),
      tgid(id),
      name(std::move(comm)),
      sleep_timer([this] { on_sleep_timer(); }, "task.sleep"),
      context(std::make_unique<cpu::Context>(owner.engine().fibers(),
                                             [this, body = std::move(body)] {
                                               if (body) {
                                                 body();
                                               } else {
                                                 kernel.task_main(*this);
                                               }
                                             },
                                             "task")),
      process(*context, owner) {}

Task::~Task() = default;

void Task::on_sleep_timer() {
  timer_fired = true;
  kernel.scheduler().wake_up(*this, kernel.engine().now(), nullptr);
}

std::string_view task_state_name(TaskState state) {
  switch (state) {
    case TaskState::kRunning: return "R";
    case TaskState::kInterruptible: return "S";
    case TaskState::kUninterruptible: return "D";
    case TaskState::kStopped: return "T";
    case TaskState::kZombie: return "Z";
    case TaskState::kDead: return "X";
  }
  return "?";
}

DefaultAction default_action(int signal) {
  switch (signal) {
    case sys::kSigQuit:
    case sys::kSigIll:
    case sys::kSigTrap:
    case sys::kSigAbrt:
    case sys::kSigBus:
    case sys::kSigFpe:
    case sys::kSigSegv:
    case 24:  // SIGXCPU
    case 25:  // SIGXFSZ
    case 31:  // SIGSYS
      return DefaultAction::kCoreDump;
    case sys::kSigChld:
    case 23:  // SIGURG
    case 28:  // SIGWINCH
      return DefaultAction::kIgnore;
    case sys::kSigStop:
    case 20:  // SIGTSTP
    case 21:  // SIGTTIN
    case 22:  // SIGTTOU
      return DefaultAction::kStop;
    case sys::kSigCont:
      return DefaultAction::kContinue;
    default:
      return DefaultAction::kTerminate;
  }
}

}  // namespace ossim::kernel
