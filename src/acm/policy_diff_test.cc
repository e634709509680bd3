// SPDX-License-Identifier: Apache-2.0
//
// DiffPolicies on the project's own policies, with every result exact: labels added and removed,
// renames, sharing gained and lost (VM and resource pairs), conflicts, invalidated resources.
#include <gtest/gtest.h>

#include "policy_analysis_test.h"
#include "shype/acm/policy_analysis.h"

namespace shype::acm {
namespace {

using policyc::LabelRename;
using testing::CompileFile;
using testing::CompileText;
using testing::ReadText;
using Names = std::vector<std::string>;

std::string Replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(PolicyDiffTest, FromTheExampleDemoToTheTestDemo) {
  auto old_policy = CompileFile("examples/policies/shype-demo.xml");
  auto new_policy = CompileFile("tests/data/policies/shype-demo.xml");
  ASSERT_TRUE(old_policy && new_policy);
  const std::vector<StoredResourceLabel> stored = {{"file:/img/bank.img", "res_Bank"}};
  auto d = DiffPolicies(*old_policy, *new_policy, stored);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_TRUE(d->vm_renames.empty());
  EXPECT_TRUE(d->resource_renames.empty());
  EXPECT_EQ(d->vm_labels_added, Names{"BankAudit"});
  EXPECT_EQ(d->vm_labels_removed, Names{"Monitor"});
  EXPECT_EQ(d->resource_labels_added,
            (Names{"ManagementDisk", "BankDisk", "BankNet", "GameDisk", "GameNet"}));
  EXPECT_EQ(d->resource_labels_removed, (Names{"res_Bank", "res_Game", "res_Monitoring"}));
  const TypeNames bank = {"Bank"}, game = {"Game"}, mon = {"Monitoring"};
  using K = PairKind;
  EXPECT_EQ(d->sharing_gained,
            (std::vector<SharingChange>{
                {K::kVm, "SystemManagement", "BankAudit", bank},
                {K::kVm, "Bank", "BankAudit", bank},
                {K::kVm, "BankAudit", "BankAudit", bank},
                {K::kResource, "SystemManagement", "ManagementDisk", {"SystemManagement"}},
                {K::kResource, "SystemManagement", "BankDisk", bank},
                {K::kResource, "SystemManagement", "BankNet", bank},
                {K::kResource, "SystemManagement", "GameDisk", game},
                {K::kResource, "SystemManagement", "GameNet", game},
                {K::kResource, "Bank", "BankDisk", bank},
                {K::kResource, "Bank", "BankNet", bank},
                {K::kResource, "BankAudit", "BankDisk", bank},
                {K::kResource, "BankAudit", "BankNet", bank},
                {K::kResource, "Game", "GameDisk", game},
                {K::kResource, "Game", "GameNet", game}}));
  EXPECT_EQ(d->sharing_lost,
            (std::vector<SharingChange>{{K::kVm, "SystemManagement", "Monitor", mon},
                                        {K::kVm, "Monitor", "Monitor", mon},
                                        {K::kResource, "SystemManagement", "res_Bank", bank},
                                        {K::kResource, "SystemManagement", "res_Game", game},
                                        {K::kResource, "SystemManagement", "res_Monitoring", mon},
                                        {K::kResource, "Bank", "res_Bank", bank},
                                        {K::kResource, "Game", "res_Game", game},
                                        {K::kResource, "Monitor", "res_Monitoring", mon}}));
  // Bank × Game stays in conflict (its set renamed Rivals -> BankVsGame): not a change.
  EXPECT_EQ(d->conflicts_added,
            (std::vector<LabelConflict>{{"BankAudit", "Game", {{"BankVsGame", "Bank", "Game"}}}}));
  EXPECT_TRUE(d->conflicts_dropped.empty());
  EXPECT_EQ(d->invalidated, stored);
}

TEST(PolicyDiffTest, RenamesKeepWhatTheLabelsShare) {
  const std::string xml = ReadText("tests/data/policies/many-conflicts.xml");
  std::string old_xml =
      Replaced(xml, "<Name from=\"vm_a_old\">vm_a</Name>", "<Name>vm_a_old</Name>");
  old_xml = Replaced(old_xml, "<Name from=\"old_disk\">disk_b</Name>", "<Name>old_disk</Name>");
  auto old_policy = CompileText(old_xml, "old.xml");
  auto new_policy = CompileText(xml, "many-conflicts.xml");
  ASSERT_TRUE(old_policy && new_policy);
  const std::vector<StoredResourceLabel> stored = {
      {"file:/a.img", "old_disk"}, {"file:/b.img", "Disk_A"}, {"file:/c.img", "gone"}};
  auto d = DiffPolicies(*old_policy, *new_policy, stored);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->vm_renames, (std::vector<LabelRename>{{"vm_a_old", "vm_a"}}));
  EXPECT_EQ(d->resource_renames, (std::vector<LabelRename>{{"old_disk", "disk_b"}}));
  EXPECT_TRUE(d->vm_labels_added.empty() && d->vm_labels_removed.empty());
  EXPECT_TRUE(d->resource_labels_added.empty() && d->resource_labels_removed.empty());
  EXPECT_TRUE(d->sharing_gained.empty());
  EXPECT_TRUE(d->sharing_lost.empty());
  EXPECT_TRUE(d->conflicts_added.empty());
  EXPECT_TRUE(d->conflicts_dropped.empty());
  EXPECT_EQ(d->invalidated, (std::vector<StoredResourceLabel>{{"file:/c.img", "gone"}}));
}

TEST(PolicyDiffTest, APolicyAgainstItselfChangesNothing) {
  auto policy = CompileFile("tests/data/policies/many-conflicts.xml");
  ASSERT_TRUE(policy);
  auto d = DiffPolicies(*policy, *policy);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, PolicyDiff{});  // vm_a_old is no label of the old policy: nothing is renamed
}

