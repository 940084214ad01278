#include "ossim/user/mutex.hpp"

#include "ossim/user/process.hpp"

namespace ossim::user {

namespace {

// The word's states.
constexpr std::uint32_t kUnlocked = 0;
constexpr std::uint32_t kLocked = 1;             // held, and no thread sleeps on it
constexpr std::uint32_t kLockedWithWaiters = 2;  // held, and a thread may sleep on it

}  // namespace

bool Mutex::try_lock(Process& self) {
  return self.atomic_compare_exchange<std::uint32_t>(word_, kUnlocked, kLocked) == kUnlocked;
}

void Mutex::lock(Process& self) {
  std::uint32_t seen = self.atomic_compare_exchange<std::uint32_t>(word_, kUnlocked, kLocked);
  if (seen == kUnlocked) return;  // the fast path: no system call
  // Contended. Mark the word "maybe waiters" before sleeping, so that the holder's unlock
  // knows to wake someone; a thread that takes the mutex this way leaves it marked 2 too,
  // since other sleepers may remain (at worst one needless FUTEX_WAKE).
  if (seen != kLockedWithWaiters) seen = self.atomic_exchange<std::uint32_t>(word_, kLockedWithWaiters);
  while (seen != kUnlocked) {
    // Sleeps only if the word still says 2: an unlock between the exchange and the wait
    // makes the kernel return EAGAIN at once, so no wakeup is missed.
    self.futex_wait(word_, kLockedWithWaiters, std::nullopt, !process_shared_);
    seen = self.atomic_exchange<std::uint32_t>(word_, kLockedWithWaiters);
  }
}

void Mutex::unlock(Process& self) {
  // Decrement: from 1 the mutex is free and nobody sleeps. From 2 someone may sleep:
  // release it fully and wake one of them.
  const std::uint32_t before = self.atomic_fetch_add<std::uint32_t>(word_, ~std::uint32_t{0});
  if (before != kLocked) {
    self.store<std::uint32_t>(word_, kUnlocked);
    self.futex_wake(word_, 1, !process_shared_);
  }
}

}  // namespace ossim::user
