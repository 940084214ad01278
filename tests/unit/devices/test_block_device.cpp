// BlockDevice: a disk with a FIFO request queue, HDD or SSD timing, DMA into physical
// memory and a completion interrupt.

#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "ossim/dev/block_device.hpp"
#include "ossim/dev/interrupt_controller.hpp"
#include "ossim/mmu/physical_memory.hpp"
#include "ossim/machine/machine.hpp"
#include "ossim/sim/engine.hpp"

using namespace ossim;
using namespace ossim::dev;

namespace {

struct Rig {
  explicit Rig(BlockDeviceConfig config)
      : memory(16 << 20), interrupts(engine, 1), disk(engine, memory, interrupts, 14, std::move(config)) {}
  sim::Engine engine;
  mmu::PhysicalMemory memory;
  InterruptController interrupts;
  BlockDevice disk;
};

BlockDeviceConfig ssd() {
  BlockDeviceConfig config;
  config.kind = DiskKind::kSsd;
  return config;
}

}  // namespace

TEST_CASE("an SSD read takes its latency plus the transfer, then DMA puts the data in memory") {
  Rig rig(ssd());
  std::vector<std::byte> pattern(4096);
  for (std::size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<std::byte>(i * 7);
  rig.disk.write_sectors(100, 8, pattern.data());
  REQUIRE(rig.disk.submit({.write = false, .sector = 100, .sectors = 8, .buffer = 0x10000, .tag = 5}, 0));
  CHECK(rig.disk.busy());
  rig.engine.run();
  const auto done = rig.disk.pop_completion();
  REQUIRE(done);
  CHECK(done->tag == 5);
  // 50 us + 4096 bytes at 500 MB/s (8.192 us).
  CHECK(done->completed_at == 50 * sim::kMicrosecond + 8192 * sim::kNanosecond);
  std::vector<std::byte> in_memory(4096);
  rig.memory.read_bytes(0x10000, in_memory.data(), in_memory.size());
  CHECK(in_memory == pattern);
  CHECK_FALSE(rig.disk.busy());
}

TEST_CASE("a write takes the data from memory, and a later read returns it") {
  Rig rig(ssd());
  const char message[] = "written by DMA";
  rig.memory.write_bytes(0x2000, message, sizeof(message));
  REQUIRE(rig.disk.submit({.write = true, .sector = 9, .sectors = 1, .buffer = 0x2000, .tag = 1}, 0));
  REQUIRE(rig.disk.submit({.write = false, .sector = 9, .sectors = 1, .buffer = 0x8000, .tag = 2}, 0));
  rig.engine.run();
  CHECK(rig.disk.pop_completion()->tag == 1);  // in submission order
  const auto read = rig.disk.pop_completion();
  REQUIRE(read);
  CHECK(read->tag == 2);
  CHECK(read->started_at == 200 * sim::kMicrosecond + 1024 * sim::kNanosecond);  // after the write
  char back[sizeof(message)];
  rig.memory.read_bytes(0x8000, back, sizeof(back));
  CHECK(std::memcmp(back, message, sizeof(message)) == 0);
  CHECK(rig.disk.stats().writes == 1);
  CHECK(rig.disk.stats().reads == 1);
}

TEST_CASE("each completion raises the disk's interrupt line") {
  Rig rig(ssd());
  rig.interrupts.route(14, 0x2E, 0);
  rig.interrupts.unmask(14);
  rig.disk.submit({.sector = 0}, 0);
  rig.disk.submit({.sector = 1}, 0);
  rig.engine.run();
  CHECK(rig.interrupts.counters().irq_messages == 2);
  CHECK(rig.interrupts.local_apic(0).requested(0x2E));
}

TEST_CASE("requests past the end or of no sectors are refused") {
  Rig rig(ssd());
  const std::uint64_t end = rig.disk.config().sectors;
  CHECK_FALSE(rig.disk.submit({.sector = end, .sectors = 1}, 0));
  CHECK_FALSE(rig.disk.submit({.sector = end - 1, .sectors = 2}, 0));
  CHECK_FALSE(rig.disk.submit({.sector = 0, .sectors = 0}, 0));
  CHECK(rig.disk.stats().rejected == 3);
  CHECK_FALSE(rig.disk.busy());
}

TEST_CASE("an HDD waits for the sector to rotate under the head") {
  Rig rig(BlockDeviceConfig{});
  const sim::Tick rotation = 60 * sim::kSecond / 7200;  // 8.333 ms
  // Sector s of a track spans [s, s + 1) x rotation / 1024 of a turn, rounded down.
  const auto boundary = [&](std::uint64_t s) { return static_cast<sim::Tick>(s * rotation / 1024); };
  const sim::Tick per_sector = boundary(1);
  // Head on track 0 at angle 0: sector 0 is right there; sector 512 is half a turn away.
  CHECK(rig.disk.service_time({.sector = 0, .sectors = 1}, 0) == per_sector);
  CHECK(rig.disk.service_time({.sector = 512, .sectors = 1}, 0) == boundary(513));
  // A quarter turn later, sector 0 has just gone by: three quarters of a turn to wait.
  CHECK(rig.disk.service_time({.sector = 0, .sectors = 1}, rotation / 4) == rotation - rotation / 4 + per_sector);
  // A request for the next sectors started when the previous one ends waits for nothing:
  // consecutive requests stream at the media rate.
  const sim::Tick first = rig.disk.service_time({.sector = 0, .sectors = 8}, 0);
  CHECK(first == boundary(8));
  CHECK(rig.disk.service_time({.sector = 8, .sectors = 8}, first) == boundary(16) - boundary(8));
}

TEST_CASE("an HDD's seek grows with the distance, from track-to-track to full stroke") {
  Rig rig(BlockDeviceConfig{});
  const std::uint64_t tracks = rig.disk.config().sectors / rig.disk.config().sectors_per_track;
  CHECK(rig.disk.seek_time(5, 5) == 0);
  CHECK(rig.disk.seek_time(0, 1) == 1 * sim::kMillisecond);
  CHECK(rig.disk.seek_time(0, tracks - 1) == 15 * sim::kMillisecond);
  CHECK(rig.disk.seek_time(0, tracks / 2) > rig.disk.seek_time(0, tracks / 8));
  CHECK(rig.disk.seek_time(0, tracks / 8) > rig.disk.seek_time(0, 2));
  CHECK(rig.disk.seek_time(700, 100) == rig.disk.seek_time(100, 700));
  // A request's time includes its seek: at least the seek plus one sector.
  const BlockRequest far{.sector = (tracks - 1) * 1024, .sectors = 1};
  CHECK(rig.disk.service_time(far, 0) >= 15 * sim::kMillisecond);
  // After serving it the head is there: the same track again needs no seek.
  rig.disk.submit(far, 0);
  rig.engine.run();
  CHECK(rig.disk.head_track() == tracks - 1);
  CHECK(rig.disk.stats().tracks_sought == tracks - 1);
  CHECK(rig.disk.service_time(far, rig.engine.now()) < 60 * sim::kSecond / 7200 + 10 * sim::kMicrosecond);
}

TEST_CASE("a machine builds its disks on consecutive interrupt lines") {
  sim::Engine engine;
  MachineConfig config;
  config.memory_bytes = 16 << 20;
  config.disks = {BlockDeviceConfig{}, ssd()};
  Machine machine(engine, config);
  REQUIRE(machine.disk_count() == 2);
  CHECK(machine.disk(0).irq() == 14);
  CHECK(machine.disk(1).irq() == 15);
  CHECK(machine.disk(1).config().kind == DiskKind::kSsd);
  config.disks.resize(20);
  CHECK_THROWS_AS(Machine(engine, config), std::invalid_argument);
}
