// SPDX-License-Identifier: Apache-2.0
//
// Shared memory with doorbells after setup: two peers of one shm::Region exchange a message
// through the region's memory and ring each other's doorbell (the eventfds shyped handed out).
// Neither shyped nor the Region takes part once the peers have their fds: the loop touches only
// the mapped memory and the eventfds, as the two QEMUs would (host-side round trip; a guest adds
// its MSI-X delivery and its own wake-up on top). Also: what a peer's join costs.
#include <benchmark/benchmark.h>
#include <poll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <thread>

#include "ivshmem_client.h"
#include "shype/shm/region.h"

namespace {
using shype::DomainId;
using shype::UniqueFd;
using shype::shm::testing::ReadMessage;

// What one peer's QEMU got from the server: the memory and every peer's doorbell (its own too).
struct PeerEnd {
  std::int64_t id = -1;
  UniqueFd memory;
  std::map<std::int64_t, UniqueFd> doorbells;
};

// Reads setup messages until no more come (version, id, memory, then id + eventfd pairs).
PeerEnd ReadSetup(int socket) {
  PeerEnd end;
  int n = 0;
  while (auto m = ReadMessage(socket, 100)) {
    if (n == 1) end.id = m->value;
    if (n >= 2 && m->value == -1 && m->fd.valid()) {
      end.memory = std::move(m->fd);
    } else if (n >= 2 && m->fd.valid()) {
      end.doorbells[m->value] = std::move(m->fd);
    }
    ++n;
  }
  return end;
}

void Ring(int eventfd) {
  const std::uint64_t one = 1;
  if (::write(eventfd, &one, sizeof one) != sizeof one) std::abort();
}

// The eventfds are non-blocking (as QEMU polls them in its main loop): poll, then read.
void Wait(int eventfd) {
  pollfd p{eventfd, POLLIN, 0};
  std::uint64_t count = 0;
  while (::read(eventfd, &count, sizeof count) != sizeof count) {
    if (errno != EAGAIN || ::poll(&p, 1, -1) < 0) std::abort();
  }
}

// A message written into the region by one peer, a doorbell, the other copies it back into the
// region and rings back: one round trip per iteration.
void BM_RegionMessageRoundTrip(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  auto region = shype::shm::Region::Create("bench", 1 << 20);
  if (!region) {
    state.SkipWithError(region.error().message.c_str());
    return;
  }
  auto a = (*region)->Join(DomainId{1});
  auto b = (*region)->Join(DomainId{2});
  if (!a || !b) {
    state.SkipWithError("join failed");
    return;
  }
  PeerEnd pa = ReadSetup(a->qemu.get());
  PeerEnd pb = ReadSetup(b->qemu.get());
  if (!pa.memory.valid() || !pb.memory.valid() || pa.doorbells.size() != 2 ||
      pb.doorbells.size() != 2) {
    state.SkipWithError("incomplete ivshmem setup");
    return;
  }
  auto* ma = static_cast<char*>(
      ::mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, pa.memory.get(), 0));
  auto* mb = static_cast<char*>(
      ::mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, pb.memory.get(), 0));
  if (ma == MAP_FAILED || mb == MAP_FAILED) {
    state.SkipWithError("mmap failed");
    return;
  }
  const int ring_b = pa.doorbells.at(pb.id).get(), own_a = pa.doorbells.at(pa.id).get();
  const int ring_a = pb.doorbells.at(pa.id).get(), own_b = pb.doorbells.at(pb.id).get();
  std::atomic<bool> stop{false};
  std::thread peer_b([&] {
    std::vector<char> copy(bytes);
    for (;;) {
      Wait(own_b);
      if (stop.load()) return;
      std::memcpy(copy.data(), mb, bytes);              // read A's message
      std::memcpy(mb + (1 << 19), copy.data(), bytes);  // answer in the other half
      Ring(ring_a);
    }
  });
  std::vector<char> message(bytes, 'm'), answer(bytes);
  for (auto _ : state) {
    std::memcpy(ma, message.data(), bytes);
    Ring(ring_b);
    Wait(own_a);
    std::memcpy(answer.data(), ma + (1 << 19), bytes);
    benchmark::DoNotOptimize(answer.data());
  }
  stop = true;
  Ring(ring_b);
  peer_b.join();
  if (std::memcmp(answer.data(), message.data(), bytes) != 0) {
    state.SkipWithError("the answer did not cross the region");
  }
  ::munmap(ma, 1 << 20);
  ::munmap(mb, 1 << 20);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes) * 2);
}
BENCHMARK(BM_RegionMessageRoundTrip)->Arg(64)->Arg(4096)->UseRealTime();

// The setup shyped does per peer (its eventfd, the whole setup written into its socket, every
// present peer told), with `range(0)` peers present.
void BM_RegionJoin(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    auto region = shype::shm::Region::Create("bench", 1 << 20);
    if (!region) {
      state.SkipWithError(region.error().message.c_str());
      return;
    }
    std::vector<UniqueFd> ends;
    for (std::int64_t i = 0; i < state.range(0); ++i) {
      auto joined = (*region)->Join(DomainId{static_cast<std::uint32_t>(i + 1)});
      if (!joined) {
        state.SkipWithError("join failed");
        return;
      }
      ends.push_back(std::move(joined->qemu));
    }
    state.ResumeTiming();
    auto last = (*region)->Join(DomainId{1000});
    benchmark::DoNotOptimize(last);
    state.PauseTiming();
    region->reset();
    ends.clear();
    state.ResumeTiming();
  }
}
BENCHMARK(BM_RegionJoin)->Arg(1)->Arg(8);

}  // namespace
