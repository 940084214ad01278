#pragma once

// An open file description (Linux's struct file): what open() creates and fds point to.
// dup() and fork() share one description, and with it the offset and the status flags.

#include <cstdint>
#include <memory>
#include <span>

#include "kernel/result.hpp"
#include "ossim/sim/tick.hpp"

namespace ossim::cpu {
class Cpu;
}

namespace ossim::kernel {

class Inode;
class KernelCore;
class Task;

/// Who is doing the I/O: for blocking (the task sleeps) and for its signals.
struct IoContext {
  KernelCore& kernel;
  Task& task;
  sim::Tick now() const;
  const cpu::Cpu* cpu() const;
};

class File {
 public:
  File(std::shared_ptr<Inode> inode, int flags) : inode_(std::move(inode)), flags_(flags) {}
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  /// Runs when the last fd (and mapping) referring to the description goes away.
  virtual ~File() = default;

  const std::shared_ptr<Inode>& inode() const { return inode_; }
  int flags() const { return flags_; }
  void set_status_flags(int flags) { flags_ = flags; }
  bool readable() const;
  bool writable() const;
  std::uint64_t offset() const { return offset_; }

  /// read/write of at most out.size() bytes. The defaults are a regular file's: at the
  /// offset (the end with kOpenAppend), advancing it.
  virtual Result<std::size_t> read(IoContext& io, std::span<std::byte> out);
  virtual Result<std::size_t> write(IoContext& io, std::span<const std::byte> in);
  /// ESPIPE for pipes and character devices that cannot seek.
  virtual Result<std::int64_t> lseek(std::int64_t offset, int whence);

 protected:
  std::shared_ptr<Inode> inode_;
  int flags_;
  std::uint64_t offset_ = 0;
};

}  // namespace ossim::kernel
