// SPDX-License-Identifier: Apache-2.0
//
// PolicySnapshot is one loaded policy as the reference monitor decides with it: the binary policy
// and its label map, the sequence number it was published under, and lookup tables derived once
// (per-row type bitsets, per-row Chinese Wall blocking lists, label name -> row).
// Immutable after Create(); share across threads as shared_ptr<const PolicySnapshot>.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "shype/common/id.h"
#include "shype/common/result.h"
#include "shype/policy/binary_policy.h"
#include "shype/policy/label_map.h"

namespace shype::acm {

// A row of a type matrix as a bitset over the type columns.
class TypeBits {
 public:
  TypeBits() = default;
  TypeBits(const std::uint64_t* words, std::uint32_t word_count)
      : words_(words), word_count_(word_count) {}
  bool Intersects(TypeBits other) const {
    for (std::uint32_t i = 0; i < word_count_; ++i) {
      if ((words_[i] & other.words_[i]) != 0) return true;
    }
    return false;
  }
  // True iff every type set in `other` is also set here.
  bool Contains(TypeBits other) const {
    for (std::uint32_t i = 0; i < word_count_; ++i) {
      if ((other.words_[i] & ~words_[i]) != 0) return false;
    }
    return true;
  }
  bool Has(std::uint32_t type) const { return ((words_[type / 64] >> (type % 64)) & 1U) != 0; }

 private:
  const std::uint64_t* words_ = nullptr;
  std::uint32_t word_count_ = 0;
};

class PolicySnapshot {
 public:
  // Validates that `binary` and `labels` describe one consistent policy (combination, matrix
  // dimensions, label and type counts, at least the unlabeled and bootstrap rows) and derives the
  // lookup tables. Errors: kPolicyInvalid naming the inconsistent field.
  [[nodiscard]] static Result<std::shared_ptr<const PolicySnapshot>> Create(
      policy::BinaryPolicy binary, policy::LabelMap labels, PolicySeqno seqno);

  // A copy of this policy published under another sequence number.
  [[nodiscard]] std::shared_ptr<const PolicySnapshot> WithSeqno(PolicySeqno seqno) const;

  const policy::BinaryPolicy& binary() const { return binary_; }
  const policy::LabelMap& labels() const { return labels_; }
  PolicySeqno seqno() const { return seqno_; }
  const std::string& name() const { return binary_.name; }
  bool has_chwall() const { return binary_.chwall.has_value(); }
  bool has_ste() const { return binary_.ste.has_value(); }

  // The component-local rows of a full ssidref (Xen's GET_SSIDREF): low 16 bits for the primary
  // component, high 16 bits for the secondary. nullopt if the component is inactive.
  std::optional<std::uint16_t> ChwallRow(Ssidref ref) const;
  std::optional<std::uint16_t> SteRow(Ssidref ref) const;
  bool ste_is_primary() const { return ste_is_primary_; }
  // SteRow for the hot path; requires has_ste().
  std::uint32_t SteRowUnchecked(Ssidref ref) const { return (ref.value() >> ste_shift_) & 0xffffU; }

  // 0 when STE is inactive (the lock-free hot path relies on it: no row is in range).
  std::uint32_t ste_row_count() const { return ste_rows_; }
  std::uint32_t chwall_row_count() const { return chwall_rows_; }
  std::uint32_t vm_row_count() const {
    return static_cast<std::uint32_t>(labels_.vm_labels.size());
  }
  TypeBits SteBits(std::uint32_t row) const {
    return TypeBits(ste_bits_.data() + std::size_t{row} * ste_words_, ste_words_);
  }
  TypeBits ChwallBits(std::uint32_t row) const {
    return TypeBits(chwall_bits_.data() + std::size_t{row} * chwall_words_, chwall_words_);
  }
  // The CHWALL type columns a VM row carries, ascending.
  std::span<const std::uint32_t> ChwallTypes(std::uint32_t row) const { return chwall_types_[row]; }
  // Xen's aggregate increments of a running row: for each conflict set sharing a type with the
  // row, each of its types the row does not carry (with multiplicity across sets).
  std::span<const std::uint32_t> BlockedBy(std::uint32_t row) const { return blocked_by_[row]; }
  // The conflict sets (row indices of the conflict-set matrix) that hold `type`.
  std::span<const std::uint32_t> SetsOfType(std::uint32_t type) const {
    return sets_of_type_[type];
  }

  // The ssidref of a VM label, (row << 16) | row (0 for the unlabeled row; 0 under NULL).
  std::optional<Ssidref> VmSsidref(std::string_view label) const;
  // The ssidref of a resource label: its STE row in the STE half, 0 in the CHWALL half.
  std::optional<Ssidref> ResourceSsidref(std::string_view label) const;
  // The VM label of a VM ssidref whose active halves name the same VM row; nullopt otherwise.
  std::optional<std::string> VmLabelOf(Ssidref ref) const;
  // The label (VM or resource) of an STE row; empty if out of range.
  std::string_view SteRowLabel(std::uint32_t row) const;
  std::vector<std::string> SteTypeNames(std::uint32_t row) const;
  std::vector<std::string> ChwallTypeNames(std::uint32_t row) const;

 private:
  PolicySnapshot() = default;
  // The combination, the blocks present and the label map agree with each other.
  [[nodiscard]] Result<void> CheckCombination() const;
  [[nodiscard]] Result<void> Derive();
  void DeriveChineseWall();

  policy::BinaryPolicy binary_;
  policy::LabelMap labels_;
  PolicySeqno seqno_{0};
  bool ste_is_primary_ = false;
  std::uint32_t ste_shift_ = 16;
  std::uint32_t ste_rows_ = 0;
  std::uint32_t ste_words_ = 0;
  std::vector<std::uint64_t> ste_bits_;
  std::uint32_t chwall_rows_ = 0;
  std::uint32_t chwall_words_ = 0;
  std::vector<std::uint64_t> chwall_bits_;
  std::vector<std::vector<std::uint32_t>> chwall_types_;
  std::vector<std::vector<std::uint32_t>> blocked_by_;
  std::vector<std::vector<std::uint32_t>> sets_of_type_;
  std::unordered_map<std::string, std::uint32_t> vm_rows_;
  std::unordered_map<std::string, std::uint32_t> resource_rows_;
};

}  // namespace shype::acm
