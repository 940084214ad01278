// Kernel::spawn: processes the kernel starts by itself at their arrival times, as
// children of init (Linux's call_usermodehelper: a kernel-made task that execs a
// program). The task exists from the request on, asleep and on no run queue, so that init
// waits for it like for any child; at its arrival its scheduling attributes are applied
// and it is woken as a new task.

#include <stdexcept>

#include <fmt/format.h>

#include "ossim/sys/errno.hpp"
#include "kernel/fs/file_table.hpp"
#include "kernel/fs/vfs.hpp"
#include "kernel/kernel_core.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/task/signal_handlers.hpp"

namespace ossim::kernel {

namespace {

/// The scheduling parameters a request asks for, or std::invalid_argument.
SchedParams requested_params(const SpawnRequest& request, unsigned cpus) {
  SchedParams params;
  if (request.attr) {
    Result<SchedParams> result = params_from_attr(*request.attr, params);
    if (!result) {
      throw std::invalid_argument(
          fmt::format("spawn {}: bad scheduling attributes ({})", request.path, sys::errno_name(result.error())));
    }
    params = result.value();
  }
  params.cpus_allowed = request.affinity;
  if (cpus < 64) params.cpus_allowed &= (sys::cpu_mask_t{1} << cpus) - 1;
  if (params.cpus_allowed == 0) {
    throw std::invalid_argument(fmt::format("spawn {}: the affinity allows none of the {} CPUs", request.path, cpus));
  }
  return params;
}

}  // namespace

void KernelCore::spawn(SpawnRequest request) {
  if (halted_) throw std::logic_error("spawn: the machine is powered off");
  const SchedParams params = requested_params(request, scheduler_->cpu_count());
  if (!booted_) {
    early_spawns_.push_back(std::move(request));
    return;
  }
  const std::string& path = request.path;
  Task* task = create_task(std::string(path.substr(path.find_last_of('/') + 1)));
  if (task == nullptr) throw std::runtime_error(fmt::format("spawn {}: no free pid", path));
  task->label = request.label;
  task->parent = init_;
  init_->children.push_back(*task);
  task->pgid = init_->pgid;
  task->sid = init_->sid;
  task->fs = std::make_shared<FsContext>(*init_->fs);
  task->files = std::shared_ptr<FileTable>(init_->files->copy());
  task->sighand = std::make_shared<SignalHandlers>();
  task->mm = bare_address_space();
  task->user_stack_top = layout::kStackTop;
  task->entry = [path = request.path, argv = request.argv, envp = request.envp](user::Process& self) {
    const int error = self.execve(path, argv, envp);
    self.write(2, fmt::format("spawn: cannot execute {}: error {}\n", path, -error));
    return 127;  // what a shell reports for a command it cannot run
  };
  // Asleep until its arrival; the class is chosen then, with the parameters.
  task->state = TaskState::kUninterruptible;
  task->se.sched_class = scheduler_->class_for(sys::kSchedOther);
  const sim::Tick at = std::max(request.at, engine().now());
  task->acct.arrival = at;

  auto arrival = std::make_unique<sim::CallbackEvent>(
      [this, task, params] {
        const sim::Tick now = engine().now();
        SchedParams wanted = params;
        SchedClass* sched_class = scheduler_->class_for(wanted.policy);
        if (!sched_class->attach(*task, wanted)) {
          machine_.console().write(fmt::format("spawn: admission control refused SCHED_DEADLINE for pid {}; "
                                    "it runs as SCHED_OTHER\n",
                                    task->tid));
          wanted = SchedParams{.cpus_allowed = params.cpus_allowed};
          sched_class = scheduler_->class_for(wanted.policy);
        }
        task->se.params = wanted;
        task->se.sched_class = sched_class;
        task->acct.arrival = now;
        scheduler_->wake_up_new(*task, now, nullptr);
      },
      "kernel.spawn");
  engine().schedule(*arrival, at);
  arrivals_.push_back(std::move(arrival));
}

}  // namespace ossim::kernel
