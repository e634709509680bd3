// SPDX-License-Identifier: Apache-2.0
//
// Forwarder's port table; the frame path itself is inline in forwarder.h.
#include "shype/vswitch/forwarder.h"

namespace shype::vswitch {

std::string_view DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kRunt:
      return "runt";
    case DropReason::kOversize:
      return "oversize";
    case DropReason::kBadLength:
      return "bad-length";
    case DropReason::kSpoofed:
      return "spoofed";
    case DropReason::kDenied:
      return "denied";
    case DropReason::kNoDestination:
      return "no-destination";
    case DropReason::kCongested:
      return "congested";
  }
  return "unknown";
}

std::uint64_t Forwarder::Key(const MacAddress& mac) {
  std::uint64_t key = 0;
  for (std::uint8_t b : mac.bytes) key = key << 8 | b;
  return key;
}

Result<PortIndex> Forwarder::AddPort(MacAddress mac) {
  if (mac.group() || mac.zero()) {
    return Fail(ErrorCode::kInvalidArgument,
                "MAC address {} is a group or all-zero address: a port needs a unicast MAC",
                mac.ToString());
  }
  if (by_mac_.contains(Key(mac))) {
    return Fail(ErrorCode::kConflict,
                "MAC address {} is in use on this network already: give the vif another mac=",
                mac.ToString());
  }
  for (std::size_t i = 0; i < kMaxPorts; ++i) {
    Port& port = ports_[i];
    if (port.live) continue;
    const auto index = static_cast<PortIndex>(i);
    port.live = true;
    port.mac = mac;
    port.permitted = PortSet{};
    port.skip = 0;
    port.counters.rx_frames.store(0, std::memory_order_relaxed);
    port.counters.rx_bytes.store(0, std::memory_order_relaxed);
    port.counters.tx_frames.store(0, std::memory_order_relaxed);
    port.counters.tx_bytes.store(0, std::memory_order_relaxed);
    for (auto& d : port.counters.drops) d.store(0, std::memory_order_relaxed);
    by_mac_.emplace(Key(mac), index);
    return index;
  }
  return Fail(ErrorCode::kUnavailable, "the network has {} ports already (the most it takes)",
              kMaxPorts);
}

void Forwarder::RemovePort(PortIndex port) {
  if (!Live(port)) return;
  Port& p = ports_[port];
  by_mac_.erase(Key(p.mac));
  p.permitted.ForEach([&](PortIndex other) { ports_[other].permitted.Reset(port); });
  p.permitted = PortSet{};
  p.live = false;
  p.skip = 0;
}

void Forwarder::SetPermitted(PortIndex a, PortIndex b, bool permitted) {
  if (!Live(a) || !Live(b) || a == b) return;
  if (permitted) {
    ports_[a].permitted.Set(b);
    ports_[b].permitted.Set(a);
  } else {
    ports_[a].permitted.Reset(b);
    ports_[b].permitted.Reset(a);
  }
}

bool Forwarder::Permitted(PortIndex a, PortIndex b) const {
  return Live(a) && Live(b) && ports_[a].permitted.Test(b);
}

void Forwarder::CountDelivered(PortIndex to, std::size_t wire_bytes) {
  Bump(ports_[to].counters.tx_frames);
  Bump(ports_[to].counters.tx_bytes, wire_bytes - kLengthPrefixBytes);
}

PortCounters Forwarder::Counters(PortIndex port) const {
  PortCounters out;
  if (port >= kMaxPorts) return out;
  const AtomicCounters& c = ports_[port].counters;
  out.rx_frames = c.rx_frames.load(std::memory_order_relaxed);
  out.rx_bytes = c.rx_bytes.load(std::memory_order_relaxed);
  out.tx_frames = c.tx_frames.load(std::memory_order_relaxed);
  out.tx_bytes = c.tx_bytes.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < kDropReasonCount; ++i) {
    out.drops[i] = c.drops[i].load(std::memory_order_relaxed);
  }
  return out;
}

}  // namespace shype::vswitch
