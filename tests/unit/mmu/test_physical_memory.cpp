// PhysicalMemory: simulated RAM bytes and the frame table.

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <cstring>

#include "ossim/mmu/physical_memory.hpp"

using namespace ossim;
using mmu::PhysAddr;
using mmu::PhysicalMemory;

namespace {

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;

struct Record {
  std::uint32_t a;
  std::uint16_t b;
  std::uint8_t c;
  std::uint8_t d;
  bool operator==(const Record&) const = default;
};

}  // namespace

TEST_CASE("reads of memory never written are zero") {
  PhysicalMemory memory(64 * kMiB);
  CHECK(memory.read<std::uint64_t>(0) == 0);
  CHECK(memory.read<std::uint64_t>(32 * kMiB + 8) == 0);
  CHECK(memory.read<std::uint8_t>(64 * kMiB - 1) == 0);
  std::array<std::uint8_t, 64> bytes;
  bytes.fill(0xCC);
  memory.read_bytes(5 * kMiB + 3, bytes.data(), bytes.size());
  for (std::uint8_t b : bytes) REQUIRE(b == 0);
}

TEST_CASE("values of several types read back as written, at aligned and unaligned addresses") {
  PhysicalMemory memory(kMiB);
  memory.write<std::uint8_t>(0x10, 0xA5);
  memory.write<std::uint16_t>(0x21, 0xBEEF);
  memory.write<std::uint32_t>(0x33, 0xDEADBEEF);
  memory.write<std::uint64_t>(0x1000, 0x0123456789ABCDEFULL);
  memory.write<std::uint64_t>(0x2FFD, 0xFEDCBA9876543210ULL);  // across a frame boundary
  memory.write<double>(0x4000, 3.25);
  const Record record{0x11223344, 0x5566, 0x77, 0x88};
  memory.write(0x5003, record);

  CHECK(memory.read<std::uint8_t>(0x10) == 0xA5);
  CHECK(memory.read<std::uint16_t>(0x21) == 0xBEEF);
  CHECK(memory.read<std::uint32_t>(0x33) == 0xDEADBEEFu);
  CHECK(memory.read<std::uint64_t>(0x1000) == 0x0123456789ABCDEFULL);
  CHECK(memory.read<std::uint64_t>(0x2FFD) == 0xFEDCBA9876543210ULL);
  CHECK(memory.read<double>(0x4000) == 3.25);
  CHECK(memory.read<Record>(0x5003) == record);
  // Little-endian layout, as on x86.
  CHECK(memory.read<std::uint8_t>(0x1000) == 0xEF);
  CHECK(memory.read<std::uint32_t>(0x1004) == 0x01234567u);
  // Neighbours are untouched.
  CHECK(memory.read<std::uint8_t>(0x0F) == 0);
  CHECK(memory.read<std::uint8_t>(0x11) == 0);
}

TEST_CASE("the host pointer sees the same bytes as read and write") {
  PhysicalMemory memory(kMiB);
  memory.write<std::uint32_t>(0x800, 0xCAFEF00D);
  std::uint32_t seen = 0;
  std::memcpy(&seen, memory.host(0x800), sizeof seen);
  CHECK(seen == 0xCAFEF00Du);
  const std::uint32_t value = 0x12345678;
  std::memcpy(memory.host(0x900), &value, sizeof value);
  CHECK(memory.read<std::uint32_t>(0x900) == 0x12345678u);
}

TEST_CASE("an access beyond the end of RAM reads all ones and a write there is dropped") {
  PhysicalMemory memory(kMiB);
  CHECK_FALSE(memory.contains(kMiB));
  CHECK(memory.contains(kMiB - 8, 8));
  CHECK_FALSE(memory.contains(kMiB - 4, 8));

  CHECK(memory.read<std::uint64_t>(kMiB) == ~std::uint64_t{0});
  CHECK(memory.read<std::uint32_t>(0xFFFF'FFFF'0000ULL) == 0xFFFFFFFFu);
  CHECK(memory.read<std::uint8_t>(~std::uint64_t{0}) == 0xFF);

  memory.write<std::uint64_t>(kMiB, 0x1111111111111111ULL);
  memory.write<std::uint64_t>(~std::uint64_t{0} - 3, 0x2222222222222222ULL);
  memory.write_bytes(10 * kMiB, "abc", 3);
  memory.zero(2 * kMiB, 4096);
  // Nothing inside RAM changed, and the hole still reads as all ones.
  CHECK(memory.read<std::uint64_t>(kMiB - 8) == 0);
  CHECK(memory.read<std::uint64_t>(0) == 0);
  CHECK(memory.read<std::uint64_t>(kMiB) == ~std::uint64_t{0});
}

