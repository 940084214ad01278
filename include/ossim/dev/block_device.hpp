#pragma once

/// @file
/// A block device: a disk with a request queue, DMA into physical memory and a
/// completion interrupt.
///
/// The driver submits requests (read or write `sectors` 512-byte sectors at `sector`,
/// to or from the physical address `buffer`). The device serves them one at a time in
/// submission order (I/O schedulers belong to the kernel); each takes a modelled time,
/// at the end of which the data has been moved by DMA, the completion is queued and the
/// device raises its interrupt line. The driver's handler takes completions with
/// pop_completion().
///
/// Two timing models:
///   - HDD: seek from the head's track to the request's track (track_to_track_seek for a
///     neighbour up to full_stroke_seek across the disk, growing with the square root of
///     the distance, as measured seek curves do), then the rotational delay until the first
///     sector comes under the head (the platter's angle is a function of simulated time),
///     then the transfer at the media rate (one track per rotation).
///   - SSD: a fixed read or write latency plus the transfer at the interface rate.
///
/// The contents live in host memory, sector by sector, only for sectors ever written
/// (the rest read as zeros).

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ossim/dev/interrupt_controller.hpp"
#include "ossim/mmu/physical_memory.hpp"
#include "ossim/sim/engine.hpp"
#include "ossim/sim/event.hpp"

namespace ossim::dev {

enum class DiskKind : std::uint8_t { kHdd, kSsd };

struct BlockDeviceConfig {
  std::string name = "disk0";
  DiskKind kind = DiskKind::kHdd;
  std::uint64_t sectors = std::uint64_t{1} << 21;  // 1 GiB of 512-byte sectors
  // HDD geometry and timing (a 7200 rpm desktop drive).
  std::uint32_t sectors_per_track = 1024;
  std::uint32_t rpm = 7200;
  sim::Tick track_to_track_seek = 1 * sim::kMillisecond;
  sim::Tick full_stroke_seek = 15 * sim::kMillisecond;
  // SSD timing (a SATA SSD).
  sim::Tick ssd_read_latency = 50 * sim::kMicrosecond;
  sim::Tick ssd_write_latency = 200 * sim::kMicrosecond;
  std::uint64_t ssd_bytes_per_second = 500'000'000;
};

inline constexpr std::uint32_t kSectorBytes = 512;

struct BlockRequest {
  bool write = false;
  std::uint64_t sector = 0;
  std::uint32_t sectors = 1;
  mmu::PhysAddr buffer = 0;
  std::uint64_t tag = 0;  // the driver's, returned with the completion
};

struct BlockCompletion {
  std::uint64_t tag = 0;
  bool write = false;
  sim::Tick submitted_at = 0;
  sim::Tick started_at = 0;
  sim::Tick completed_at = 0;
};

struct BlockDeviceStats {
  std::uint64_t reads = 0;
  std::uint64_t writes = 0;
  std::uint64_t sectors_read = 0;
  std::uint64_t sectors_written = 0;
  std::uint64_t rejected = 0;         // out-of-range or empty requests
  std::uint64_t tracks_sought = 0;    // HDD: total seek distance in tracks
  sim::Tick busy_time = 0;
};

class BlockDevice {
 public:
  /// Throws std::invalid_argument for an unusable geometry (no sectors, zero rpm...).
  BlockDevice(sim::Engine& engine, mmu::PhysicalMemory& memory, InterruptController& interrupts, unsigned irq,
              BlockDeviceConfig config);
  BlockDevice(const BlockDevice&) = delete;
  BlockDevice& operator=(const BlockDevice&) = delete;

  /// Queues a request at time `at` (the submitting CPU's clock; the engine's time if
  /// later). Returns false, queueing nothing, for an empty request or one past the end.
  bool submit(const BlockRequest& request, sim::Tick at);
  /// The oldest completion not yet taken.
  std::optional<BlockCompletion> pop_completion();
  bool busy() const { return busy_; }
  std::size_t queued() const { return queue_.size(); }

  /// How long a request would take if started at `start` with the head where it is now.
  sim::Tick service_time(const BlockRequest& request, sim::Tick start) const;
  std::uint64_t track_of(std::uint64_t sector) const { return sector / config_.sectors_per_track; }
  /// The HDD arm's travel time between two tracks.
  sim::Tick seek_time(std::uint64_t from_track, std::uint64_t to_track) const;
  std::uint64_t head_track() const { return head_track_; }

  /// Direct access to the contents (for tests and for building disk images).
  void read_sectors(std::uint64_t sector, std::uint32_t count, std::byte* out) const;
  void write_sectors(std::uint64_t sector, std::uint32_t count, const std::byte* in);

  const BlockDeviceConfig& config() const { return config_; }
  const BlockDeviceStats& stats() const { return stats_; }
  unsigned irq() const { return irq_; }

 private:
  struct Pending {
    BlockRequest request;
    sim::Tick submitted_at;
  };
  void start_next();
  void complete();

  sim::Engine& engine_;
  mmu::PhysicalMemory& memory_;
  InterruptController& interrupts_;
  unsigned irq_;
  BlockDeviceConfig config_;
  sim::Tick rotation_;  // one revolution
  std::uint64_t tracks_;
  std::deque<Pending> queue_;
  std::optional<Pending> current_;
  sim::Tick current_started_ = 0;
  bool busy_ = false;
  std::uint64_t head_track_ = 0;
  std::deque<BlockCompletion> completions_;
  std::map<std::uint64_t, std::vector<std::byte>> contents_;  // sector -> 512 bytes
  sim::CallbackEvent done_event_;
  BlockDeviceStats stats_;
};

}  // namespace ossim::dev
