// SPDX-License-Identifier: Apache-2.0
//
// What a flood on one virtual network costs everyone else: (1) a control call (SetPermitted, as
// a create, a destroy, a revocation or an API request on shyped's io thread makes it) while one
// coalition floods broadcast frames from 128 ports that read nothing; (2) a frame's round trip
// on another network while 8 ports flood theirs. Each network has its own data thread, so (2)
// should be the no-flood figure plus scheduling, and (1) one batch, not the queue.
#include <benchmark/benchmark.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "shype/vswitch/switch.h"
#include "test_frames.h"

namespace {
using namespace shype;
using namespace shype::vswitch;
using testing::Append;
using testing::Mac;
using testing::Receive;
using testing::Send;
using testing::Wire;

// Ports of one network and the threads flooding from them until Stop().
struct Flood {
  std::unique_ptr<Switch> sw;
  std::vector<PortId> ids;
  std::vector<UniqueFd> peers;
  std::vector<std::thread> threads;
  std::atomic<bool> stop{false};

  // `ports` ports, `per_domain` to a domain, all paired; each sends bursts of minimal broadcast
  // frames or of 64-byte frames to its partner (port i ^ 1); with `drain`, a reader per port
  // consumes what it receives, else nothing is read and the backlogs fill.
  bool Start(const char* name, std::size_t ports, std::size_t per_domain, bool broadcast,
             bool drain) {
    auto s = Switch::Start(name);
    if (!s) return false;
    sw = std::move(*s);
    std::vector<MacAddress> macs;
    for (std::size_t i = 0; i < ports; ++i) {
      macs.push_back(MacAddress{{0x52, 0x54, 0x00, 0x01, 0x00, static_cast<std::uint8_t>(i)}});
      auto port = sw->Attach(DomainId{static_cast<std::uint32_t>(10 + i / per_domain)}, macs[i]);
      if (!port) return false;
      ids.push_back(port->port);
      peers.push_back(std::move(port->peer));
    }
    for (std::size_t i = 0; i < ports; ++i) {
      for (std::size_t j = i + 1; j < ports; ++j) sw->SetPermitted(ids[i], ids[j], true);
    }
    for (std::size_t i = 0; i < ports; ++i) {
      const MacAddress to = broadcast ? testing::kBroadcast : macs[i ^ 1];
      threads.emplace_back([this, i, frame = Wire(to, macs[i], broadcast ? 14 : 64)] {
        std::vector<std::uint8_t> burst;
        for (int f = 0; f < 1000; ++f) Append(burst, frame);
        while (!stop.load() && Send(peers[i].get(), burst)) {
        }
      });
      if (drain) {
        threads.emplace_back([this, i] {
          std::vector<std::uint8_t> sink(1 << 16);
          while (!stop.load()) {
            pollfd p{peers[i].get(), POLLIN, 0};
            if (::poll(&p, 1, 100) == 1 &&
                ::recv(peers[i].get(), sink.data(), sink.size(), 0) <= 0) {
              return;
            }
          }
        });
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // backlogs full, rates steady
    return true;
  }
  ~Flood() {
    stop.store(true);
    for (auto& p : peers) ::shutdown(p.get(), SHUT_RDWR);
    for (auto& t : threads) t.join();
  }
};

void BM_ControlCallDuringBroadcastFlood(benchmark::State& state) {
  Flood flood;
  const bool flooding = state.range(0) != 0;
  if (!flood.Start("stall", 128, 26, true, false)) {
    state.SkipWithError("switch setup failed");
    return;
  }
  if (!flooding) {
    flood.stop.store(true);
    for (auto& p : flood.peers) ::shutdown(p.get(), SHUT_WR);
  }
  auto other = flood.sw->Attach(DomainId{99}, Mac(0x99));
  if (!other) {
    state.SkipWithError("attach failed");
    return;
  }
  double worst = 0;
  bool on = true;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    flood.sw->SetPermitted(flood.ids[0], other->port, on);  // a new pair, a revocation
    worst = std::max(
        worst,
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    on = !on;
  }
  state.counters["worst_ms"] = worst;
}
BENCHMARK(BM_ControlCallDuringBroadcastFlood)->ArgName("flood")->Arg(0)->Arg(1)->UseRealTime();

// A 64-byte frame from one port to another and back on network "quiet", with network "flood"
// carrying 8 ports' unicast floods (read by their receivers) when range(0) is 1.
void BM_RoundTripOnAnotherNetworkDuringFlood(benchmark::State& state) {
  std::unique_ptr<Flood> flood;
  if (state.range(0) != 0) {
    flood = std::make_unique<Flood>();
    if (!flood->Start("flood", 8, 1, false, true)) {
      state.SkipWithError("flood setup failed");
      return;
    }
  }
  auto quiet = Switch::Start("quiet");
  if (!quiet) {
    state.SkipWithError("switch start failed");
    return;
  }
  auto a = (*quiet)->Attach(DomainId{1}, Mac(1));
  auto b = (*quiet)->Attach(DomainId{2}, Mac(2));
  if (!a || !b) {
    state.SkipWithError("attach failed");
    return;
  }
  (*quiet)->SetPermitted(a->port, b->port, true);
  const auto ping = Wire(Mac(2), Mac(1), 64), pong = Wire(Mac(1), Mac(2), 64);
  for (auto _ : state) {
    if (!Send(a->peer.get(), ping) || Receive(b->peer.get(), ping.size()).empty() ||
        !Send(b->peer.get(), pong) || Receive(a->peer.get(), pong.size()).empty()) {
      state.SkipWithError("a frame was lost");
      return;
    }
  }
}
BENCHMARK(BM_RoundTripOnAnotherNetworkDuringFlood)->ArgName("flood")->Arg(0)->Arg(1)->UseRealTime();

}  // namespace
