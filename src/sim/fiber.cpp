#include "ossim/sim/fiber.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <boost/context/detail/exception.hpp>

#include <cassert>
#include <new>
#include <utility>

#include "sim/stack_switch.hpp"

namespace ossim::sim {

namespace {

std::size_t host_page_bytes() {
  static const auto bytes = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return bytes;
}

std::size_t round_up(std::size_t value, std::size_t unit) { return (value + unit - 1) / unit * unit; }

// Stacks are mapped this many at a time, so that many fibers need few host mappings.
constexpr std::size_t kStacksPerChunk = 64;

}  // namespace

// ---------------------------------------------------------------------------------------
// FiberStackPool

FiberStackPool::FiberStackPool(std::size_t stack_bytes, bool guard_page)
    : stack_bytes_(round_up(stack_bytes < 16384 ? 16384 : stack_bytes, host_page_bytes())),
      slot_bytes_(stack_bytes_ + host_page_bytes()),
      guard_page_(guard_page) {}

FiberStackPool::~FiberStackPool() {
  assert(in_use_ == 0 && "fibers outlived their stack pool");
  for (const Chunk& chunk : chunks_) ::munmap(chunk.base, chunk.bytes);
}

void FiberStackPool::grow() {
  const std::size_t bytes = slot_bytes_ * kStacksPerChunk;
  void* base = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (base == MAP_FAILED) throw std::bad_alloc();
  chunks_.push_back(Chunk{base, bytes});
  // Push in reverse so that stacks are handed out from low to high addresses.
  for (std::size_t i = kStacksPerChunk; i-- > 0;) {
    char* slot = static_cast<char*>(base) + i * slot_bytes_;
    if (guard_page_ && ::mprotect(slot, host_page_bytes(), PROT_NONE) != 0) {
      guard_page_ = false;  // the host ran out of mappings: carry on unguarded
    }
    free_.push_back(slot + slot_bytes_);
  }
}

boost::context::stack_context FiberStackPool::allocate() {
  if (free_.empty()) grow();
  boost::context::stack_context stack;
  stack.sp = free_.back();
  stack.size = stack_bytes_;
  free_.pop_back();
  ++in_use_;
  return stack;
}

void FiberStackPool::deallocate(boost::context::stack_context& stack) noexcept {
  free_.push_back(stack.sp);
  --in_use_;
}

namespace {

// The StackAllocator that Boost.Context copies into each fiber: a reference to the pool.
struct PooledStack {
  FiberStackPool* pool;
  boost::context::stack_context allocate() { return pool->allocate(); }
  void deallocate(boost::context::stack_context& stack) noexcept { pool->deallocate(stack); }
};

// Thrown on a suspended fiber (native switch) that is being destroyed, from the switch it
// is suspended in, to unwind its frames; caught where its body was called. Like Boost's
// forced_unwind, a body must not swallow it with catch (...).
struct FiberUnwind {};

}  // namespace

// ---------------------------------------------------------------------------------------
// Fiber

Fiber::Fiber(FiberRuntime& runtime, const char* name) : runtime_(runtime), name_(name) {}

Fiber::~Fiber() {
  assert((runtime_.running_ != this || this == &runtime_.host_) && "a fiber cannot destroy itself");
  if (started_ && !finished_ && this != &runtime_.host_ && runtime_.native_) runtime_.unwind_native(*this);
  if (stack_.sp != nullptr) runtime_.stacks_.deallocate(stack_);  // never started
  // With the Boost switch, context_'s destructor unwinds a suspended stack (Boost throws
  // forced_unwind in it).
}

// ---------------------------------------------------------------------------------------
// FiberRuntime

FiberRuntime::FiberRuntime(std::size_t stack_bytes, bool guard_pages, FiberSwitch how)
    : native_(how == FiberSwitch::kNative && stack_switch::kAvailable),
      stacks_(stack_bytes, guard_pages),
      host_(*this, "host"),
      running_(&host_) {
  host_.started_ = true;  // the host fiber is the thread itself: it is running already
}

FiberRuntime::~FiberRuntime() = default;

std::unique_ptr<Fiber> FiberRuntime::create(std::function<void()> body, const char* name) {
  std::unique_ptr<Fiber> fiber(new Fiber(*this, name));
  fiber->body_ = std::move(body);
  Fiber* self = fiber.get();
#if defined(OSSIM_NATIVE_STACK_SWITCH)
  if (native_) {
    self->stack_ = stacks_.allocate();
    self->saved_sp_ = stack_switch::prepare_stack(self->stack_.sp, &FiberRuntime::start_native, self);
    return fiber;
  }
#endif
  fiber->context_ = boost::context::fiber(
      std::allocator_arg, PooledStack{&stacks_},
      [this, self](boost::context::fiber&& from) { return start_boost(*self, std::move(from)); });
  return fiber;
}

Fiber& FiberRuntime::run_body(Fiber& self) {
  self.started_ = true;
  try {
    self.body_();
  } catch (const boost::context::detail::forced_unwind&) {
    throw;  // the fiber is being destroyed: let Boost finish the unwinding
  } catch (const FiberUnwind&) {
    // Destroyed (native switch): its frames are unwound; back to the destroyer.
  } catch (...) {
    if (!failure_) failure_ = std::current_exception();
  }
  self.finished_ = true;
  Fiber& target = self.unwinding_ || (!failure_ && self.finish_target_ != nullptr) ? *self.finish_target_ : host_;
  handoff_from_ = &self;
  running_ = &target;
  if (!self.unwinding_) ++switches_;
  return target;
}

boost::context::fiber FiberRuntime::start_boost(Fiber& self, boost::context::fiber&& from) {
  adopt_suspended(std::move(from));
  return std::move(run_body(self).context_);
}

void FiberRuntime::start_native(void* fiber) {
#if defined(OSSIM_NATIVE_STACK_SWITCH)
  Fiber& self = *static_cast<Fiber*>(fiber);
  FiberRuntime& runtime = self.runtime_;
  Fiber& target = runtime.run_body(self);
  // The stack goes back to the pool before the last switch off it. Nothing can take it
  // from the pool before that switch is done, and the switch only writes below the
  // stack pointer, into the stack's own bytes.
  runtime.stacks_.deallocate(self.stack_);
  self.stack_.sp = nullptr;
  void* discarded = nullptr;
  ossim_stack_switch(&discarded, target.saved_sp_);
#else
  (void)fiber;
#endif
  __builtin_unreachable();
}

void FiberRuntime::switch_to(Fiber& next) {
  Fiber* const self = running_;
  if (&next == self) return;
  assert(!next.finished_ && "switch to a finished fiber");
  handoff_from_ = self;
  running_ = &next;
  ++switches_;
#if defined(OSSIM_NATIVE_STACK_SWITCH)
  if (native_) {
    ossim_stack_switch(&self->saved_sp_, next.saved_sp_);
    // Back on `self`: whoever resumed us set running_ and handoff_from_.
    if (self->unwinding_) [[unlikely]] throw FiberUnwind{};
    if (self == &host_) rethrow_failure_on_host();
    return;
  }
#endif
  // The registers jump_fcontext saves lie below this frame.
  self->boost_resume_from_ = static_cast<const char*>(__builtin_frame_address(0)) - 3 * kHostCacheLine;
  adopt_suspended(std::move(next.context_).resume());
  // Back on `self`: whoever resumed us set running_ and handoff_from_.
  if (self == &host_) rethrow_failure_on_host();
}

void FiberRuntime::unwind_native(Fiber& fiber) {
#if defined(OSSIM_NATIVE_STACK_SWITCH)
  Fiber* const self = running_;
  fiber.unwinding_ = true;
  fiber.finish_target_ = self;
  handoff_from_ = self;
  running_ = &fiber;
  ossim_stack_switch(&self->saved_sp_, fiber.saved_sp_);
  // Back: the fiber's frames are unwound and its stack is in the pool.
#else
  (void)fiber;
#endif
}

void FiberRuntime::rethrow_failure_on_host() {
  if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
}

}  // namespace ossim::sim
