// SPDX-License-Identifier: Apache-2.0
//
// DecisionCache remembers recent STE decisions keyed by (policy seqno, subject STE row, object STE
// row): one packed 64-bit atomic word per slot, direct-mapped. Entries of another seqno never
// match, so a reload needs no synchronisation with readers (FLASK AVC). Keys are label rows, not
// domain ids: a destroyed or relabeled domain cannot leave a stale permit behind.
// Thread-safe and lock-free; Find/Insert may race freely (a lost insert is only a later miss).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>

#include "shype/acm/types.h"

namespace shype::acm {

class DecisionCache {
 public:
  static constexpr std::uint32_t kSlots = 4096;  // power of two

  DecisionCache() { Clear(); }
  DecisionCache(const DecisionCache&) = delete;
  DecisionCache& operator=(const DecisionCache&) = delete;

  // The cached decision for (seqno, a, b), in either order (the STE relation is symmetric).
  std::optional<Decision> Find(std::uint64_t seqno, std::uint16_t a, std::uint16_t b) const {
    const std::uint64_t key = Key(seqno, a, b);
    const std::uint64_t entry = slots_[Index(key)].load(std::memory_order_relaxed);
    if ((entry & ~kDenyBit) != key) return std::nullopt;
    return (entry & kDenyBit) != 0 ? Decision::kDeny : Decision::kPermit;
  }

  // True iff (seqno, a, b) is cached as a permit: the hot path's single load and compare.
  bool IsCachedPermit(std::uint64_t seqno, std::uint16_t a, std::uint16_t b) const {
    return IsCachedPermitOrdered(seqno, a < b ? a : b, a < b ? b : a);
  }
  // IsCachedPermit for rows the caller already ordered (lo <= hi, both < 2^16).
  bool IsCachedPermitOrdered(std::uint64_t seqno, std::uint32_t lo, std::uint32_t hi) const {
    const std::uint64_t key = KeyOrdered(seqno, lo, hi);
    return slots_[Index(key)].load(std::memory_order_relaxed) == key;
  }

  void Insert(std::uint64_t seqno, std::uint16_t a, std::uint16_t b, Decision decision) {
    const std::uint64_t key = Key(seqno, a, b);
    slots_[Index(key)].store(decision == Decision::kDeny ? key | kDenyBit : key,
                             std::memory_order_relaxed);
  }

  // Empties every slot (writers call this on each policy commit).
  void Clear() {
    for (auto& slot : slots_) slot.store(0, std::memory_order_relaxed);
  }

 private:
  static constexpr std::uint64_t kValidBit = std::uint64_t{1} << 32;
  static constexpr std::uint64_t kDenyBit = std::uint64_t{1} << 33;
  static constexpr std::uint64_t kTagMask = (std::uint64_t{1} << 30) - 1;

  // tag(30 bits of seqno) | deny | valid | low row | high row.
  static std::uint64_t Key(std::uint64_t seqno, std::uint16_t a, std::uint16_t b) {
    return KeyOrdered(seqno, a < b ? a : b, a < b ? b : a);
  }
  static std::uint64_t KeyOrdered(std::uint64_t seqno, std::uint32_t lo, std::uint32_t hi) {
    return ((seqno & kTagMask) << 34) | kValidBit | (std::uint64_t{lo} << 16) | hi;
  }
  // Fibonacci hash of the row pair only: entries of other seqnos never match and commits clear
  // the cache, so spreading seqnos over slots buys nothing on the hot path.
  static std::uint32_t Index(std::uint64_t key) {
    static_assert(kSlots == 4096, "the shift keeps log2(kSlots) bits");
    return static_cast<std::uint32_t>(((key & 0xffffffffU) * 0x9E3779B97F4A7C15ULL) >> 52);
  }

  std::array<std::atomic<std::uint64_t>, kSlots> slots_;
};

}  // namespace shype::acm
