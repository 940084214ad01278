// execve: replacing a task's program. Executables are files in the VFS whose header names
// a registered program; their image is mapped as Linux maps an ELF file: text (r-x) and
// data (rw-) as private mappings of the file's page cache (every process running the
// program shares the cached text frames; a data page is copied at its first write), bss
// and heap anonymous, and a stack holding argc, argv and envp in the System V x86-64
// layout.
//
// Executable file layout:
//   page 0: ExecutableHeader
//   text_bytes of text from offset 4096, then data_bytes of data at the next page.

#include <fmt/format.h>

#include <cstring>
#include <stdexcept>
#include <vector>

#include "kernel/entry/syscall_table.hpp"
#include "kernel/entry/user_copy.hpp"
#include "kernel/block/disk_driver.hpp"
#include "kernel/fs/disk_file.hpp"
#include "kernel/fs/file_table.hpp"
#include "kernel/fs/vfs.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/task/signal_handlers.hpp"
#include "kernel/trace_points.hpp"

namespace ossim::kernel {

namespace {

constexpr char kMagic[8] = {'\x7f', 'O', 'S', 'S', 'I', 'M', 'X', '1'};
constexpr std::uint64_t kTextOffset = mmu::kPageBytes;
constexpr std::size_t kArgMax = 2 * 1024 * 1024;         // ARG_MAX: argv + envp bytes
constexpr std::size_t kArgStringMax = 32 * mmu::kPageBytes;  // MAX_ARG_STRLEN
constexpr std::size_t kArgCountMax = 0x7fffffff / sizeof(std::uint64_t);

struct ExecutableHeader {
  char magic[8];
  std::uint64_t text_bytes;
  std::uint64_t data_bytes;
  std::uint64_t bss_bytes;
  char program[64];
};

constexpr std::uint64_t page_round_up(std::uint64_t v) { return (v + mmu::kPageBytes - 1) & ~(mmu::kPageBytes - 1); }

/// The bytes of a program's image: deterministic, different per program, so that tests
/// can check a page read through the mapping against the file.
std::byte image_byte(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t x = seed ^ (index * 0x9E3779B97F4A7C15ull);
  x ^= x >> 29;
  return static_cast<std::byte>(x & 0xFF);
}

std::uint64_t name_seed(const std::string& name) {
  std::uint64_t h = 1469598103934665603ull;
  for (char c : name) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

/// Reads a NULL-terminated array of string pointers (argv or envp).
Result<std::vector<std::string>> copy_strings(Task& task, mmu::VirtAddr array, std::size_t& total) {
  std::vector<std::string> strings;
  if (array == 0) return strings;
  for (std::size_t i = 0;; ++i) {
    if (i >= kArgCountMax) return Errno::kE2BIG;
    const std::uint64_t pointer = OSSIM_TRY(get_user(task, UserPtr<std::uint64_t>{array + i * 8}));
    if (pointer == 0) break;
    auto text = copy_string_from_user(task, pointer, kArgStringMax);
    if (!text) return text.error() == Errno::kENAMETOOLONG ? Errno::kE2BIG : text.error();
    total += text.value().size() + 1 + sizeof(std::uint64_t);
    if (total > kArgMax) return Errno::kE2BIG;
    strings.push_back(std::move(text).value());
  }
  return strings;
}

/// Pushes argc, argv, envp (and an empty auxv) onto the new stack; returns the new rsp.
Result<mmu::VirtAddr> build_stack(Task& task, const std::vector<std::string>& argv,
                                  const std::vector<std::string>& envp) {
  mmu::VirtAddr sp = layout::kStackTop;
  std::vector<std::uint64_t> env_pointers, arg_pointers;
  for (auto it = envp.rbegin(); it != envp.rend(); ++it) {
    sp -= it->size() + 1;
    OSSIM_TRY(copy_to_user(task, sp, it->c_str(), it->size() + 1));
    env_pointers.insert(env_pointers.begin(), sp);
  }
  for (auto it = argv.rbegin(); it != argv.rend(); ++it) {
    sp -= it->size() + 1;
    OSSIM_TRY(copy_to_user(task, sp, it->c_str(), it->size() + 1));
    arg_pointers.insert(arg_pointers.begin(), sp);
  }
  // argc, argv[] + NULL, envp[] + NULL, auxv {AT_NULL, 0}: rsp 16-byte aligned at argc.
  std::vector<std::uint64_t> words;
  words.push_back(argv.size());
  words.insert(words.end(), arg_pointers.begin(), arg_pointers.end());
  words.push_back(0);
  words.insert(words.end(), env_pointers.begin(), env_pointers.end());
  words.push_back(0);
  words.push_back(0);  // AT_NULL
  words.push_back(0);
  sp &= ~std::uint64_t{15};
  sp -= words.size() * 8;
  sp &= ~std::uint64_t{15};
  OSSIM_TRY(copy_to_user(task, sp, words.data(), words.size() * 8));
  return sp;
}

}  // namespace

void KernelCore::register_program(Program program, std::string path) {
  if (program.name.empty() || program.name.find('/') != std::string::npos || program.name.size() >= 64) {
    throw std::invalid_argument(fmt::format("program name \"{}\" must be 1-63 characters without '/'", program.name));
  }
  if (!program.main) throw std::invalid_argument(fmt::format("program \"{}\" has no main", program.name));
  if (programs_.count(program.name) != 0) {
    throw std::invalid_argument(fmt::format("program \"{}\" is already registered", program.name));
  }
  if (path.empty()) path = "/bin/" + program.name;
  ExecutableHeader header{};
  std::memcpy(header.magic, kMagic, sizeof(kMagic));
  header.text_bytes = program.text_bytes;
  header.data_bytes = program.data_bytes;
  header.bss_bytes = program.bss_bytes;
  std::memcpy(header.program, program.name.data(), program.name.size());
  const std::uint64_t data_offset = kTextOffset + page_round_up(program.text_bytes);
  std::vector<std::byte> file(data_offset + program.data_bytes);
  std::memcpy(file.data(), &header, sizeof(header));
  const std::uint64_t seed = name_seed(program.name);
  for (std::uint64_t i = 0; i < program.text_bytes; ++i) file[kTextOffset + i] = image_byte(seed, i);
  for (std::uint64_t i = 0; i < program.data_bytes; ++i) file[data_offset + i] = image_byte(~seed, i);
  Status created;
  if (config_.memory.executables_disk) {
    // The image goes to the next page-aligned extent of the disk (written on the host, as
    // an installer would have), and the file reads it from there.
    DiskDriver& disk = *disks_.at(*config_.memory.executables_disk);
    const std::uint64_t sectors = page_round_up(file.size()) / dev::kSectorBytes;
    if (next_executable_sector_ + sectors > disk.device().config().sectors) {
      throw std::invalid_argument(fmt::format("cannot create executable {}: the executables disk is full", path));
    }
    file.resize(sectors * dev::kSectorBytes);
    disk.device().write_sectors(next_executable_sector_, static_cast<std::uint32_t>(sectors), file.data());
    created = vfs_->link_file(path, std::make_shared<DiskFile>(*this, vfs_->next_ino(), 0755, disk,
                                                               next_executable_sector_, data_offset + program.data_bytes));
    next_executable_sector_ += sectors;
  } else {
    const auto made = vfs_->create_file(path, file, 0755);
    if (!made) created = made.error();
  }
  if (!created) {
    throw std::invalid_argument(fmt::format("cannot create executable {}: {}", path, sys::errno_name(created.error())));
  }
  programs_.emplace(program.name, std::move(program));
}

SyscallResult sys_execve(SyscallCall& call) {
  KernelCore& kernel = call.kernel;
  Task& task = call.task;
  const std::string path = OSSIM_TRY(copy_string_from_user(task, call.args[0], Vfs::kPathMax));
  std::size_t total = 0;
  std::vector<std::string> argv = OSSIM_TRY(copy_strings(task, call.args[1], total));
  std::vector<std::string> envp = OSSIM_TRY(copy_strings(task, call.args[2], total));

  std::shared_ptr<Inode> inode = OSSIM_TRY(kernel.vfs().lookup(*task.fs, task.fs->cwd, path));
  if (!inode->is_regular() || (inode->mode() & 0111) == 0) return Errno::kEACCES;
  ExecutableHeader header{};
  const std::size_t got =
      OSSIM_TRY(inode->read_at(0, std::span<std::byte>(reinterpret_cast<std::byte*>(&header), sizeof(header))));
  if (got < sizeof(header) || std::memcmp(header.magic, kMagic, sizeof(kMagic)) != 0) return Errno::kENOEXEC;
  header.program[sizeof(header.program) - 1] = '\0';
  const Program* program = kernel.find_program(header.program);
  if (program == nullptr) return Errno::kENOEXEC;

  // Build the new address space before the point of no return.
  std::shared_ptr<AddressSpace> mm = OSSIM_TRY(AddressSpace::create(kernel));
  const std::uint64_t text_end = layout::kTextBase + page_round_up(std::max<std::uint64_t>(header.text_bytes, 1));
  const std::uint64_t data_end = text_end + page_round_up(header.data_bytes);
  const std::uint64_t bss_end = data_end + page_round_up(header.bss_bytes);
  Vma text{.start = layout::kTextBase, .end = text_end, .prot = sys::kProtRead | sys::kProtExec, .kind = VmaKind::kText,
           .file = inode, .file_offset = kTextOffset, .file_bytes = page_round_up(header.text_bytes)};
  OSSIM_TRY(mm->insert_vma(std::move(text)));
  if (data_end > text_end) {
    Vma data{.start = text_end, .end = data_end, .prot = sys::kProtRead | sys::kProtWrite, .kind = VmaKind::kData,
             .file = inode, .file_offset = kTextOffset + page_round_up(header.text_bytes),
             .file_bytes = header.data_bytes};
    OSSIM_TRY(mm->insert_vma(std::move(data)));
  }
  if (bss_end > data_end) {
    OSSIM_TRY(mm->insert_vma(Vma{.start = data_end, .end = bss_end, .prot = sys::kProtRead | sys::kProtWrite,
                                 .kind = VmaKind::kBss}));
  }
  mm->set_brk_base(bss_end);
  const std::uint64_t stack_bytes = page_round_up(kernel.config().stack_bytes);
  OSSIM_TRY(mm->insert_vma(Vma{.start = layout::kStackTop - stack_bytes, .end = layout::kStackTop,
                               .prot = sys::kProtRead | sys::kProtWrite, .kind = VmaKind::kStack}));

  // The point of no return: the task now runs on the new image.
  cpu::Cpu& cpu = call.cpu();
  cpu.stall(kernel.costs().exec);
  std::shared_ptr<AddressSpace> old_mm = std::move(task.mm);
  task.mm = mm;
  RunQueue& rq = kernel.scheduler().rq(cpu.id());
  rq.loaded_mm = mm.get();
  mm->note_loaded_on(cpu.id());
  cpu.write_cr3(mm->cr3_value(kernel.config().pcid));
  // Other threads of the group die (de_thread); this one carries on alone. (Linux also
  // gives a non-leader exec'ing thread the leader's pid; here it keeps its own tid.)
  Task& leader = *task.group_leader;
  const sim::Tick now = cpu.now();
  leader.exec_survivor = &task;
  if (&leader != &task && !leader.exiting) kernel.send_signal(leader, sys::kSigKill, now, &cpu);
  for (Task& thread : leader.threads) {
    if (&thread != &task) kernel.send_signal(thread, sys::kSigKill, now, &cpu);
  }
  old_mm.reset();
  auto stack = build_stack(task, argv, envp);
  if (!stack) kernel.do_exit(task, sys::signaled_status(sys::kSigSegv));
  if (task.files && task.files.use_count() > 1) task.files = std::shared_ptr<FileTable>(task.files->copy());
  if (task.files) task.files->close_on_exec();
  if (task.sighand && task.sighand.use_count() > 1) task.sighand = std::make_shared<SignalHandlers>(*task.sighand);
  const std::size_t slash = path.rfind('/');
  task.name = (slash == std::string::npos ? path : path.substr(slash + 1)).substr(0, 15);
  trace::task_renamed(kernel, task);
  task.entry = program->main;
  task.thread_entry = false;
  task.user_stack_top = stack.value();
  task.entry_is_exec_image = true;
  task.group_leader->did_exec = true;
  task.process.reset_runtime(bss_end);
  ++kernel.stats().execs;
  throw ExecUnwind{};
}

}  // namespace ossim::kernel
