// SPDX-License-Identifier: Apache-2.0
//
// DomainIndex writer side: inserts reuse the first tombstone on the probe path, erases leave
// tombstones, and Rebuild() re-inserts the live entries into a clean table.
#include "domain_index.h"

namespace shype::acm {

DomainIndex::DomainIndex() {
  for (auto& slot : slots_) slot.store(kEmpty, std::memory_order_relaxed);
}

std::optional<std::uint32_t> DomainIndex::SlotOf(DomainId id) const {
  for (std::uint32_t i = 0, slot = Hash(id); i < kSlots; ++i, slot = (slot + 1) & (kSlots - 1)) {
    const std::uint64_t entry = slots_[slot].load(std::memory_order_relaxed);
    if (entry == kEmpty) return std::nullopt;
    if (static_cast<std::uint32_t>(entry >> 32) == id.value()) return slot;
  }
  return std::nullopt;
}

void DomainIndex::Insert(DomainId id, Ssidref ref) {
  for (std::uint32_t i = 0, slot = Hash(id); i < kSlots; ++i, slot = (slot + 1) & (kSlots - 1)) {
    const std::uint64_t entry = slots_[slot].load(std::memory_order_relaxed);
    if (entry == kEmpty || entry == kTombstone) {
      if (entry == kTombstone) --tombstones_;
      slots_[slot].store(Pack(id, ref), std::memory_order_release);
      ++size_;
      return;
    }
  }
}

void DomainIndex::Set(DomainId id, Ssidref ref) {
  if (auto slot = SlotOf(id)) slots_[*slot].store(Pack(id, ref), std::memory_order_release);
}

void DomainIndex::Erase(DomainId id) {
  if (auto slot = SlotOf(id)) {
    slots_[*slot].store(kTombstone, std::memory_order_release);
    --size_;
    ++tombstones_;
  }
}

void DomainIndex::Rebuild() {
  std::vector<std::uint64_t> live;
  live.reserve(size_);
  for (std::uint32_t i = 0; i < kSlots; ++i) {
    const std::uint64_t entry = slots_[i].load(std::memory_order_relaxed);
    if (entry != kEmpty && entry != kTombstone) live.push_back(entry);
    slots_[i].store(kEmpty, std::memory_order_relaxed);
  }
  size_ = 0;
  tombstones_ = 0;
  for (std::uint64_t entry : live) {
    Insert(DomainId{static_cast<std::uint32_t>(entry >> 32)},
           Ssidref{static_cast<std::uint32_t>(entry)});
  }
}

}  // namespace shype::acm
