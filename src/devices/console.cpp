#include "ossim/dev/console.hpp"

#include <algorithm>
#include <utility>

namespace ossim::dev {

Console::Console(sim::Engine& engine, InterruptController& controller, unsigned irq)
    : engine_(engine),
      controller_(controller),
      irq_(irq),
      // Input is in the buffer before the line is raised, so a handler run at once sees it.
      pending_(
          engine, [this](std::string& bytes) { input_.insert(input_.end(), bytes.begin(), bytes.end()); },
          [this] {
            ++interrupts_raised_;
            controller_.raise(irq_);
          },
          "console-input") {}

void Console::write(std::string_view bytes) {
  output_.append(bytes);
  bytes_written_ += bytes.size();
  if (output_listener_) output_listener_(bytes);
}

void Console::inject_input(sim::Tick at, std::string bytes) {
  if (bytes.empty()) return;
  pending_.push(at, std::move(bytes));
}

std::size_t Console::read_input(char* buffer, std::size_t max) {
  const std::size_t count = std::min(max, input_.size());
  std::copy_n(input_.begin(), count, buffer);
  input_.erase(input_.begin(), input_.begin() + static_cast<std::ptrdiff_t>(count));
  bytes_read_ += count;
  return count;
}

}  // namespace ossim::dev
