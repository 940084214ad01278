#include "kernel/fs/vfs.hpp"

#include "kernel/fs/devices.hpp"
#include "kernel/fs/procfs.hpp"
#include "kernel/kernel_core.hpp"

namespace ossim::kernel {

Vfs::Vfs(KernelCore& kernel) : kernel_(kernel) {
  root_ = std::make_shared<RamDirectory>(next_ino(), 0755, std::weak_ptr<RamDirectory>());
  auto dev = make_directory(root_, "dev", 0755);
  dev_ = dev;
  make_directory(root_, "bin", 0755);
  make_directory(root_, "sbin", 0755);
  make_directory(root_, "tmp", 01777);
  (void)dev->link("console", std::make_shared<CharDevice>(kernel_, next_ino(), CharDeviceKind::kConsole));
  (void)dev->link("null", std::make_shared<CharDevice>(kernel_, next_ino(), CharDeviceKind::kNull));
  (void)dev->link("zero", std::make_shared<CharDevice>(kernel_, next_ino(), CharDeviceKind::kZero));
  (void)root_->link("proc", std::make_shared<ProcRoot>(kernel_, next_ino()));
}

std::shared_ptr<RamDirectory> Vfs::make_directory(const std::shared_ptr<RamDirectory>& parent, const std::string& name,
                                                  sys::mode_t mode) {
  auto dir = std::make_shared<RamDirectory>(next_ino(), mode, parent);
  (void)parent->link(name, dir);
  return dir;
}

Result<std::pair<std::shared_ptr<RamDirectory>, std::string>> Vfs::lookup_parent(const FsContext& fs,
                                                                                  const std::shared_ptr<Inode>& start,
                                                                                  std::string_view path) {
  if (path.empty()) return Errno::kENOENT;
  if (path.size() >= kPathMax) return Errno::kENAMETOOLONG;
  std::shared_ptr<Inode> dir = path.front() == '/' ? fs.root : start;
  // Strip trailing slashes; the last component is what remains after the final '/'.
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const std::size_t slash = path.rfind('/');
  std::string_view parent_path = slash == std::string_view::npos ? std::string_view() : path.substr(0, slash + 1);
  std::string last(slash == std::string_view::npos ? path : path.substr(slash + 1));
  if (!parent_path.empty()) dir = OSSIM_TRY(lookup(fs, start, parent_path));
  if (!dir->is_directory()) return Errno::kENOTDIR;
  if (last.size() > kNameMax) return Errno::kENAMETOOLONG;
  if (last.empty()) last = ".";  // the path was "/"
  // Only ramfs directories take new names; /proc's are read-only.
  auto writable = std::dynamic_pointer_cast<RamDirectory>(dir);
  if (!writable) return Errno::kEACCES;
  return std::make_pair(std::move(writable), std::move(last));
}

Result<std::shared_ptr<Inode>> Vfs::lookup(const FsContext& fs, const std::shared_ptr<Inode>& start,
                                           std::string_view path) {
  if (path.empty()) return Errno::kENOENT;
  if (path.size() >= kPathMax) return Errno::kENAMETOOLONG;
  std::shared_ptr<Inode> current = path.front() == '/' ? fs.root : start;
  std::size_t position = 0;
  while (position < path.size()) {
    while (position < path.size() && path[position] == '/') ++position;
    if (position == path.size()) break;
    std::size_t end = path.find('/', position);
    if (end == std::string_view::npos) end = path.size();
    const std::string name(path.substr(position, end - position));
    if (name.size() > kNameMax) return Errno::kENAMETOOLONG;
    if (!current->is_directory()) return Errno::kENOTDIR;
    if (name == ".." && current == fs.root) {
      position = end;
      continue;  // no escaping the root
    }
    auto next = current->lookup(name);
    if (!next) return Errno::kENOENT;
    current = std::move(next);
    position = end;
  }
  // "file/" names a directory or nothing.
  if (path.back() == '/' && !current->is_directory()) return Errno::kENOTDIR;
  return current;
}

Result<std::shared_ptr<File>> Vfs::open(const FsContext& fs, const std::shared_ptr<Inode>& start,
                                        std::string_view path, int flags, sys::mode_t mode, sim::Tick now) {
  const int access = flags & sys::kOpenAccessMode;
  if (access == sys::kOpenAccessMode) return Errno::kEINVAL;
  std::shared_ptr<Inode> inode;
  if ((flags & sys::kOpenCreate) != 0) {
    auto [dir, name] = OSSIM_TRY(lookup_parent(fs, start, path));
    inode = dir->lookup(name);
    if (inode && (flags & sys::kOpenExclusive) != 0) return Errno::kEEXIST;
    if (!inode) {
      if (path.back() == '/') return Errno::kEISDIR;
      auto file = std::make_shared<RamFile>(next_ino(), mode & ~fs.umask, kernel_.page_cache_pool());
      file->atime = file->mtime = file->ctime = now;
      OSSIM_TRY(dir->link(name, file));
      dir->mtime = dir->ctime = now;
      inode = std::move(file);
    }
  } else {
    inode = OSSIM_TRY(lookup(fs, start, path));
  }
  if ((flags & sys::kOpenDirectory) != 0 && !inode->is_directory()) return Errno::kENOTDIR;
  if (inode->is_directory() && access != sys::kOpenReadOnly) return Errno::kEISDIR;
  if ((flags & sys::kOpenTruncate) != 0 && inode->is_regular() && access != sys::kOpenReadOnly) {
    OSSIM_TRY(inode->truncate(0));
    inode->mtime = inode->ctime = now;
  }
  return inode->open(flags & ~(sys::kOpenCreate | sys::kOpenExclusive | sys::kOpenTruncate | sys::kOpenNoCtty | sys::kOpenCloseOnExec));
}

Status Vfs::mkdir(const FsContext& fs, const std::shared_ptr<Inode>& start, std::string_view path, sys::mode_t mode,
                  sim::Tick now) {
  auto [dir, name] = OSSIM_TRY(lookup_parent(fs, start, path));
  if (dir->lookup(name)) return Errno::kEEXIST;
  auto child = std::make_shared<RamDirectory>(next_ino(), mode & ~fs.umask, dir);
  child->atime = child->mtime = child->ctime = now;
  OSSIM_TRY(dir->link(name, child));
  dir->mtime = dir->ctime = now;
  return {};
}

Status Vfs::unlink(const FsContext& fs, const std::shared_ptr<Inode>& start, std::string_view path, sim::Tick now) {
  auto [dir, name] = OSSIM_TRY(lookup_parent(fs, start, path));
  auto inode = dir->lookup(name);
  if (!inode) return Errno::kENOENT;
  if (inode->is_directory()) return Errno::kEISDIR;
  OSSIM_TRY(dir->unlink(name));
  dir->mtime = dir->ctime = inode->ctime = now;
  return {};
}

Status Vfs::truncate(Inode& inode, std::int64_t length, sim::Tick now) {
  if (length < 0) return Errno::kEINVAL;
  if (inode.is_directory()) return Errno::kEISDIR;
  if (!inode.is_regular()) return Errno::kEINVAL;
  OSSIM_TRY(inode.truncate(static_cast<std::uint64_t>(length)));
  inode.mtime = inode.ctime = now;
  return {};
}

Result<std::shared_ptr<Inode>> Vfs::create_file(std::string_view path, std::span<const std::byte> bytes,
                                                sys::mode_t mode) {
  const FsContext fs = initial_context();
  auto [dir, name] = OSSIM_TRY(lookup_parent(fs, root_, path));
  auto file = std::make_shared<RamFile>(next_ino(), mode, kernel_.page_cache_pool());
  OSSIM_TRY(file->write_at(0, bytes));
  OSSIM_TRY(dir->link(name, file));
  return std::shared_ptr<Inode>(file);
}

Status Vfs::link_file(std::string_view path, std::shared_ptr<Inode> inode) {
  const FsContext fs = initial_context();
  auto [dir, name] = OSSIM_TRY(lookup_parent(fs, root_, path));
  return dir->link(name, std::move(inode));
}

void Vfs::fill_stat(const Inode& inode, sys::stat& out) {
  out = sys::stat{};
  out.st_dev = 1;
  out.st_ino = inode.ino();
  out.st_nlink = inode.nlink;
  out.st_mode = inode.mode();
  out.st_uid = inode.uid;
  out.st_gid = inode.gid;
  out.st_rdev = inode.rdev;
  out.st_size = inode.is_regular() ? static_cast<std::int64_t>(inode.size()) : 0;
  out.st_blksize = 4096;
  out.st_blocks = (out.st_size + 511) / 512;
  const auto to_timespec = [](sim::Tick t) {
    return sys::timespec{static_cast<std::int64_t>(t / sim::kSecond),
                         static_cast<std::int64_t>((t % sim::kSecond) / sim::kNanosecond)};
  };
  out.st_atim = to_timespec(inode.atime);
  out.st_mtim = to_timespec(inode.mtime);
  out.st_ctim = to_timespec(inode.ctime);
}

}  // namespace ossim::kernel
