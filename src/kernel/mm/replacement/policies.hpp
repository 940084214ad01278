#pragma once

// The factories of the replacement policies, one per file; the registry in
// replacement_registry.cpp maps names to them. Adding a policy: a file and a line there.

#include <memory>

#include "ossim/kernel/page_replacement.hpp"

namespace ossim::kernel {

std::unique_ptr<ReplacementPolicy> make_fifo_policy(const ReplacementOptions& options);
std::unique_ptr<ReplacementPolicy> make_lru_policy(const ReplacementOptions& options);
std::unique_ptr<ReplacementPolicy> make_clock_policy(const ReplacementOptions& options);
std::unique_ptr<ReplacementPolicy> make_enhanced_clock_policy(const ReplacementOptions& options);
std::unique_ptr<ReplacementPolicy> make_random_policy(const ReplacementOptions& options);
std::unique_ptr<ReplacementPolicy> make_opt_policy(const ReplacementOptions& options);
std::unique_ptr<ReplacementPolicy> make_active_inactive_policy(const ReplacementOptions& options);

}  // namespace ossim::kernel
