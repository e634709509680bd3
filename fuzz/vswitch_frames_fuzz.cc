// SPDX-License-Identifier: Apache-2.0
//
// Fuzzes the virtual switch's frame path with what guests send (through QEMU's stream netdev):
// four ports, two coalitions, each port's bytes arriving in arbitrary pieces. Besides never
// crashing, every delivered frame must be whole, well-framed, from its port's own MAC, and only
// to a port its coalition may reach; a port that lost its framing is fed no more.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "shype/vswitch/forwarder.h"

namespace {
using shype::vswitch::Forwarder;
using shype::vswitch::IngestResult;
using shype::vswitch::MacAddress;
using shype::vswitch::PortIndex;

void Require(bool ok) {
  if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kPorts = 4;
  Forwarder fwd;
  PortIndex index[kPorts];
  MacAddress mac[kPorts];
  for (std::size_t i = 0; i < kPorts; ++i) {
    mac[i] = MacAddress{{0x52, 0x54, 0, 0, 0, static_cast<std::uint8_t>(i + 1)}};
    index[i] = *fwd.AddPort(mac[i]);
  }
  fwd.SetPermitted(index[0], index[1], true);  // coalition one: ports 0, 1
  fwd.SetPermitted(index[2], index[3], true);  // coalition two: ports 2, 3
  const auto coalition = [](PortIndex p) { return p < 2 ? 0 : 1; };
  std::vector<std::uint8_t> pending[kPorts];
  bool lost[kPorts] = {};
  std::size_t pos = 0;
  // The input is a sequence of chunks: [port][length][bytes...].
  while (pos + 2 <= size) {
    const std::size_t port = data[pos] % kPorts;
    std::size_t n = data[pos + 1] * 16U + 1;
    pos += 2;
    if (n > size - pos) n = size - pos;
    if (lost[port]) {
      pos += n;
      continue;
    }
    std::vector<std::uint8_t>& buf = pending[port];
    buf.insert(buf.end(), data + pos, data + pos + n);
    pos += n;
    const PortIndex from = index[port];
    const IngestResult r =
        fwd.Ingest(from, buf, [&](PortIndex to, std::span<const std::uint8_t> w) {
          Require(to != from && coalition(to) == coalition(from));
          Require(w.size() >= 4 + 14 && w.size() <= 4 + 1518);
          const std::uint32_t length = std::uint32_t{w[0]} << 24 | std::uint32_t{w[1]} << 16 |
                                       std::uint32_t{w[2]} << 8 | w[3];
          Require(length + 4 == w.size());
          for (std::size_t k = 0; k < 6; ++k) Require(w[4 + 6 + k] == mac[port].bytes[k]);
          Require(w.data() >= buf.data() && w.data() + w.size() <= buf.data() + buf.size());
        });
    Require(r.consumed <= buf.size());
    buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(r.consumed));
    if (r.framing_lost) lost[port] = true;
    // What waits is at most one incomplete frame: the switch's buffer never grows without bound.
    Require(lost[port] || buf.size() < 4 + 1518);
  }
  return 0;
}
