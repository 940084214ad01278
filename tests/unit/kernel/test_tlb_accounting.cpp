// A task's TLB counts: the growth of its CPU's counters while the task was on it.

#include <catch2/catch.hpp>

#include <cstdint>

#include "kernel_fixture.hpp"

using namespace ossim;
using testing::KernelFixture;

namespace {

constexpr std::uint64_t kPages = 512;

const kernel::TaskInfo& task_with_tid(const std::vector<kernel::TaskInfo>& tasks, int tid) {
  for (const kernel::TaskInfo& task : tasks) {
    if (task.tid == tid) return task;
  }
  FAIL("no task " << tid);
  return tasks.front();
}

}  // namespace

TEST_CASE("a task touching many pages once misses far more than one re-touching one page", "[kernel][tlb]") {
  KernelFixture f;
  int spreader = 0, repeater = 0;
  f.run([&](user::Process& init) {
    const auto touch = [](std::uint64_t distinct_pages) {
      return [distinct_pages](user::Process& self) {
        const auto region = static_cast<mmu::VirtAddr>(self.mmap(
            0, kPages * 4096, sys::kProtRead | sys::kProtWrite, sys::kMapPrivate | sys::kMapAnonymous));
        for (std::uint64_t i = 0; i < kPages; ++i) (void)self.load<std::uint64_t>(region + (i % distinct_pages) * 4096);
        return 0;
      };
    };
    int status = 0;
    spreader = init.fork(touch(kPages));
    init.waitpid(spreader, &status);
    repeater = init.fork(touch(1));
    init.waitpid(repeater, &status);
    return 0;
  });
  const std::vector<kernel::TaskInfo> tasks = f.kernel.tasks();
  const kernel::TaskAccounting& spread = task_with_tid(tasks, spreader).accounting;
  const kernel::TaskAccounting& repeat = task_with_tid(tasks, repeater).accounting;
  INFO("spreader: " << spread.tlb_hits << " hits, " << spread.tlb_misses << " misses, " << spread.page_walks << " walks");
  INFO("repeater: " << repeat.tlb_hits << " hits, " << repeat.tlb_misses << " misses, " << repeat.page_walks << " walks");
  // Each fresh page misses twice: the walk that finds no mapping (the page fault), and the
  // one after the fault maps it. Nothing else the task does reads user memory.
  CHECK(spread.tlb_hits == 0);
  CHECK(spread.tlb_misses == 2 * kPages);
  CHECK(spread.page_walks == 2 * kPages);
  // One page: two misses the first time, then every load hits.
  CHECK(repeat.tlb_hits == kPages - 1);
  CHECK(repeat.tlb_misses == 2);
  CHECK(repeat.page_walks == 2);
}
