// File syscalls: open/openat, close, read, write, lseek, dup, dup2, pipe, pipe2, mkdir,
// unlink, stat, fstat, truncate, ftruncate. User buffers are moved through a kernel bounce buffer.

#include <algorithm>
#include <vector>

#include "kernel/entry/syscall_table.hpp"
#include "kernel/entry/user_copy.hpp"
#include "kernel/fs/file_table.hpp"
#include "kernel/fs/pipe.hpp"
#include "kernel/fs/vfs.hpp"

namespace ossim::kernel {

namespace {

/// Linux's MAX_RW_COUNT: one read or write moves at most this much.
constexpr std::uint64_t kMaxIo = 0x7ffff000;
/// Bounce-buffer bytes per step; larger transfers loop.
constexpr std::size_t kChunk = 64 * 1024;
/// Transfers up to this size bounce through the kernel stack instead of the heap.
constexpr std::size_t kSmallIo = 512;

/// The kernel's bounce buffer for one read or write: on the stack for small transfers.
class BounceBuffer {
 public:
  explicit BounceBuffer(std::uint64_t count) {
    if (count > kSmallIo) heap_.resize(static_cast<std::size_t>(std::min<std::uint64_t>(count, kChunk)));
  }
  std::byte* data() { return heap_.empty() ? small_ : heap_.data(); }
  std::size_t size() const { return heap_.empty() ? kSmallIo : heap_.size(); }

 private:
  std::byte small_[kSmallIo];
  std::vector<std::byte> heap_;
};

Result<std::shared_ptr<File>> file_of(SyscallCall& call, std::uint64_t fd_argument) {
  const int fd = static_cast<int>(fd_argument);
  std::shared_ptr<File> file = call.task.files ? call.task.files->get(fd) : nullptr;
  if (!file) return Errno::kEBADF;
  return file;
}

/// The file an fd names, held for one read or write (Linux's fdget). A task whose fd
/// table is its own is the only one that could close the fd, and it is busy in this call,
/// so the table's reference is borrowed; with a table shared (CLONE_FILES) another thread
/// could close it meanwhile, and the call holds a reference of its own. Borrowing spares
/// the two atomic reference-count updates of a shared_ptr copy on every call.
class FileRef {
 public:
  File* operator->() const { return file_; }

