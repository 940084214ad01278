#pragma once

// Signal dispositions (Linux's sighand_struct), shared by kCloneSighand and copied by
// fork. This kernel knows the default actions and SIG_IGN; handlers that run user code
// are the signals issue's.

#include <array>
#include <cstdint>

namespace ossim::kernel {

inline constexpr std::uint64_t kSigDefault = 0;  // SIG_DFL
inline constexpr std::uint64_t kSigIgnore = 1;   // SIG_IGN

enum class DefaultAction : std::uint8_t { kTerminate, kCoreDump, kIgnore, kStop, kContinue };

/// The default action of `signal` (signal(7)).
DefaultAction default_action(int signal);

struct SignalHandlers {
  std::array<std::uint64_t, 65> action{};  // by signal number; kSigDefault or kSigIgnore
};

constexpr std::uint64_t signal_bit(int signal) { return std::uint64_t{1} << (signal - 1); }

}  // namespace ossim::kernel
