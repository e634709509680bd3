// SPDX-License-Identifier: Apache-2.0
//
// Forwarder is one virtual network's data path without any I/O: it takes the bytes a port's QEMU
// sent (QEMU's stream netdev: a 4-byte big-endian length, then one Ethernet frame), drops what is
// malformed or spoofed, and hands each good frame to the ports it may reach. Which port pairs may
// exchange frames is set from outside (the ACM's decisions, taken at attach); the data path looks
// at nothing else. Counters per port. Single writer (the switch's data thread); the counters are
// readable from any thread.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <unordered_map>

#include "shype/common/result.h"
#include "shype/vswitch/mac.h"

namespace shype::vswitch {

inline constexpr std::size_t kLengthPrefixBytes = 4;
inline constexpr std::size_t kMinFrameBytes = 14;    // destination, source, EtherType
inline constexpr std::size_t kMaxFrameBytes = 1518;  // MTU 1500 + header + one 802.1Q tag
// QEMU never sends a frame longer than its NET_BUFSIZE (4096 + 65536): a larger length prefix
// means the stream is not QEMU's framing any more, and the port is closed.
inline constexpr std::uint32_t kMaxLengthPrefix = 4096 + 65536;
inline constexpr std::size_t kMaxPorts = 256;

enum class DropReason : std::uint8_t {
  kRunt,           // shorter than an Ethernet header
  kOversize,       // longer than kMaxFrameBytes (skipped whole; the stream stays in step)
  kBadLength,      // a length prefix QEMU never sends: the port is closed
  kSpoofed,        // its source MAC is not the port's
  kDenied,         // unicast to a port of a domain it may not share with
  kNoDestination,  // unicast to a MAC no port has
  kCongested,      // the receiver's queue was full (a slow receiver never blocks the others)
};
inline constexpr std::size_t kDropReasonCount = 7;
std::string_view DropReasonName(DropReason reason);  // "runt", "oversize", "bad-length", ...

struct PortCounters {
  std::uint64_t rx_frames = 0;  // good frames received from the port's domain
  std::uint64_t rx_bytes = 0;
  std::uint64_t tx_frames = 0;  // frames delivered to the port's domain
  std::uint64_t tx_bytes = 0;
  std::array<std::uint64_t, kDropReasonCount> drops{};  // by DropReason, of frames it sent
                                                        // (kCongested: of frames sent to it)
  std::uint64_t drops_of(DropReason r) const { return drops[static_cast<std::size_t>(r)]; }
};

using PortIndex = std::uint16_t;

// A set of port indexes.
class PortSet {
 public:
  void Set(PortIndex p) { words_[p / 64] |= std::uint64_t{1} << (p % 64); }
  void Reset(PortIndex p) { words_[p / 64] &= ~(std::uint64_t{1} << (p % 64)); }
  bool Test(PortIndex p) const { return ((words_[p / 64] >> (p % 64)) & 1U) != 0; }
  template <class F>
  void ForEach(F&& f) const {
    for (std::size_t w = 0; w < words_.size(); ++w) {
      for (std::uint64_t bits = words_[w]; bits != 0; bits &= bits - 1) {
        f(static_cast<PortIndex>(w * 64 + static_cast<std::size_t>(std::countr_zero(bits))));
      }
    }
  }

 private:
  std::array<std::uint64_t, kMaxPorts / 64> words_{};
};

// What Ingest did with the bytes it was given.
struct IngestResult {
  std::size_t consumed = 0;   // the rest: an incomplete frame, or frames past the budget
  bool framing_lost = false;  // a bad length prefix: close the port
  bool budget_spent = false;  // stopped at a frame boundary with `budget` deliveries made
};

class Forwarder {
 public:
  Forwarder() = default;
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // A port that may send only from `mac`. Errors: kInvalidArgument (a group or all-zero MAC),
  // kConflict (another port has this MAC), kUnavailable (kMaxPorts ports already).
  [[nodiscard]] Result<PortIndex> AddPort(MacAddress mac);
  // Forgets the port, its permissions and any partial frame; its index may be reused.
  void RemovePort(PortIndex port);
  // Whether ports a and b may exchange frames (both directions).
  void SetPermitted(PortIndex a, PortIndex b, bool permitted);
  bool Permitted(PortIndex a, PortIndex b) const;
  bool Live(PortIndex port) const { return port < kMaxPorts && ports_[port].live; }

