// SPDX-License-Identifier: Apache-2.0
//
// The binary policy writer (exact Xen ACM v4 layout, spec §3) and the layout arithmetic it shares
// with the dump. The bounded reader lives in binary_reader.cc.
#include "shype/policy/binary_policy.h"

#include <cstddef>

#include "binary_layout.h"

namespace shype::policy {
namespace {

class ByteWriter {
 public:
  explicit ByteWriter(std::size_t capacity) { bytes_.reserve(capacity); }
  void PutU32(std::uint64_t value) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      bytes_.push_back(static_cast<std::uint8_t>((value >> shift) & 0xffU));
    }
  }
  void PutU16(std::uint16_t value) {
    bytes_.push_back(static_cast<std::uint8_t>(value >> 8));
    bytes_.push_back(static_cast<std::uint8_t>(value & 0xffU));
  }
  void PutBytes(std::span<const std::uint8_t> data) {
    bytes_.insert(bytes_.end(), data.begin(), data.end());
  }
  // Zero-pads so that the block started at `block_start` is a multiple of 8 long.
  void PadBlock(std::size_t block_start) {
    while ((bytes_.size() - block_start) % 8 != 0) bytes_.push_back(0);
  }
  std::size_t size() const { return bytes_.size(); }
  std::vector<std::uint8_t> Take() { return std::move(bytes_); }

 private:
  std::vector<std::uint8_t> bytes_;
};

std::uint64_t MatrixBytes(const TypeMatrix& m) {
  return 2 * static_cast<std::uint64_t>(m.rows) * m.cols;
}

// Writes rows × cols cells; a short `cells` vector (a malformed value) is written as zeros
// rather than read past its end.
void PutMatrix(ByteWriter& out, const TypeMatrix& m) {
  const std::uint64_t count = static_cast<std::uint64_t>(m.rows) * m.cols;
  for (std::uint64_t i = 0; i < count; ++i) {
    out.PutU16(i < m.cells.size() ? m.cells[static_cast<std::size_t>(i)] : std::uint16_t{0});
  }
}

void PutChwall(ByteWriter& out, const ChineseWallPolicy& cw, const BinaryLayout& layout) {
  const std::size_t start = out.size();
  out.PutU32(kChwallVersion);
  out.PutU32(static_cast<std::uint32_t>(PolicyCode::kChineseWall));
  out.PutU32(cw.max_types());
  out.PutU32(cw.max_ssidrefs());
  out.PutU32(cw.max_conflict_sets());
  out.PutU32(kChwallHeaderSize);
  out.PutU32(layout.chwall_conflict_offset);
  out.PutU32(0);  // running types: only in Xen's live dump
  out.PutU32(0);  // conflict aggregate: only in Xen's live dump
  PutMatrix(out, cw.ssids);
  PutMatrix(out, cw.conflict_sets);
  out.PadBlock(start);
}

void PutSte(ByteWriter& out, const SimpleTypeEnforcementPolicy& ste) {
  const std::size_t start = out.size();
  out.PutU32(kSteVersion);
  out.PutU32(static_cast<std::uint32_t>(PolicyCode::kSimpleTypeEnforcement));
  out.PutU32(ste.max_types());
  out.PutU32(ste.max_ssidrefs());
  out.PutU32(kSteHeaderSize);
  PutMatrix(out, ste.ssids);
  out.PadBlock(start);
}

std::uint64_t ComponentOffset(PolicyCode code, const BinaryLayout& layout) {
  switch (code) {
    case PolicyCode::kChineseWall:
      return layout.chwall_offset;
    case PolicyCode::kSimpleTypeEnforcement:
      return layout.ste_offset;
    case PolicyCode::kNull:
    case PolicyCode::kUndefined:
      break;
  }
  return layout.total;
}

}  // namespace

