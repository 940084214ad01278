#pragma once

// The per-process fd table (Linux's files_struct): small integers naming open file
// descriptions, with the close-on-exec flag per fd. Threads created with kCloneFiles
// share one table; fork copies it (the copies point at the same descriptions).

#include <memory>
#include <vector>

#include "kernel/fs/file.hpp"
#include "kernel/result.hpp"

namespace ossim::kernel {

class FileTable {
 public:
  /// RLIMIT_NOFILE's usual soft limit.
  static constexpr int kMaxFds = 1024;

  std::shared_ptr<File> get(int fd) const;
  /// The table's own reference to what `fd` names (empty when nothing), or nullptr for an
  /// fd out of range. Valid until the table changes.
  const std::shared_ptr<File>* slot(int fd) const {
    if (fd < 0 || static_cast<std::size_t>(fd) >= slots_.size()) return nullptr;
    return &slots_[static_cast<std::size_t>(fd)].file;
  }
  /// Installs at the lowest free fd >= `minimum`; EMFILE when none is free.
  Result<int> install(std::shared_ptr<File> file, bool close_on_exec = false, int minimum = 0);
  /// Installs at exactly `fd`, closing what was there (dup2).
  Status install_at(int fd, std::shared_ptr<File> file, bool close_on_exec = false);
  Status close(int fd);
  /// Closes the fds marked close-on-exec (execve).
  void close_on_exec();
  void close_all();
  std::unique_ptr<FileTable> copy() const { return std::make_unique<FileTable>(*this); }
  int open_count() const;

 private:
  struct Slot {
    std::shared_ptr<File> file;
    bool close_on_exec = false;
  };
  std::vector<Slot> slots_;
};

}  // namespace ossim::kernel
