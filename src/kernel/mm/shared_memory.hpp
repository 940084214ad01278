#pragma once

// Anonymous shared memory: what backs a MAP_SHARED | MAP_ANONYMOUS mapping (Linux gives it
// a shmem file). Its pages are a page cache with nothing behind it, like a ramfs file
// nobody can name: every mapper, the children forked after the mmap included, maps the
// same frames, whoever touches a page first, and a page is zero until written.

#include <cstdint>

#include "kernel/mm/backing_store.hpp"
#include "kernel/mm/page_cache.hpp"

namespace ossim::kernel {

class SharedMemory {
 public:
  explicit SharedMemory(PageCachePool& pool) : cache_(pool, store_) {}
  SharedMemory(const SharedMemory&) = delete;
  SharedMemory& operator=(const SharedMemory&) = delete;

  PageCache& cache() { return cache_; }
  std::uint64_t pages() const { return cache_.pages(); }

 private:
  MemoryOnlyStore store_;  // before cache_, which uses it
  PageCache cache_;
};

}  // namespace ossim::kernel
