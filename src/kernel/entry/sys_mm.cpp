// Memory syscalls: brk, mmap, munmap, mprotect.

#include "kernel/entry/syscall_table.hpp"
#include "kernel/fs/file_table.hpp"
#include "kernel/fs/inode.hpp"
#include "kernel/mm/address_space.hpp"

namespace ossim::kernel {

SyscallResult sys_brk(SyscallCall& call) {
  if (!call.task.mm) return 0;
  return static_cast<std::int64_t>(call.task.mm->brk(call.args[0]));
}

SyscallResult sys_mmap(SyscallCall& call) {
  const mmu::VirtAddr address = call.args[0];
  const std::uint64_t length = call.args[1];
  const int prot = static_cast<int>(call.args[2]);
  const int flags = static_cast<int>(call.args[3]);
  const int fd = static_cast<int>(call.args[4]);
  const std::uint64_t offset = call.args[5];
  if (!call.task.mm) return Errno::kENOMEM;
  if ((prot & ~(sys::kProtRead | sys::kProtWrite | sys::kProtExec)) != 0) return Errno::kEINVAL;
  const int type = flags & (sys::kMapShared | sys::kMapPrivate);
  if (type != sys::kMapShared && type != sys::kMapPrivate) return Errno::kEINVAL;
  if (length == 0) return Errno::kEINVAL;
  std::shared_ptr<Inode> inode;
  if ((flags & sys::kMapAnonymous) == 0) {
    std::shared_ptr<File> file = call.task.files ? call.task.files->get(fd) : nullptr;
    if (!file) return Errno::kEBADF;
    if (!file->readable()) return Errno::kEACCES;
    if (type == sys::kMapShared && (prot & sys::kProtWrite) != 0 && !file->writable()) return Errno::kEACCES;
    inode = file->inode();
    if (!inode->is_regular()) return Errno::kENODEV;
    // Shared file mappings need the page cache (the virtual-memory issue); until then
    // kMapShared of a file is refused rather than silently made private.
    if (type == sys::kMapShared) return Errno::kENODEV;
  }
  const mmu::VirtAddr mapped = OSSIM_TRY(call.task.mm->mmap(address, length, prot, flags, std::move(inode), offset));
  return static_cast<std::int64_t>(mapped);
}

SyscallResult sys_munmap(SyscallCall& call) {
  if (!call.task.mm) return Errno::kEINVAL;
  OSSIM_TRY(call.task.mm->munmap(call.args[0], call.args[1]));
  return 0;
}

SyscallResult sys_mprotect(SyscallCall& call) {
  if (!call.task.mm) return Errno::kENOMEM;
  OSSIM_TRY(call.task.mm->mprotect(call.args[0], call.args[1], static_cast<int>(call.args[2])));
  return 0;
}

}  // namespace ossim::kernel
