#pragma once

/// @file
/// A user-space mutex over a 32-bit word in simulated memory, built on atomic
/// instructions and futex(2): the third mutex of Ulrich Drepper's "Futexes Are Tricky".
///
/// The word holds 0 (unlocked), 1 (locked, nobody waiting) or 2 (locked, maybe waiters).
/// An uncontended lock and unlock are one atomic instruction each and never enter the
/// kernel; only a thread that finds the mutex held sleeps in FUTEX_WAIT, and only an
/// unlock that saw 2 calls FUTEX_WAKE. The state lives entirely in simulated memory, so
/// every thread (or, when process-shared, every process) that builds a Mutex on the same
/// word uses the same lock; this object holds just the word's address.
///
///     user::Mutex mutex(word);          // word: a 4-byte-aligned address holding 0
///     mutex.lock(self);
///     self.store<std::uint64_t>(counter, self.load<std::uint64_t>(counter) + 1);
///     mutex.unlock(self);

#include <cstdint>

#include "ossim/mmu/address.hpp"

namespace ossim::user {

class Process;

class Mutex {
 public:
  /// A mutex whose state is the 32-bit word at `word` (4-byte aligned, 0 before first
  /// use). `process_shared`: the word is in memory shared between processes (MAP_SHARED),
  /// so the futex calls leave out kFutexPrivateFlag and the kernel finds the futex by
  /// the shared object rather than by this process's address space.
  explicit Mutex(mmu::VirtAddr word, bool process_shared = false) : word_(word), process_shared_(process_shared) {}

  /// Takes the mutex, sleeping in the kernel while another thread holds it.
  void lock(Process& self);
  /// Takes the mutex if it is free; never sleeps. Returns whether it took it.
  bool try_lock(Process& self);
  /// Releases the mutex, which the caller holds, and wakes one sleeper if there may be one.
  void unlock(Process& self);

  mmu::VirtAddr word() const { return word_; }
  bool process_shared() const { return process_shared_; }

 private:
  mmu::VirtAddr word_;
  bool process_shared_;
};

}  // namespace ossim::user
