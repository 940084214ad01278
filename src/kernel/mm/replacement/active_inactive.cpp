// Linux-style two lists (the pre-MGLRU page reclaim): pages enter the inactive list; a
// page referenced again while inactive is promoted to the active list. Eviction takes the
// tail of the inactive list, giving a referenced page there one more chance (promotion).
// When the inactive list is shorter than the active one, the active list's tail is
// demoted (a referenced one rotates to the active head instead, losing its reference).

#include <unordered_map>

#include "kernel/mm/replacement/lru_list.hpp"
#include "kernel/mm/replacement/policies.hpp"

namespace ossim::kernel {

namespace {

class ActiveInactivePolicy final : public ReplacementPolicy {
 public:
  std::string_view name() const override { return "active_inactive"; }
  void on_fault(PageKey page, bool) override {
    inactive_.push_front(page);
    referenced_[page] = false;
  }
  void on_access(PageKey page, bool) override {
    bool& referenced = referenced_.at(page);
    if (inactive_.contains(page) && referenced) {
      inactive_.erase(page);
      active_.push_front(page);
      referenced = false;
      return;
    }
    referenced = true;
  }
  void on_free(PageKey page) override {
    if (!inactive_.erase(page)) active_.erase(page);
    referenced_.erase(page);
  }
  PageKey pick_victim() override {
    for (;;) {
      balance();
      const PageKey page = inactive_.back();
      bool& referenced = referenced_.at(page);
      if (referenced) {
        inactive_.erase(page);
        active_.push_front(page);
        referenced = false;
        continue;
      }
      inactive_.erase(page);
      referenced_.erase(page);
      return page;
    }
  }
  std::size_t resident() const override { return inactive_.size() + active_.size(); }

 private:
  void balance() {
    while (inactive_.size() < active_.size() || inactive_.empty()) {
      const PageKey page = active_.back();
      bool& referenced = referenced_.at(page);
      active_.erase(page);
      if (referenced && !inactive_.empty()) {
        referenced = false;
        active_.push_front(page);
      } else {
        referenced = false;
        inactive_.push_front(page);
      }
    }
  }

  PageList active_;
  PageList inactive_;
  std::unordered_map<PageKey, bool> referenced_;
};

}  // namespace

std::unique_ptr<ReplacementPolicy> make_active_inactive_policy(const ReplacementOptions&) {
  return std::make_unique<ActiveInactivePolicy>();
}

}  // namespace ossim::kernel