  // Scans bytes port `from` sent. For each whole good frame calls deliver(to, wire) once per port
  // it may go to, where `wire` is the frame with its length prefix (a span of `data`, valid until
  // Ingest returns). Broadcast and multicast go to every permitted port, unicast to the port with
  // the destination MAC if permitted. Bad frames are counted and skipped. At most `budget`
  // deliveries are made (a broadcast counts once per receiver): the data path's work per batch
  // stays bounded however many ports one frame fans out to.
  template <class Deliver>
  IngestResult Ingest(PortIndex from, std::span<const std::uint8_t> data, Deliver&& deliver,
                      std::size_t budget = SIZE_MAX);

  // Counts frames handed to port `to`, or dropped because its queue was full.
  void CountDelivered(PortIndex to, std::size_t wire_bytes);
  void CountCongested(PortIndex to) {
    Bump(ports_[to].counters.drops[Drop(DropReason::kCongested)]);
  }
  // A copy of the port's counters; any thread.
  PortCounters Counters(PortIndex port) const;

 private:
  struct AtomicCounters {
    std::atomic<std::uint64_t> rx_frames{0}, rx_bytes{0}, tx_frames{0}, tx_bytes{0};
    std::array<std::atomic<std::uint64_t>, kDropReasonCount> drops{};
  };
  struct Port {
    bool live = false;
    MacAddress mac;
    PortSet permitted;
    std::uint64_t skip = 0;  // bytes of an oversize frame still to skip
    AtomicCounters counters;
  };
  static constexpr std::size_t Drop(DropReason r) { return static_cast<std::size_t>(r); }
  // Single writer: a plain read-modify-write, no locked instruction on the data path.
  static void Bump(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  static std::uint64_t Key(const MacAddress& mac);

  std::array<Port, kMaxPorts> ports_{};
  std::unordered_map<std::uint64_t, PortIndex> by_mac_;
};

template <class Deliver>
IngestResult Forwarder::Ingest(PortIndex from, std::span<const std::uint8_t> data,
                               Deliver&& deliver, std::size_t budget) {
  Port& port = ports_[from];
  std::size_t pos = 0;
  std::size_t made = 0;
  const std::size_t size = data.size();
  const auto send = [&](PortIndex to, std::span<const std::uint8_t> bytes) {
    ++made;
    deliver(to, bytes);
  };
  while (true) {
    if (made >= budget && port.skip == 0) return {pos, false, true};
    if (port.skip > 0) {
      const std::size_t n =
          static_cast<std::size_t>(std::min<std::uint64_t>(port.skip, size - pos));
      pos += n;
      port.skip -= n;
      if (port.skip > 0) return {pos, false};
    }
    if (size - pos < kLengthPrefixBytes) return {pos, false};
    const std::uint8_t* p = data.data() + pos;
    const std::uint32_t length = std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 |
                                 std::uint32_t{p[2]} << 8 | std::uint32_t{p[3]};
    if (length == 0 || length > kMaxLengthPrefix) {
      // SECURITY: a stream that lost QEMU's framing cannot be resynchronised safely.
      Bump(port.counters.drops[Drop(DropReason::kBadLength)]);
      return {pos, true};
    }
    if (length > kMaxFrameBytes) {
      Bump(port.counters.drops[Drop(DropReason::kOversize)]);
      pos += kLengthPrefixBytes;
      port.skip = length;
      continue;
    }
    const std::size_t wire = kLengthPrefixBytes + length;
    if (size - pos < wire) return {pos, false};
    const std::span<const std::uint8_t> bytes = data.subspan(pos, wire);
    pos += wire;
    if (length < kMinFrameBytes) {
      Bump(port.counters.drops[Drop(DropReason::kRunt)]);
      continue;
    }
    const std::uint8_t* frame = p + kLengthPrefixBytes;
    // SECURITY: a port sends only from its own MAC: no domain can pose as another, and the
    // destination lookup below can only ever find the port a MAC was configured on.
    if (!std::equal(port.mac.bytes.begin(), port.mac.bytes.end(), frame + 6)) {
      Bump(port.counters.drops[Drop(DropReason::kSpoofed)]);
      continue;
    }
    Bump(port.counters.rx_frames);
    Bump(port.counters.rx_bytes, length);
    if ((frame[0] & 1U) != 0) {  // broadcast or multicast: each permitted receiver only
      port.permitted.ForEach([&](PortIndex to) { send(to, bytes); });
      continue;
    }
    MacAddress dst;
    std::copy(frame, frame + 6, dst.bytes.begin());
    auto it = by_mac_.find(Key(dst));
    if (it == by_mac_.end()) {
      Bump(port.counters.drops[Drop(DropReason::kNoDestination)]);
    } else if (it->second == from) {
      // A frame to itself: a switch never sends a frame back out of its ingress port.
    } else if (port.permitted.Test(it->second)) {
      send(it->second, bytes);
    } else {
      Bump(port.counters.drops[Drop(DropReason::kDenied)]);
    }
  }
}

}  // namespace shype::vswitch
