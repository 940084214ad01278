#include "ossim/cpu/context.hpp"

#include <cassert>
#include <utility>

#include "ossim/cpu/cpu.hpp"

namespace ossim::cpu {

Context::Context(sim::FiberRuntime& fibers, std::function<void()> body, const char* name)
    : fiber_(fibers.create(
          [this, body = std::move(body)] {
            try {
              body();
            } catch (const CpuShutdown&) {
              // The CPU under this context shut down: the context ends here.
            }
            // Ended on a CPU rather than after handing it to another context (Cpu::exit_to):
            // that CPU now has nothing to run. Done here, on the way out, because the fiber
            // that regains control need not be the one that resumed this context.
            if (cpu_ != nullptr) cpu_->release_ended_context();
          },
          name)) {}

Context::~Context() { assert(cpu_ == nullptr && "a context is destroyed while on a CPU"); }

}  // namespace ossim::cpu
