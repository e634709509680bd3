// SPDX-License-Identifier: Apache-2.0
//
// Reference policies for the tests, transcribed from spec §3.10 (matrices and hex dump).
#include "test_policies.h"

#include <cctype>
#include <string>

namespace shype::policy::testing {

TypeMatrix MatrixFromRows(std::uint32_t cols, std::initializer_list<std::string_view> rows) {
  TypeMatrix m;
  m.rows = static_cast<std::uint32_t>(rows.size());
  m.cols = cols;
  for (std::string_view row : rows) {
    for (char c : row) m.cells.push_back(c == '1' ? 1 : 0);
  }
  return m;
}

std::vector<std::uint8_t> BytesFromHex(std::string_view hex) {
  std::vector<std::uint8_t> out;
  std::string digits;
  for (char c : hex) {
    if (std::isxdigit(static_cast<unsigned char>(c)) != 0) digits.push_back(c);
  }
  for (std::size_t i = 0; i + 1 < digits.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
  }
  return out;
}

namespace {

std::array<std::uint8_t, 20> Hash(std::string_view hex) {
  std::array<std::uint8_t, 20> hash{};
  const std::vector<std::uint8_t> bytes = BytesFromHex(hex);
  for (std::size_t i = 0; i < hash.size() && i < bytes.size(); ++i) hash[i] = bytes[i];
  return hash;
}

}  // namespace

BinaryPolicy ClientV1Policy() {
  BinaryPolicy p;
  p.name = "example.client_v1";
  p.primary = PolicyCode::kChineseWall;
  p.secondary = PolicyCode::kSimpleTypeEnforcement;
  p.xml_version = {1, 0};
  p.xml_hash = Hash("da899c3735a891f638db9f18d86d7810790d5627");
  p.chwall =
      ChineseWallPolicy{MatrixFromRows(4, {"0000", "0001", "0100", "1000", "0010", "0001", "0001"}),
                        MatrixFromRows(4, {"1010"})};
  p.ste = SimpleTypeEnforcementPolicy{
      MatrixFromRows(6, {"000000", "111111", "100000", "010000", "000010", "111010", "010110",
                         "001000", "000001", "000100", "000010", "010000", "000001", "000010"})};
  return p;
}

std::vector<std::uint8_t> ClientV1Bytes() {
  return BytesFromHex(R"(
    00 01 de bc 00 00 00 04 00 00 01 7c 00 00 00 3c
    00 00 00 01 00 00 00 54 00 00 00 02 00 00 00 bc
    00 00 00 01 00 00 00 00 da 89 9c 37 35 a8 91 f6
    38 db 9f 18 d8 6d 78 10 79 0d 56 27 00 00 00 12
    65 78 61 6d 70 6c 65 2e 63 6c 69 65 6e 74 5f 76
    31 00 00 00 00 00 00 01 00 00 00 01 00 00 00 04
    00 00 00 07 00 00 00 01 00 00 00 24 00 00 00 5c
    00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
    00 00 00 00 00 00 00 01 00 00 00 01 00 00 00 00
    00 01 00 00 00 00 00 00 00 00 00 00 00 01 00 00
    00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 01
    00 01 00 00 00 01 00 00 00 00 00 00 00 00 00 01
    00 00 00 02 00 00 00 06 00 00 00 0e 00 00 00 14
    00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 01
    00 01 00 01 00 01 00 01 00 01 00 00 00 00 00 00
    00 00 00 00 00 00 00 01 00 00 00 00 00 00 00 00
    00 00 00 00 00 00 00 00 00 01 00 00 00 01 00 01
    00 01 00 00 00 01 00 00 00 00 00 01 00 00 00 01
    00 01 00 00 00 00 00 00 00 01 00 00 00 00 00 00
    00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 00
    00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00
    00 01 00 00 00 00 00 01 00 00 00 00 00 00 00 00
    00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 00
    00 00 00 00 00 01 00 00 00 00 00 00)");
}

BinaryPolicy DefaultPolicy() {
  BinaryPolicy p;
  p.name = "DEFAULT";
  p.primary = PolicyCode::kChineseWall;
  p.secondary = PolicyCode::kSimpleTypeEnforcement;
  p.xml_version = {1, 0};
  p.xml_hash = Hash("6eb1774051d7849c8da44b3fff915fe24c33d32a");
  p.chwall = ChineseWallPolicy{MatrixFromRows(1, {"0", "0"}), MatrixFromRows(1, {})};
  p.ste = SimpleTypeEnforcementPolicy{MatrixFromRows(2, {"01", "11"})};
  return p;
}

BinaryPolicy SteOnlyPolicy() {
  BinaryPolicy p;
  p.name = "test.ste_only";
  p.primary = PolicyCode::kSimpleTypeEnforcement;
  p.xml_version = {2, 1};
  p.ste = SimpleTypeEnforcementPolicy{MatrixFromRows(3, {"000", "111", "100", "010", "001"})};
  return p;
}

BinaryPolicy ChwallOnlyPolicy() {
  BinaryPolicy p;
  p.name = "test.chwall_only";
  p.primary = PolicyCode::kChineseWall;
  p.secondary = PolicyCode::kSimpleTypeEnforcement;
  p.xml_version = {1, 0};
  p.chwall =
      ChineseWallPolicy{MatrixFromRows(2, {"00", "00", "10", "01"}), MatrixFromRows(2, {"11"})};
  p.ste = SimpleTypeEnforcementPolicy{MatrixFromRows(0, {"", "", "", ""})};
  return p;
}

BinaryPolicy NullPolicy() {
  BinaryPolicy p;
  p.name = "test.null";
  return p;
}

}  // namespace shype::policy::testing
