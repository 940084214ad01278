#pragma once

// The file-system layers, top to bottom:
//   fd table (FileTable, per process or shared by kCloneFiles)
//     -> open file descriptions (File: offset, flags; shared after fork and dup)
//       -> inodes (Inode: type, size, data; one per file, however often it is opened)
//         -> the inode's page cache (mm/page_cache.hpp), in simulated frames
//           -> a file system's storage through its BackingStore hooks (ramfs has none:
//              its files' data is only in the page cache)
// Directories map names to inodes; the Vfs resolves paths through them.
//
// An Inode is what stat() describes. Opening it gives a File whose read/write behaviour
// depends on the inode's type: regular files read and write at the description's offset,
// character devices and pipes have their own behaviour.

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "ossim/sys/flags.hpp"
#include "ossim/sys/types.hpp"
#include "ossim/sim/tick.hpp"
#include "kernel/result.hpp"

namespace ossim::kernel {

class File;
class PageCache;

class Inode : public std::enable_shared_from_this<Inode> {
 public:
  Inode(std::uint64_t ino, sys::mode_t mode) : ino_(ino), mode_(mode) {}
  Inode(const Inode&) = delete;
  Inode& operator=(const Inode&) = delete;
  virtual ~Inode() = default;

  std::uint64_t ino() const { return ino_; }
  sys::mode_t mode() const { return mode_; }
  sys::mode_t type() const { return mode_ & sys::kFileTypeMask; }
  bool is_directory() const { return type() == sys::kTypeDirectory; }
  bool is_regular() const { return type() == sys::kTypeRegular; }
  void set_permissions(sys::mode_t permissions) { mode_ = type() | (permissions & 07777); }

  virtual std::uint64_t size() const { return 0; }
  /// Host-side access to a regular file's bytes (no blocking, no user memory). Reads past
  /// the end return fewer bytes (0 at or past it).
  virtual Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out);
  virtual Result<std::size_t> write_at(std::uint64_t offset, std::span<const std::byte> in);
  /// Sets the size: pages past it are dropped (and unmapped from every mapping), bytes
  /// added read as zero. EINVAL for inodes without data; EFBIG past the file-size limit.
  virtual Status truncate(std::uint64_t size);
  /// The page cache holding the file's data (Linux's i_mapping): what mmap maps. nullptr
  /// for inodes that cannot be mapped (directories, pipes, the console): mmap gives ENODEV.
  virtual PageCache* page_cache() { return nullptr; }
  /// A directory's entry `name` ("." and ".." included), or nullptr (also for
  /// non-directories).
  virtual std::shared_ptr<Inode> lookup(const std::string& name);
  /// A new open file description of this inode with the open(2) `flags`.
  virtual Result<std::shared_ptr<File>> open(int flags);

  std::uint32_t nlink = 1;
  sys::uid_t uid = 0;
  sys::gid_t gid = 0;
  std::uint64_t rdev = 0;
  sim::Tick atime = 0, mtime = 0, ctime = 0;

 private:
  std::uint64_t ino_;
  sys::mode_t mode_;
};

}  // namespace ossim::kernel
