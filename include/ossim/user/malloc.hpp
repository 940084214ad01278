#pragma once

/// @file
/// A small malloc for workloads, on brk and mmap, with all of its state in the process's
/// simulated memory (as libc's is): block headers and the free list are loads and stores
/// that cost cycles and touch pages, and fork gives the child its own copy of the heap.
///
///     VirtAddr p = user::malloc(self, 100);
///     self.store<int>(p, 7);
///     user::free(self, p);
///
/// Design (K&R's allocator with glibc's mmap threshold): blocks of 16-byte units with a
/// 16-byte header {size, next}; an address-ordered circular free list, first fit, freed
/// blocks coalesced with their neighbours; the heap grows with brk in steps of at least
/// 64 KiB; requests of 128 KiB or more get their own anonymous mapping, returned with
/// munmap on free. The allocator's root (the free-list head) is the first 16 bytes of the
/// heap, at the break the program started with.

#include <cstdint>

#include "ossim/user/process.hpp"

namespace ossim::user {

/// An aligned (16-byte) block of at least `bytes`, or 0 when memory is exhausted.
VirtAddr malloc(Process& self, std::uint64_t bytes);
/// malloc of count * size zeroed bytes; 0 on overflow or exhaustion.
VirtAddr calloc(Process& self, std::uint64_t count, std::uint64_t size);
/// Resizes a block (moving it if needed); realloc(0, n) is malloc(n).
VirtAddr realloc(Process& self, VirtAddr block, std::uint64_t bytes);
/// Returns a block; free(0) does nothing.
void free(Process& self, VirtAddr block);

}  // namespace ossim::user
