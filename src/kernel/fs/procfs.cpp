#include "kernel/fs/procfs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "kernel/fs/file.hpp"
#include "kernel/kernel_core.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/page_cache.hpp"
#include "kernel/fs/ramfs.hpp"
#include "kernel/fs/vfs.hpp"
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
    std::uint64_t threads = 1;
    for (const Task& thread : t->group_leader->threads) threads += thread.state != TaskState::kDead ? 1 : 0;
    const MemoryFigures memory = t->mm ? memory_figures(*t->mm) : MemoryFigures{};
    // Linux's order and spelling (fs/proc/array.c, task_mmu.c), with the fields we model.
    const std::string uid = fmt::format("{0}\t{0}\t{0}\t{0}", t->uid);  // real, effective, saved, fs
    const std::string gid = fmt::format("{0}\t{0}\t{0}\t{0}", t->gid);
    return fmt::format(
        "Name:\t{}\nState:\t{}\nTgid:\t{}\nPid:\t{}\nPPid:\t{}\nUid:\t{}\nGid:\t{}\n"
        "VmSize:\t{:8} kB\nVmRSS:\t{:8} kB\nVmData:\t{:8} kB\nVmStk:\t{:8} kB\nVmExe:\t{:8} kB\nVmSwap:\t{:8} kB\n"
        "Threads:\t{}\nvoluntary_ctxt_switches:\t{}\nnonvoluntary_ctxt_switches:\t{}\n"
        // Not in Linux's status (its /proc/<pid>/stat has them): ossim's addition.
        "MinFlt:\t{}\nMajFlt:\t{}\n",
        t->name, linux_state(t->state), t->tgid, t->tid, t->parent != nullptr ? t->parent->tgid : 0, uid, gid,
        memory.size_kb, memory.rss_kb, memory.data_kb, memory.stack_kb, memory.exe_kb, memory.swap_kb, threads,
        t->acct.voluntary_switches, t->acct.involuntary_switches, t->acct.minor_faults, t->acct.major_faults);
  }

  /// The Vm* lines of status, as Linux counts them: data is private writable memory that
  /// is not stack (VM_WRITE & ~VM_SHARED & ~VM_STACK), exe is executable read-only memory.
  struct MemoryFigures {
    std::uint64_t size_kb = 0, rss_kb = 0, data_kb = 0, stack_kb = 0, exe_kb = 0, swap_kb = 0;
  };
  static MemoryFigures memory_figures(const AddressSpace& mm) {
    MemoryFigures figures{
        .size_kb = mm.virtual_bytes() / 1024, .rss_kb = mm.resident_pages() * 4, .swap_kb = mm.swapped_pages() * 4};
    for (const auto& [start, vma] : mm.vmas()) {
      const std::uint64_t kb = vma.length() / 1024;
      if (vma.kind == VmaKind::kStack) {
        figures.stack_kb += kb;
      } else if ((vma.prot & sys::kProtWrite) != 0 && !vma.shared) {
        figures.data_kb += kb;
      } else if ((vma.prot & sys::kProtExec) != 0 && (vma.prot & sys::kProtWrite) == 0) {
        figures.exe_kb += kb;
      }
    }
    return figures;
  }

  /// Linux's state letter with its name, as status prints it.
  static std::string_view linux_state(TaskState state) {
    switch (state) {
      case TaskState::kRunning: return "R (running)";
      case TaskState::kInterruptible: return "S (sleeping)";
      case TaskState::kUninterruptible: return "D (disk sleep)";
      case TaskState::kStopped: return "T (stopped)";
      case TaskState::kZombie: return "Z (zombie)";
      case TaskState::kDead: return "X (dead)";
    }
    return "?";
  }

  static std::string maps(KernelCore& kernel, pid_t pid) {
    Task* t = kernel.find_task(pid);
    if (t == nullptr || !t->mm) return {};
    std::string text;
    for (const auto& [start, vma] : t->mm->vmas()) {
      const char perms[5] = {(vma.prot & sys::kProtRead) ? 'r' : '-', (vma.prot & sys::kProtWrite) ? 'w' : '-',
                             (vma.prot & sys::kProtExec) ? 'x' : '-', vma.shared ? 's' : 'p', '\0'};
      std::string name;
      if (vma.file) name = path_of(kernel, *vma.file);
      if (vma.kind == VmaKind::kHeap) name = "[heap]";
      if (vma.kind == VmaKind::kStack) name = "[stack]";
      // show_map_vma: the header, then (for a named mapping) padding to column 73.
      std::string line = fmt::format("{:08x}-{:08x} {} {:08x} 00:00 {} ", vma.start, vma.end, perms,
                                     vma.file ? vma.file_offset : 0, vma.file ? vma.file->ino() : 0);
      if (!name.empty()) {
        if (line.size() < kMapsNameColumn) line.append(kMapsNameColumn - line.size(), ' ');
        line += name;
      }
      text += line;
      text += '\n';
    }
    return text;
  }
  /// Where Linux's seq_pad puts a mapping's name: 25 + 6 * sizeof(void*) - 1 characters,
  /// plus the space.
  static constexpr std::size_t kMapsNameColumn = 73;

  /// The first path (in name order) under which the tree holds `file`, or "" if it has
  /// been unlinked. Linux's d_path, found from the root since ramfs keeps no parent links.
  static std::string path_of(KernelCore& kernel, const Inode& file) {
    std::string found;
    const auto search = [&](const auto& self, const RamDirectory& directory, const std::string& prefix) -> bool {
      for (const auto& [name, inode] : directory.entries()) {
        if (name == "." || name == "..") continue;
        if (inode.get() == &file) {
          found = prefix + "/" + name;
          return true;
        }
        const auto* child = dynamic_cast<const RamDirectory*>(inode.get());
        if (child != nullptr && self(self, *child, prefix + "/" + name)) return true;
      }
      return false;
    };
    search(search, *kernel.vfs().root(), "");
    return found;
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
  pid_t pid = 0;
  if (name == "self") {
    // The caller's process (a symlink to its pid on Linux; resolved in place here).
    const cpu::Cpu* cpu = kernel_.running_cpu();
    if (cpu == nullptr) return nullptr;
    pid = kernel_.current(*cpu).tgid;
  } else {
    // A number names a process (a thread-group leader that has not been reaped).
    if (name.empty() || name.size() > 9 ||
        !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return nullptr;
    }
    pid = std::stoi(name);
    Task* task = kernel_.find_task(pid);
    if (task == nullptr || !task->is_thread_group_leader()) return nullptr;
  }
  return std::make_shared<ProcPidDirectory>(kernel_, 1000 + static_cast<std::uint64_t>(pid), pid);
}

}  // namespace ossim::kernel
