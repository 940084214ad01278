// FIFO: evict the page that has been resident longest; references change nothing.

#include "kernel/mm/replacement/policies.hpp"
#include "kernel/mm/replacement/lru_list.hpp"

namespace ossim::kernel {

namespace {

class FifoPolicy final : public ReplacementPolicy {
 public:
  std::string_view name() const override { return "fifo"; }
  void on_fault(PageKey page, bool) override { queue_.push_front(page); }
  void on_access(PageKey, bool) override {}
  void on_free(PageKey page) override { queue_.erase(page); }
  PageKey pick_victim() override { return queue_.pop_back(); }
  std::size_t resident() const override { return queue_.size(); }

 private:
  PageList queue_;
};

}  // namespace

std::unique_ptr<ReplacementPolicy> make_fifo_policy(const ReplacementOptions&) { return std::make_unique<FifoPolicy>(); }

}  // namespace ossim::kernel