std::string_view PolicyCodeName(PolicyCode code) {
  switch (code) {
    case PolicyCode::kNull:
      return "NULL";
    case PolicyCode::kChineseWall:
      return "CHINESE WALL";
    case PolicyCode::kSimpleTypeEnforcement:
      return "SIMPLE TYPE ENFORCEMENT";
    case PolicyCode::kUndefined:
      break;
  }
  return "UNDEFINED";
}

std::optional<std::uint16_t> BinaryPolicy::LocalRef(PolicyCode code, Ssidref ref) const {
  if (code == PolicyCode::kNull || code == PolicyCode::kUndefined) return std::nullopt;
  if (code == primary) return ref.primary();
  if (code == secondary) return ref.secondary();
  return std::nullopt;
}

std::uint64_t ChwallContentLen(const ChineseWallPolicy& chwall, LiveArrays live) {
  const std::uint64_t array_bytes = 2 * static_cast<std::uint64_t>(chwall.max_types());
  std::uint64_t len =
      kChwallHeaderSize + MatrixBytes(chwall.ssids) + MatrixBytes(chwall.conflict_sets);
  if (live.running_types) len += array_bytes;
  if (live.conflict_aggregate) len += array_bytes;
  return len;
}

std::uint64_t SteContentLen(const SimpleTypeEnforcementPolicy& ste) {
  return kSteHeaderSize + MatrixBytes(ste.ssids);
}

BinaryLayout ComputeLayout(const BinaryPolicy& policy, LiveArrays live) {
  BinaryLayout layout;
  layout.reference_len = RoundUp8(4 + policy.name.size() + 1);
  std::uint64_t pos = layout.reference_offset + layout.reference_len;
  if (policy.chwall) {
    const ChineseWallPolicy& cw = *policy.chwall;
    layout.chwall_offset = pos;
    layout.chwall_len = RoundUp8(ChwallContentLen(cw, live));
    layout.chwall_conflict_offset = kChwallHeaderSize + MatrixBytes(cw.ssids);
    std::uint64_t live_pos = layout.chwall_conflict_offset + MatrixBytes(cw.conflict_sets);
    if (live.running_types) {
      layout.chwall_running_offset = live_pos;
      live_pos += 2ULL * cw.max_types();
    }
    if (live.conflict_aggregate) layout.chwall_aggregate_offset = live_pos;
    pos += layout.chwall_len;
  }
  if (policy.ste) {
    layout.ste_offset = pos;
    layout.ste_len = RoundUp8(SteContentLen(*policy.ste));
    pos += layout.ste_len;
  }
  layout.total = pos;
  layout.primary_offset = ComponentOffset(policy.primary, layout);
  layout.secondary_offset = ComponentOffset(policy.secondary, layout);
  return layout;
}

std::vector<std::uint8_t> SerializeBinaryPolicy(const BinaryPolicy& policy) {
  const BinaryLayout layout = ComputeLayout(policy);
  ByteWriter out(static_cast<std::size_t>(layout.total));
  out.PutU32(kAcmMagic);
  out.PutU32(kAcmPolicyVersion);
  out.PutU32(layout.total);
  out.PutU32(layout.reference_offset);
  out.PutU32(static_cast<std::uint32_t>(policy.primary));
  out.PutU32(layout.primary_offset);
  out.PutU32(static_cast<std::uint32_t>(policy.secondary));
  out.PutU32(layout.secondary_offset);
  out.PutU32(policy.xml_version.major);
  out.PutU32(policy.xml_version.minor);
  out.PutBytes(policy.xml_hash);
  const std::size_t reference_start = out.size();
  out.PutU32(policy.name.size() + 1);
  out.PutBytes(
      std::span(reinterpret_cast<const std::uint8_t*>(policy.name.data()), policy.name.size()));
  out.PutBytes(std::array<std::uint8_t, 1>{0});
  out.PadBlock(reference_start);
  if (policy.chwall) PutChwall(out, *policy.chwall, layout);
  if (policy.ste) PutSte(out, *policy.ste);
  return out.Take();
}

}  // namespace shype::policy
