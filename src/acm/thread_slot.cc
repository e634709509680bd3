// SPDX-License-Identifier: Apache-2.0
//
// Thread slot allocation: a process-wide array of claim flags (constant-initialized and trivially
// destructible, so usable from any thread at any time) and a thread_local releaser that frees the
// slot at thread exit. Release/acquire on the flag hands the slot's counts to the next owner.
#include "thread_slot.h"

#include <array>

namespace shype::acm {
namespace detail {

thread_local constinit std::uint32_t tls_thread_slot = kNoThreadSlot;

namespace {

constinit std::array<std::atomic<bool>, kThreadSlots> g_claimed{};

struct SlotReleaser {
  std::uint32_t slot = kSharedThreadSlot;
  SlotReleaser() = default;
  SlotReleaser(const SlotReleaser&) = delete;
  SlotReleaser& operator=(const SlotReleaser&) = delete;
  ~SlotReleaser() {
    if (slot == kSharedThreadSlot) return;
    // Hooks called by later thread-exit destructors fall back to the shared, atomic slot.
    tls_thread_slot = kSharedThreadSlot;
    g_claimed[slot].store(false, std::memory_order_release);
  }
};

thread_local SlotReleaser t_releaser;

}  // namespace

std::uint32_t ClaimThreadSlot() {
  std::uint32_t slot = kSharedThreadSlot;
  for (std::uint32_t i = 0; i < kThreadSlots; ++i) {
    bool expected = false;
    if (!g_claimed[i].load(std::memory_order_relaxed) &&
        g_claimed[i].compare_exchange_strong(expected, true, std::memory_order_acquire,
                                             std::memory_order_relaxed)) {
      slot = i;
      break;
    }
  }
  t_releaser.slot = slot;
  tls_thread_slot = slot;
  return slot;
}

}  // namespace detail
}  // namespace shype::acm
