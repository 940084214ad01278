// Random: evict a resident page chosen uniformly, from a stream seeded by the options.

#include <unordered_map>
#include <vector>

#include "ossim/sim/random.hpp"
#include "kernel/mm/replacement/policies.hpp"

namespace ossim::kernel {

namespace {

class RandomPolicy final : public ReplacementPolicy {
 public:
  explicit RandomPolicy(std::uint64_t seed) : random_(seed, "replacement.random") {}
  std::string_view name() const override { return "random"; }
  void on_fault(PageKey page, bool) override {
    where_[page] = pages_.size();
    pages_.push_back(page);
  }
  void on_access(PageKey, bool) override {}
  void on_free(PageKey page) override {
    auto it = where_.find(page);
    if (it == where_.end()) return;
    remove_at(it->second);
  }
  PageKey pick_victim() override {
    const std::size_t index = static_cast<std::size_t>(random_.uniform_below(pages_.size()));
    const PageKey page = pages_[index];
    remove_at(index);
    return page;
  }
  std::size_t resident() const override { return pages_.size(); }

 private:
  void remove_at(std::size_t index) {
    where_.erase(pages_[index]);
    if (index + 1 != pages_.size()) {
      pages_[index] = pages_.back();
      where_[pages_[index]] = index;
    }
    pages_.pop_back();
  }

  sim::RandomStream random_;
  std::vector<PageKey> pages_;
  std::unordered_map<PageKey, std::size_t> where_;
};

}  // namespace

std::unique_ptr<ReplacementPolicy> make_random_policy(const ReplacementOptions& options) {
  return std::make_unique<RandomPolicy>(options.seed);
}

}  // namespace ossim::kernel