TEST(PolicyDiffTest, ADroppedConflictSetAndChangedTypes) {
  const std::string xml = ReadText("tests/data/policies/many-conflicts.xml");
  std::string new_xml = Replaced(xml,
                                 "<Conflict name=\"zeta\">\n"
                                 "        <Type>A</Type>\n"
                                 "        <Type>D</Type>\n"
                                 "      </Conflict>",
                                 "");
  // VM_B now carries alpha instead of Beta.
  new_xml = Replaced(new_xml,
                     "<Name>VM_B</Name>\n        <SimpleTypeEnforcementTypes>\n"
                     "          <Type>Beta</Type>",
                     "<Name>VM_B</Name>\n        <SimpleTypeEnforcementTypes>\n"
                     "          <Type>alpha</Type>");
  auto old_policy = CompileText(xml, "old.xml");
  auto new_policy = CompileText(new_xml, "new.xml");
  ASSERT_TRUE(old_policy && new_policy);
  auto d = DiffPolicies(*old_policy, *new_policy);
  ASSERT_TRUE(d) << d.error().message;
  const TypeNames al = {"alpha"}, be = {"Beta"};
  using K = PairKind;
  EXPECT_EQ(d->sharing_gained, (std::vector<SharingChange>{{K::kVm, "vm_a", "VM_B", al},
                                                           {K::kResource, "VM_B", "Disk_A", al}}));
  // VM_B × Mgmt shares alpha now instead of Beta: still sharing, not a change.
  EXPECT_EQ(d->sharing_lost, (std::vector<SharingChange>{{K::kResource, "VM_B", "disk_b", be}}));
  EXPECT_TRUE(d->conflicts_added.empty());
  EXPECT_EQ(d->conflicts_dropped,
            (std::vector<LabelConflict>{{"vm_d", "vm_a", {{"zeta", "D", "A"}}}}));
}

}  // namespace
}  // namespace shype::acm
