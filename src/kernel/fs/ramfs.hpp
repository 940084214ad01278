#pragma once

// ramfs: a file system whose files and directories live in memory, like Linux's
// ramfs/tmpfs. It is the root file system of the modelled kernel. A file's data lives
// only in its page cache, in simulated frames (MemoryOnlyStore: nothing behind the pages,
// never evicted); the frames go back to the allocator when the file is truncated or the
// inode goes (last link, last open file and last mapping gone).

#include <map>
#include <memory>
#include <string>

#include "kernel/fs/inode.hpp"
#include "kernel/mm/backing_store.hpp"
#include "kernel/mm/page_cache.hpp"

namespace ossim::kernel {

class RamFile final : public Inode {
 public:
  RamFile(std::uint64_t ino, sys::mode_t permissions, PageCachePool& pool)
      : Inode(ino, sys::kTypeRegular | (permissions & 07777)), cache_(pool, store_) {}
  std::uint64_t size() const override { return size_; }
  Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> out) override;
  /// ENOMEM when no frame is left for a new page (a short count if some bytes went in).
  Result<std::size_t> write_at(std::uint64_t offset, std::span<const std::byte> in) override;
  Status truncate(std::uint64_t size) override;
  PageCache* page_cache() override { return &cache_; }

 private:
  std::uint64_t size_ = 0;
  MemoryOnlyStore store_;  // before cache_, which uses it
  PageCache cache_;
};

class RamDirectory final : public Inode {
 public:
  RamDirectory(std::uint64_t ino, sys::mode_t permissions, std::weak_ptr<RamDirectory> parent)
      : Inode(ino, sys::kTypeDirectory | (permissions & 07777)), parent_(std::move(parent)) {
    nlink = 2;
  }
  /// The inode `name` refers to ("." and ".." included), or nullptr.
  std::shared_ptr<Inode> lookup(const std::string& name) override;
  /// Adds an entry; EEXIST if the name is taken.
  Status link(const std::string& name, std::shared_ptr<Inode> inode);
  /// Removes an entry; ENOENT if absent.
  Status unlink(const std::string& name);
  bool empty() const { return entries_.empty(); }
  std::uint64_t size() const override { return entries_.size(); }
  const std::map<std::string, std::shared_ptr<Inode>>& entries() const { return entries_; }

 private:
  std::weak_ptr<RamDirectory> parent_;
  std::map<std::string, std::shared_ptr<Inode>> entries_;
};

}  // namespace ossim::kernel
