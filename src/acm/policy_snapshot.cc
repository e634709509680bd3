// SPDX-License-Identifier: Apache-2.0
//
// PolicySnapshot: consistency checks between a binary policy and its label map, and the lookup
// tables derived from them once per load so that decisions only test bits.
#include "policy_snapshot.h"

#include <utility>

namespace shype::acm {
namespace {

using policy::PolicyCode;

bool ValidCombination(PolicyCode primary, PolicyCode secondary) {
  auto known = [](PolicyCode code) {
    return code == PolicyCode::kNull || code == PolicyCode::kChineseWall ||
           code == PolicyCode::kSimpleTypeEnforcement;
  };
  if (!known(primary) || !known(secondary)) return false;
  if (primary == PolicyCode::kNull) return secondary == PolicyCode::kNull;
  return primary != secondary;
}

Result<void> CheckMatrix(const policy::TypeMatrix& m, std::string_view what) {
  const std::uint64_t cells = std::uint64_t{m.rows} * m.cols;
  if (cells != m.cells.size()) {
    return Fail(ErrorCode::kPolicyInvalid, "{} matrix is {}x{} but holds {} cells", what, m.rows,
                m.cols, m.cells.size());
  }
  if (m.rows > policy::kMaxSsidrefs || m.cols > policy::kMaxTypes) {
    return Fail(ErrorCode::kPolicyInvalid, "{} matrix {}x{} exceeds the limits {}x{}", what, m.rows,
                m.cols, policy::kMaxSsidrefs, policy::kMaxTypes);
  }
  return {};
}

// Fills `bits` (rows x words) from the 0/1 cells of `m`; returns words per row.
std::uint32_t ToBits(const policy::TypeMatrix& m, std::vector<std::uint64_t>& bits) {
  const std::uint32_t words = (m.cols + 63) / 64;
  bits.assign(std::size_t{m.rows} * words, 0);
  for (std::uint32_t r = 0; r < m.rows; ++r) {
    for (std::uint32_t c = 0; c < m.cols; ++c) {
      if (m.has(r, c)) bits[std::size_t{r} * words + c / 64] |= std::uint64_t{1} << (c % 64);
    }
  }
  return words;
}

}  // namespace

Result<std::shared_ptr<const PolicySnapshot>> PolicySnapshot::Create(policy::BinaryPolicy binary,
                                                                     policy::LabelMap labels,
                                                                     PolicySeqno seqno) {
  std::shared_ptr<PolicySnapshot> snapshot(new PolicySnapshot());
  snapshot->binary_ = std::move(binary);
  snapshot->labels_ = std::move(labels);
  snapshot->seqno_ = seqno;
  if (auto derived = snapshot->Derive(); !derived) {
    return Fail(derived.error().WithContext(
        fmt::format("policy '{}' cannot be loaded", snapshot->binary_.name)));
  }
  return snapshot;
}

std::shared_ptr<const PolicySnapshot> PolicySnapshot::WithSeqno(PolicySeqno seqno) const {
  std::shared_ptr<PolicySnapshot> copy(new PolicySnapshot(*this));
  copy->seqno_ = seqno;
  return copy;
}

Result<void> PolicySnapshot::CheckCombination() const {
  const auto& b = binary_;
  if (!ValidCombination(b.primary, b.secondary)) {
    return Fail(ErrorCode::kPolicyInvalid,
                "component combination primary={} secondary={} is not one of NULL, CHWALL, STE, "
                "CHWALL+STE, STE+CHWALL",
                policy::PolicyCodeName(b.primary), policy::PolicyCodeName(b.secondary));
  }
  auto active = [&](PolicyCode code) { return b.primary == code || b.secondary == code; };
  if (active(PolicyCode::kChineseWall) != b.chwall.has_value() ||
      active(PolicyCode::kSimpleTypeEnforcement) != b.ste.has_value()) {
    return Fail(ErrorCode::kPolicyInvalid, "component codes do not match the blocks present");
  }
  if (labels_.policy_name != b.name || labels_.primary != b.primary ||
      labels_.secondary != b.secondary) {
    return Fail(ErrorCode::kPolicyInvalid,
                "label map (policy '{}') does not describe binary policy '{}' (name or codes "
                "differ)",
                labels_.policy_name, b.name);
  }
  const std::size_t vms = labels_.vm_labels.size();
  if ((b.chwall || b.ste) && vms < 2) {
    return Fail(ErrorCode::kPolicyInvalid,
                "label map has {} VM rows; the unlabeled row 0 and bootstrap row 1 are required",
                vms);
  }
  return {};
}

Result<void> PolicySnapshot::Derive() {
  if (auto ok = CheckCombination(); !ok) return ok;
  const auto& b = binary_;
  const std::size_t vms = labels_.vm_labels.size();
  ste_is_primary_ = b.primary == PolicyCode::kSimpleTypeEnforcement;
  ste_shift_ = ste_is_primary_ ? 0 : 16;
  if (b.ste) {
    if (auto ok = CheckMatrix(b.ste->ssids, "STE"); !ok) return ok;
    if (b.ste->ssids.rows != vms + labels_.resource_labels.size() ||
        b.ste->ssids.cols != labels_.ste_types.size()) {
      return Fail(ErrorCode::kPolicyInvalid,
                  "STE matrix {}x{} does not match {} VM + {} resource labels x {} STE types",
                  b.ste->ssids.rows, b.ste->ssids.cols, vms, labels_.resource_labels.size(),
                  labels_.ste_types.size());
    }
    ste_rows_ = b.ste->ssids.rows;
    ste_words_ = ToBits(b.ste->ssids, ste_bits_);
  }
  if (b.chwall) {
    const auto& cw = *b.chwall;
    if (auto ok = CheckMatrix(cw.ssids, "CHWALL"); !ok) return ok;
    if (auto ok = CheckMatrix(cw.conflict_sets, "CHWALL conflict-set"); !ok) return ok;
    if (cw.ssids.rows != vms || cw.ssids.cols != labels_.chwall_types.size() ||
        cw.conflict_sets.cols != cw.ssids.cols) {
      return Fail(ErrorCode::kPolicyInvalid,
                  "CHWALL matrices ({}x{}, conflict sets {}x{}) do not match {} VM labels x {} "
                  "CHWALL types",
                  cw.ssids.rows, cw.ssids.cols, cw.conflict_sets.rows, cw.conflict_sets.cols, vms,
                  labels_.chwall_types.size());
    }
    chwall_rows_ = cw.ssids.rows;
    chwall_words_ = ToBits(cw.ssids, chwall_bits_);
    DeriveChineseWall();
  }
  // SECURITY: row 0 answers to its own name only (__UNLABELED__ when the policy defines it, else
  // __NULL_LABEL__); the other reserved name is no alias of it. Only the NULL policy, which has
  // no rows, takes both.
  for (std::uint32_t row = 0; row < vms; ++row) vm_rows_.emplace(labels_.vm_labels[row], row);
  if (vms == 0) {
    vm_rows_.emplace(policy::kNullLabel, 0);
    vm_rows_.emplace(policy::kUnlabeledLabel, 0);
  }
  for (std::size_t i = 0; i < labels_.resource_labels.size(); ++i) {
    resource_rows_.emplace(labels_.resource_labels[i], static_cast<std::uint32_t>(vms + i));
  }
  return {};
}

void PolicySnapshot::DeriveChineseWall() {
  const auto& cw = *binary_.chwall;
  const std::uint32_t types = cw.max_types();
  sets_of_type_.assign(types, {});
  for (std::uint32_t set = 0; set < cw.max_conflict_sets(); ++set) {
    for (std::uint32_t t = 0; t < types; ++t) {
      if (cw.conflict_sets.has(set, t)) sets_of_type_[t].push_back(set);
    }
  }
  chwall_types_.assign(chwall_rows_, {});
  blocked_by_.assign(chwall_rows_, {});
  for (std::uint32_t row = 0; row < chwall_rows_; ++row) {
    const TypeBits bits = ChwallBits(row);
    for (std::uint32_t t = 0; t < types; ++t) {
      if (bits.Has(t)) chwall_types_[row].push_back(t);
    }
    for (std::uint32_t set = 0; set < cw.max_conflict_sets(); ++set) {
      bool shares = false;
      for (std::uint32_t t : chwall_types_[row]) shares = shares || cw.conflict_sets.has(set, t);
      if (!shares) continue;
      for (std::uint32_t t = 0; t < types; ++t) {
        if (cw.conflict_sets.has(set, t) && !bits.Has(t)) blocked_by_[row].push_back(t);
      }
    }
  }
}

std::optional<std::uint16_t> PolicySnapshot::ChwallRow(Ssidref ref) const {
  if (binary_.primary == PolicyCode::kChineseWall) return ref.primary();
  if (binary_.secondary == PolicyCode::kChineseWall) return ref.secondary();
  return std::nullopt;
}

std::optional<std::uint16_t> PolicySnapshot::SteRow(Ssidref ref) const {
  if (binary_.primary == PolicyCode::kSimpleTypeEnforcement) return ref.primary();
  if (binary_.secondary == PolicyCode::kSimpleTypeEnforcement) return ref.secondary();
  return std::nullopt;
}

std::optional<Ssidref> PolicySnapshot::VmSsidref(std::string_view label) const {
  auto it = vm_rows_.find(std::string(label));
  if (it == vm_rows_.end()) return std::nullopt;
  if (!has_chwall() && !has_ste()) return Ssidref{0};
  const auto row = static_cast<std::uint16_t>(it->second);
  return Ssidref::FromParts(row, row);
}

std::optional<Ssidref> PolicySnapshot::ResourceSsidref(std::string_view label) const {
  if (label == policy::kUnlabeledLabel) return Ssidref{0};
  auto it = resource_rows_.find(std::string(label));
  if (it == resource_rows_.end() || !has_ste()) return std::nullopt;
  const auto row = static_cast<std::uint16_t>(it->second);
  return ste_is_primary_ ? Ssidref::FromParts(row, 0) : Ssidref::FromParts(0, row);
}

std::optional<std::string> PolicySnapshot::VmLabelOf(Ssidref ref) const {
  if (!has_chwall() && !has_ste()) {
    if (ref.value() != 0) return std::nullopt;
    return labels_.vm_labels.empty() ? std::string(policy::kNullLabel) : labels_.vm_labels[0];
  }
  const auto cw = ChwallRow(ref);
  const auto ste = SteRow(ref);
  if (cw && ste && *cw != *ste) return std::nullopt;
  const std::uint32_t row = cw ? *cw : *ste;
  if (row >= labels_.vm_labels.size()) return std::nullopt;
  return labels_.vm_labels[row];
}

std::string_view PolicySnapshot::SteRowLabel(std::uint32_t row) const {
  const std::size_t vms = labels_.vm_labels.size();
  if (row < vms) return labels_.vm_labels[row];
  if (row - vms < labels_.resource_labels.size()) return labels_.resource_labels[row - vms];
  return {};
}

std::vector<std::string> PolicySnapshot::SteTypeNames(std::uint32_t row) const {
  std::vector<std::string> names;
  if (!has_ste() || row >= ste_rows_) return names;
  const TypeBits bits = SteBits(row);
  for (std::uint32_t t = 0; t < labels_.ste_types.size(); ++t) {
    if (bits.Has(t)) names.push_back(labels_.ste_types[t]);
  }
  return names;
}

std::vector<std::string> PolicySnapshot::ChwallTypeNames(std::uint32_t row) const {
  std::vector<std::string> names;
  if (!has_chwall() || row >= chwall_rows_) return names;
  for (std::uint32_t t : chwall_types_[row]) names.push_back(labels_.chwall_types[t]);
  return names;
}

}  // namespace shype::acm
