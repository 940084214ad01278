#include "kernel/fs/ramfs.hpp"

#include <algorithm>

namespace ossim::kernel {

namespace {
/// Files beyond this are refused (EFBIG) so that a runaway write cannot exhaust the host.
constexpr std::uint64_t kMaxFileBytes = std::uint64_t{1} << 32;
}  // namespace

Result<std::size_t> RamFile::read_at(std::uint64_t offset, std::span<std::byte> out) {
  if (offset >= size_) return std::size_t{0};
  const std::size_t bytes = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), size_ - offset));
  return cache_.read(offset, out.first(bytes));
}

Result<std::size_t> RamFile::write_at(std::uint64_t offset, std::span<const std::byte> in) {
  if (in.empty()) return std::size_t{0};
  if (offset >= kMaxFileBytes || in.size() > kMaxFileBytes - offset) return Errno::kEFBIG;
  // A shared mapping may have stored past the end in the last page; the file grows over
  // zeros, not over those bytes.
  if (offset > size_) cache_.zero_page_tail(size_);
  const std::size_t done = OSSIM_TRY(cache_.write(offset, in));
  size_ = std::max<std::uint64_t>(size_, offset + done);
  return done;
}

Status RamFile::truncate(std::uint64_t size) {
  if (size > kMaxFileBytes) return Errno::kEFBIG;
  // The size first, as Linux's truncate_setsize: a fault racing the cut sees the new end.
  const std::uint64_t old_size = size_;
  size_ = size;
  if (size > old_size) {
    cache_.zero_page_tail(old_size);
  } else if (size < old_size) {
    cache_.truncate(size);
  }
  return {};
}

std::shared_ptr<Inode> RamDirectory::lookup(const std::string& name) {
  if (name == ".") return shared_from_this();
  if (name == "..") {
    auto parent = parent_.lock();
    return parent ? std::shared_ptr<Inode>(parent) : shared_from_this();
  }
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : it->second;
}

Status RamDirectory::link(const std::string& name, std::shared_ptr<Inode> inode) {
  if (name.empty() || name == "." || name == "..") return Errno::kEEXIST;
  if (entries_.count(name) != 0) return Errno::kEEXIST;
  if (inode->is_directory()) ++nlink;
  entries_.emplace(name, std::move(inode));
  return {};
}

Status RamDirectory::unlink(const std::string& name) {
  auto it = entries_.find(name);
  if (it == entries_.end()) return Errno::kENOENT;
  if (it->second->is_directory()) --nlink;
  if (it->second->nlink > 0) --it->second->nlink;
  entries_.erase(it);
  return {};
}

}  // namespace ossim::kernel
