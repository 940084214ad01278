#pragma once

// Character devices under /dev: the console (a tty on the machine's UART), null and zero.

#include <memory>

#include "kernel/fs/file.hpp"
#include "kernel/fs/inode.hpp"
#include "kernel/task/wait_queue.hpp"

namespace ossim::kernel {

/// Linux's device numbers: (major << 8) | minor for the small ones.
inline constexpr std::uint64_t kDevNull = (1 << 8) | 3;
inline constexpr std::uint64_t kDevZero = (1 << 8) | 5;
inline constexpr std::uint64_t kDevConsole = (5 << 8) | 1;

enum class CharDeviceKind : std::uint8_t { kNull, kZero, kConsole };

class CharDevice final : public Inode {
 public:
  CharDevice(KernelCore& kernel, std::uint64_t ino, CharDeviceKind kind);
  Result<std::shared_ptr<File>> open(int flags) override;
  CharDeviceKind kind() const { return kind_; }

 private:
  KernelCore& kernel_;
  CharDeviceKind kind_;
};

/// Readers of the console sleep here until its interrupt says input has arrived.
struct ConsoleState {
  WaitQueue input_wait;
};

}  // namespace ossim::kernel
