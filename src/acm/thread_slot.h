// SPDX-License-Identifier: Apache-2.0
//
// Per-thread statistics slots: each live thread owns one index in [0, kThreadSlots), so the Acm's
// counters in that slot have a single writer and need no atomic read-modify-write. An index is
// recycled when its thread exits; threads beyond kThreadSlots share kSharedThreadSlot (atomic RMW).
#pragma once

#include <atomic>
#include <cstdint>

namespace shype::acm {

inline constexpr std::uint32_t kThreadSlots = 64;
inline constexpr std::uint32_t kSharedThreadSlot = kThreadSlots;

inline constexpr std::uint32_t kNoThreadSlot = ~std::uint32_t{0};

namespace detail {
// The calling thread's slot; kNoThreadSlot until its first count.
extern thread_local constinit std::uint32_t tls_thread_slot;
// Claims a free slot (or the shared one) for the calling thread and arranges its release.
std::uint32_t ClaimThreadSlot();
}  // namespace detail

// Adds one to the calling thread's counter `counter_of(slot)`. Owned slot (the hot case): one
// TLS load, one compare, a plain relaxed load and store, as the thread is the slot's only writer.
// Unclaimed or shared slot: claim, then an atomic increment if shared. Relaxed: stats order
// nothing.
template <class CounterOf>
inline void CountOne(CounterOf counter_of) {
  std::uint32_t slot = detail::tls_thread_slot;
  if (slot < kThreadSlots) [[likely]] {
    std::atomic<std::uint64_t>& counter = counter_of(slot);
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return;
  }
  if (slot == kNoThreadSlot) slot = detail::ClaimThreadSlot();
  std::atomic<std::uint64_t>& counter = counter_of(slot);
  if (slot == kSharedThreadSlot) {
    counter.fetch_add(1, std::memory_order_relaxed);
  } else {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
}

}  // namespace shype::acm