 private:
  friend Result<FileRef> borrow_file(SyscallCall& call, std::uint64_t fd_argument);
  File* file_ = nullptr;
  std::shared_ptr<File> held_;
};

Result<FileRef> borrow_file(SyscallCall& call, std::uint64_t fd_argument) {
  const std::shared_ptr<FileTable>& files = call.task.files;
  const std::shared_ptr<File>* slot = files ? files->slot(static_cast<int>(fd_argument)) : nullptr;
  if (slot == nullptr || !*slot) return Errno::kEBADF;
  FileRef ref;
  ref.file_ = slot->get();
  if (files.use_count() > 1) ref.held_ = *slot;
  return ref;
}

/// The directory a *at() call starts from: the cwd for kAtFdCwd or a relative path.
Result<std::shared_ptr<Inode>> start_of(SyscallCall& call, int dirfd, const std::string& path) {
  if (!path.empty() && path.front() == '/') return call.task.fs->root;
  if (dirfd == sys::kAtFdCwd) return call.task.fs->cwd;
  std::shared_ptr<File> dir = OSSIM_TRY(file_of(call, static_cast<std::uint64_t>(dirfd)));
  if (!dir->inode()->is_directory()) return Errno::kENOTDIR;
  return dir->inode();
}

SyscallResult open_at(SyscallCall& call, int dirfd, mmu::VirtAddr path_address, int flags, sys::mode_t mode) {
  const std::string path = OSSIM_TRY(copy_string_from_user(call.task, path_address, Vfs::kPathMax));
  std::shared_ptr<Inode> start = OSSIM_TRY(start_of(call, dirfd, path));
  std::shared_ptr<File> file =
      OSSIM_TRY(call.kernel.vfs().open(*call.task.fs, start, path, flags, mode, call.cpu().now()));
  return OSSIM_TRY(call.task.files->install(std::move(file), (flags & sys::kOpenCloseOnExec) != 0));
}

}  // namespace

SyscallResult sys_open(SyscallCall& call) {
  return open_at(call, sys::kAtFdCwd, call.args[0], static_cast<int>(call.args[1]),
                 static_cast<sys::mode_t>(call.args[2]));
}

SyscallResult sys_openat(SyscallCall& call) {
  return open_at(call, static_cast<int>(call.args[0]), call.args[1], static_cast<int>(call.args[2]),
                 static_cast<sys::mode_t>(call.args[3]));
}

SyscallResult sys_close(SyscallCall& call) {
  if (!call.task.files) return Errno::kEBADF;
  OSSIM_TRY(call.task.files->close(static_cast<int>(call.args[0])));
  return 0;
}

SyscallResult sys_read(SyscallCall& call) {
  const FileRef file = OSSIM_TRY(borrow_file(call, call.args[0]));
  if (!file->readable()) return Errno::kEBADF;
  const mmu::VirtAddr buffer = call.args[1];
  const std::uint64_t count = std::min(call.args[2], kMaxIo);
  if (!user_range_ok(buffer, count)) return Errno::kEFAULT;
  IoContext io{call.kernel, call.task};
  BounceBuffer bounce(count);
  std::uint64_t done = 0;
  while (done < count) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(count - done, bounce.size()));
    auto got = file->read(io, std::span<std::byte>(bounce.data(), want));
    if (!got) {
      if (done > 0) break;
      return got.error();
    }
    if (got.value() > 0) {
      const Status copied = copy_to_user(call.task, buffer + done, bounce.data(), got.value());
      if (!copied) return done > 0 ? SyscallResult(static_cast<std::int64_t>(done)) : SyscallResult(copied.error());
    }
    done += got.value();
    // A short read (end of file, a pipe with less buffered) ends the call, as on Linux.
    // Only a regular file is read on past one bounce buffer: a pipe or a device returns
    // what it had rather than sleeping for more.
    if (got.value() < want || !file->inode()->is_regular()) break;
  }
  return static_cast<std::int64_t>(done);
}

SyscallResult sys_write(SyscallCall& call) {
  const FileRef file = OSSIM_TRY(borrow_file(call, call.args[0]));
  if (!file->writable()) return Errno::kEBADF;
  const mmu::VirtAddr buffer = call.args[1];
  const std::uint64_t count = std::min(call.args[2], kMaxIo);
  if (!user_range_ok(buffer, count)) return Errno::kEFAULT;
  IoContext io{call.kernel, call.task};
  BounceBuffer bounce(count);
  std::uint64_t done = 0;
  while (done < count) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(count - done, bounce.size()));
    const Status copied = copy_from_user(call.task, bounce.data(), buffer + done, want);
    if (!copied) return done > 0 ? SyscallResult(static_cast<std::int64_t>(done)) : SyscallResult(copied.error());
    auto put = file->write(io, std::span<const std::byte>(bounce.data(), want));
    if (!put) {
      if (done > 0) break;
      return put.error();
    }
    done += put.value();
    if (put.value() < want) break;
  }
  return static_cast<std::int64_t>(done);
}

SyscallResult sys_lseek(SyscallCall& call) {
  std::shared_ptr<File> file = OSSIM_TRY(file_of(call, call.args[0]));
  return OSSIM_TRY(file->lseek(static_cast<std::int64_t>(call.args[1]), static_cast<int>(call.args[2])));
}

SyscallResult sys_dup(SyscallCall& call) {
  std::shared_ptr<File> file = OSSIM_TRY(file_of(call, call.args[0]));
  return OSSIM_TRY(call.task.files->install(std::move(file)));
}

SyscallResult sys_dup2(SyscallCall& call) {
  std::shared_ptr<File> file = OSSIM_TRY(file_of(call, call.args[0]));
  const int target = static_cast<int>(call.args[1]);
  if (target < 0 || target >= FileTable::kMaxFds) return Errno::kEBADF;
  if (static_cast<int>(call.args[0]) == target) return target;
  OSSIM_TRY(call.task.files->install_at(target, std::move(file)));
  return target;
}

