// SPDX-License-Identifier: Apache-2.0
//
// ParseBinaryPolicy: the bounded reader of the Xen ACM v4 binary (spec §3, docs/binary-format.md).
// Every read goes through ByteReader, which is only called after the range was checked against the
// buffer or block end; every error names the field and its absolute byte offset.
#include <cstddef>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include "binary_layout.h"
#include "shype/policy/binary_policy.h"

namespace shype::policy {
namespace {

using U64 = std::uint64_t;

template <class... Args>
tl::unexpected<Error> Invalid(fmt::format_string<Args...> format, Args&&... args) {
  return Fail(ErrorCode::kPolicyInvalid, "binary policy: {}",
              fmt::format(format, std::forward<Args>(args)...));
}

class ByteReader {
 public:
  explicit ByteReader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  U64 size() const { return bytes_.size(); }
  // SECURITY: callers check `off + n <= size()` (via Has) before every read below.
  bool Has(U64 off, U64 n) const { return off <= size() && n <= size() - off; }
  std::uint8_t U8(U64 off) const { return bytes_[static_cast<std::size_t>(off)]; }
  std::uint16_t U16(U64 off) const {
    return static_cast<std::uint16_t>(U8(off) << 8 | U8(off + 1));
  }
  std::uint32_t U32(U64 off) const {
    return static_cast<std::uint32_t>(U8(off)) << 24 |
           static_cast<std::uint32_t>(U8(off + 1)) << 16 |
           static_cast<std::uint32_t>(U8(off + 2)) << 8 | U8(off + 3);
  }

