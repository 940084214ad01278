#include <catch2/catch.hpp>

#include <map>

#include "kernel_fixture.hpp"
#include "ossim/user/malloc.hpp"

using namespace ossim;
using testing::KernelFixture;

TEST_CASE("malloc gives aligned, disjoint blocks that keep their contents", "[kernel][malloc]") {
  KernelFixture f;
  bool ok = true;
  f.run([&](user::Process& self) {
    std::map<user::VirtAddr, std::uint64_t> blocks;
    for (std::uint64_t i = 1; i <= 200; ++i) {
      const std::uint64_t bytes = (i * 37) % 3000 + 1;
      const user::VirtAddr p = user::malloc(self, bytes);
      if (p == 0 || p % 16 != 0) ok = false;
      self.store<std::uint64_t>(p, i);
      blocks[p] = bytes;
    }
    // Disjoint: each block ends before the next starts.
    for (auto it = blocks.begin(); std::next(it) != blocks.end(); ++it) {
      if (it->first + it->second > std::next(it)->first) ok = false;
    }
    std::uint64_t i = 0;
    for (auto& [p, bytes] : blocks) {
      (void)bytes;
      if (self.load<std::uint64_t>(p) == 0) ok = false;
      ++i;
    }
    return 0;
  });
  CHECK(ok);
}

TEST_CASE("freed memory is reused and coalesced", "[kernel][malloc]") {
  KernelFixture f;
  user::VirtAddr first = 0, again = 0, big = 0;
  f.run([&](user::Process& self) {
    first = user::malloc(self, 1000);
    const user::VirtAddr second = user::malloc(self, 1000);
    user::free(self, first);
    user::free(self, second);
    again = user::malloc(self, 1000);
    // Two adjacent freed 1000-byte blocks merged can hold 1900 bytes without growing.
    user::free(self, again);
    big = user::malloc(self, 1900);
    return 0;
  });
  CHECK(again != 0);
  CHECK(big != 0);
  CHECK((big == first || big == again || big + 1900 <= first + 2048));
}

TEST_CASE("large blocks are mapped and unmapped on their own", "[kernel][malloc]") {
  KernelFixture f;
  std::int64_t after_free = 0;
  f.run([&](user::Process& self) {
    const user::VirtAddr p = user::malloc(self, 1 << 20);
    self.store<char>(p + (1 << 20) - 1, 'x');
    user::free(self, p);
    // The mapping is gone: touching it now would fault, so check with mprotect (ENOMEM).
    after_free = self.mprotect((p - 16) & ~user::VirtAddr{4095}, 4096, sys::kProtRead);
    return 0;
  });
  CHECK(after_free == -static_cast<std::int64_t>(sys::Errno::kENOMEM));
}

TEST_CASE("a forked child has its own copy of the heap", "[kernel][malloc]") {
  KernelFixture f;
  std::uint64_t parent_value = 0, child_value = 0;
  f.run([&](user::Process& self) {
    const user::VirtAddr p = user::malloc(self, 64);
    self.store<std::uint64_t>(p, 1);
    self.fork([&](user::Process& child) {
      const user::VirtAddr q = user::malloc(child, 64);  // the child's heap, not the parent's
      child.store<std::uint64_t>(q, 3);
      child.store<std::uint64_t>(p, 2);
      child_value = child.load<std::uint64_t>(p);
      return 0;
    });
    int status = 0;
    self.wait(&status);
    parent_value = self.load<std::uint64_t>(p);
    return 0;
  });
  CHECK(child_value == 2);
  CHECK(parent_value == 1);
}
