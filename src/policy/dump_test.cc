// SPDX-License-Identifier: Apache-2.0
//
// Dump tests: the client_v1 text of spec §3.10/§6.6 line by line, the live variant's offsets and
// arrays, and the NULL-component lines.
#include "shype/policy/dump.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_policies.h"

namespace shype::policy {
namespace {

using ::testing::HasSubstr;

// Spec §3.10 / §6.6: xensec_tool dumppolicy client_v1.bin 0x00010001. Rows end in "%02x ".
const char* const kClientV1Dump =
    "\n"
    "Policy dump:\n"
    "============\n"
    "POLICY REFERENCE = example.client_v1.\n"
    "PolicyVer = 4.\n"
    "XML Vers. = 1.0\n"
    "Magic     = 1debc.\n"
    "Len       = 17c.\n"
    "Primary   = CHINESE WALL (c=1, off=54).\n"
    "Secondary = SIMPLE TYPE ENFORCEMENT (c=2, off=bc).\n"
    "\n\n"
    "Chinese Wall policy:\n"
    "====================\n"
    "Policy version= 1.\n"
    "Max Types     = 4.\n"
    "Max Ssidrefs  = 7.\n"
    "Max ConfSets  = 1.\n"
    "Ssidrefs Off  = 24.\n"
    "Conflicts Off = 5c.\n"
    "Runing T. Off = 0.\n"
    "C. Agg. Off   = 0.\n"
    "\n"
    "SSID To CHWALL-Type matrix:\n"
    "\n   ssidref 0:  00 00 00 00 "
    "\n   ssidref 1:  00 00 00 01  <-- Domain-0"
    "\n   ssidref 2:  00 01 00 00 "
    "\n   ssidref 3:  01 00 00 00 "
    "\n   ssidref 4:  00 00 01 00 "
    "\n   ssidref 5:  00 00 00 01 "
    "\n   ssidref 6:  00 00 00 01 "
    "\n\nConfict Sets:\n"
    "\n   c-set 0:    01 00 01 00 "
    "\n\n"
    "Running\n"
    "Types:         Not Reported!\n"
    "\n"
    "Conflict\n"
    "Aggregate Set: Not Reported!\n"
    "\n"
    "Simple Type Enforcement policy:\n"
    "===============================\n"
    "Policy version= 1.\n"
    "Max Types     = 6.\n"
    "Max Ssidrefs  = e.\n"
    "Ssidrefs Off  = 14.\n"
    "\n"
    "SSID To STE-Type matrix:\n"
    "\n   ssidref 0: 00 00 00 00 00 00 "
    "\n   ssidref 1: 01 01 01 01 01 01  <-- Domain-0"
    "\n   ssidref 2: 01 00 00 00 00 00 "
    "\n   ssidref 3: 00 01 00 00 00 00 "
    "\n   ssidref 4: 00 00 00 00 01 00 "
    "\n   ssidref 5: 01 01 01 00 01 00 "
    "\n   ssidref 6: 00 01 00 01 01 00 "
    "\n   ssidref 7: 00 00 01 00 00 00 "
    "\n   ssidref 8: 00 00 00 00 00 01 "
    "\n   ssidref 9: 00 00 00 01 00 00 "
    "\n   ssidref a: 00 00 00 00 01 00 "
    "\n   ssidref b: 00 01 00 00 00 00 "
    "\n   ssidref c: 00 00 00 00 00 01 "
    "\n   ssidref d: 00 00 00 00 01 00 "
    "\n\n";

TEST(DumpTest, PrintsClientV1AsXensecToolDoes) {
  EXPECT_EQ(DumpBinaryPolicy(testing::ClientV1Policy(), Ssidref{0x00010001}), kClientV1Dump);
}

TEST(DumpTest, MarksTheDomain0RowOfEachComponentSeparately) {
  const std::string text = DumpBinaryPolicy(testing::ClientV1Policy(), Ssidref{0x00050004});
  EXPECT_THAT(text, HasSubstr("ssidref 4:  00 00 01 00  <-- Domain-0"));
  EXPECT_THAT(text, HasSubstr("ssidref 5: 01 01 01 00 01 00  <-- Domain-0"));
  EXPECT_THAT(text, Not(HasSubstr("ssidref 1:  00 00 00 01  <-- Domain-0")));
}

TEST(DumpTest, LiveVariantReportsRunningTypesAndAggregateAtXensOffsets) {
  const std::array<std::uint16_t, 4> running{0, 1, 0, 1};
  const std::array<std::uint16_t, 4> aggregate{1, 0, 1, 0};
  const std::string text = DumpBinaryPolicy(testing::ClientV1Policy(), Ssidref{0x00010001},
                                            ChwallLiveState{running, aggregate});
  // CHWALL block: 0x24 + 0x38 (S×T) + 8 (C×T) = 0x64 running, 0x6c aggregate, 0x74 -> 0x78 padded.
  EXPECT_THAT(text, HasSubstr("Runing T. Off = 64.\nC. Agg. Off   = 6c.\n"));
  EXPECT_THAT(text, HasSubstr("Len       = 18c.\n"));
  EXPECT_THAT(text, HasSubstr("Secondary = SIMPLE TYPE ENFORCEMENT (c=2, off=cc).\n"));
  EXPECT_THAT(text, HasSubstr("\nRunning\nTypes:         00 01 00 01 \n"));
  EXPECT_THAT(text, HasSubstr("\nConflict\nAggregate Set: 01 00 01 00 \n\n\nSimple Type"));
}

TEST(DumpTest, PrintsTheNullSecondaryOfAnSteOnlyPolicy) {
  const std::string text = DumpBinaryPolicy(testing::SteOnlyPolicy(), Ssidref{1});
  EXPECT_THAT(text, HasSubstr("Primary   = SIMPLE TYPE ENFORCEMENT (c=2, off=54).\n"
                              "Secondary = NULL (c=0, off=8c).\n"));
  EXPECT_THAT(text, HasSubstr("ssidref 1: 01 01 01  <-- Domain-0"));
  EXPECT_TRUE(text.ends_with("\n\nSecondary policy is NULL Policy (n/a).\n"));
}

TEST(DumpTest, PrintsBothNullComponentsOfANullPolicy) {
  const std::string text = DumpBinaryPolicy(testing::NullPolicy(), Ssidref{0});
  EXPECT_TRUE(
      text.ends_with("Primary   = NULL (c=0, off=4c).\nSecondary = NULL (c=0, off=4c).\n"
                     "Primary policy is NULL Policy (n/a).\n"
                     "Secondary policy is NULL Policy (n/a).\n"));
}

}  // namespace
TEST(DumpTest, CellsKeepPrintfsTwoDigitMinimumAndWiderValues) {
  BinaryPolicy policy = testing::SteOnlyPolicy();
  auto& cells = policy.ste->ssids.cells;
  ASSERT_GE(cells.size(), 6u);
  cells[3] = 0x0;
  cells[4] = 0x1ab;
  cells[5] = 0xfffe;
  const std::string text = DumpBinaryPolicy(policy, Ssidref{1});
  EXPECT_THAT(text, HasSubstr("ssidref 1: 00 1ab fffe "));
}

}  // namespace shype::policy
