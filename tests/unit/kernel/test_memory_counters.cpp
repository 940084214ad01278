// The memory counters of the trace: the page cache's size and the page-fault rate, sampled
// at CPU 0's tick (kernel/trace_points.hpp).

#include <catch2/catch.hpp>

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "kernel_fixture.hpp"
#include "ossim/sim/trace.hpp"
#include "kernel/mm/page_cache.hpp"

using namespace ossim;

namespace {

/// (time, value) of every record on the counter track named `name`.
std::vector<std::pair<sim::Tick, std::int64_t>> counter_values(const sim::Trace& trace, std::string_view name) {
  std::vector<std::pair<sim::Tick, std::int64_t>> values;
  for (const sim::Trace::Record& record : trace.records()) {
    if (record.kind != sim::Trace::RecordKind::kCounter) continue;
    if (trace.tracks()[record.track].name.view() != name) continue;
    values.emplace_back(record.time, record.int_value);
  }
  return values;
}

}  // namespace

TEST_CASE("the trace samples the page cache's size and the page-fault rate once per tick", "[kernel][trace]") {
  sim::Engine engine({.seed = 7});
  kernel::KernelConfig config = testing::KernelFixture::ideal_config();  // hz = 1000: 1 ms periods
  Machine machine(engine, testing::KernelFixture::machine_config(1, std::uint64_t{64} << 20, config, 0));
  sim::Trace trace(sim::TraceCategory::kCounter);
  kernel::Kernel kernel(machine, config, &trace);
  std::uint64_t cached_pages = 0;
  kernel.boot([&](user::Process& init) {
    // Period [1 ms, 2 ms): 100 faults, and five pages written to a file.
    init.sleep_until(sim::kMillisecond + sim::kMicrosecond);
    const auto region = static_cast<mmu::VirtAddr>(
        init.mmap(0, 100 * 4096, sys::kProtRead | sys::kProtWrite, sys::kMapPrivate | sys::kMapAnonymous));
    for (int page = 0; page < 100; ++page) init.store<char>(region + page * 4096, 1);
    const int fd = init.open("/tmp/five", sys::kOpenCreate | sys::kOpenWriteOnly, 0644);
    REQUIRE(init.ftruncate(fd, 5 * 4096) == 0);
    for (int page = 0; page < 5; ++page) {
      init.lseek(fd, page * 4096, sys::kSeekSet);
      init.write(fd, "x");
    }
    cached_pages = kernel.core().page_cache_pool().cached_pages;
    // Period [2 ms, 3 ms): nothing.
    init.sleep_until(3 * sim::kMillisecond + sim::kMicrosecond);
    return 0;
  });
  engine.run_until(sim::kSecond);

  const auto rate = counter_values(trace, "page faults/s");
  const auto cache = counter_values(trace, "page cache pages");
  REQUIRE(rate.size() >= 3);
  REQUIRE(cache.size() == rate.size());
  CHECK(rate[0].first == sim::kMillisecond);
  CHECK(rate[1] == std::pair<sim::Tick, std::int64_t>{2 * sim::kMillisecond, 100 * 1000});
  CHECK(rate[2] == std::pair<sim::Tick, std::int64_t>{3 * sim::kMillisecond, 0});
  CHECK(cache[2] == std::pair<sim::Tick, std::int64_t>{3 * sim::kMillisecond, static_cast<std::int64_t>(cached_pages)});
  CHECK(cache[2].second - cache[0].second == 5);
}
