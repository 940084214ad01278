#pragma once

// The virtual file system: path resolution from a process's root and working directory,
// and the operations on names (open with creation, mkdir, unlink, stat, truncate). The root is a
// ramfs with /dev (console, null, zero), /bin (executables), /tmp and /sbin.

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "ossim/sys/types.hpp"
#include "kernel/fs/file.hpp"
#include "kernel/fs/ramfs.hpp"
#include "kernel/result.hpp"

namespace ossim::kernel {

class KernelCore;

/// A process's place in the tree (Linux's fs_struct): shared by kCloneFs.
struct FsContext {
  std::shared_ptr<Inode> root;
  std::shared_ptr<Inode> cwd;
  sys::mode_t umask = 022;
};

class Vfs {
 public:
  static constexpr std::size_t kPathMax = 4096;
  static constexpr std::size_t kNameMax = 255;

  explicit Vfs(KernelCore& kernel);

  std::shared_ptr<RamDirectory> root() const { return root_; }
  /// /dev, where the kernel adds device files.
  std::shared_ptr<RamDirectory> dev() const { return dev_; }
  FsContext initial_context() const { return FsContext{root_, root_, 022}; }

  /// The inode `path` names, relative to `start` for a relative path.
  Result<std::shared_ptr<Inode>> lookup(const FsContext& fs, const std::shared_ptr<Inode>& start, std::string_view path);
  /// The directory that would hold `path`'s last component, and that component.
  Result<std::pair<std::shared_ptr<RamDirectory>, std::string>> lookup_parent(const FsContext& fs,
                                                                              const std::shared_ptr<Inode>& start,
                                                                              std::string_view path);
  /// open(2)'s name handling: kOpenCreate, kOpenExclusive, kOpenTruncate, kOpenDirectory, access checks.
  Result<std::shared_ptr<File>> open(const FsContext& fs, const std::shared_ptr<Inode>& start, std::string_view path,
                                     int flags, sys::mode_t mode, sim::Tick now);
  Status mkdir(const FsContext& fs, const std::shared_ptr<Inode>& start, std::string_view path, sys::mode_t mode,
               sim::Tick now);
  Status unlink(const FsContext& fs, const std::shared_ptr<Inode>& start, std::string_view path, sim::Tick now);
  /// truncate(2)'s rules once the inode is found: EINVAL for a negative length or an inode
  /// that is not a regular file, EISDIR for a directory, EFBIG past the size limit.
  Status truncate(Inode& inode, std::int64_t length, sim::Tick now);

  /// Creates a regular file with `bytes` (for the kernel's own files: executables).
  Result<std::shared_ptr<Inode>> create_file(std::string_view path, std::span<const std::byte> bytes, sys::mode_t mode);
  /// Links `inode`, made by the caller, at `path` (the kernel's own files: executables on
  /// a disk). EEXIST if the name is taken.
  Status link_file(std::string_view path, std::shared_ptr<Inode> inode);
  static void fill_stat(const Inode& inode, sys::stat& out);
  std::uint64_t next_ino() { return next_ino_++; }

 private:
  std::shared_ptr<RamDirectory> make_directory(const std::shared_ptr<RamDirectory>& parent, const std::string& name,
                                               sys::mode_t mode);

  KernelCore& kernel_;
  std::uint64_t next_ino_ = 1;
  std::shared_ptr<RamDirectory> root_;
  std::shared_ptr<RamDirectory> dev_;
};

}  // namespace ossim::kernel
