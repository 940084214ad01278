#pragma once

/// @file
/// Page-replacement policies: which resident page to evict when a frame is needed.
///
/// Every policy implements one interface and is chosen by name, so that the same
/// workload (or reference string) can be replayed under each:
///
///     auto policy = kernel::make_replacement_policy("clock", {.frames = 3});
///     auto result = kernel::simulate_reference_string(*policy, 3, {1, 2, 3, 4, 1, 2, 5});
///
/// Pages are opaque 64-bit keys (a virtual page number, a frame number, an (address
/// space, page) pair folded into one number...). The caller tells the policy what
/// happens to resident pages; the policy only orders them:
///   - on_fault(page): the page was just brought in (a miss); it is now resident.
///   - on_access(page): a resident page was referenced (a hit). Policies that model the
///     hardware see this as the accessed (A) bit being set; exact ones see every access.
///   - on_free(page): the page left memory for another reason (unmapped, process exit).
///   - pick_victim(): the page to evict now; the policy forgets it.
///
/// Conventions (OSTEP chapter 22 unless noted): a fault counts as a miss even when a
/// frame is free (compulsory misses included); a page brought in has its reference bit
/// set; CLOCK's hand starts at the first frame, and a victim's frame is where the next
/// page goes, with the hand moving past it; ties (random) come from a seeded stream.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ossim::kernel {

using PageKey = std::uint64_t;

class ReplacementPolicy {
 public:
  virtual ~ReplacementPolicy() = default;
  virtual std::string_view name() const = 0;
  virtual void on_fault(PageKey page, bool write) = 0;
  virtual void on_access(PageKey page, bool write) = 0;
  virtual void on_free(PageKey page) = 0;
  /// Precondition: at least one page is resident.
  virtual PageKey pick_victim() = 0;
  /// Pages the policy holds as resident.
  virtual std::size_t resident() const = 0;
};

struct ReplacementOptions {
  /// Frames available (CLOCK sizes its ring with it; others ignore it).
  std::size_t frames = 0;
  /// Seed for the random policy.
  std::uint64_t seed = 1;
  /// The whole future reference string, for OPT (Belady's MIN), which replays it.
  std::vector<PageKey> future = {};
};

/// The policies by name: "fifo", "lru", "clock", "enhanced_clock", "random", "opt",
/// "active_inactive". Throws std::invalid_argument for an unknown name (the message
/// lists the known ones).
std::unique_ptr<ReplacementPolicy> make_replacement_policy(std::string_view name, const ReplacementOptions& options);
/// The known names, in the order above.
std::vector<std::string> replacement_policy_names();

/// One reference of a reference string: the page and whether it is a write.
struct PageReference {
  PageKey page = 0;
  bool write = false;
};

struct ReferenceStringResult {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;   // faults, compulsory ones included
  std::uint64_t evictions = 0;
  std::vector<bool> hit;      // per reference
  std::vector<PageKey> evicted;  // in order
  double hit_rate() const { return hits + misses == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(hits + misses); }
};

/// Replays `references` with `frames` frames under `policy` (which must be fresh).
ReferenceStringResult simulate_reference_string(ReplacementPolicy& policy, std::size_t frames,
                                                std::span<const PageReference> references);
/// The same for reads only.
ReferenceStringResult simulate_reference_string(ReplacementPolicy& policy, std::size_t frames,
                                                std::span<const PageKey> pages);

}  // namespace ossim::kernel
