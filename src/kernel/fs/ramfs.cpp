#include "kernel/fs/ramfs.hpp"

#include <algorithm>
#include <cstring>

namespace ossim::kernel {

namespace {
/// Files beyond this are refused (EFBIG) so that a runaway write cannot exhaust the host.
constexpr std::uint64_t kMaxFileBytes = std::uint64_t{1} << 32;
}  // namespace

Result<std::size_t> RamFile::read_at(std::uint64_t offset, std::span<std::byte> out) {
  if (offset >= data_.size()) return std::size_t{0};
  const std::size_t bytes = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), data_.size() - offset));
  std::memcpy(out.data(), data_.data() + offset, bytes);
  return bytes;
}

Result<std::size_t> RamFile::write_at(std::uint64_t offset, std::span<const std::byte> in) {
  if (in.empty()) return std::size_t{0};
  if (offset >= kMaxFileBytes || in.size() > kMaxFileBytes - offset) return Errno::kEFBIG;
  if (offset + in.size() > data_.size()) data_.resize(offset + in.size());
  std::memcpy(data_.data() + offset, in.data(), in.size());
  return in.size();
}

Status RamFile::truncate(std::uint64_t size) {
  if (size > kMaxFileBytes) return Errno::kEFBIG;
  data_.resize(size);
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
