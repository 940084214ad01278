// OPT (Belady's MIN): evict the resident page whose next use lies farthest in the future
// (never used again counts as farthest; among those, the smallest key, which does not
// change the hit count). It needs the whole reference string, so it is for offline study:
// each on_fault/on_access call consumes the next reference of `future`. Given no future
// at all (online use, as global reclaim would make), it evicts the lowest key; a reference
// that strays from the future counts as never used again.

#include <limits>
#include <map>
#include <unordered_map>
#include <vector>

#include "kernel/mm/replacement/policies.hpp"

namespace ossim::kernel {

namespace {

class OptPolicy final : public ReplacementPolicy {
 public:
  explicit OptPolicy(std::vector<PageKey> future) : future_(std::move(future)), next_(future_.size()) {
    // next_[i]: the next position after i referring to the same page.
    std::unordered_map<PageKey, std::size_t> last_seen;
    for (std::size_t i = future_.size(); i-- > 0;) {
      auto it = last_seen.find(future_[i]);
      next_[i] = it == last_seen.end() ? kNever : it->second;
      last_seen[future_[i]] = i;
    }
  }
  std::string_view name() const override { return "opt"; }
  void on_fault(PageKey page, bool) override { referenced(page); }
  void on_access(PageKey page, bool) override { referenced(page); }
  void on_free(PageKey page) override { next_use_.erase(page); }
  PageKey pick_victim() override {
    PageKey victim = 0;
    std::size_t farthest = 0;
    bool found = false;
    for (const auto& [page, use] : next_use_) {  // ordered by key: deterministic ties
      if (!found || use > farthest) {
        victim = page;
        farthest = use;
        found = true;
      }
    }
    next_use_.erase(victim);
    return victim;
  }
  std::size_t resident() const override { return next_use_.size(); }

 private:
  static constexpr std::size_t kNever = std::numeric_limits<std::size_t>::max();

  void referenced(PageKey page) {
    if (future_.empty()) {
      // No recorded future (OPT asked to run online): every next use is unknown.
      next_use_[page] = kNever;
      return;
    }
    if (cursor_ >= future_.size() || future_[cursor_] != page) {
      // A reference the recorded future did not foresee: its next use is unknown too.
      next_use_[page] = kNever;
      return;
    }
    next_use_[page] = next_[cursor_];
    ++cursor_;
  }

  std::vector<PageKey> future_;
  std::vector<std::size_t> next_;
  std::size_t cursor_ = 0;
  std::map<PageKey, std::size_t> next_use_;  // resident page -> position of its next use
};

}  // namespace

std::unique_ptr<ReplacementPolicy> make_opt_policy(const ReplacementOptions& options) {
  return std::make_unique<OptPolicy>(options.future);
}

}  // namespace ossim::kernel
