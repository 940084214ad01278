#include "ossim/user/malloc.hpp"

#include <algorithm>
#include <vector>

namespace ossim::user {

namespace {

constexpr std::uint64_t kUnit = 16;                   // header size and alignment
constexpr std::uint64_t kGrowBytes = 64 * 1024;       // brk step
constexpr std::uint64_t kMmapThreshold = 128 * 1024;  // glibc's M_MMAP_THRESHOLD default
constexpr std::uint64_t kMappedFlag = 1;              // low bit of size: block is its own mapping

// A block header in simulated memory: {size in bytes including the header, next free}.
struct Header {
  std::uint64_t size;
  std::uint64_t next;
};

Header read_header(Process& self, VirtAddr at) { return self.load<Header>(at); }
void write_header(Process& self, VirtAddr at, Header header) { self.store(at, header); }

/// The root: a header-shaped record at the heap's base whose `next` is the free-list
/// cursor (0 before the first malloc). Lives in the first unit of the heap.
VirtAddr root(Process& self) {
  const VirtAddr base = self.heap_base();
  if (self.heap_initialised()) return base;
  // First use: claim the first unit of the heap for the root, an empty circular list.
  const VirtAddr end = self.brk(base + kUnit);
  if (end < base + kUnit) return 0;
  write_header(self, base, Header{0, base});
  self.mark_heap_initialised();
  return base;
}

/// Grows the heap by at least `bytes` and frees the new block into the list.
bool grow(Process& self, VirtAddr root_at, std::uint64_t bytes) {
  const std::uint64_t step = std::max(bytes, kGrowBytes);
  const VirtAddr old_end = self.brk(0);
  const VirtAddr new_end = self.brk(old_end + step);
  if (new_end < old_end + step) return false;
  write_header(self, old_end, Header{step, 0});
  free(self, old_end + kUnit);
  (void)root_at;
  return true;
}

}  // namespace

VirtAddr malloc(Process& self, std::uint64_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes > (std::uint64_t{1} << 46)) return 0;
  const std::uint64_t need = ((bytes + kUnit - 1) / kUnit + 1) * kUnit;  // with the header
  if (need >= kMmapThreshold) {
    const std::int64_t mapped = self.mmap(0, need, sys::kProtRead | sys::kProtWrite,
                                          sys::kMapPrivate | sys::kMapAnonymous);
    if (mapped < 0) return 0;
    write_header(self, static_cast<VirtAddr>(mapped), Header{need | kMappedFlag, 0});
    return static_cast<VirtAddr>(mapped) + kUnit;
  }
  const VirtAddr root_at = root(self);
  if (root_at == 0) return 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    // First fit from the root around the circular list.
    VirtAddr previous = root_at;
    Header previous_header = read_header(self, previous);
    for (VirtAddr current = previous_header.next;; current = previous_header.next) {
      Header header = read_header(self, current);
      if (header.size >= need) {
        if (header.size - need >= 2 * kUnit) {
          // Split: the tail of the free block becomes the allocation.
          header.size -= need;
          write_header(self, current, header);
          write_header(self, current + header.size, Header{need, 0});
          return current + header.size + kUnit;
        }
        previous_header.next = header.next;
        write_header(self, previous, previous_header);
        return current + kUnit;
      }
      if (current == root_at) break;  // went all the way round
      previous = current;
      previous_header = header;
    }
    if (attempt == 0 && !grow(self, root_at, need)) return 0;
  }
  return 0;
}

void free(Process& self, VirtAddr block) {
  if (block == 0) return;
  const VirtAddr at = block - kUnit;
  Header freed = read_header(self, at);
  if ((freed.size & kMappedFlag) != 0) {
    self.munmap(at, freed.size & ~kMappedFlag);
    return;
  }
  const VirtAddr root_at = root(self);
  // Find the free neighbours around `at` in the address-ordered circular list: stop
  // between two free blocks that enclose it, or at the wrap-around point.
  VirtAddr previous = root_at;
  Header previous_header = read_header(self, previous);
  for (;;) {
    if (at > previous && at < previous_header.next) break;
    if (previous >= previous_header.next && (at > previous || at < previous_header.next)) break;
    previous = previous_header.next;
    previous_header = read_header(self, previous);
  }
  VirtAddr next = previous_header.next;
  Header next_header = read_header(self, next);
  // Merge with the following block, then with the preceding one (never with the root).
  if (at + freed.size == next && next != root_at) {
    freed.size += next_header.size;
    freed.next = next_header.next;
  } else {
    freed.next = next;
  }
  if (previous != root_at && previous + previous_header.size == at) {
    previous_header.size += freed.size;
    previous_header.next = freed.next;
    write_header(self, previous, previous_header);
    return;
  }
  write_header(self, at, freed);
  previous_header.next = at;
  write_header(self, previous, previous_header);
}

VirtAddr calloc(Process& self, std::uint64_t count, std::uint64_t size) {
  if (size != 0 && count > ~std::uint64_t{0} / size) return 0;
  const std::uint64_t bytes = count * size;
  const VirtAddr block = malloc(self, bytes);
  if (block == 0) return 0;
  const std::vector<char> zeros(static_cast<std::size_t>(std::min<std::uint64_t>(bytes, 4096)), 0);
  for (std::uint64_t done = 0; done < bytes; done += zeros.size()) {
    self.write_memory(block + done, zeros.data(), static_cast<std::size_t>(std::min<std::uint64_t>(zeros.size(), bytes - done)));
  }
  return block;
}

VirtAddr realloc(Process& self, VirtAddr block, std::uint64_t bytes) {
  if (block == 0) return malloc(self, bytes);
  const Header header = read_header(self, block - kUnit);
  const std::uint64_t capacity = (header.size & ~kMappedFlag) - kUnit;
  if (bytes <= capacity) return block;
  const VirtAddr moved = malloc(self, bytes);
  if (moved == 0) return 0;
  std::vector<char> buffer(static_cast<std::size_t>(capacity));
  self.read_memory(block, buffer.data(), buffer.size());
  self.write_memory(moved, buffer.data(), buffer.size());
  free(self, block);
  return moved;
}

}  // namespace ossim::user
