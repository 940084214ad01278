// LRU, exact: every reference moves the page to the front; evict from the back. (For
// study: hardware gives the OS only accessed bits, which CLOCK approximates.)

#include "kernel/mm/replacement/lru_list.hpp"
#include "kernel/mm/replacement/policies.hpp"

namespace ossim::kernel {

namespace {

class LruPolicy final : public ReplacementPolicy {
 public:
  std::string_view name() const override { return "lru"; }
  void on_fault(PageKey page, bool) override { order_.push_front(page); }
  void on_access(PageKey page, bool) override { order_.move_to_front(page); }
  void on_free(PageKey page) override { order_.erase(page); }
  PageKey pick_victim() override { return order_.pop_back(); }
  std::size_t resident() const override { return order_.size(); }

 private:
  PageList order_;
};

}  // namespace

std::unique_ptr<ReplacementPolicy> make_lru_policy(const ReplacementOptions&) { return std::make_unique<LruPolicy>(); }

}  // namespace ossim::kernel
