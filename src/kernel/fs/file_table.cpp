#include "kernel/fs/file_table.hpp"

namespace ossim::kernel {

std::shared_ptr<File> FileTable::get(int fd) const {
  const std::shared_ptr<File>* file = slot(fd);
  return file != nullptr ? *file : nullptr;
}

Result<int> FileTable::install(std::shared_ptr<File> file, bool close_on_exec, int minimum) {
  if (minimum < 0 || minimum >= kMaxFds) return Errno::kEINVAL;
  for (int fd = minimum; fd < kMaxFds; ++fd) {
    if (static_cast<std::size_t>(fd) >= slots_.size()) slots_.resize(static_cast<std::size_t>(fd) + 1);
    Slot& slot = slots_[static_cast<std::size_t>(fd)];
    if (!slot.file) {
      slot.file = std::move(file);
      slot.close_on_exec = close_on_exec;
      return fd;
    }
  }
  return Errno::kEMFILE;
}

Status FileTable::install_at(int fd, std::shared_ptr<File> file, bool close_on_exec) {
  if (fd < 0 || fd >= kMaxFds) return Errno::kEBADF;
  if (static_cast<std::size_t>(fd) >= slots_.size()) slots_.resize(static_cast<std::size_t>(fd) + 1);
  Slot& slot = slots_[static_cast<std::size_t>(fd)];
  // Replace first, then let the old description go: its release may wake other tasks.
  std::shared_ptr<File> old = std::move(slot.file);
  slot.file = std::move(file);
  slot.close_on_exec = close_on_exec;
  return {};
}

Status FileTable::close(int fd) {
  if (fd < 0 || static_cast<std::size_t>(fd) >= slots_.size() || !slots_[static_cast<std::size_t>(fd)].file) {
    return Errno::kEBADF;
  }
  std::shared_ptr<File> old = std::move(slots_[static_cast<std::size_t>(fd)].file);
  slots_[static_cast<std::size_t>(fd)].close_on_exec = false;
  return {};
}

void FileTable::close_on_exec() {
  for (Slot& slot : slots_) {
    if (slot.close_on_exec) {
      slot.file.reset();
      slot.close_on_exec = false;
    }
  }
}

void FileTable::close_all() {
  std::vector<Slot> old;
  old.swap(slots_);
}

int FileTable::open_count() const {
  int count = 0;
  for (const Slot& slot : slots_) count += slot.file ? 1 : 0;
  return count;
}

}  // namespace ossim::kernel
