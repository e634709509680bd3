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

namespace shype::policy::testing {

std::string ClientV1MapText() {
  return R"(POLICYREFERENCENAME    example.client_v1
MAGIC                  0001debc
POLICFILE              /var/lib/xend/security/policies/example/client_v1-security_policy.xml
BINARYFILE             /var/lib/xend/security/policies/example/client_v1.bin
MAX-CHWALL-TYPES       00000004
MAX-CHWALL-SSIDS       00000007
MAX-CHWALL-LABELS      00000007
MAX-STE-TYPES          00000006
MAX-STE-SSIDS          0000000e
MAX-STE-LABELS         0000000e

PRIMARY                CHWALL
SECONDARY              STE

LABEL->SSID ANY CHWALL __NULL_LABEL__       0
LABEL->SSID VM  CHWALL SystemManagement     1
LABEL->SSID VM  CHWALL dom_BoincClient      2
LABEL->SSID VM  CHWALL dom_Fun              3
LABEL->SSID VM  CHWALL dom_HomeBanking      4
LABEL->SSID VM  CHWALL dom_NetworkDomain    5
LABEL->SSID VM  CHWALL dom_StorageDomain    6

LABEL->SSID ANY STE    __NULL_LABEL__       00000000
LABEL->SSID VM  STE    SystemManagement     1
LABEL->SSID VM  STE    dom_BoincClient      2
LABEL->SSID VM  STE    dom_Fun              3
LABEL->SSID VM  STE    dom_HomeBanking      4
LABEL->SSID VM  STE    dom_NetworkDomain    5
LABEL->SSID VM  STE    dom_StorageDomain    6
LABEL->SSID RES STE    res_EthernetCard     7
LABEL->SSID RES STE    res_GraphicsAdapter  8
LABEL->SSID RES STE    res_HardDrive(hda)   9
LABEL->SSID RES STE    res_LogicalDiskPartition1(hda1) a
LABEL->SSID RES STE    res_LogicalDiskPartition2(hda2) b
LABEL->SSID RES STE    res_ManagementResource c
LABEL->SSID RES STE    res_SecurityToken    d

SSID->TYPE CHWALL      00000000
SSID->TYPE CHWALL      00000001 cw_SystemManagement
SSID->TYPE STE         00000000
SSID->TYPE STE         00000001 ste_SystemManagement ste_PersistentStorageA

TYPE CHWALL            cw_Distrusted        0
TYPE CHWALL            cw_Isolated          1
TYPE CHWALL            cw_Sensitive         2
TYPE CHWALL            cw_SystemManagement  3
TYPE STE               ste_DonatedCycles    0
TYPE STE               ste_InternetInsecure 1
TYPE STE               ste_NetworkAdapter0  2
TYPE STE               ste_PersistentStorageA 3
TYPE STE               ste_PersonalFinances 4
TYPE STE               ste_SystemManagement 5

)";
}

LabelMap ClientV1Map() {
  LabelMap map;
  map.policy_name = "example.client_v1";
  map.primary = PolicyCode::kChineseWall;
  map.secondary = PolicyCode::kSimpleTypeEnforcement;
  map.vm_labels = {"__NULL_LABEL__",  "SystemManagement",  "dom_BoincClient",  "dom_Fun",
                   "dom_HomeBanking", "dom_NetworkDomain", "dom_StorageDomain"};
  map.resource_labels = {"res_EthernetCard",
                         "res_GraphicsAdapter",
                         "res_HardDrive(hda)",
                         "res_LogicalDiskPartition1(hda1)",
                         "res_LogicalDiskPartition2(hda2)",
                         "res_ManagementResource",
                         "res_SecurityToken"};
  map.chwall_types = {"cw_Distrusted", "cw_Isolated", "cw_Sensitive", "cw_SystemManagement"};
  map.ste_types = {"ste_DonatedCycles",      "ste_InternetInsecure", "ste_NetworkAdapter0",
                   "ste_PersistentStorageA", "ste_PersonalFinances", "ste_SystemManagement"};
  return map;
}

LabelMap SteOnlyMap() {
  LabelMap map;
  map.policy_name = "test.ste_only";
  map.primary = PolicyCode::kSimpleTypeEnforcement;
  map.vm_labels = {"__UNLABELED__", "dom0", "guest"};
  map.resource_labels = {"disk_a", "disk_b"};
  map.ste_types = {"t0", "t1", "t2"};
  return map;
}

std::string MapTextForTesting(const LabelMap& map) {
  const auto component = [](PolicyCode code) {
    return code == PolicyCode::kChineseWall ? "CHWALL" : code == PolicyCode::kNull ? "NULL" : "STE";
  };
  std::string text = fmt::format(
      "POLICYREFERENCENAME    {}\nPRIMARY                {}\n"
      "SECONDARY              {}\n\n",
      map.policy_name, component(map.primary), component(map.secondary));
  const bool chwall = map.primary == PolicyCode::kChineseWall;
  const bool ste = !chwall || map.secondary == PolicyCode::kSimpleTypeEnforcement;
  for (std::size_t row = 0; row < map.vm_labels.size(); ++row) {
    const char* kind = row == 0 ? "ANY" : "VM ";
    if (chwall)
      text += fmt::format("LABEL->SSID {} CHWALL {:<20} {:x}\n", kind, map.vm_labels[row], row);
    if (ste)
      text += fmt::format("LABEL->SSID {} STE    {:<20} {:x}\n", kind, map.vm_labels[row], row);
  }
  for (std::size_t i = 0; i < map.resource_labels.size(); ++i) {
    text += fmt::format("LABEL->SSID RES STE    {:<20} {:x}\n", map.resource_labels[i],
                        map.vm_labels.size() + i);
  }
  for (std::size_t i = 0; i < map.chwall_types.size(); ++i) {
    text += fmt::format("TYPE CHWALL            {:<20} {}\n", map.chwall_types[i], i);
  }
  for (std::size_t i = 0; i < map.ste_types.size(); ++i) {
    text += fmt::format("TYPE STE               {:<20} {}\n", map.ste_types[i], i);
  }
  return text + "\n";
}

}  // namespace shype::policy::testing
