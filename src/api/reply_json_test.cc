// SPDX-License-Identifier: Apache-2.0
//
// The JSON of each typed reply, byte for byte: docs/api.md's field names, and the bytes shyped
// and the offline CLI printed before replies were typed (keys sorted, absent fields absent).
#include "shype/api/reply_json.h"

#include <gtest/gtest.h>

namespace shype::api {
namespace {

TEST(ReplyJsonTest, LabelsCarryPolicyTypeAndSortedLabels) {
  LabelsReply reply{"example.test", "res", {"CocaCola", "PepsiCo"}};
  EXPECT_EQ(ToJson(reply).dump(),
            R"({"labels":["CocaCola","PepsiCo"],"policy":"example.test","type":"res"})");
  EXPECT_EQ(ToJson(LabelsReply{"DEFAULT", "dom", {}}).dump(),
            R"({"labels":[],"policy":"DEFAULT","type":"dom"})");
}

TEST(ReplyJsonTest, AResourceLabelHasItsFourFields) {
  ResourceLabelReply label{"file:/img/a", LabelKind::kAcm, "example.test", "PepsiCo"};
  EXPECT_EQ(ToJson(label).dump(),
            R"({"label":"PepsiCo","policy":"example.test","policy_type":"ACM",)"
            R"("resource":"file:/img/a"})");
}

TEST(ReplyJsonTest, ResourcesListEveryLabelAndAnEmptyListStaysAList) {
  EXPECT_EQ(ToJson(ResourcesReply{}).dump(), R"({"resources":[]})");
  ResourcesReply two{
      {{"vnet:a", LabelKind::kAcm, "p", "A"}, {"shm:b", LabelKind::kInvalidated, "p", "B"}}};
  EXPECT_EQ(ToJson(two)["resources"].size(), 2U);
  EXPECT_EQ(ToJson(two)["resources"][1], ToJson(two.resources[1]));
  EXPECT_EQ(ToJson(two.resources[1]).dump(),
            R"({"label":"B","policy":"p","policy_type":"INV_ACM","resource":"shm:b"})");
}

TEST(ReplyJsonTest, DryRunOmitsPermittedWhenTheChineseWallWasNotChecked) {
  DryRunReply reply;
  reply.domain = {"pepsi1", "PepsiCo", "example.test", Ssidref::FromParts(2, 3), true, ""};
  reply.resources.push_back(
      {"file:/img/c", false, "CocaCola", "example.test", LabelKind::kAcm, "denied"});
  reply.chinese_wall = {false, true, "shyped is not running"};
  reply.passed = false;
  reply.refusals = {"p.cfg: 'kernel' is required"};
  reply.unchecked = {"the accelerator"};
  EXPECT_EQ(ToJson(reply).dump(),
            R"({"chinese_wall":{"checked":false,"reason":"shyped is not running"},)"
            R"("domain":{"label":"PepsiCo","name":"pepsi1","permitted":true,"policy":)"
            R"("example.test","reason":"","ssidref":196610},"passed":false,)"
            R"("refusals":["p.cfg: 'kernel' is required"],"resources":)"
            R"([{"permitted":false,"reason":"denied","res_label":"CocaCola","res_policy":)"
            R"("example.test","res_policy_type":"ACM","resource":"file:/img/c"}],)"
            R"("unchecked":["the accelerator"]})");
  reply.chinese_wall = {true, false, "conflicts with 'coke1'"};
  reply.resources.clear();
  EXPECT_EQ(ToJson(reply)["chinese_wall"].dump(),
            R"({"checked":true,"permitted":false,"reason":"conflicts with 'coke1'"})");
  EXPECT_EQ(ToJson(reply)["resources"].dump(), "[]");
}

TEST(ReplyJsonTest, EncodeReplyEncodesValuesVoidAsAnEmptyObjectAndPassesErrorsOn) {
  EXPECT_EQ(*EncodeReply(Result<LabelsReply>(LabelsReply{"p", "any", {}})),
            ToJson(LabelsReply{"p", "any", {}}));
  EXPECT_EQ(EncodeReply(Result<void>())->dump(), "{}");
  auto refused = EncodeReply(Result<void>(Fail(ErrorCode::kNotFound, "Resource not labeled")));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(refused.error().message, "Resource not labeled");
}

TEST(ReplyJsonTest, GetPolicyIsThePolicyWithItsHistory) {
  PolicyReply reply{{"example.test", "1.1", "ab12", false, "SystemManagement", 1700000000, true},
                    {{"example.test", "1.0", "cd34", 1600000000}}};
  EXPECT_EQ(ToJson(reply).dump(),
            R"({"bootstrap":"SystemManagement","history":[{"installed_at":1600000000,)"
            R"("name":"example.test","reference":"cd34","version":"1.0"}],)"
            R"("installed_at":1700000000,"is_default":false,"loaded":true,)"
            R"("name":"example.test","reference":"ab12","type":"ACM","version":"1.1"})");
  EXPECT_EQ(ToJson(PolicyReply{})["history"].dump(), "[]");
}

TEST(ReplyJsonTest, APolicyChangeListsWhatItRelabeled) {
  PolicyChangeReply change{true,
                           {"DEFAULT", "1.0", "00", true, "SystemManagement", 0, false},
                           {{"file:/img/a", "*", "__INACCESSIBLE__"},
                            {"file:/img/b", "old", "Gone", LabelKind::kInvalidated}}};
  EXPECT_EQ(ToJson(change).dump(),
            R"({"check_only":true,"policy":{"bootstrap":"SystemManagement","installed_at":0,)"
            R"("is_default":true,"loaded":false,"name":"DEFAULT","reference":"00","type":"ACM",)"
            R"("version":"1.0"},"relabeled_resources":[{"label":"__INACCESSIBLE__",)"
            R"("policy":"*","resource":"file:/img/a","type":"ACM"},{"label":"Gone",)"
            R"("policy":"old","resource":"file:/img/b","type":"INV_ACM"}]})");
  EXPECT_EQ(ToJson(PolicyChangeReply{})["relabeled_resources"].dump(), "[]");
  EXPECT_EQ(ToJson(PolicyDumpReply{"POLICY REFERENCE = DEFAULT.\n"}).dump(),
            R"({"text":"POLICY REFERENCE = DEFAULT.\n"})");
}

TEST(ReplyJsonTest, AnAnalysisHasEveryFieldOfTheContract) {
  PolicyAnalysisReply r;
  r.policy = {"demo", "1.0", "active"};
  r.ste_types = {"A", "B"};
  r.chwall_types = {"A"};
  r.conflict_sets = {{"AvB", {"A"}}};
  r.vm_labels = {{"L", {"A"}, {"A"}}};
  r.resource_labels = {{"R", {"B"}, {}}};
  r.vm_matrix = {{"L"}, {"L"}, {{{"A"}}}};
  r.resource_matrix = {{"L"}, {"R"}, {{{}}}};
  r.conflicts = {{"L", "M", {{"AvB", {"A", "B"}}}}};
  r.reach_nothing = {"L"};
  r.unused_ste_types = {"B"};
  r.running_domains = {{"Domain-0", 0, "L"}, {"web", 3, "L"}};
  r.running_sharing = {{"", "Domain-0", "web", {"A"}}};
  EXPECT_EQ(ToJson(r).dump(),
            R"({"chwall_types":["A"],"conflict_sets":[{"name":"AvB","types":["A"]}],)"
            R"("conflicts":[{"a":"L","b":"M","sets":[{"name":"AvB","types":["A","B"]}]}],)"
            R"("policy":{"name":"demo","source":"active","version":"1.0"},)"
            R"("reach_everything":[],"reach_nothing":["L"],"resource_labels":)"
            R"([{"name":"R","ste_types":["B"]}],"resource_matrix":{"cols":["R"],"rows":["L"],)"
            R"("types":[[[]]]},"running":{"domains":[{"id":0,"label":"L","name":"Domain-0"},)"
            R"({"id":3,"label":"L","name":"web"}],"sharing":[{"a":"Domain-0","b":"web",)"
            R"("types":["A"]}]},"ste_types":["A","B"],"unused_chwall_types":[],)"
            R"("unused_ste_types":["B"],"vm_labels":[{"chwall_types":["A"],"name":"L",)"
            R"("ste_types":["A"]}],"vm_matrix":{"cols":["L"],"rows":["L"],"types":[[["A"]]]}})");
}

TEST(ReplyJsonTest, ADiffHasEveryFieldOfTheContract) {
  PolicyDiffReply r;
  r.old_policy = {"demo", "1.0", "active"};
  r.new_policy = {"demo", "1.1", "new.xml"};
  r.vm_renames = {{"Old", "New"}};
  r.vm_labels_added = {"Extra"};
  r.sharing_gained = {{"vm", "New", "Extra", {"A"}}};
  r.sharing_lost = {{"resource", "New", "disk", {"B"}}};
  r.conflicts_dropped = {{"New", "Extra", {{"AvB", {"A", "B"}}}}};
  r.invalidated_resources = {{"file:/d.img", "disk"}};
  r.dry_run = {false,
               {{"label-missing", "label 'X' of domain 3 is not in the new policy", {"web"}}}};
  EXPECT_EQ(ToJson(r).dump(),
            R"({"conflicts_added":[],"conflicts_dropped":[{"a":"New","b":"Extra","sets":)"
            R"([{"name":"AvB","types":["A","B"]}]}],"dry_run":{"accepted":false,"violations":)"
            R"([{"domains":["web"],"kind":"label-missing","message":"label 'X' of domain 3 is )"
            R"(not in the new policy"}]},"invalidated_resources":[{"label":"disk","resource":)"
            R"("file:/d.img"}],"new":{"name":"demo","source":"new.xml","version":"1.1"},)"
            R"("old":{"name":"demo","source":"active","version":"1.0"},"resource_labels_added":)"
            R"([],"resource_labels_removed":[],"resource_renames":[],"sharing_gained":[{"a":)"
            R"("New","b":"Extra","kind":"vm","types":["A"]}],"sharing_lost":[{"a":"New","b":)"
            R"("disk","kind":"resource","types":["B"]}],"vm_labels_added":["Extra"],)"
            R"("vm_labels_removed":[],"vm_renames":[{"from":"Old","to":"New"}]})");
}

}  // namespace
}  // namespace shype::api
