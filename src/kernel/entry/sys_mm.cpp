// Memory syscalls: brk, mmap, munmap, mprotect, msync, madvise, and ossim's
// page-replacement experiment calls (resident limits and the exact reference stream).

#include "kernel/entry/syscall_table.hpp"
#include "kernel/entry/user_copy.hpp"
#include "kernel/fs/devices.hpp"
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
  bool may_write = true;
  if ((flags & sys::kMapAnonymous) == 0) {
    std::shared_ptr<File> file = call.task.files ? call.task.files->get(fd) : nullptr;
    if (!file) return Errno::kEBADF;
    // Access first, then mappability, in Linux's order (do_mmap).
    if (type == sys::kMapShared && !file->writable()) {
      if ((prot & sys::kProtWrite) != 0) return Errno::kEACCES;
      may_write = false;
    }
    if (!file->readable()) return Errno::kEACCES;
    inode = file->inode();
    // /dev/zero maps as anonymous memory: private, or shared between the mappers and the
    // children they fork (Linux's mmap_zero / shmem_zero_setup).
    if (const auto* device = dynamic_cast<const CharDevice*>(inode.get());
        device != nullptr && device->kind() == CharDeviceKind::kZero) {
      inode.reset();
    } else if (inode->page_cache() == nullptr) {
      // Only files with a page cache can be mapped (not directories, pipes, the console).
      return Errno::kENODEV;
    }
    const std::uint64_t pages = length / mmu::kPageBytes + (length % mmu::kPageBytes != 0 ? 1 : 0);
    if (offset / mmu::kPageBytes + pages < offset / mmu::kPageBytes) return Errno::kEOVERFLOW;
  }
  const mmu::VirtAddr mapped =
      OSSIM_TRY(call.task.mm->mmap(address, length, prot, flags, std::move(inode), offset, may_write));
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

SyscallResult sys_msync(SyscallCall& call) {
  const mmu::VirtAddr address = call.args[0];
  const std::uint64_t length = call.args[1];
  const int flags = static_cast<int>(call.args[2]);
  if ((flags & ~(sys::kMsyncAsync | sys::kMsyncInvalidate | sys::kMsyncSync)) != 0) return Errno::kEINVAL;
  if ((flags & sys::kMsyncAsync) != 0 && (flags & sys::kMsyncSync) != 0) return Errno::kEINVAL;
  if ((address & (mmu::kPageBytes - 1)) != 0) return Errno::kEINVAL;
  if (!call.task.mm) return Errno::kENOMEM;
  OSSIM_TRY(call.task.mm->msync(address, length, flags));
  return 0;
}

SyscallResult sys_ossim_resident_limit(SyscallCall& call) {
  if (!call.task.mm) return Errno::kEINVAL;
  const mmu::VirtAddr references = call.args[3];
  const std::uint64_t count = call.args[4];
  // A reference string longer than the region could be touched in a lifetime is a bad
  // argument, not an allocation to attempt.
  constexpr std::uint64_t kMaxReferences = std::uint64_t{1} << 26;
  if (count > kMaxReferences || (count != 0 && references == 0)) return Errno::kEINVAL;
  std::vector<mmu::VirtAddr> future(count);
  OSSIM_TRY(copy_from_user(call.task, future.data(), references, count * sizeof(mmu::VirtAddr)));
  OSSIM_TRY(call.task.mm->set_resident_limit(call.args[0], call.args[1], call.args[2], std::move(future)));
  return 0;
}

SyscallResult sys_ossim_page_reference(SyscallCall& call) {
  if (!call.task.mm) return Errno::kEINVAL;
  const bool hit = OSSIM_TRY(call.task.mm->page_reference(call.task, call.args[0], call.args[1] != 0));
  return hit ? 1 : 0;
}

SyscallResult sys_madvise(SyscallCall& call) {
  if (!call.task.mm) return Errno::kENOMEM;
  OSSIM_TRY(call.task.mm->madvise(call.args[0], call.args[1], static_cast<int>(call.args[2])));
  return 0;
}

}  // namespace ossim::kernel
