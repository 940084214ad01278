// The user-side runtime: syscall wrappers that need more than registers (strings and
// structures passed by pointer, the code handles of fork and clone).

#include "ossim/user/process.hpp"

#include <algorithm>
#include <cstring>

namespace ossim::user {

/// Bytes reserved below the simulated stack pointer for the duration of one wrapper, as
/// a C caller's locals would be. Nested scratches stack up.
class Process::Scratch {
 public:
  Scratch(Process& process, std::size_t bytes) : regs_(process.context_->registers()), saved_rsp_(regs_.rsp) {
    regs_.rsp = (regs_.rsp - bytes) & ~std::uint64_t{15};
    base_ = regs_.rsp;
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { regs_.rsp = saved_rsp_; }
  VirtAddr base() const { return base_; }

 private:
  cpu::RegisterFile& regs_;
  VirtAddr saved_rsp_;
  VirtAddr base_;
};

namespace {

/// Bytes of a NUL-terminated copy of `text`.
std::size_t c_string_bytes(std::string_view text) { return text.size() + 1; }

}  // namespace

std::string Process::read_string(VirtAddr address, std::size_t max_bytes) {
  std::string result;
  while (result.size() < max_bytes) {
    const char c = load<char>(address + result.size());
    if (c == '\0') break;
    result.push_back(c);
  }
  return result;
}

namespace {

/// The strings of the NULL-terminated pointer array at `array`.
std::vector<std::string> read_string_array(Process& process, VirtAddr array) {
  std::vector<std::string> result;
  for (VirtAddr at = array;; at += 8) {
    const auto pointer = process.load<std::uint64_t>(at);
    if (pointer == 0) break;
    result.push_back(process.read_string(pointer));
  }
  return result;
}

}  // namespace

std::vector<std::string> Process::argv() {
  // argc, then argv[argc] and a NULL (the System V initial stack).
  if (entry_stack_ == 0) return {};
  return read_string_array(*this, entry_stack_ + 8);
}

std::vector<std::string> Process::envp() {
  if (entry_stack_ == 0) return {};
  const auto argc = load<std::uint64_t>(entry_stack_);
  return read_string_array(*this, entry_stack_ + 8 + (argc + 1) * 8);
}

sys::pid_t Process::fork(Entry child) {
  const std::uint64_t handle = code_->register_entry(std::move(child));
  return static_cast<sys::pid_t>(syscall(sys::nr::fork, handle));
}

sys::pid_t Process::clone(Entry fn, std::uint64_t flags, VirtAddr stack, VirtAddr parent_tid, VirtAddr child_tid) {
  if (stack == 0 && (flags & sys::kCloneVm) != 0) {
    // A thread needs its own stack in the shared address space.
    constexpr std::uint64_t kThreadStack = 256 * 1024;
    const std::int64_t mapped =
        mmap(0, kThreadStack, sys::kProtRead | sys::kProtWrite, sys::kMapPrivate | sys::kMapAnonymous);
    if (mapped < 0) return static_cast<sys::pid_t>(mapped);
    stack = static_cast<VirtAddr>(mapped) + kThreadStack;
  }
  const std::uint64_t handle = code_->register_entry(std::move(fn));
  return static_cast<sys::pid_t>(syscall(sys::nr::clone, flags, stack, parent_tid, child_tid, 0, handle));
}

sys::pid_t Process::spawn_thread(Entry fn) {
  return clone(std::move(fn), sys::kCloneVm | sys::kCloneFs | sys::kCloneFiles | sys::kCloneSighand |
                                  sys::kCloneThread);
}

int Process::execve(std::string_view path, const std::vector<std::string>& argv, const std::vector<std::string>& envp) {
  // Strings first, then the two NULL-terminated pointer arrays.
  std::size_t bytes = c_string_bytes(path);
  for (const auto& a : argv) bytes += c_string_bytes(a);
  for (const auto& e : envp) bytes += c_string_bytes(e);
  bytes += (argv.size() + 1 + envp.size() + 1) * sizeof(std::uint64_t) + 16;
  Scratch scratch(*this, bytes);
  VirtAddr cursor = scratch.base();
  const auto put_string = [&](std::string_view text) {
    const VirtAddr at = cursor;
    write_memory(at, text.data(), text.size());
    store<char>(at + text.size(), '\0');
    cursor += text.size() + 1;
    return at;
  };
  const VirtAddr path_at = put_string(path);
  std::vector<std::uint64_t> arg_pointers, env_pointers;
  for (const auto& a : argv) arg_pointers.push_back(put_string(a));
  for (const auto& e : envp) env_pointers.push_back(put_string(e));
  arg_pointers.push_back(0);
  env_pointers.push_back(0);
  cursor = (cursor + 7) & ~VirtAddr{7};
  const VirtAddr argv_at = cursor;
  write_memory(argv_at, arg_pointers.data(), arg_pointers.size() * 8);
  const VirtAddr envp_at = argv_at + arg_pointers.size() * 8;
  write_memory(envp_at, env_pointers.data(), env_pointers.size() * 8);
  return static_cast<int>(syscall(sys::nr::execve, path_at, argv_at, envp_at));
}

void Process::exit(int code) {
  syscall(sys::nr::exit, static_cast<std::uint64_t>(code));
  __builtin_unreachable();
}

void Process::exit_group(int code) {
  syscall(sys::nr::exit_group, static_cast<std::uint64_t>(code));
  __builtin_unreachable();
}

sys::pid_t Process::wait4(sys::pid_t pid, int* status, int options, sys::rusage* usage) {
  Scratch scratch(*this, sizeof(std::int32_t) + sizeof(sys::rusage) + 16);
  const VirtAddr status_at = scratch.base();
  const VirtAddr usage_at = scratch.base() + 16;
  const auto result = syscall(sys::nr::wait4, static_cast<std::uint64_t>(static_cast<std::int64_t>(pid)),
                              status != nullptr ? status_at : 0, static_cast<std::uint64_t>(options),
                              usage != nullptr ? usage_at : 0);
  if (result > 0) {
    if (status != nullptr) *status = load<std::int32_t>(status_at);
    if (usage != nullptr) read_memory(usage_at, usage, sizeof(sys::rusage));
  }
  return static_cast<sys::pid_t>(result);
}

int Process::resident_limit(std::uint64_t address, std::uint64_t length, std::uint64_t limit,
                            std::span<const std::uint64_t> future) {
  // The reference string goes on the stack, below the red zone like any scratch data.
  Scratch scratch(*this, future.size_bytes());
  if (!future.empty()) write_memory(scratch.base(), future.data(), future.size_bytes());
  return static_cast<int>(syscall(sys::nr::ossim_resident_limit, address, length, limit,
                                  future.empty() ? 0 : scratch.base(), future.size()));
}

int Process::nanosleep(sim::Tick duration) {
  const sys::timespec request{static_cast<std::int64_t>(duration / sim::kSecond),
                              static_cast<std::int64_t>((duration % sim::kSecond) / sim::kNanosecond)};
  Scratch scratch(*this, sizeof(request));
  store(scratch.base(), request);
  return static_cast<int>(syscall(sys::nr::nanosleep, scratch.base(), 0));
}

int Process::sleep_until(sim::Tick when) {
  const sys::timespec request{static_cast<std::int64_t>(when / sim::kSecond),
                              static_cast<std::int64_t>((when % sim::kSecond) / sim::kNanosecond)};
  Scratch scratch(*this, sizeof(request));
  store(scratch.base(), request);
  return static_cast<int>(
      syscall(sys::nr::clock_nanosleep, sys::kClockMonotonic, sys::kTimerAbstime, scratch.base(), 0));
}

int Process::futex_wait(VirtAddr address, std::uint32_t expected, std::optional<sim::Tick> timeout, bool private_futex) {
  const int op = sys::kFutexWait | (private_futex ? sys::kFutexPrivateFlag : 0);
  if (!timeout) return static_cast<int>(futex(address, op, expected));
  const sys::timespec relative{static_cast<std::int64_t>(*timeout / sim::kSecond),
                               static_cast<std::int64_t>((*timeout % sim::kSecond) / sim::kNanosecond)};
  Scratch scratch(*this, sizeof(relative));
  store(scratch.base(), relative);
  return static_cast<int>(futex(address, op, expected, scratch.base()));
}

int Process::sched_setscheduler(sys::pid_t pid, int policy, int priority) {
  Scratch scratch(*this, sizeof(sys::sched_param));
  store(scratch.base(), sys::sched_param{priority});
  return static_cast<int>(syscall(sys::nr::sched_setscheduler, static_cast<std::uint64_t>(pid),
                                  static_cast<std::uint64_t>(policy), scratch.base()));
}

int Process::sched_setparam(sys::pid_t pid, int priority) {
  Scratch scratch(*this, sizeof(sys::sched_param));
  store(scratch.base(), sys::sched_param{priority});
  return static_cast<int>(syscall(sys::nr::sched_setparam, static_cast<std::uint64_t>(pid), scratch.base()));
}

int Process::sched_getparam(sys::pid_t pid) {
  Scratch scratch(*this, sizeof(sys::sched_param));
  const auto result = syscall(sys::nr::sched_getparam, static_cast<std::uint64_t>(pid), scratch.base());
  return result < 0 ? static_cast<int>(result) : load<sys::sched_param>(scratch.base()).sched_priority;
}

int Process::sched_setattr(sys::pid_t pid, const sys::sched_attr& attr) {
  Scratch scratch(*this, sizeof(sys::sched_attr));
  sys::sched_attr copy = attr;
  if (copy.size == 0) copy.size = sys::kSchedAttrSize;
  store(scratch.base(), copy);
  return static_cast<int>(syscall(sys::nr::sched_setattr, static_cast<std::uint64_t>(pid), scratch.base(), 0));
}

int Process::sched_getattr(sys::pid_t pid, sys::sched_attr& out) {
  Scratch scratch(*this, sizeof(sys::sched_attr));
  const auto result = syscall(sys::nr::sched_getattr, static_cast<std::uint64_t>(pid), scratch.base(),
                              sys::kSchedAttrSize, 0);
  if (result == 0) out = load<sys::sched_attr>(scratch.base());
  return static_cast<int>(result);
}

int Process::sched_setaffinity(sys::pid_t pid, sys::cpu_mask_t mask) {
  Scratch scratch(*this, sizeof(mask));
  store(scratch.base(), mask);
  return static_cast<int>(
      syscall(sys::nr::sched_setaffinity, static_cast<std::uint64_t>(pid), sizeof(mask), scratch.base()));
}

std::int64_t Process::sched_getaffinity(sys::pid_t pid) {
  Scratch scratch(*this, sizeof(sys::cpu_mask_t));
  const auto result =
      syscall(sys::nr::sched_getaffinity, static_cast<std::uint64_t>(pid), sizeof(sys::cpu_mask_t), scratch.base());
  if (result < 0) return result;
  return static_cast<std::int64_t>(load<sys::cpu_mask_t>(scratch.base()));
}

int Process::set_name(std::string_view name) {
  Scratch scratch(*this, name.size() + 1);
  write_memory(scratch.base(), name.data(), name.size());
  store<char>(scratch.base() + name.size(), '\0');
  return static_cast<int>(syscall(sys::nr::prctl, sys::kPrSetName, scratch.base()));
}

std::string Process::get_name() {
  Scratch scratch(*this, sys::kTaskCommLen);
  if (syscall(sys::nr::prctl, sys::kPrGetName, scratch.base()) < 0) return {};
  return read_string(scratch.base(), sys::kTaskCommLen);
}

int Process::clock_gettime(int clock, sys::timespec& out) {
  Scratch scratch(*this, sizeof(sys::timespec));
  const auto result = syscall(sys::nr::clock_gettime, static_cast<std::uint64_t>(clock), scratch.base());
  if (result == 0) out = load<sys::timespec>(scratch.base());
  return static_cast<int>(result);
}

int Process::open(std::string_view path, int flags, sys::mode_t mode) { return openat(sys::kAtFdCwd, path, flags, mode); }

int Process::openat(int dirfd, std::string_view path, int flags, sys::mode_t mode) {
  Scratch scratch(*this, c_string_bytes(path));
  write_memory(scratch.base(), path.data(), path.size());
  store<char>(scratch.base() + path.size(), '\0');
  return static_cast<int>(syscall(sys::nr::openat, static_cast<std::uint64_t>(static_cast<std::int64_t>(dirfd)),
                                  scratch.base(), static_cast<std::uint64_t>(flags), mode));
}

std::int64_t Process::write(int fd, std::string_view data) {
  Scratch scratch(*this, std::max<std::size_t>(data.size(), 1));
  write_memory(scratch.base(), data.data(), data.size());
  return write(fd, scratch.base(), data.size());
}

std::int64_t Process::read(int fd, std::span<char> out) {
  Scratch scratch(*this, std::max<std::size_t>(out.size(), 1));
  const std::int64_t got = read(fd, scratch.base(), out.size());
  if (got > 0) read_memory(scratch.base(), out.data(), static_cast<std::size_t>(got));
  return got;
}

int Process::pipe(int fds[2], int flags) {
  Scratch scratch(*this, 2 * sizeof(std::int32_t));
  const auto result = syscall(sys::nr::pipe2, scratch.base(), static_cast<std::uint64_t>(flags));
  if (result == 0) {
    fds[0] = load<std::int32_t>(scratch.base());
    fds[1] = load<std::int32_t>(scratch.base() + 4);
  }
  return static_cast<int>(result);
}

namespace {

template <typename Fn>
int with_path(Process& process, std::string_view path, VirtAddr base, Fn&& call) {
  process.write_memory(base, path.data(), path.size());
  process.store<char>(base + path.size(), '\0');
  return call(base);
}

}  // namespace

int Process::unlink(std::string_view path) {
  Scratch scratch(*this, c_string_bytes(path));
  return with_path(*this, path, scratch.base(),
                   [&](VirtAddr at) { return static_cast<int>(syscall(sys::nr::unlink, at)); });
}

int Process::truncate(std::string_view path, std::int64_t length) {
  Scratch scratch(*this, c_string_bytes(path));
  return with_path(*this, path, scratch.base(), [&](VirtAddr at) {
    return static_cast<int>(syscall(sys::nr::truncate, at, static_cast<std::uint64_t>(length)));
  });
}

int Process::mkdir(std::string_view path, sys::mode_t mode) {
  Scratch scratch(*this, c_string_bytes(path));
  return with_path(*this, path, scratch.base(),
                   [&](VirtAddr at) { return static_cast<int>(syscall(sys::nr::mkdir, at, mode)); });
}

int Process::stat(std::string_view path, sys::stat& out) {
  Scratch scratch(*this, c_string_bytes(path) + sizeof(sys::stat) + 16);
  const VirtAddr stat_at = scratch.base();
  const VirtAddr path_at = scratch.base() + sizeof(sys::stat);
  const int result = with_path(*this, path, path_at,
                               [&](VirtAddr at) { return static_cast<int>(syscall(sys::nr::stat, at, stat_at)); });
  if (result == 0) read_memory(stat_at, &out, sizeof(out));
  return result;
}

int Process::fstat(int fd, sys::stat& out) {
  Scratch scratch(*this, sizeof(sys::stat));
  const auto result = syscall(sys::nr::fstat, static_cast<std::uint64_t>(fd), scratch.base());
  if (result == 0) read_memory(scratch.base(), &out, sizeof(out));
  return static_cast<int>(result);
}

}  // namespace ossim::user
