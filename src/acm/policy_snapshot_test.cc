// SPDX-License-Identifier: Apache-2.0
//
// PolicySnapshot: the worked example's rows and ssidrefs (spec-acm §3.10) and the consistency
// checks between a binary policy and its label map.
#include "policy_snapshot.h"

#include <gtest/gtest.h>

#include <string>

#include "test_policy.h"

namespace shype::acm {
namespace {

using testing::BuildPolicy;
using testing::ClientV1Spec;

std::shared_ptr<const PolicySnapshot> Snapshot(const testing::PolicySpec& spec) {
  auto built = BuildPolicy(spec);
  auto snapshot = PolicySnapshot::Create(built.binary, built.labels, PolicySeqno{1});
  EXPECT_TRUE(snapshot) << snapshot.error().message;
  return snapshot ? *snapshot : nullptr;
}

std::string SteRowText(const PolicySnapshot& p, std::uint32_t row) {
  std::string text;
  for (std::uint32_t t = 0; t < p.labels().ste_types.size(); ++t) {
    text += p.SteBits(row).Has(t) ? '1' : '0';
  }
  return text;
}

TEST(PolicySnapshotTest, ClientV1RowsMatchTheWorkedExample) {
  auto p = Snapshot(ClientV1Spec());
  ASSERT_NE(p, nullptr);
  const char* expected[] = {"000000", "111111", "100000", "010000", "000010", "111010", "010110",
                            "001000", "000001", "000100", "000010", "010000", "000001", "000010"};
  ASSERT_EQ(p->ste_row_count(), 14U);
  for (std::uint32_t row = 0; row < 14; ++row) EXPECT_EQ(SteRowText(*p, row), expected[row]) << row;
  EXPECT_EQ(p->labels().vm_labels[0], policy::kNullLabel);
  EXPECT_EQ(p->VmSsidref("dom_HomeBanking"), Ssidref{0x00040004});
  EXPECT_EQ(p->ResourceSsidref("res_SecurityToken"), Ssidref{0x000d0000});
  EXPECT_EQ(p->VmLabelOf(Ssidref{0x00030003}), "dom_Fun");
  EXPECT_EQ(p->VmLabelOf(Ssidref{0x00030004}), std::nullopt);  // halves name different rows
  EXPECT_EQ(p->VmLabelOf(Ssidref{0x000d000d}), std::nullopt);  // a resource row is no VM label
}

TEST(PolicySnapshotTest, ClientV1ConflictSetBlocksTheOtherMember) {
  auto p = Snapshot(ClientV1Spec());
  ASSERT_NE(p, nullptr);
  // CHWALL columns: 0 cw_Distrusted, 1 cw_Isolated, 2 cw_Sensitive, 3 cw_SystemManagement.
  const auto fun = p->BlockedBy(3);
  EXPECT_EQ(std::vector<std::uint32_t>(fun.begin(), fun.end()), std::vector<std::uint32_t>{2});
  EXPECT_TRUE(p->BlockedBy(2).empty());  // dom_BoincClient's type is in no conflict set
}

TEST(PolicySnapshotTest, RejectsALabelMapOfAnotherShape) {
  auto built = BuildPolicy(ClientV1Spec());
  built.labels.resource_labels.pop_back();
  auto snapshot = PolicySnapshot::Create(built.binary, built.labels, PolicySeqno{1});
  ASSERT_FALSE(snapshot);
  EXPECT_EQ(snapshot.error().code, ErrorCode::kPolicyInvalid);
  EXPECT_NE(snapshot.error().message.find("STE matrix"), std::string::npos);
}

TEST(PolicySnapshotTest, RejectsTheCompilersUndefinedSecondary) {
  auto built = BuildPolicy(ClientV1Spec());
  built.binary.secondary = built.labels.secondary = policy::PolicyCode::kUndefined;
  auto snapshot = PolicySnapshot::Create(built.binary, built.labels, PolicySeqno{1});
  ASSERT_FALSE(snapshot);
  EXPECT_EQ(snapshot.error().code, ErrorCode::kPolicyInvalid);
}

TEST(PolicySnapshotTest, RejectsAMatrixWithTooFewCells) {
  auto built = BuildPolicy(ClientV1Spec());
  built.binary.ste->ssids.cells.pop_back();
  EXPECT_FALSE(PolicySnapshot::Create(built.binary, built.labels, PolicySeqno{1}));
}

}  // namespace
}  // namespace shype::acm
