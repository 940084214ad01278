#include "ossim/dev/block_device.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace ossim::dev {

BlockDevice::BlockDevice(sim::Engine& engine, mmu::PhysicalMemory& memory, InterruptController& interrupts,
                         unsigned irq, BlockDeviceConfig config)
    : engine_(engine),
      memory_(memory),
      interrupts_(interrupts),
      irq_(irq),
      config_(std::move(config)),
      rotation_(config_.rpm == 0 ? 0 : 60 * sim::kSecond / config_.rpm),
      tracks_(0),
      done_event_([this] { complete(); }, "disk.done") {
  if (config_.sectors == 0) throw std::invalid_argument(config_.name + ": a disk needs at least one sector");
  if (config_.kind == DiskKind::kHdd && (config_.rpm == 0 || config_.sectors_per_track == 0)) {
    throw std::invalid_argument(config_.name + ": an HDD needs rpm and sectors_per_track above zero");
  }
  if (config_.kind == DiskKind::kSsd && config_.ssd_bytes_per_second == 0) {
    throw std::invalid_argument(config_.name + ": an SSD needs a transfer rate above zero");
  }
  tracks_ = config_.kind == DiskKind::kHdd
                ? (config_.sectors + config_.sectors_per_track - 1) / config_.sectors_per_track
                : 1;
}

sim::Tick BlockDevice::seek_time(std::uint64_t from_track, std::uint64_t to_track) const {
  const std::uint64_t distance = from_track > to_track ? from_track - to_track : to_track - from_track;
  if (distance == 0) return 0;
  if (tracks_ <= 2) return config_.track_to_track_seek;
  // One track costs track_to_track; the full stroke costs full_stroke; in between the
  // cost grows with the square root of the distance (the arm accelerates, then coasts).
  const double fraction = std::sqrt(static_cast<double>(distance - 1) / static_cast<double>(tracks_ - 2));
  const double extra = static_cast<double>(config_.full_stroke_seek - config_.track_to_track_seek) * fraction;
  return config_.track_to_track_seek + static_cast<sim::Tick>(std::llround(extra));
}

sim::Tick BlockDevice::service_time(const BlockRequest& request, sim::Tick start) const {
  const std::uint64_t bytes = std::uint64_t{request.sectors} * kSectorBytes;
  if (config_.kind == DiskKind::kSsd) {
    const sim::Tick latency = request.write ? config_.ssd_write_latency : config_.ssd_read_latency;
    const unsigned __int128 transfer =
        (static_cast<unsigned __int128>(bytes) * sim::kSecond + config_.ssd_bytes_per_second - 1) /
        config_.ssd_bytes_per_second;
    return latency + static_cast<sim::Tick>(transfer);
  }
  const sim::Tick seek = seek_time(head_track_, track_of(request.sector));
  // The platter turns continuously: at time t it is (t mod rotation) into a revolution,
  // and sector s of a track passes under the head (s / sectors_per_track) into one.
  const std::uint64_t spt = config_.sectors_per_track;
  const sim::Tick angle = (start + seek) % rotation_;
  const sim::Tick target =
      static_cast<sim::Tick>((static_cast<unsigned __int128>(request.sector % spt) * rotation_) / spt);
  const sim::Tick rotational = (target + rotation_ - angle) % rotation_;
  // The transfer ends when the end of the last sector passes under the head: on the same
  // grid of sector boundaries as `target`, so that a request for the next sectors, queued
  // behind this one, starts exactly at its first sector (streaming, no lost revolution).
  const auto boundary = [&](std::uint64_t sectors_into_track) {
    return static_cast<sim::Tick>((static_cast<unsigned __int128>(sectors_into_track) * rotation_) / spt);
  };
  const sim::Tick transfer = boundary(request.sector % spt + request.sectors) - target;
  return seek + rotational + transfer;
}

bool BlockDevice::submit(const BlockRequest& request, sim::Tick at) {
  if (request.sectors == 0 || request.sector >= config_.sectors || request.sectors > config_.sectors - request.sector) {
    ++stats_.rejected;
    return false;
  }
  queue_.push_back(Pending{request, std::max(at, engine_.now())});
  if (!busy_) start_next();
  return true;
}

void BlockDevice::start_next() {
  if (queue_.empty()) {
    busy_ = false;
    return;
  }
  busy_ = true;
  current_ = queue_.front();
  queue_.pop_front();
  current_started_ = std::max(current_->submitted_at, engine_.now());
  const sim::Tick duration = service_time(current_->request, current_started_);
  stats_.busy_time += duration;
  engine_.schedule(done_event_, current_started_ + duration);
}

void BlockDevice::complete() {
  const BlockRequest& request = current_->request;
  const std::size_t bytes = std::size_t{request.sectors} * kSectorBytes;
  std::vector<std::byte> data(bytes);
  // DMA: the data moves between the disk and physical memory as the request completes.
  if (request.write) {
    memory_.read_bytes(request.buffer, data.data(), bytes);
    write_sectors(request.sector, request.sectors, data.data());
    ++stats_.writes;
    stats_.sectors_written += request.sectors;
  } else {
    read_sectors(request.sector, request.sectors, data.data());
    memory_.write_bytes(request.buffer, data.data(), bytes);
    ++stats_.reads;
    stats_.sectors_read += request.sectors;
  }
  if (config_.kind == DiskKind::kHdd) {
    const std::uint64_t track = track_of(request.sector + request.sectors - 1);
    stats_.tracks_sought += head_track_ > track_of(request.sector) ? head_track_ - track_of(request.sector)
                                                                   : track_of(request.sector) - head_track_;
    head_track_ = track;
  }
  completions_.push_back(BlockCompletion{request.tag, request.write, current_->submitted_at, current_started_,
                                         engine_.now()});
  current_.reset();
  interrupts_.raise(irq_);
  start_next();
}

std::optional<BlockCompletion> BlockDevice::pop_completion() {
  if (completions_.empty()) return std::nullopt;
  BlockCompletion completion = completions_.front();
  completions_.pop_front();
  return completion;
}

void BlockDevice::read_sectors(std::uint64_t sector, std::uint32_t count, std::byte* out) const {
  for (std::uint32_t i = 0; i < count; ++i) {
    auto it = contents_.find(sector + i);
    if (it == contents_.end()) {
      std::memset(out + std::size_t{i} * kSectorBytes, 0, kSectorBytes);
    } else {
      std::memcpy(out + std::size_t{i} * kSectorBytes, it->second.data(), kSectorBytes);
    }
  }
}

void BlockDevice::write_sectors(std::uint64_t sector, std::uint32_t count, const std::byte* in) {
  for (std::uint32_t i = 0; i < count; ++i) {
    std::vector<std::byte>& stored = contents_[sector + i];
    stored.assign(in + std::size_t{i} * kSectorBytes, in + std::size_t{i + 1} * kSectorBytes);
  }
}

}  // namespace ossim::dev
