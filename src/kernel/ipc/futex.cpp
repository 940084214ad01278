#include "kernel/ipc/futex.hpp"

#include <algorithm>
#include <vector>

#include "ossim/cpu/cpu.hpp"
#include "kernel/entry/user_copy.hpp"
#include "kernel/kernel_core.hpp"
#include "kernel/mm/address_space.hpp"

namespace ossim::kernel {

/// One task in FUTEX_WAIT. Lives on the waiting task's stack; however the wait ends
/// (woken, timed out, interrupted, or the fiber unwound at teardown), the destructor
/// takes it off its queue and drops the queue if it was the last waiter.
struct FutexTable::Waiter : WaitQueueEntry {
  Waiter(FutexTable& owner, Task& waiter, std::uint32_t wanted) : WaitQueueEntry(waiter), table(owner), bitset(wanted) {}
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;
  ~Waiter() { table.leave(*this); }

  FutexTable& table;
  std::uint32_t bitset;    // FUTEX_WAIT_BITSET's val3; all ones for FUTEX_WAIT
  Queue* queue = nullptr;  // the queue it is on; nullptr once off it
  bool woken = false;      // taken off by a wake: the wait returns 0
};

namespace {

/// Linux's checks on a futex address: 4-byte aligned (EINVAL), in user space (EFAULT).
Status check_address(mmu::VirtAddr address) {
  if (address % sizeof(std::uint32_t) != 0) return Errno::kEINVAL;
  if (!user_range_ok(address, sizeof(std::uint32_t))) return Errno::kEFAULT;
  return {};
}

}  // namespace

std::size_t FutexTable::KeyHash::operator()(const FutexKey& key) const {
  const auto object = reinterpret_cast<std::uintptr_t>(key.object);
  return std::hash<std::uint64_t>{}(key.offset ^ (static_cast<std::uint64_t>(object) * 0x9e37'79b9'7f4a'7c15u));
}

Result<FutexTable::Target> FutexTable::locate(Task& task, mmu::VirtAddr address, bool private_key) {
  if (!task.mm) return Errno::kEFAULT;
  const Target private_target{FutexKey{task.mm.get(), address}, task.mm};
  // A private futex never looks at the mapping: FUTEX_WAKE on an unmapped private
  // address finds no waiters rather than failing, as on Linux.
  if (private_key) return private_target;
  const Vma* vma = task.mm->find_vma(address);
  if (vma == nullptr || vma->prot == sys::kProtNone) return Errno::kEFAULT;
  if (vma->shared && vma->shared_memory) {
    return Target{FutexKey{vma->shared_memory.get(), vma->shared_offset + (address - vma->start)}, vma->shared_memory};
  }
  if (vma->shared && vma->file) {
    return Target{FutexKey{vma->file.get(), vma->file_offset + (address - vma->start)}, vma->file};
  }
  return private_target;
}

FutexTable::Queue* FutexTable::find(const FutexKey& key) {
  auto it = queues_.find(key);
  return it == queues_.end() ? nullptr : &it->second;
}

FutexTable::Queue& FutexTable::obtain(const Target& target) {
  auto [it, made] = queues_.try_emplace(target.key);
  if (made) {
    it->second.key = target.key;
    it->second.pin = target.pin;
  }
  return it->second;
}

void FutexTable::leave(Waiter& waiter) {
  if (waiter.queue == nullptr) return;
  Queue& queue = *waiter.queue;
  WaitQueue::remove(waiter);
  waiter.queue = nullptr;
  drop_if_empty(queue);
}

void FutexTable::drop_if_empty(Queue& queue) {
  if (queue.waiters.empty()) queues_.erase(queue.key);
}

void FutexTable::wake_waiter(Waiter& waiter, sim::Tick now, const cpu::Cpu& waker) {
  WaitQueue::remove(waiter);
  waiter.queue = nullptr;
  waiter.woken = true;
  waiter.task->kernel.scheduler().wake_up(*waiter.task, now, &waker);
}

Result<std::int64_t> FutexTable::wait(Task& task, mmu::VirtAddr address, bool private_key, std::uint32_t expected,
                                      std::uint32_t bitset, sim::Tick deadline) {
  if (bitset == 0) return Errno::kEINVAL;
  OSSIM_TRY(check_address(address));
  // The read is the last instruction boundary before the task is queued (see the
  // header): nothing below runs another CPU until schedule() switches away.
  const std::uint32_t value = OSSIM_TRY(get_user(task, UserPtr<std::uint32_t>{address}));
  const Target target = OSSIM_TRY(locate(task, address, private_key));
  if (value != expected) return Errno::kEAGAIN;
  KernelCore& kernel = task.kernel;
  if (deadline <= task.ctx().cpu().now()) return Errno::kETIMEDOUT;

  Waiter waiter(*this, task, bitset);
  Queue& queue = obtain(target);
  queue.waiters.add(waiter);
  waiter.queue = &queue;
  const bool timed = deadline != sim::kTickNever;
  if (timed) {
    task.timer_fired = false;
    kernel.engine().reschedule(task.sleep_timer, deadline);
  }
  Result<std::int64_t> outcome = 0;
  while (!waiter.woken) {
    if (timed && task.timer_fired) {
      outcome = Errno::kETIMEDOUT;
      break;
    }
    if (kernel.signal_pending(task)) {
      outcome = Errno::kEINTR;
      break;
    }
    task.state = TaskState::kInterruptible;
    kernel.scheduler().schedule(task);
  }
  if (timed && task.sleep_timer.scheduled()) kernel.engine().cancel(task.sleep_timer);
  return outcome;  // ~Waiter leaves the queue unless a waker took it off
}

Result<std::int64_t> FutexTable::wake(Task& task, mmu::VirtAddr address, bool private_key, int count,
                                      std::uint32_t bitset) {
  if (bitset == 0) return Errno::kEINVAL;
  OSSIM_TRY(check_address(address));
  const Target target = OSSIM_TRY(locate(task, address, private_key));
  Queue* queue = find(target.key);
  if (queue == nullptr) return 0;
  const cpu::Cpu& cpu = task.ctx().cpu();
  const sim::Tick now = cpu.now();
  const std::int64_t limit = std::max(count, 1);
  std::int64_t woken = 0;
  queue->waiters.for_each_entry([&](WaitQueueEntry& entry) {
    auto& waiter = static_cast<Waiter&>(entry);
    if ((waiter.bitset & bitset) == 0) return true;
    wake_waiter(waiter, now, cpu);
    return ++woken < limit;
  });
  drop_if_empty(*queue);
  return woken;
}

Result<std::int64_t> FutexTable::requeue(Task& task, mmu::VirtAddr from, mmu::VirtAddr to, bool private_key,
                                         int wake_count, int requeue_count, std::optional<std::uint32_t> expected) {
  if (wake_count < 0 || requeue_count < 0) return Errno::kEINVAL;
  OSSIM_TRY(check_address(from));
  OSSIM_TRY(check_address(to));
  std::optional<std::uint32_t> value;
  if (expected) value = OSSIM_TRY(get_user(task, UserPtr<std::uint32_t>{from}));
  // From here on, no instruction boundary: the check and the moves are one step.
  const Target source = OSSIM_TRY(locate(task, from, private_key));
  const Target destination = OSSIM_TRY(locate(task, to, private_key));
  if (expected && *value != *expected) return Errno::kEAGAIN;
  Queue* queue = find(source.key);
  if (queue == nullptr) return 0;
  const cpu::Cpu& cpu = task.ctx().cpu();
  const sim::Tick now = cpu.now();
  // Linux's loop: the first wake_count waiters are woken, the next requeue_count moved.
  // The ones to move are collected first, so that a requeue onto the same futex does not
  // meet them again at the tail.
  std::int64_t handled = 0;
  std::vector<Waiter*> moving;
  queue->waiters.for_each_entry([&](WaitQueueEntry& entry) {
    if (handled - wake_count >= requeue_count) return false;
    auto& waiter = static_cast<Waiter&>(entry);
    if (++handled <= wake_count) {
      wake_waiter(waiter, now, cpu);
    } else {
      moving.push_back(&waiter);
    }
    return true;
  });
  if (!moving.empty()) {
    Queue& target = obtain(destination);  // references to `*queue` stay valid
    for (Waiter* waiter : moving) {
      WaitQueue::remove(*waiter);
      target.waiters.add(*waiter);
      waiter->queue = &target;
    }
  }
  drop_if_empty(*queue);
  return handled;
}

std::size_t FutexTable::waiter_count(Task& task, mmu::VirtAddr address, bool private_key) {
  if (!check_address(address)) return 0;
  const Result<Target> target = locate(task, address, private_key);
  if (!target) return 0;
  Queue* queue = find(target.value().key);
  if (queue == nullptr) return 0;
  std::size_t count = 0;
  queue->waiters.for_each_entry([&](WaitQueueEntry&) {
    ++count;
    return true;
  });
  return count;
}

}  // namespace ossim::kernel
