#include "kernel/fs/devices.hpp"

#include <cstring>
#include <string_view>

#include "kernel/kernel_core.hpp"

namespace ossim::kernel {

namespace {

class NullFile final : public File {
 public:
  using File::File;
  Result<std::size_t> read(IoContext&, std::span<std::byte>) override { return std::size_t{0}; }
  Result<std::size_t> write(IoContext&, std::span<const std::byte> in) override { return in.size(); }
  Result<std::int64_t> lseek(std::int64_t, int) override { return std::int64_t{0}; }
};

class ZeroFile final : public File {
 public:
  using File::File;
  Result<std::size_t> read(IoContext&, std::span<std::byte> out) override {
    std::memset(out.data(), 0, out.size());
    return out.size();
  }
  Result<std::size_t> write(IoContext&, std::span<const std::byte> in) override { return in.size(); }
  Result<std::int64_t> lseek(std::int64_t, int) override { return std::int64_t{0}; }
};

/// The console: writes go to the machine's console output; reads return the input that
/// has arrived, sleeping until some has.
class ConsoleFile final : public File {
 public:
  ConsoleFile(KernelCore& kernel, std::shared_ptr<Inode> inode, int flags) : File(std::move(inode), flags), kernel_(kernel) {}
  Result<std::size_t> read(IoContext& io, std::span<std::byte> out) override {
    if (out.empty()) return std::size_t{0};
    dev::Console& console = kernel_.machine().console();
    if (console.input_available() == 0) {
      if ((flags_ & sys::kOpenNonBlock) != 0) return Errno::kEAGAIN;
      OSSIM_TRY(kernel_.wait_event(io.task, kernel_.console_state().input_wait, true,
                                   [&] { return console.input_available() > 0; }));
    }
    return console.read_input(reinterpret_cast<char*>(out.data()), out.size());
  }
  Result<std::size_t> write(IoContext&, std::span<const std::byte> in) override {
    kernel_.machine().console().write(std::string_view(reinterpret_cast<const char*>(in.data()), in.size()));
    return in.size();
  }
  Result<std::int64_t> lseek(std::int64_t, int) override { return Errno::kESPIPE; }

 private:
  KernelCore& kernel_;
};

}  // namespace

CharDevice::CharDevice(KernelCore& kernel, std::uint64_t ino, CharDeviceKind kind)
    : Inode(ino, sys::kTypeCharDevice | 0666), kernel_(kernel), kind_(kind) {
  switch (kind) {
    case CharDeviceKind::kNull: rdev = kDevNull; break;
    case CharDeviceKind::kZero: rdev = kDevZero; break;
    case CharDeviceKind::kConsole: rdev = kDevConsole; set_permissions(0620); break;
  }
}

Result<std::shared_ptr<File>> CharDevice::open(int flags) {
  switch (kind_) {
    case CharDeviceKind::kNull: return std::shared_ptr<File>(std::make_shared<NullFile>(shared_from_this(), flags));
    case CharDeviceKind::kZero: return std::shared_ptr<File>(std::make_shared<ZeroFile>(shared_from_this(), flags));
    case CharDeviceKind::kConsole:
      return std::shared_ptr<File>(std::make_shared<ConsoleFile>(kernel_, shared_from_this(), flags));
  }
  return Errno::kENXIO;
}

}  // namespace ossim::kernel
