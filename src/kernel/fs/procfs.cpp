#include "kernel/fs/procfs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "kernel/fs/file.hpp"
#include "kernel/kernel_core.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/page_cache.hpp"
#include "kernel/mm/swap_area.hpp"

namespace ossim::kernel {

namespace {

/// An open /proc file: the text made at open, read at the description's offset.
class ProcSnapshot final : public File {
 public:
  ProcSnapshot(std::shared_ptr<Inode> inode, int flags, std::string text)
      : File(std::move(inode), flags), text_(std::move(text)) {}
  Result<std::size_t> read(IoContext&, std::span<std::byte> out) override {
    if (offset_ >= text_.size()) return std::size_t{0};
    const std::size_t bytes = std::min<std::size_t>(out.size(), text_.size() - offset_);
    std::memcpy(out.data(), text_.data() + offset_, bytes);
    offset_ += bytes;
    return bytes;
  }
  Result<std::size_t> write(IoContext&, std::span<const std::byte>) override { return Errno::kEACCES; }
  Result<std::int64_t> lseek(std::int64_t offset, int whence) override {
    std::int64_t base = whence == sys::kSeekSet ? 0
                        : whence == sys::kSeekCur ? static_cast<std::int64_t>(offset_)
                        : whence == sys::kSeekEnd ? static_cast<std::int64_t>(text_.size())
                                                  : -1;
    if (base < 0 || base + offset < 0) return Errno::kEINVAL;
    offset_ = static_cast<std::uint64_t>(base + offset);
    return static_cast<std::int64_t>(offset_);
  }

 private:
  std::string text_;
};

/// A process's directory: status and maps of the task with that pid, looked up afresh at
/// each open so that an exited process reads as gone.
class ProcPidDirectory final : public Inode {
 public:
  ProcPidDirectory(KernelCore& kernel, std::uint64_t ino, pid_t pid)
      : Inode(ino, sys::kTypeDirectory | 0555), kernel_(kernel), pid_(pid) {}
  std::shared_ptr<Inode> lookup(const std::string& name) override {
    if (name == ".") return shared_from_this();
    // The generators capture the kernel and the pid, not this directory, which may be
    // gone by the time the file is opened.
    KernelCore& kernel = kernel_;
    const pid_t pid = pid_;
    if (name == "status") return std::make_shared<ProcFile>(ino() * 16 + 1, [&kernel, pid] { return status(kernel, pid); });
    if (name == "maps") return std::make_shared<ProcFile>(ino() * 16 + 2, [&kernel, pid] { return maps(kernel, pid); });
    return nullptr;
  }

 private:
  static std::string status(KernelCore& kernel, pid_t pid) {
    Task* t = kernel.find_task(pid);
    if (t == nullptr) return {};
    const std::uint64_t vm_kb = t->mm ? t->mm->virtual_bytes() / 1024 : 0;
    const std::uint64_t rss_kb = t->mm ? t->mm->resident_pages() * 4 : 0;
    std::uint64_t threads = 1;
    for (const Task& thread : t->group_leader->threads) threads += thread.state != TaskState::kDead ? 1 : 0;
    return fmt::format(
        "Name:\t{}\nState:\t{}\nTgid:\t{}\nPid:\t{}\nPPid:\t{}\nThreads:\t{}\nVmSize:\t{:8} kB\nVmRSS:\t{:8} kB\n"
        "voluntary_ctxt_switches:\t{}\nnonvoluntary_ctxt_switches:\t{}\nMinFlt:\t{}\nMajFlt:\t{}\n",
        t->name, task_state_name(t->state), t->tgid, t->tid, t->parent != nullptr ? t->parent->tgid : 0, threads,
        vm_kb, rss_kb, t->acct.voluntary_switches, t->acct.involuntary_switches, t->acct.minor_faults,
        t->acct.major_faults);
  }

  static std::string maps(KernelCore& kernel, pid_t pid) {
    Task* t = kernel.find_task(pid);
    if (t == nullptr || !t->mm) return {};
    std::string text;
    for (const auto& [start, vma] : t->mm->vmas()) {
      const char perms[5] = {(vma.prot & sys::kProtRead) ? 'r' : '-', (vma.prot & sys::kProtWrite) ? 'w' : '-',
                             (vma.prot & sys::kProtExec) ? 'x' : '-', vma.shared ? 's' : 'p', '\0'};
      std::string name;
      if (vma.kind == VmaKind::kHeap) name = "[heap]";
      if (vma.kind == VmaKind::kStack) name = "[stack]";
      if (vma.file && (vma.kind == VmaKind::kText || vma.kind == VmaKind::kData)) name = t->name;
      text += fmt::format("{:08x}-{:08x} {} {:08x} 00:{:02x} {:<8} {}\n", vma.start, vma.end, perms,
                          vma.file ? vma.file_offset : 0, vma.file ? 1 : 0, vma.file ? vma.file->ino() : 0, name);
    }
    return text;
  }

  KernelCore& kernel_;
  pid_t pid_;
};

}  // namespace

Result<std::shared_ptr<File>> ProcFile::open(int flags) {
  if ((flags & sys::kOpenAccessMode) != sys::kOpenReadOnly) return Errno::kEACCES;
  return std::shared_ptr<File>(std::make_shared<ProcSnapshot>(shared_from_this(), flags, generate_()));
}

std::shared_ptr<Inode> ProcRoot::lookup(const std::string& name) {
  if (name == ".") return shared_from_this();
  if (name == "meminfo") {
    KernelCore& kernel = kernel_;
    return std::make_shared<ProcFile>(ino() * 16 + 1, [&kernel] {
      const std::uint64_t total_kb = kernel.machine().frames().managed_frames() * 4;
      const std::uint64_t free_kb = kernel.machine().frames().free_frames() * 4;
      const std::uint64_t cached_kb = kernel.page_cache_pool().cached_pages * 4;
      const SwapArea* swap = kernel.swap_area();
      const std::uint64_t swap_total_kb = swap != nullptr ? swap->slots() * 4 : 0;
      const std::uint64_t swap_free_kb = swap != nullptr ? (swap->slots() - swap->used()) * 4 : 0;
      return fmt::format("MemTotal:\t{:8} kB\nMemFree:\t{:8} kB\nCached:\t{:8} kB\nSwapTotal:\t{:8} kB\n"
                         "SwapFree:\t{:8} kB\n",
                         total_kb, free_kb, cached_kb, swap_total_kb, swap_free_kb);
    });
  }
  // A number names a process (a thread-group leader that has not been reaped).
  if (name.empty() || name.size() > 9 || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return nullptr;
  }
  const pid_t pid = std::stoi(name);
  Task* task = kernel_.find_task(pid);
  if (task == nullptr || !task->is_thread_group_leader()) return nullptr;
  return std::make_shared<ProcPidDirectory>(kernel_, 1000 + static_cast<std::uint64_t>(pid), pid);
}

}  // namespace ossim::kernel
