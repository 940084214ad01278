#include "kernel/fs/file.hpp"

#include "ossim/sys/flags.hpp"
#include "kernel/fs/inode.hpp"
#include "kernel/kernel_core.hpp"

namespace ossim::kernel {

sim::Tick IoContext::now() const { return task.ctx().running() ? task.ctx().cpu().now() : kernel.engine().now(); }
const cpu::Cpu* IoContext::cpu() const { return task.ctx().running() ? &task.ctx().cpu() : nullptr; }

bool File::readable() const {
  const int mode = flags_ & sys::kOpenAccessMode;
  return mode == sys::kOpenReadOnly || mode == sys::kOpenReadWrite;
}

bool File::writable() const {
  const int mode = flags_ & sys::kOpenAccessMode;
  return mode == sys::kOpenWriteOnly || mode == sys::kOpenReadWrite;
}

Result<std::size_t> File::read(IoContext& io, std::span<std::byte> out) {
  if (inode_->is_directory()) return Errno::kEISDIR;
  const std::size_t done = OSSIM_TRY(inode_->read_at(offset_, out));
  offset_ += done;
  inode_->atime = io.now();
  return done;
}

Result<std::size_t> File::write(IoContext& io, std::span<const std::byte> in) {
  if ((flags_ & sys::kOpenAppend) != 0) offset_ = inode_->size();
  const std::size_t done = OSSIM_TRY(inode_->write_at(offset_, in));
  offset_ += done;
  inode_->mtime = inode_->ctime = io.now();
  return done;
}

Result<std::int64_t> File::lseek(std::int64_t offset, int whence) {
  std::int64_t base = 0;
  switch (whence) {
    case sys::kSeekSet: base = 0; break;
    case sys::kSeekCur: base = static_cast<std::int64_t>(offset_); break;
    case sys::kSeekEnd: base = static_cast<std::int64_t>(inode_->size()); break;
    default: return Errno::kEINVAL;
  }
  if ((offset > 0 && base > INT64_MAX - offset)) return Errno::kEOVERFLOW;
  const std::int64_t target = base + offset;
  if (target < 0) return Errno::kEINVAL;
  offset_ = static_cast<std::uint64_t>(target);
  return target;
}

// ---- Inode defaults ----------------------------------------------------------------------------

Result<std::size_t> Inode::read_at(std::uint64_t, std::span<std::byte>) { return Errno::kEINVAL; }
Result<std::size_t> Inode::write_at(std::uint64_t, std::span<const std::byte>) { return Errno::kEINVAL; }
Status Inode::truncate(std::uint64_t) { return Errno::kEINVAL; }
std::shared_ptr<Inode> Inode::lookup(const std::string&) { return nullptr; }
Result<std::shared_ptr<File>> Inode::open(int flags) {
  return std::make_shared<File>(shared_from_this(), flags);
}

}  // namespace ossim::kernel
