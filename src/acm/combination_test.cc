// SPDX-License-Identifier: Apache-2.0
//
// The four component combinations (and STE primary + CHWALL secondary): which component decides
// sharing and which decides admission; a NULL component permits (spec-acm §1.2, §4.3).
#include <gtest/gtest.h>

#include "acm_test_fixture.h"

namespace shype::acm {
namespace {

using policy::PolicyCode;

struct Combination {
  const char* name;
  PolicyCode primary;
  PolicyCode secondary;
  Decision disjoint_share;
  Decision conflicting_create;
};

testing::PolicySpec TwoLabelSpec(PolicyCode primary, PolicyCode secondary) {
  testing::PolicySpec spec;
  spec.primary = primary;
  spec.secondary = secondary;
  spec.vm_labels = {{"SystemManagement", {"ste_a", "ste_b"}, {"cw_mgmt"}},
                    {"dom_a", {"ste_a"}, {"cw_a"}},
                    {"dom_b", {"ste_b"}, {"cw_b"}}};
  spec.resource_labels = {{"res_a", {"ste_a"}}};
  spec.conflict_sets = {{"a_vs_b", {"cw_a", "cw_b"}}};
  return spec;
}

class CombinationTest : public testing::AcmFixture,
                        public ::testing::WithParamInterface<Combination> {};

TEST_P(CombinationTest, OnlyTheActiveComponentsDecide) {
  const Combination& c = GetParam();
  Load(TwoLabelSpec(c.primary, c.secondary));
  Start(1, "dom_a");
  Start(2, "dom_a");
  EXPECT_EQ(acm.CheckShare(DomainId{1}, DomainId{2}, ShareKind::kDoorbell), Decision::kPermit);
  EXPECT_EQ(acm.CheckShare(DomainId{1}, kDomain0, ShareKind::kDoorbell), Decision::kPermit);
  EXPECT_EQ(acm.CheckDomainCreate(DomainId{3}, Vm("dom_b")).decision, c.conflicting_create);
  ASSERT_TRUE(acm.DomainDestroy(DomainId{1}));
  ASSERT_TRUE(acm.DomainDestroy(DomainId{2}));
  acm.DomainDestroy(DomainId{3}).value_or(std::vector<Sharing>{});
  Start(4, "dom_a");
  Start(5, "dom_a");
  if (c.conflicting_create == Decision::kPermit) {
    Start(6, "dom_b");
    EXPECT_EQ(acm.CheckShare(DomainId{4}, DomainId{6}, ShareKind::kNetwork), c.disjoint_share);
  }
  const auto res = acm.active_policy()->has_ste() ? Res("res_a") : Ssidref{0};
  EXPECT_EQ(acm.CheckResourceAccess(DomainId{4}, res, ResourceKind::kDisk), Decision::kPermit);
}

TEST_P(CombinationTest, SteRowsAreReadFromTheComponentsHalf) {
  const Combination& c = GetParam();
  Load(TwoLabelSpec(c.primary, c.secondary));
  if (!acm.active_policy()->has_ste()) GTEST_SKIP() << "no STE component";
  const Ssidref res = Res("res_a");
  // The resource row (4, after rows 0-3 of the VM labels) sits in the low half iff STE is primary.
  EXPECT_EQ(res.value(), c.primary == PolicyCode::kSimpleTypeEnforcement ? 4U : 4U << 16);
  Start(1, "dom_b");
  EXPECT_EQ(acm.CheckResourceAccess(DomainId{1}, res, ResourceKind::kDisk), Decision::kDeny);
}

INSTANTIATE_TEST_SUITE_P(
    Combinations, CombinationTest,
    ::testing::Values(Combination{"Null", PolicyCode::kNull, PolicyCode::kNull, Decision::kPermit,
                                  Decision::kPermit},
                      Combination{"ChineseWall", PolicyCode::kChineseWall, PolicyCode::kNull,
                                  Decision::kPermit, Decision::kDeny},
                      Combination{"Ste", PolicyCode::kSimpleTypeEnforcement, PolicyCode::kNull,
                                  Decision::kDeny, Decision::kPermit},
                      Combination{"ChineseWallAndSte", PolicyCode::kChineseWall,
                                  PolicyCode::kSimpleTypeEnforcement, Decision::kDeny,
                                  Decision::kDeny},
                      Combination{"SteAndChineseWall", PolicyCode::kSimpleTypeEnforcement,
                                  PolicyCode::kChineseWall, Decision::kDeny, Decision::kDeny}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace shype::acm
