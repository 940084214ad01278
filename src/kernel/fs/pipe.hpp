#pragma once

// Pipes: a 64 KiB ring buffer between a read end and a write end (two open file
// descriptions). Readers block while it is empty and get EOF (0) once every write end
// is closed; writers block while it is full and get EPIPE, with kSigPipe, once every read
// end is closed. Writes of at most PIPE_BUF (4096) bytes are atomic: they wait until the
// whole write fits.

#include <memory>
#include <vector>

#include "kernel/fs/file.hpp"
#include "kernel/fs/inode.hpp"
#include "kernel/task/wait_queue.hpp"

namespace ossim::kernel {

class Pipe {
 public:
  static constexpr std::size_t kAtomicBytes = 4096;  // PIPE_BUF

  explicit Pipe(std::size_t capacity) : buffer_(capacity) {}
  std::size_t capacity() const { return buffer_.size(); }
  std::size_t buffered() const { return size_; }

  int readers = 0;
  int writers = 0;
  WaitQueue read_wait;   // readers waiting for bytes
  WaitQueue write_wait;  // writers waiting for room

  std::size_t take(std::span<std::byte> out);
  std::size_t put(std::span<const std::byte> in);

 private:
  /// An index into the ring from one less than twice its size (a sum of two indices or
  /// counts within it), without a division.
  std::size_t wrap(std::size_t index) const { return index >= buffer_.size() ? index - buffer_.size() : index; }

  std::vector<std::byte> buffer_;
  std::size_t head_ = 0;  // first buffered byte
  std::size_t size_ = 0;
};

/// One end of a pipe, as an open file description.
class PipeEnd final : public File {
 public:
  /// Makes the two ends of a new pipe: {read end, write end}.
  static std::pair<std::shared_ptr<PipeEnd>, std::shared_ptr<PipeEnd>> create(KernelCore& kernel, std::uint64_t ino,
                                                                              int extra_flags);
  PipeEnd(KernelCore& kernel, std::shared_ptr<Inode> inode, std::shared_ptr<Pipe> pipe, bool read_end, int flags);
  ~PipeEnd() override;

  Result<std::size_t> read(IoContext& io, std::span<std::byte> out) override;
  Result<std::size_t> write(IoContext& io, std::span<const std::byte> in) override;
  Result<std::int64_t> lseek(std::int64_t, int) override { return Errno::kESPIPE; }
  const Pipe& pipe() const { return *pipe_; }

 private:
  KernelCore& kernel_;
  std::shared_ptr<Pipe> pipe_;
  bool read_end_;
};

}  // namespace ossim::kernel
