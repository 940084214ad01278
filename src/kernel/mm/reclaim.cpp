#include "kernel/mm/reclaim.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "ossim/sys/flags.hpp"
#include "kernel/kernel_core.hpp"
#include "kernel/mm/address_space.hpp"
#include "kernel/mm/page_cache.hpp"
#include "kernel/mm/swap_area.hpp"

namespace ossim::kernel {

namespace {

/// Pages one reclaim pass aims to free (Linux's SWAP_CLUSTER_MAX).
constexpr std::uint64_t kReclaimBatch = 32;
/// How often an allocating task waits for an OOM victim to exit before giving up.
constexpr unsigned kOomWaitRounds = 100;

}  // namespace

Watermarks Watermarks::for_memory(std::uint64_t managed_frames, std::uint64_t min_free_kbytes) {
  const std::uint64_t kib = managed_frames * (mmu::kPageBytes / 1024);
  if (min_free_kbytes == 0) {
    min_free_kbytes = static_cast<std::uint64_t>(std::sqrt(static_cast<double>(kib) * 16.0));
    min_free_kbytes = std::clamp<std::uint64_t>(min_free_kbytes, 128, 65536);
  }
  Watermarks marks;
  marks.min = std::min(managed_frames, min_free_kbytes / (mmu::kPageBytes / 1024));
  marks.low = marks.min + marks.min / 4;
  marks.high = marks.min + marks.min / 2;
  return marks;
}

Reclaimer::Reclaimer(KernelCore& kernel, const MemoryConfig& config, SwapArea* swap)
    : kernel_(kernel),
      frames_(kernel.machine().frames()),
      config_(config),
      swap_(swap),
      policy_(make_replacement_policy(config.replacement,
                                      {.frames = kernel.machine().memory().frame_count(), .seed = config.seed})),
      watermarks_(Watermarks::for_memory(frames_.managed_frames(), config.min_free_kbytes)),
      owners_(kernel.machine().memory().frame_count()) {
  policy_ages_ = config.replacement != "fifo" && config.replacement != "random" && config.replacement != "opt";
  plain_allocation_above_ = std::max(watermarks_.min, watermarks_.low);
}

Reclaimer::~Reclaimer() = default;

std::uint64_t Reclaimer::free_frames() const { return frames_.free_frames(); }

// ---- Tracking ---------------------------------------------------------------------------------

void Reclaimer::track_anonymous(mmu::FrameNumber frame, AddressSpace& mm, mmu::VirtAddr page, bool write) {
  Owner& owner = owners_.at(frame);
  if (owner.mm != nullptr) {
    owner = Owner{&mm, page};  // already known to the policy; only the mapping moved
    return;
  }
  owner = Owner{&mm, page};
  policy_->on_fault(frame, write);
}

void Reclaimer::track_cache(mmu::FrameNumber frame, PageCache& cache, std::uint64_t index) {
  Owner& owner = owners_.at(frame);
  const bool known = tracked(frame);
  owner = Owner{.cache = &cache, .index = index};
  if (!known) policy_->on_fault(frame, false);
}

void Reclaimer::untrack(mmu::FrameNumber frame) {
  if (!tracked(frame)) return;
  owners_[frame] = Owner{};
  policy_->on_free(frame);
}

// ---- Allocation -------------------------------------------------------------------------------

std::optional<mmu::FrameNumber> Reclaimer::allocate_under_pressure(Task& task, std::uint64_t owner, bool* slept) {
  const bool can_reclaim = &task != kswapd_;
  for (unsigned round = 0;; ++round) {
    if (can_reclaim && free_frames() <= watermarks_.low) wake_kswapd(task);
    if (can_reclaim && free_frames() <= watermarks_.min && policy_->resident() > 0) {
      ++stats_.direct_reclaims;
      stats_.direct_reclaimed += reclaim(task, kReclaimBatch);
      *slept = true;
    }
    if (auto frame = frames_.allocate(0, owner)) return frame;
    // Nothing free. Reclaim what can be, then kill.
    if (can_reclaim && policy_->resident() > 0) {
      *slept = true;
      if (reclaim(task, kReclaimBatch) > 0) continue;
    }
    if (round >= kOomWaitRounds) return std::nullopt;
    Task* victim = oom_kill(task);
    if (victim == nullptr || victim->tgid == task.tgid) return std::nullopt;
    // Give the victim time to exit and free its memory (Linux's schedule_timeout_killable),
    // then try again.
    *slept = true;
    const pid_t victim_tgid = victim->tgid;
    for (unsigned wait = 0; wait < kOomWaitRounds && free_frames() == 0; ++wait) {
      const Task* still = kernel_.find_task(victim_tgid);
      if (still == nullptr || !still->mm) break;
      sleep_one_tick(task);
    }
    if ((task.pending_signals & (std::uint64_t{1} << (sys::kSigKill - 1))) != 0) return std::nullopt;
  }
}

void Reclaimer::sleep_one_tick(Task& task) {
  task.timer_fired = false;
  kernel_.engine().reschedule(task.sleep_timer, task.ctx().cpu().now() + sim::kSecond / kernel_.config().hz);
  while (!task.timer_fired) {
    task.state = TaskState::kUninterruptible;
    kernel_.scheduler().schedule(task);
  }
}

Task* Reclaimer::oom_kill(Task& allocating) {
  // oom_badness: resident + swapped + page-table pages of each process; init and kernel
  // threads are exempt, and a process already dying is not killed twice.
  Task* victim = nullptr;
  std::uint64_t worst = 0;
  for (const auto& [tid, task_ptr] : kernel_.task_table()) {
    Task& task = *task_ptr;
    if (!task.is_thread_group_leader() || !task.mm || &task == kernel_.init_task() || task.group_exiting ||
        task.exiting || task.state == TaskState::kZombie || task.state == TaskState::kDead) {
      continue;
    }
    const std::uint64_t points =
        task.mm->resident_pages() + task.mm->swapped_pages() + task.mm->page_table().table_frames();
    if (victim == nullptr || points > worst) {
      victim = &task;
      worst = points;
    }
  }
  if (victim == nullptr) return nullptr;
  ++stats_.oom_kills;
  const cpu::Cpu& cpu = allocating.ctx().cpu();
  kernel_.machine().console().write(fmt::format("Out of memory: Killed process {} ({}) total-vm:{}kB, anon-rss:{}kB\n", victim->tgid,
                                  victim->name, victim->mm->virtual_bytes() / 1024,
                                  victim->mm->resident_pages() * (mmu::kPageBytes / 1024)));
  kernel_.send_signal(*victim, sys::kSigKill, cpu.now(), &cpu);
  return victim;
}

// ---- Reclaim ----------------------------------------------------------------------------------

void Reclaimer::age_pages() {
  if (!policy_ages_) return;
  for (mmu::FrameNumber frame = 0; frame < owners_.size(); ++frame) {
    const Owner& owner = owners_[frame];
    bool dirty = false;
    if (owner.mm != nullptr) {
      if (owner.mm->test_and_clear_accessed(owner.page, &dirty)) policy_->on_access(frame, dirty);
    } else if (owner.cache != nullptr) {
      if (owner.cache->test_and_clear_accessed(owner.index, &dirty)) policy_->on_access(frame, dirty);
    }
  }
}

std::uint64_t Reclaimer::reclaim(Task& task, std::uint64_t pages) {
  // Harvest the accessed bits when reclaim has freed an eighth of the tracked pages since
  // the last harvest (at least a batch): the scan's cost is spread over the pages freed.
  if (reclaimed_since_aging_ >= std::max<std::uint64_t>(kReclaimBatch, policy_->resident() / 8)) {
    age_pages();
    reclaimed_since_aging_ = 0;
  }
  std::uint64_t freed = 0;
  // Each tracked page is proposed at most about once per pass; a page that cannot go now
  // (locked by I/O) goes back to the policy as if just brought in.
  std::uint64_t budget = policy_->resident();
  while (freed < pages && budget-- > 0 && policy_->resident() > 0) {
    const mmu::FrameNumber frame = policy_->pick_victim();
    ++stats_.scanned;
    if (!tracked(frame)) continue;
    const Owner owner = owners_[frame];
    owners_[frame] = Owner{};  // the policy has forgotten it already
    bool frame_freed = false;
    if (owner.cache != nullptr) {
      frame_freed = owner.cache->evict(task, owner.index);
      // Still cached (mapped or dirtied again meanwhile): back to the policy.
      if (!frame_freed && owner.cache->find(owner.index) != nullptr &&
          owner.cache->find(owner.index)->frame == frame && !tracked(frame)) {
        track_cache(frame, *owner.cache, owner.index);
      }
    } else if (!swap_out(task, *owner.mm, owner.page, &frame_freed)) {
      track(frame, *owner.mm, owner.page, false);  // swap is full: it stays, cache pages may still go
    }
    if (frame_freed) {
      ++freed;
      ++reclaimed_since_aging_;
      ++stats_.reclaimed;
    }
  }
  return freed;
}

bool Reclaimer::swap_out(Task& task, AddressSpace& mm, mmu::VirtAddr page, bool* freed) {
  if (swap_ == nullptr) return false;
  const auto slot = swap_->allocate();
  if (!slot) return false;
  const auto frame = mm.unmap_to_swap(page, *slot);
  if (!frame) {
    swap_->release(*slot);
    return false;
  }
  // The PTE's frame reference is now the swap cache's: a fault on the page meanwhile
  // waits for the write and maps the frame again instead of reading the disk.
  swap_->cache_insert(*slot, *frame);
  // The CPU work of unmapping and queueing the write, of the order of a fault's handling.
  task.ctx().cpu().stall(kernel_.costs().page_fault);
  const Status written = swap_->write(task, *slot, *frame);
  if (!written) throw std::logic_error("swap: a write inside the swap area failed");
  swap_->cache_io_done(*slot, task);
  const bool frame_freed = swap_->cache_remove(*slot);
  if (freed != nullptr) *freed = frame_freed;
  return true;
}

// ---- kswapd -----------------------------------------------------------------------------------

void Reclaimer::wake_kswapd(Task& waker) {
  if (kswapd_requested_) return;
  kswapd_requested_ = true;
  ++stats_.kswapd_wakeups;
  const cpu::Cpu& cpu = waker.ctx().cpu();
  if (kswapd_ == nullptr) {
    kswapd_ = kernel_.start_kernel_thread("kswapd0", [this](Task& self) { kswapd_main(self); }, &cpu);
    return;
  }
  kernel_.wake_up_all(kswapd_wait_, cpu.now(), &cpu);
}

void Reclaimer::kswapd_main(Task& self) {
  for (;;) {
    (void)kernel_.wait_event(self, kswapd_wait_, false, [this] { return kswapd_requested_; });
    while (free_frames() < watermarks_.high && policy_->resident() > 0) {
      const std::uint64_t freed = reclaim(self, kReclaimBatch);
      stats_.kswapd_reclaimed += freed;
      if (freed == 0) break;
    }
    kswapd_requested_ = false;
  }
}

}  // namespace ossim::kernel
