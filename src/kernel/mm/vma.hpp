#pragma once

// A virtual memory area: a page-aligned range of an address space with one protection and
// one backing (anonymous memory, or a file at an offset), like Linux's vm_area_struct.

#include <cstdint>
#include <memory>
#include <string_view>

#include "ossim/mmu/address.hpp"

namespace ossim::kernel {

class Inode;
class SharedMemory;
struct ResidentSet;

enum class VmaKind : std::uint8_t { kText, kData, kBss, kHeap, kStack, kMmap };
/// What madvise said about 2 MiB pages for the range (Linux's VM_HUGEPAGE, VM_NOHUGEPAGE).
enum class HugePageAdvice : std::uint8_t { kNone, kHuge, kNoHuge };
/// madvise(MADV_NORMAL / MADV_RANDOM / MADV_SEQUENTIAL): how much a fault on a file page
/// reads ahead (Linux's VM_RAND_READ and VM_SEQ_READ).
enum class AccessAdvice : std::uint8_t { kNormal, kRandom, kSequential };
std::string_view vma_kind_name(VmaKind kind);

struct Vma {
  mmu::VirtAddr start = 0;  // first byte
  mmu::VirtAddr end = 0;    // one past the last byte
  int prot = 0;             // kProtRead | kProtWrite | kProtExec
  bool shared = false;      // kMapShared: writes are seen by every mapper; no copy-on-write
  /// Whether mprotect may add kProtWrite: false for a shared mapping of a file opened
  /// without write access (Linux's VM_MAYWRITE).
  bool may_write = true;
  VmaKind kind = VmaKind::kMmap;
  /// File backing: page i of the VMA is the file's page-cache page at file_offset + i * 4 KiB
  /// (shared: that very frame; private: it until the first write copies it), up to
  /// file_bytes of the VMA; the rest of the page (and of the VMA) is private and reads as
  /// zero. A page wholly past the file's end cannot be touched (SIGBUS).
  std::shared_ptr<Inode> file = nullptr;
  std::uint64_t file_offset = 0;
  std::uint64_t file_bytes = 0;
  /// Anonymous shared backing (MAP_SHARED | MAP_ANONYMOUS): page i of the VMA is the
  /// object's page shared_offset / 4 KiB + i.
  std::shared_ptr<SharedMemory> shared_memory = nullptr;
  std::uint64_t shared_offset = 0;
  /// A cap on the VMA's resident pages with its own replacement policy (page_refs
  /// experiments; mm/resident_set.hpp), or null. Not inherited by fork.
  std::shared_ptr<ResidentSet> resident_set = nullptr;
  /// madvise(MADV_HUGEPAGE / MADV_NOHUGEPAGE); with the kernel's transparent_hugepages
  /// setting it decides whether anonymous private faults may map 2 MiB pages.
  HugePageAdvice huge_advice = HugePageAdvice::kNone;
  AccessAdvice access_advice = AccessAdvice::kNormal;

  std::uint64_t length() const { return end - start; }
  bool contains(mmu::VirtAddr address) const { return address >= start && address < end; }
};

}  // namespace ossim::kernel