TEST_CASE("a byte range straddling the end of RAM is copied inside and all ones outside") {
  PhysicalMemory memory(kMiB);
  const PhysAddr start = kMiB - 4;
  const std::uint8_t in[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  memory.write_bytes(start, in, sizeof in);

  std::uint8_t out[8];
  std::memset(out, 0, sizeof out);
  memory.read_bytes(start, out, sizeof out);
  const std::uint8_t expected[8] = {1, 2, 3, 4, 0xFF, 0xFF, 0xFF, 0xFF};
  CHECK(std::memcmp(out, expected, sizeof out) == 0);
  CHECK(memory.read<std::uint32_t>(start) == 0x04030201u);

  // zero() clears only the part inside RAM.
  memory.zero(start + 2, 100);
  CHECK(memory.read<std::uint8_t>(start + 1) == 2);
  CHECK(memory.read<std::uint16_t>(start + 2) == 0);
}

TEST_CASE("zero clears exactly the requested range") {
  PhysicalMemory memory(kMiB);
  std::array<std::uint8_t, 64> junk;
  junk.fill(0x5A);
  memory.write_bytes(0x100, junk.data(), junk.size());
  memory.zero(0x108, 16);
  CHECK(memory.read<std::uint8_t>(0x107) == 0x5A);
  CHECK(memory.read<std::uint64_t>(0x108) == 0);
  CHECK(memory.read<std::uint64_t>(0x110) == 0);
  CHECK(memory.read<std::uint8_t>(0x118) == 0x5A);
}

TEST_CASE("the frame table has one zero-initialised frame per 4 KiB, the size rounded up") {
  PhysicalMemory exact(16 * kMiB);
  CHECK(exact.size_bytes() == 16 * kMiB);
  CHECK(exact.frame_count() == 4096);

  PhysicalMemory rounded(5000);
  CHECK(rounded.size_bytes() == 8192);
  CHECK(rounded.frame_count() == 2);
  CHECK(rounded.contains(8191));
  rounded.write<std::uint8_t>(8191, 7);  // the rounded-up tail is real RAM
  CHECK(rounded.read<std::uint8_t>(8191) == 7);

  for (mmu::FrameNumber f = 0; f < exact.frame_count(); f += 511) {
    const mmu::Frame& frame = exact.frame(f);
    REQUIRE(frame.refcount == 0);
    REQUIRE(frame.flags == 0);
    REQUIRE(frame.owner == 0);
  }
  exact.frame(7).refcount = 3;
  CHECK(exact.frame(7).refcount == 3);
  CHECK(exact.frame(8).refcount == 0);
}

TEST_CASE("an empty physical memory has no frames and reads all ones") {
  PhysicalMemory memory(0);
  CHECK(memory.frame_count() == 0);
  CHECK_FALSE(memory.contains(0));
  CHECK(memory.read<std::uint32_t>(0) == 0xFFFFFFFFu);
  memory.write<std::uint32_t>(0, 1);  // dropped, no crash
}

TEST_CASE("two physical memories do not share bytes or frames") {
  PhysicalMemory a(kMiB);
  PhysicalMemory b(kMiB);
  a.write<std::uint64_t>(0x3000, 0xAAAAAAAAAAAAAAAAULL);
  b.write<std::uint64_t>(0x3008, 0xBBBBBBBBBBBBBBBBULL);
  a.frame(3).owner = 42;
  CHECK(a.read<std::uint64_t>(0x3000) == 0xAAAAAAAAAAAAAAAAULL);
  CHECK(a.read<std::uint64_t>(0x3008) == 0);
  CHECK(b.read<std::uint64_t>(0x3000) == 0);
  CHECK(b.read<std::uint64_t>(0x3008) == 0xBBBBBBBBBBBBBBBBULL);
  CHECK(b.frame(3).owner == 0);
}
