// fork and clone: a new task that copies or shares its parent's resources as the clone
// flags say (Linux's copy_process). The child's code is a host function passed through a
// code handle (a host stack cannot be copied); everything simulated is really copied:
// the address space copy-on-write, the fd table, the signal dispositions.

#include <algorithm>
#include <iterator>

#include "kernel/entry/syscall_table.hpp"
#include "kernel/entry/user_copy.hpp"
#include "kernel/fs/file_table.hpp"
#include "kernel/fs/vfs.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/task/signal_handlers.hpp"

namespace ossim::kernel {

namespace {

constexpr std::uint64_t kSupportedFlags = sys::kCloneSignalMask | sys::kCloneVm | sys::kCloneFs | sys::kCloneFiles |
                                          sys::kCloneSighand | sys::kCloneParent | sys::kCloneThread |
                                          sys::kCloneSettls | sys::kCloneParentSettid |
                                          sys::kCloneChildCleartid | sys::kCloneChildSettid | sys::kCloneVfork;

/// Linux's copy_process() checks, in its order.
Status check_clone_flags(std::uint64_t flags) {
  if ((flags & ~kSupportedFlags) != 0) return Errno::kEINVAL;
  if ((flags & sys::kCloneThread) != 0 && (flags & sys::kCloneSighand) == 0) return Errno::kEINVAL;
  if ((flags & sys::kCloneSighand) != 0 && (flags & sys::kCloneVm) == 0) return Errno::kEINVAL;
  if ((flags & sys::kCloneSignalMask) > static_cast<std::uint64_t>(sys::kSignalCount)) return Errno::kEINVAL;
  return {};
}

}  // namespace

Result<pid_t> do_clone(SyscallCall& call, std::uint64_t flags, user::Entry entry, mmu::VirtAddr stack,
                       mmu::VirtAddr parent_tid, mmu::VirtAddr child_tid) {
  KernelCore& kernel = call.kernel;
  Task& parent = call.task;
  OSSIM_TRY(check_clone_flags(flags));
  // Linux's sched_fork: a deadline task's bandwidth cannot be split with a child, so it
  // may only fork a child that starts over as SCHED_OTHER (reset_on_fork).
  if (parent.se.params.policy == sys::kSchedDeadline && !parent.se.params.reset_on_fork) return Errno::kEAGAIN;
  const bool thread = (flags & sys::kCloneThread) != 0;

  // Resources first, so that a failure leaves no half-made task behind.
  std::shared_ptr<AddressSpace> mm = parent.mm;
  if ((flags & sys::kCloneVm) == 0 && parent.mm) mm = OSSIM_TRY(parent.mm->fork_copy());
  std::shared_ptr<FileTable> files = parent.files;
  if ((flags & sys::kCloneFiles) == 0 && parent.files) files = std::shared_ptr<FileTable>(parent.files->copy());
  std::shared_ptr<FsContext> fs = parent.fs;
  if ((flags & sys::kCloneFs) == 0 && parent.fs) fs = std::make_shared<FsContext>(*parent.fs);
  std::shared_ptr<SignalHandlers> sighand = parent.sighand;
  if ((flags & sys::kCloneSighand) == 0 && parent.sighand) sighand = std::make_shared<SignalHandlers>(*parent.sighand);

  Task* child = kernel.create_task(parent.name);
  if (child == nullptr) return Errno::kEAGAIN;
  cpu::Cpu& cpu = call.cpu();
  cpu.stall(kernel.costs().fork);
  const sim::Tick now = cpu.now();

  child->mm = std::move(mm);
  child->files = std::move(files);
  child->fs = std::move(fs);
  child->sighand = std::move(sighand);
  child->uid = parent.uid;
  child->gid = parent.gid;
  child->pgid = parent.pgid;
  child->sid = parent.sid;
  child->blocked_signals = parent.blocked_signals;
  kernel.scheduler().fork_params(*child, parent);
  child->label = parent.label;  // a workload's children are part of it
  child->acct.arrival = now;
  child->entry = std::move(entry);
  child->thread_entry = thread;
  child->entry_is_exec_image = false;
  child->process.inherit_runtime(parent.process);
  // The register file is the parent's at the syscall, with rax = 0 in the child.
  child->ctx().registers() = parent.ctx().registers();
  child->ctx().registers().rax = 0;
  child->user_stack_top = stack != 0 ? stack : parent.ctx().registers().rsp;

  if (thread) {
    Task& leader = *parent.group_leader;
    child->tgid = leader.tgid;
    child->group_leader = &leader;
    child->parent = leader.parent;
    child->exit_signal = -1;
    leader.threads.push_back(*child);
  } else {
    Task* real_parent = (flags & sys::kCloneParent) != 0 && parent.parent != nullptr ? parent.parent : &parent;
    child->parent = real_parent;
    child->exit_signal = static_cast<int>(flags & sys::kCloneSignalMask);
    real_parent->children.push_back(*child);
  }
  if ((flags & sys::kCloneParentSettid) != 0) {
    (void)put_user(parent, UserPtr<std::int32_t>{parent_tid}, static_cast<std::int32_t>(child->tid));
  }
  if ((flags & sys::kCloneChildSettid) != 0 && child->mm == parent.mm) {
    (void)put_user(parent, UserPtr<std::int32_t>{child_tid}, static_cast<std::int32_t>(child->tid));
  }
  ++kernel.stats().forks;
  kernel.scheduler().wake_up_new(*child, now, &call.cpu());
  return child->tid;
}

SyscallResult sys_fork(SyscallCall& call) {
  // rdi: the code handle of the child's entry (the user runtime registered it).
  auto entry = call.kernel.take_entry(call.args[0]);
  if (!entry) return Errno::kEINVAL;
  return OSSIM_TRY(do_clone(call, sys::kSigChld, std::move(*entry), 0, 0, 0));
}

SyscallResult sys_clone(SyscallCall& call) {
  // clone(flags, stack, parent_tid, child_tid, tls) with the entry's code handle in r9.
  auto entry = call.kernel.take_entry(call.args[5]);
  if (!entry) return Errno::kEINVAL;
  return OSSIM_TRY(do_clone(call, call.args[0], std::move(*entry), call.args[1], call.args[2], call.args[3]));
}

}  // namespace ossim::kernel
