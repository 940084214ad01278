#pragma once

// procfs: the kernel's state as read-only text files, made when they are opened (so a
// read sees one consistent snapshot, as Linux's seq_file does for small files).
//
//   /proc/meminfo          MemTotal, MemFree, Cached, SwapTotal, SwapFree (kB)
//   /proc/<pid>/status     Name, State, Tgid, Pid, PPid, Threads, VmSize, VmRSS, context
//                          switches, and (beyond Linux's status) MinFlt and MajFlt
//   /proc/<pid>/maps       one line per VMA, in Linux's format
//
// Directories are listed by lookup only (there is no getdents yet).

#include <functional>
#include <memory>
#include <string>

#include "kernel/fs/inode.hpp"

namespace ossim::kernel {

class KernelCore;

/// /proc itself: meminfo, one directory per live process, and self (the caller's).
class ProcRoot final : public Inode {
 public:
  ProcRoot(KernelCore& kernel, std::uint64_t ino) : Inode(ino, sys::kTypeDirectory | 0555), kernel_(kernel) {}
  std::shared_ptr<Inode> lookup(const std::string& name) override;

 private:
  KernelCore& kernel_;
};

/// A file whose text is generated at open.
class ProcFile final : public Inode {
 public:
  using Generator = std::function<std::string()>;
  ProcFile(std::uint64_t ino, Generator generate) : Inode(ino, sys::kTypeRegular | 0444), generate_(std::move(generate)) {}
  Result<std::shared_ptr<File>> open(int flags) override;

 private:
  Generator generate_;
};

}  // namespace ossim::kernel