 private:
  std::span<const std::uint8_t> bytes_;
};

// A component block: its absolute start and end (from the header offsets) and display name.
struct Block {
  const char* name;
  U64 start;
  U64 end;
};

Result<void> ExpectField(const ByteReader& in, const Block& b, U64 rel, const char* field,
                         U64 expected) {
  const std::uint32_t value = in.U32(b.start + rel);
  if (value == expected) return {};
  return Invalid("{} block at offset 0x{:x}: field {} at offset 0x{:x} is {} (0x{:x}), expected {}",
                 b.name, b.start, field, b.start + rel, value, value, expected);
}

Result<std::uint32_t> ReadCount(const ByteReader& in, const Block& b, U64 rel, const char* field,
                                std::uint32_t limit) {
  const std::uint32_t value = in.U32(b.start + rel);
  if (value <= limit) return value;
  return Invalid("{} block at offset 0x{:x}: field {} at offset 0x{:x} is {}, over the limit {}",
                 b.name, b.start, field, b.start + rel, value, limit);
}

// Reads a rows × cols matrix of 0/1 cells at absolute `off`, which must end inside the block.
Result<TypeMatrix> ReadMatrix(const ByteReader& in, const Block& b, U64 off, std::string_view what,
                              std::uint32_t rows, std::uint32_t cols) {
  const U64 count = static_cast<U64>(rows) * cols;  // <= 65535², no overflow in 64 bits
  const U64 end = off + 2 * count;
  if (end > b.end) {
    return Invalid("{} block at offset 0x{:x}: {} ends at 0x{:x}, past the block end 0x{:x}",
                   b.name, b.start, what, end, b.end);
  }
  TypeMatrix m{rows, cols, {}};
  m.cells.reserve(static_cast<std::size_t>(count));
  for (U64 i = 0; i < count; ++i) {
    const std::uint16_t cell = in.U16(off + 2 * i);
    if (cell > 1) {
      return Invalid(
          "{} block at offset 0x{:x}: {} cell (row {}, type {}) at offset 0x{:x} is {}, "
          "expected 0 or 1",
          b.name, b.start, what, i / cols, i % cols, off + 2 * i, cell);
    }
    m.cells.push_back(cell);
  }
  return m;
}

// The block must be exactly its content rounded up to 8, the padding all zero.
Result<void> CheckPadding(const ByteReader& in, const Block& b, U64 content_end) {
  const U64 padded_end = b.start + RoundUp8(content_end - b.start);
  if (padded_end > b.end) {
    return Invalid(
        "{} block at offset 0x{:x}: is {} bytes long, not padded to a multiple of 8 "
        "(content ends at 0x{:x}, padding must end at 0x{:x})",
        b.name, b.start, b.end - b.start, content_end, padded_end);
  }
  if (padded_end < b.end) {
    return Invalid(
        "{} block at offset 0x{:x}: {} unexpected bytes from 0x{:x} to the block end "
        "0x{:x}",
        b.name, b.start, b.end - padded_end, padded_end, b.end);
  }
  for (U64 off = content_end; off < padded_end; ++off) {
    if (in.U8(off) != 0) {
      return Invalid(
          "{} block at offset 0x{:x}: padding byte at offset 0x{:x} is 0x{:02x}, "
          "expected 0",
          b.name, b.start, off, in.U8(off));
    }
  }
  return {};
}

Result<void> CheckBlockHeader(const Block& b, U64 header_size) {
  if (b.end - b.start < header_size) {
    return Invalid(
        "{} block at offset 0x{:x}: only {} bytes up to 0x{:x}, shorter than its "
        "{}-byte header",
        b.name, b.start, b.end - b.start, b.end, header_size);
  }
  return {};
}

Result<ChineseWallPolicy> ReadChwall(const ByteReader& in, const Block& b) {
  if (auto ok = CheckBlockHeader(b, kChwallHeaderSize); !ok) return Fail(ok.error());
  if (auto ok = ExpectField(in, b, 0, "policy_version", kChwallVersion); !ok)
    return Fail(ok.error());
  if (auto ok = ExpectField(in, b, 4, "policy_code", 1); !ok) return Fail(ok.error());
  auto types = ReadCount(in, b, 8, "chwall_max_types", kMaxTypes);
  if (!types) return Fail(types.error());
  auto ssids = ReadCount(in, b, 12, "chwall_max_ssidrefs", kMaxSsidrefs);
  if (!ssids) return Fail(ssids.error());
  auto sets = ReadCount(in, b, 16, "chwall_max_conflictsets", kMaxConflictSets);
  if (!sets) return Fail(sets.error());
  const U64 ssid_bytes = 2 * static_cast<U64>(*types) * *ssids;
  if (auto ok = ExpectField(in, b, 20, "chwall_ssid_offset", kChwallHeaderSize); !ok) {
    return Fail(ok.error());
  }
  if (auto ok =
          ExpectField(in, b, 24, "chwall_conflict_sets_offset", kChwallHeaderSize + ssid_bytes);
      !ok) {
    return Fail(ok.error());
  }
  if (auto ok = ExpectField(in, b, 28, "chwall_running_types_offset", 0); !ok)
    return Fail(ok.error());
  if (auto ok = ExpectField(in, b, 32, "chwall_conflict_aggregate_offset", 0); !ok) {
    return Fail(ok.error());
  }
  const U64 ssid_off = b.start + kChwallHeaderSize;
  auto ssid_matrix = ReadMatrix(
      in, b, ssid_off, fmt::format("SSID matrix (S={}, T={})", *ssids, *types), *ssids, *types);
  if (!ssid_matrix) return Fail(ssid_matrix.error());
  const U64 set_off = ssid_off + ssid_bytes;
  auto set_matrix =
      ReadMatrix(in, b, set_off, fmt::format("conflict-set matrix (C={}, T={})", *sets, *types),
                 *sets, *types);
  if (!set_matrix) return Fail(set_matrix.error());
  if (auto ok = CheckPadding(in, b, set_off + 2 * static_cast<U64>(*sets) * *types); !ok) {
    return Fail(ok.error());
  }
  return ChineseWallPolicy{std::move(*ssid_matrix), std::move(*set_matrix)};
}

Result<SimpleTypeEnforcementPolicy> ReadSte(const ByteReader& in, const Block& b) {
  if (auto ok = CheckBlockHeader(b, kSteHeaderSize); !ok) return Fail(ok.error());
  if (auto ok = ExpectField(in, b, 0, "policy_version", kSteVersion); !ok) return Fail(ok.error());
  if (auto ok = ExpectField(in, b, 4, "policy_code", 2); !ok) return Fail(ok.error());
  auto types = ReadCount(in, b, 8, "ste_max_types", kMaxTypes);
  if (!types) return Fail(types.error());
  auto ssids = ReadCount(in, b, 12, "ste_max_ssidrefs", kMaxSsidrefs);
  if (!ssids) return Fail(ssids.error());
  if (auto ok = ExpectField(in, b, 16, "ste_ssid_offset", kSteHeaderSize); !ok) {
    return Fail(ok.error());
  }
  const U64 ssid_off = b.start + kSteHeaderSize;
  auto matrix = ReadMatrix(in, b, ssid_off, fmt::format("SSID matrix (S={}, T={})", *ssids, *types),
                           *ssids, *types);
  if (!matrix) return Fail(matrix.error());
  if (auto ok = CheckPadding(in, b, ssid_off + 2 * static_cast<U64>(*ssids) * *types); !ok) {
    return Fail(ok.error());
  }
  return SimpleTypeEnforcementPolicy{std::move(*matrix)};
}

Result<PolicyCode> ReadCode(const ByteReader& in, U64 off, const char* field) {
  const std::uint32_t raw = in.U32(off);
  switch (raw) {
    case 0:
      return PolicyCode::kNull;
    case 1:
      return PolicyCode::kChineseWall;
    case 2:
      return PolicyCode::kSimpleTypeEnforcement;
    case 15:
      return Invalid("header field {} at offset 0x{:x} is 15 (UNDEFINED), which cannot be loaded",
                     field, off);
    default:
      break;
  }
  return Invalid(
      "header field {} at offset 0x{:x} is {} (0x{:x}), not a component code "
      "(0 NULL, 1 CHWALL, 2 STE)",
      field, off, raw, raw);
}

// Supported combinations: NULL/NULL, CHWALL/NULL, STE/NULL, CHWALL/STE (docs/binary-format.md).
Result<std::pair<PolicyCode, PolicyCode>> ReadCodes(const ByteReader& in) {
  auto primary = ReadCode(in, 0x10, "primary_policy_code");
  if (!primary) return Fail(primary.error());
  auto secondary = ReadCode(in, 0x18, "secondary_policy_code");
  if (!secondary) return Fail(secondary.error());
  if (*secondary == PolicyCode::kNull) return std::pair{*primary, *secondary};
  if (*primary == PolicyCode::kNull) {
    return Invalid(
        "header field secondary_policy_code at offset 0x18 is {} ({}) but the primary "
        "is NULL",
        static_cast<std::uint32_t>(*secondary), PolicyCodeName(*secondary));
  }
  if (*primary == *secondary) {
    return Invalid(
        "header fields primary_policy_code (0x10) and secondary_policy_code (0x18) "
        "both name {}; a component may appear once",
        PolicyCodeName(*primary));
  }
  if (*primary == PolicyCode::kSimpleTypeEnforcement) {
    return Invalid(
        "header: STE primary (0x10) with CHWALL secondary (0x18) is not supported: "
        "the CHWALL block always comes first; make CHWALL the primary");
  }
  return std::pair{*primary, *secondary};
}

bool IsNameByte(std::uint8_t c) { return c > 0x20 && c < 0x7f; }

struct Reference {
  std::string name;
  U64 end = 0;  // the padded end of the reference block
};

// Reads the `len - 1` name bytes at `off` (printable ASCII without spaces) and the final NUL.
Result<std::string> ReadName(const ByteReader& in, U64 off, std::uint32_t len) {
  std::string name;
  for (U64 i = 0; i + 1 < len; ++i) {
    const std::uint8_t c = in.U8(off + i);
    if (!IsNameByte(c)) {
      return Invalid(
          "reference block at offset 0x3c: policy name byte 0x{:02x} at offset 0x{:x} "
          "is {}",
          c, off + i, c == 0 ? "an embedded NUL" : "not printable ASCII (0x21-0x7e)");
    }
    name.push_back(static_cast<char>(c));
  }
  if (const std::uint8_t last = in.U8(off + len - 1); last != 0) {
    return Invalid(
        "reference block at offset 0x3c: policy name is not NUL-terminated (byte at "
        "0x{:x} is 0x{:02x})",
        off + len - 1, last);
  }
  return name;
}

// Reads the policy-reference block at 60: u32 len (with NUL), the name, zero padding to 8.
Result<Reference> ReadReference(const ByteReader& in) {
  const U64 off = kHeaderSize;
  if (!in.Has(off, 4)) {
    return Invalid(
        "reference block at offset 0x3c: buffer ends at 0x{:x}, before the name "
        "length field",
        in.size());
  }
  const std::uint32_t len = in.U32(off);
  if (len < 2) {
    return Invalid("reference block at offset 0x3c: name length {} (with NUL) is an empty name",
                   len);
  }
  if (len - 1 > kMaxPolicyNameBytes) {
    return Invalid("reference block at offset 0x3c: name length {} is over the limit of {} bytes",
                   len, kMaxPolicyNameBytes);
  }
  Reference ref{{}, off + RoundUp8(4 + static_cast<U64>(len))};
  if (ref.end > in.size()) {
    return Invalid(
        "reference block at offset 0x3c: name of {} bytes padded to 8 ends at 0x{:x}, "
        "past the buffer end 0x{:x}",
        len, ref.end, in.size());
  }
  auto name = ReadName(in, off + 4, len);
  if (!name) return Fail(name.error());
  ref.name = std::move(*name);
  for (U64 p = off + 4 + len; p < ref.end; ++p) {
    if (in.U8(p) != 0) {
      return Invalid(
          "reference block at offset 0x3c: padding byte at offset 0x{:x} is 0x{:02x}, "
          "expected 0",
          p, in.U8(p));
    }
  }
  return ref;
}

Result<void> CheckHeader(const ByteReader& in) {
  if (in.size() > kMaxPolicyBytes) {
    return Invalid("{} bytes exceed the limit of {} bytes", in.size(), kMaxPolicyBytes);
  }
  if (in.size() < kHeaderSize) {
    return Invalid("{} bytes is shorter than the {}-byte header", in.size(), kHeaderSize);
  }
  if (const std::uint32_t magic = in.U32(0); magic != kAcmMagic) {
    return Invalid("header field magic at offset 0x0 is 0x{:08x}, expected 0x{:08x}", magic,
                   kAcmMagic);
  }
  if (const std::uint32_t version = in.U32(4); version != kAcmPolicyVersion) {
    return Invalid("header field policy_version at offset 0x4 is {}, expected {}", version,
                   kAcmPolicyVersion);
  }
  if (const std::uint32_t len = in.U32(8); len != in.size()) {
    return Invalid("header field len at offset 0x8 is {} (0x{:x}) but the buffer holds {} bytes",
                   len, len, in.size());
  }
  if (const std::uint32_t ref = in.U32(12); ref != kHeaderSize) {
    return Invalid("header field policy_reference_offset at offset 0xc is 0x{:x}, expected 0x{:x}",
                   ref, kHeaderSize);
  }
  return {};
}

// Checks the component offsets against the reference end and the buffer end (docs: "Offsets").
Result<std::pair<U64, U64>> ReadOffsets(const ByteReader& in, U64 reference_end,
                                        PolicyCode secondary) {
  const U64 primary_off = in.U32(0x14);
  const U64 secondary_off = in.U32(0x1c);
  if (primary_off != reference_end) {
    return Invalid(
        "header field primary_buffer_offset at offset 0x14 is 0x{:x}, expected 0x{:x} "
        "(the end of the reference block)",
        primary_off, reference_end);
  }
  if (secondary_off < primary_off || secondary_off > in.size()) {
    return Invalid(
        "header field secondary_buffer_offset at offset 0x1c is 0x{:x}, outside "
        "[primary offset 0x{:x}, buffer end 0x{:x}]",
        secondary_off, primary_off, in.size());
  }
  if (secondary == PolicyCode::kNull && secondary_off != in.size()) {
    return Invalid(
        "header field secondary_buffer_offset at offset 0x1c is 0x{:x}; a NULL "
        "secondary must point at the buffer end 0x{:x}",
        secondary_off, in.size());
  }
  return std::pair{primary_off, secondary_off};
}

}  // namespace

Result<BinaryPolicy> ParseBinaryPolicy(std::span<const std::uint8_t> bytes) {
  const ByteReader in(bytes);
  if (auto ok = CheckHeader(in); !ok) return Fail(ok.error());
  auto codes = ReadCodes(in);
  if (!codes) return Fail(codes.error());
  BinaryPolicy policy;
  std::tie(policy.primary, policy.secondary) = *codes;
  auto reference = ReadReference(in);
  if (!reference) return Fail(reference.error());
  policy.name = std::move(reference->name);
  auto offsets = ReadOffsets(in, reference->end, policy.secondary);
  if (!offsets) return Fail(offsets.error());
  const auto [primary_off, secondary_off] = *offsets;
  policy.xml_version = {in.U32(0x20), in.U32(0x24)};
  for (std::size_t i = 0; i < policy.xml_hash.size(); ++i) policy.xml_hash[i] = in.U8(0x28 + i);
  if (policy.primary == PolicyCode::kNull && primary_off != in.size()) {
    return Invalid("{} unexpected bytes after the reference block (from 0x{:x}) in a NULL policy",
                   in.size() - primary_off, primary_off);
  }
  const U64 primary_end = policy.secondary == PolicyCode::kNull ? in.size() : secondary_off;
  if (policy.primary == PolicyCode::kChineseWall) {
    auto chwall = ReadChwall(in, Block{"CHWALL", primary_off, primary_end});
    if (!chwall) return Fail(chwall.error());
    policy.chwall = std::move(*chwall);
  }
  const bool ste_primary = policy.primary == PolicyCode::kSimpleTypeEnforcement;
  if (ste_primary || policy.secondary == PolicyCode::kSimpleTypeEnforcement) {
    const Block block = ste_primary ? Block{"STE", primary_off, primary_end}
                                    : Block{"STE", secondary_off, in.size()};
    auto ste = ReadSte(in, block);
    if (!ste) return Fail(ste.error());
    policy.ste = std::move(*ste);
  }
  return policy;
}

}  // namespace shype::policy
