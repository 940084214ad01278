#pragma once

/// @file
/// An execution context: one thread of control that the machine's CPUs run. It owns a
/// fiber (its stack: user code and kernel stack in one, as in Linux) and its register
/// file (what a kernel saves in thread_struct), and knows which CPU it is on now.
///
/// A context runs on at most one CPU at a time and may come back on a different CPU after
/// it is switched out, so code that runs on a context asks context.cpu() again after
/// anything that may block, never keeping a Cpu& across it (like smp_processor_id()).

#include <functional>
#include <memory>

#include "ossim/cpu/registers.hpp"
#include "ossim/sim/fiber.hpp"
#include "ossim/sim/huge_page_heap.hpp"

namespace ossim::cpu {

class Cpu;

class Context : public sim::HugePageAllocated {
 public:
  /// A context that will run `body` when a CPU first switches to it. `name` must outlive
  /// the context.
  Context(sim::FiberRuntime& fibers, std::function<void()> body, const char* name = "context");
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context();

  /// The CPU this context is running on. Precondition: running().
  Cpu& cpu() const { return *cpu_; }
  bool running() const { return cpu_ != nullptr; }
  bool finished() const { return fiber_->finished(); }
  const char* name() const { return fiber_->name(); }

  RegisterFile& registers() { return registers_; }
  const RegisterFile& registers() const { return registers_; }
  sim::Fiber& fiber() { return *fiber_; }

 private:
  friend class Cpu;
  std::unique_ptr<sim::Fiber> fiber_;
  RegisterFile registers_;
  Cpu* cpu_ = nullptr;  // set by the CPU that switches to this context
};

}  // namespace ossim::cpu