SyscallResult sys_pipe2(SyscallCall& call) {
  const int flags = static_cast<int>(call.args[1]);
  if ((flags & ~(sys::kOpenCloseOnExec | sys::kOpenNonBlock)) != 0) return Errno::kEINVAL;
  if (!call.task.files) return Errno::kEMFILE;
  auto [reader, writer] = PipeEnd::create(call.kernel, call.kernel.vfs().next_ino(), flags & sys::kOpenNonBlock);
  const bool cloexec = (flags & sys::kOpenCloseOnExec) != 0;
  const int read_fd = OSSIM_TRY(call.task.files->install(reader, cloexec));
  auto write_fd = call.task.files->install(writer, cloexec);
  if (!write_fd) {
    (void)call.task.files->close(read_fd);
    return write_fd.error();
  }
  const std::int32_t fds[2] = {read_fd, write_fd.value()};
  const Status copied = copy_to_user(call.task, call.args[0], fds, sizeof(fds));
  if (!copied) {
    (void)call.task.files->close(read_fd);
    (void)call.task.files->close(write_fd.value());
    return copied.error();
  }
  return 0;
}

SyscallResult sys_pipe(SyscallCall& call) {
  call.args[1] = 0;
  return sys_pipe2(call);
}

SyscallResult sys_mkdir(SyscallCall& call) {
  const std::string path = OSSIM_TRY(copy_string_from_user(call.task, call.args[0], Vfs::kPathMax));
  OSSIM_TRY(call.kernel.vfs().mkdir(*call.task.fs, call.task.fs->cwd, path, static_cast<sys::mode_t>(call.args[1]),
                                    call.cpu().now()));
  return 0;
}

SyscallResult sys_unlink(SyscallCall& call) {
  const std::string path = OSSIM_TRY(copy_string_from_user(call.task, call.args[0], Vfs::kPathMax));
  OSSIM_TRY(call.kernel.vfs().unlink(*call.task.fs, call.task.fs->cwd, path, call.cpu().now()));
  return 0;
}

SyscallResult sys_truncate(SyscallCall& call) {
  const std::string path = OSSIM_TRY(copy_string_from_user(call.task, call.args[0], Vfs::kPathMax));
  const auto length = static_cast<std::int64_t>(call.args[1]);
  if (length < 0) return Errno::kEINVAL;
  std::shared_ptr<Inode> inode = OSSIM_TRY(call.kernel.vfs().lookup(*call.task.fs, call.task.fs->cwd, path));
  OSSIM_TRY(call.kernel.vfs().truncate(*inode, length, call.cpu().now()));
  return 0;
}

SyscallResult sys_ftruncate(SyscallCall& call) {
  const auto length = static_cast<std::int64_t>(call.args[1]);
  if (length < 0) return Errno::kEINVAL;
  std::shared_ptr<File> file = OSSIM_TRY(file_of(call, call.args[0]));
  // Linux answers EINVAL (not EBADF) for a description not open for writing.
  if (!file->writable() || !file->inode()->is_regular()) return Errno::kEINVAL;
  OSSIM_TRY(call.kernel.vfs().truncate(*file->inode(), length, call.cpu().now()));
  return 0;
}

SyscallResult sys_stat(SyscallCall& call) {
  const std::string path = OSSIM_TRY(copy_string_from_user(call.task, call.args[0], Vfs::kPathMax));
  std::shared_ptr<Inode> inode = OSSIM_TRY(call.kernel.vfs().lookup(*call.task.fs, call.task.fs->cwd, path));
  sys::stat out;
  Vfs::fill_stat(*inode, out);
  OSSIM_TRY(put_user(call.task, UserPtr<sys::stat>{call.args[1]}, out));
  return 0;
}

SyscallResult sys_fstat(SyscallCall& call) {
  std::shared_ptr<File> file = OSSIM_TRY(file_of(call, call.args[0]));
  sys::stat out;
  Vfs::fill_stat(*file->inode(), out);
  OSSIM_TRY(put_user(call.task, UserPtr<sys::stat>{call.args[1]}, out));
  return 0;
}

}  // namespace ossim::kernel
