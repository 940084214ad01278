#include "kernel/fs/pipe.hpp"

#include <algorithm>
#include <cstring>

#include "kernel/kernel_core.hpp"

namespace ossim::kernel {

namespace {

/// The inode behind both ends (pipefs): what fstat reports.
class PipeInode final : public Inode {
 public:
  explicit PipeInode(std::uint64_t ino) : Inode(ino, sys::kTypeFifo | 0600) {}
};

/// Wakes the tasks waiting on `queue`, if there are any (most reads and writes find none).
void wake_waiters(IoContext& io, WaitQueue& queue) {
  if (!queue.empty()) io.kernel.wake_up_all(queue, io.now(), io.cpu());
}

}  // namespace

std::size_t Pipe::take(std::span<std::byte> out) {
  const std::size_t bytes = std::min(out.size(), size_);
  const std::size_t first = std::min(bytes, buffer_.size() - head_);
  std::memcpy(out.data(), buffer_.data() + head_, first);
  if (bytes != first) std::memcpy(out.data() + first, buffer_.data(), bytes - first);
  head_ = wrap(head_ + bytes);
  size_ -= bytes;
  return bytes;
}

std::size_t Pipe::put(std::span<const std::byte> in) {
  const std::size_t bytes = std::min(in.size(), buffer_.size() - size_);
  const std::size_t tail = wrap(head_ + size_);
  const std::size_t first = std::min(bytes, buffer_.size() - tail);
  std::memcpy(buffer_.data() + tail, in.data(), first);
  if (bytes != first) std::memcpy(buffer_.data(), in.data() + first, bytes - first);
  size_ += bytes;
  return bytes;
}

std::pair<std::shared_ptr<PipeEnd>, std::shared_ptr<PipeEnd>> PipeEnd::create(KernelCore& kernel, std::uint64_t ino,
                                                                                int extra_flags) {
  auto inode = std::make_shared<PipeInode>(ino);
  auto pipe = std::make_shared<Pipe>(sys::kPipeCapacity);
  auto reader = std::make_shared<PipeEnd>(kernel, inode, pipe, true, sys::kOpenReadOnly | extra_flags);
  auto writer = std::make_shared<PipeEnd>(kernel, inode, pipe, false, sys::kOpenWriteOnly | extra_flags);
  return {reader, writer};
}

PipeEnd::PipeEnd(KernelCore& kernel, std::shared_ptr<Inode> inode, std::shared_ptr<Pipe> pipe, bool read_end,
                 int flags)
    : File(std::move(inode), flags), kernel_(kernel), pipe_(std::move(pipe)), read_end_(read_end) {
  ++(read_end_ ? pipe_->readers : pipe_->writers);
}

PipeEnd::~PipeEnd() {
  // The last close of one side wakes the other: readers see EOF, writers EPIPE.
  const cpu::Cpu* cpu = kernel_.running_cpu();
  const sim::Tick now = kernel_.now(cpu);
  if (read_end_) {
    if (--pipe_->readers == 0) kernel_.wake_up_all(pipe_->write_wait, now, cpu);
  } else {
    if (--pipe_->writers == 0) kernel_.wake_up_all(pipe_->read_wait, now, cpu);
  }
}

Result<std::size_t> PipeEnd::read(IoContext& io, std::span<std::byte> out) {
  if (!read_end_) return Errno::kEBADF;
  if (out.empty()) return std::size_t{0};
  Pipe& pipe = *pipe_;
  if (pipe.buffered() == 0) {
    if (pipe.writers == 0) return std::size_t{0};
    if ((flags_ & sys::kOpenNonBlock) != 0) return Errno::kEAGAIN;
    OSSIM_TRY(io.kernel.wait_event(io.task, pipe.read_wait, true,
                                   [&] { return pipe.buffered() > 0 || pipe.writers == 0; }));
    if (pipe.buffered() == 0) return std::size_t{0};
  }
  const std::size_t bytes = pipe.take(out);
  wake_waiters(io, pipe.write_wait);
  return bytes;
}

Result<std::size_t> PipeEnd::write(IoContext& io, std::span<const std::byte> in) {
  if (read_end_) return Errno::kEBADF;
  Pipe& pipe = *pipe_;
  const auto broken = [&]() -> Errno {
    io.kernel.send_signal(io.task, sys::kSigPipe, io.now(), io.cpu());
    return Errno::kEPIPE;
  };
  std::size_t written = 0;
  while (written < in.size()) {
    if (pipe.readers == 0) {
      if (written > 0) return written;
      return broken();
    }
    const std::size_t remaining = in.size() - written;
    // An atomic write needs room for all of it; a larger one takes what room there is.
    const std::size_t needed = remaining <= Pipe::kAtomicBytes ? remaining : 1;
    if (pipe.capacity() - pipe.buffered() < needed) {
      if ((flags_ & sys::kOpenNonBlock) != 0) {
        if (written > 0) return written;
        return Errno::kEAGAIN;
      }
      const Status waited = io.kernel.wait_event(io.task, pipe.write_wait, true, [&] {
        return pipe.capacity() - pipe.buffered() >= needed || pipe.readers == 0;
      });
      if (!waited) {
        if (written > 0) return written;
        return waited.error();
      }
      continue;
    }
    written += pipe.put(in.subspan(written));
    wake_waiters(io, pipe.read_wait);
  }
  return written;
}

}  // namespace ossim::kernel
