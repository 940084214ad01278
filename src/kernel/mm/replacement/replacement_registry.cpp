// The registry of replacement policies by name, and the reference-string replay.

#include <fmt/format.h>

#include <stdexcept>
#include <unordered_set>

#include "kernel/mm/replacement/policies.hpp"

namespace ossim::kernel {

namespace {

struct Registered {
  const char* name;
  std::unique_ptr<ReplacementPolicy> (*make)(const ReplacementOptions&);
};

constexpr Registered kPolicies[] = {
    {"fifo", make_fifo_policy},
    {"lru", make_lru_policy},
    {"clock", make_clock_policy},
    {"enhanced_clock", make_enhanced_clock_policy},
    {"random", make_random_policy},
    {"opt", make_opt_policy},
    {"active_inactive", make_active_inactive_policy},
};

}  // namespace

std::vector<std::string> replacement_policy_names() {
  std::vector<std::string> names;
  for (const Registered& policy : kPolicies) names.emplace_back(policy.name);
  return names;
}

std::unique_ptr<ReplacementPolicy> make_replacement_policy(std::string_view name, const ReplacementOptions& options) {
  for (const Registered& policy : kPolicies) {
    if (name == policy.name) return policy.make(options);
  }
  throw std::invalid_argument(fmt::format("unknown replacement policy \"{}\" (known: {})", name,
                                          fmt::join(replacement_policy_names(), ", ")));
}

ReferenceStringResult simulate_reference_string(ReplacementPolicy& policy, std::size_t frames,
                                                std::span<const PageReference> references) {
  if (frames == 0) throw std::invalid_argument("simulate_reference_string: frames must be at least 1");
  ReferenceStringResult result;
  std::unordered_set<PageKey> resident;
  for (const PageReference& reference : references) {
    if (resident.count(reference.page) != 0) {
      ++result.hits;
      result.hit.push_back(true);
      policy.on_access(reference.page, reference.write);
      continue;
    }
    ++result.misses;
    result.hit.push_back(false);
    if (resident.size() == frames) {
      const PageKey victim = policy.pick_victim();
      resident.erase(victim);
      result.evicted.push_back(victim);
      ++result.evictions;
    }
    resident.insert(reference.page);
    policy.on_fault(reference.page, reference.write);
  }
  return result;
}

ReferenceStringResult simulate_reference_string(ReplacementPolicy& policy, std::size_t frames,
                                                std::span<const PageKey> pages) {
  std::vector<PageReference> references;
  references.reserve(pages.size());
  for (PageKey page : pages) references.push_back({page, false});
  return simulate_reference_string(policy, frames, references);
}

}  // namespace ossim::kernel
