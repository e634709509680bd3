// SPDX-License-Identifier: Apache-2.0
//
// BinaryPolicy is the compiled policy as Xen ACM's version-4 binary layout carries it (see
// docs/binary-format.md and ../shared/spec-acm.md §3): policy name, component codes, XML version
// and hash, the Chinese Wall (CHWALL) and Simple Type Enforcement (STE) matrices.
// Serialize gives the exact bytes; Parse is a bounded reader that rejects any malformed input.
// Values are immutable once built; share across threads as shared_ptr<const BinaryPolicy>.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shype/common/id.h"
#include "shype/common/result.h"

namespace shype::policy {

inline constexpr std::uint32_t kAcmMagic = 0x0001DEBC;
inline constexpr std::uint32_t kAcmPolicyVersion = 4;
inline constexpr std::uint32_t kChwallVersion = 1;
inline constexpr std::uint32_t kSteVersion = 1;
inline constexpr std::size_t kHeaderSize = 60;
inline constexpr std::size_t kChwallHeaderSize = 36;
inline constexpr std::size_t kSteHeaderSize = 20;
// Limits beyond Xen's (which checked none): bound every allocation a hostile binary can cause.
inline constexpr std::size_t kMaxPolicyBytes = 64U << 20;
inline constexpr std::uint32_t kMaxTypes = 65535;
inline constexpr std::uint32_t kMaxSsidrefs = 65535;
inline constexpr std::uint32_t kMaxConflictSets = 65535;
inline constexpr std::size_t kMaxPolicyNameBytes = 1024;

// Component codes as stored in the binary header.
enum class PolicyCode : std::uint32_t {
  kNull = 0,
  kChineseWall = 1,
  kSimpleTypeEnforcement = 2,
  kUndefined = 15,
};

// Xen's ACM_POLICY_NAME strings: "NULL", "CHINESE WALL", "SIMPLE TYPE ENFORCEMENT", "UNDEFINED".
std::string_view PolicyCodeName(PolicyCode code);

// A rows × cols matrix of 16-bit cells (0 or 1 in compiled policies), row-major as in the binary.
struct TypeMatrix {
  std::uint32_t rows = 0;
  std::uint32_t cols = 0;
  std::vector<std::uint16_t> cells;  // rows * cols

  std::uint16_t at(std::uint32_t row, std::uint32_t col) const { return cells[row * cols + col]; }
  bool has(std::uint32_t row, std::uint32_t col) const { return at(row, col) != 0; }
  friend bool operator==(const TypeMatrix&, const TypeMatrix&) = default;
};

struct ChineseWallPolicy {
  TypeMatrix ssids;          // max_ssidrefs × max_types: which CHWALL types a VM label carries
  TypeMatrix conflict_sets;  // max_conflictsets × max_types: which types each conflict set holds
  std::uint32_t max_types() const { return ssids.cols; }
  std::uint32_t max_ssidrefs() const { return ssids.rows; }
  std::uint32_t max_conflict_sets() const { return conflict_sets.rows; }
  friend bool operator==(const ChineseWallPolicy&, const ChineseWallPolicy&) = default;
};

struct SimpleTypeEnforcementPolicy {
  TypeMatrix ssids;  // max_ssidrefs × max_types: VM rows, then resource rows
  std::uint32_t max_types() const { return ssids.cols; }
  std::uint32_t max_ssidrefs() const { return ssids.rows; }
  friend bool operator==(const SimpleTypeEnforcementPolicy&,
                         const SimpleTypeEnforcementPolicy&) = default;
};

struct XmlVersion {
  std::uint32_t major = 0;
  std::uint32_t minor = 0;
  friend auto operator<=>(const XmlVersion&, const XmlVersion&) = default;
};

struct BinaryPolicy {
  std::string name;  // policy reference name, e.g. "example.client_v1"
  PolicyCode primary = PolicyCode::kNull;
  PolicyCode secondary = PolicyCode::kNull;
  XmlVersion xml_version;
  std::array<std::uint8_t, 20> xml_hash{};
  // Present iff some component is CHWALL / STE. Serialize always writes CHWALL before STE,
  // whichever is primary (Xen's compiler did so).
  std::optional<ChineseWallPolicy> chwall;
  std::optional<SimpleTypeEnforcementPolicy> ste;

  // The component's local row of a full ssidref: the low 16 bits for the primary component,
  // the high 16 bits for the secondary (Xen's GET_SSIDREF). nullopt if `code` is not active.
  std::optional<std::uint16_t> LocalRef(PolicyCode code, Ssidref ref) const;

  friend bool operator==(const BinaryPolicy&, const BinaryPolicy&) = default;
};

// Writes the exact Xen ACM v4 layout: 60-byte header, reference block, CHWALL block, STE block,
// each block zero-padded to a multiple of 8 of its own length; all integers big-endian.
std::vector<std::uint8_t> SerializeBinaryPolicy(const BinaryPolicy& policy);

// Reads a binary policy, checking magic, versions, total length, every offset, block length and
// matrix bound, the NUL-terminated name, component codes and their combination, and that cells
// are 0/1. Never reads out of bounds. Errors: kPolicyInvalid, with the field and offset named.
[[nodiscard]] Result<BinaryPolicy> ParseBinaryPolicy(std::span<const std::uint8_t> bytes);

}  // namespace shype::policy
