// SPDX-License-Identifier: Apache-2.0
//
// DomainIndex maps running domain ids to their full ssidrefs for the lock-free decision path:
// an open-addressed table of packed 64-bit atomic words (domain id | ssidref), linear probing,
// tombstones reused on insert. Find() is lock-free; every other member is for the one writer
// (the Acm serializes them under its mutex). Rebuild() moves entries, so the Acm runs it inside
// its seqlock write section, where readers discard what they read.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "shype/common/id.h"

namespace shype::acm {

class DomainIndex {
 public:
  static constexpr std::uint32_t kSlots = 8192;        // power of two
  static constexpr std::uint32_t kMaxDomains = 4096;   // live entries, half the slots
  static constexpr DomainId kReservedId{0xffffffffU};  // marks empty and deleted slots

  DomainIndex();
  DomainIndex(const DomainIndex&) = delete;
  DomainIndex& operator=(const DomainIndex&) = delete;

  static constexpr std::uint64_t kNotFound = std::uint64_t{1} << 32;

  // The ssidref of a running domain. Lock-free; a bounded probe, so it terminates even when a
  // concurrent Rebuild() leaves the table inconsistent (the caller then retries).
  std::optional<Ssidref> Find(DomainId id) const {
    const std::uint64_t found = FindRaw(id);
    if (found == kNotFound) return std::nullopt;
    return Ssidref{static_cast<std::uint32_t>(found)};
  }
  // Find() for the hot path: the ssidref's value, or kNotFound (so `(a | b) >> 32` tests two
  // lookups at once, with no optional flag to keep in a register or spill).
  std::uint64_t FindRaw(DomainId id) const {
    if (id == kReservedId) return kNotFound;  // would match a tombstone's id half
    for (std::uint32_t i = 0, slot = Hash(id); i < kSlots; ++i, slot = (slot + 1) & (kSlots - 1)) {
      const std::uint64_t entry = slots_[slot].load(std::memory_order_acquire);
      if (static_cast<std::uint32_t>(entry >> 32) == id.value()) return entry & 0xffffffffU;
      if (entry == kEmpty) return kNotFound;
    }
    return kNotFound;
  }

  // Writer side. Insert requires id != kReservedId, id absent and size() < kMaxDomains.
  void Insert(DomainId id, Ssidref ref);
  void Set(DomainId id, Ssidref ref);  // requires id present
  void Erase(DomainId id);             // no-op if absent
  bool NeedsRebuild() const { return tombstones_ > kSlots / 4; }
  void Rebuild();  // drops tombstones; call inside the seqlock write section
  std::uint32_t size() const { return size_; }

 private:
  static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};
  static constexpr std::uint64_t kTombstone = ~std::uint64_t{0} - 1;
  static std::uint32_t Hash(DomainId id) {
    return static_cast<std::uint32_t>((std::uint64_t{id.value()} * 0x9E3779B97F4A7C15ULL) >> 51) &
           (kSlots - 1);
  }
  static std::uint64_t Pack(DomainId id, Ssidref ref) {
    return std::uint64_t{id.value()} << 32 | ref.value();
  }
  std::optional<std::uint32_t> SlotOf(DomainId id) const;

  std::array<std::atomic<std::uint64_t>, kSlots> slots_;  // inline: one load less per probe
  std::uint32_t size_ = 0;                                // writer only
  std::uint32_t tombstones_ = 0;                          // writer only
};

}  // namespace shype::acm
