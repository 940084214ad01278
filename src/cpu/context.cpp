#include "ossim/cpu/context.hpp"

#include <cassert>
#include <utility>

#include "ossim/cpu/cpu.hpp"

namespace ossim::cpu {

Context::Context(sim::FiberRuntime& fibers, std::function<void()> body, const char* name)
    : fiber_(fibers.create(
          [body = std::move(body)] {
            try {
              body();
            } catch (const CpuShutdown&) {
              // The CPU under this context shut down: the context ends here.
            }
          },
          name)) {}

Context::~Context() { assert(cpu_ == nullptr && "a context is destroyed while on a CPU"); }

}  // namespace ossim::cpu
