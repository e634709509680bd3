// SPDX-License-Identifier: Apache-2.0
//
// AnalyzePolicy on the project's own policies, with every result exact; and its agreement with
// the monitor's hooks (the same STE and Chinese Wall decisions) on every pair of labels.
#include "shype/acm/policy_analysis.h"

#include <gtest/gtest.h>

#include "policy_analysis_test.h"
#include "shype/acm/acm.h"
#include "shype/policyc/builtin_default.h"

namespace shype::acm {
namespace {

using policyc::LabelTypes;
using policyc::NamedConflictSet;
using testing::CompileFile;
using Cells = std::vector<std::vector<TypeNames>>;

PolicyAnalysis Analyze(const std::string& file, std::span<const AnalysisDomain> running = {}) {
  auto compiled = CompileFile(file);
  if (!compiled) return {};
  auto analysis = AnalyzePolicy(*compiled, running);
  EXPECT_TRUE(analysis) << analysis.error().message;
  return analysis.value_or(PolicyAnalysis{});
}

TEST(PolicyAnalysisTest, ShypeDemoTestPolicy) {
  const PolicyAnalysis a = Analyze("tests/data/policies/shype-demo.xml");
  const TypeNames types = {"Bank", "Game", "SystemManagement"};
  EXPECT_EQ(a.ste_types, types);
  EXPECT_EQ(a.chwall_types, types);
  EXPECT_EQ(a.conflict_sets, (std::vector<NamedConflictSet>{{"BankVsGame", {"Bank", "Game"}}}));
  EXPECT_EQ(a.vm_labels, (std::vector<LabelTypes>{{"SystemManagement", types, {"SystemManagement"}},
                                                  {"Bank", {"Bank"}, {"Bank"}},
                                                  {"BankAudit", {"Bank"}, {"Bank"}},
                                                  {"Game", {"Game"}, {"Game"}}}));
  EXPECT_EQ(a.resource_labels,
            (std::vector<LabelTypes>{{"ManagementDisk", {"SystemManagement"}, {}},
                                     {"BankDisk", {"Bank"}, {}},
                                     {"BankNet", {"Bank"}, {}},
                                     {"GameDisk", {"Game"}, {}},
                                     {"GameNet", {"Game"}, {}}}));
  const std::vector<std::string> vms = {"SystemManagement", "Bank", "BankAudit", "Game"};
  EXPECT_EQ(a.vm_matrix.rows, vms);
  EXPECT_EQ(a.vm_matrix.cols, vms);
  EXPECT_EQ(a.vm_matrix.cells, (Cells{{types, {"Bank"}, {"Bank"}, {"Game"}},
                                      {{"Bank"}, {"Bank"}, {"Bank"}, {}},
                                      {{"Bank"}, {"Bank"}, {"Bank"}, {}},
                                      {{"Game"}, {}, {}, {"Game"}}}));
  EXPECT_EQ(a.resource_matrix.rows, vms);
  EXPECT_EQ(a.resource_matrix.cols, (std::vector<std::string>{"ManagementDisk", "BankDisk",
                                                              "BankNet", "GameDisk", "GameNet"}));
  EXPECT_EQ(a.resource_matrix.cells,
            (Cells{{{"SystemManagement"}, {"Bank"}, {"Bank"}, {"Game"}, {"Game"}},
                   {{}, {"Bank"}, {"Bank"}, {}, {}},
                   {{}, {"Bank"}, {"Bank"}, {}, {}},
                   {{}, {}, {}, {"Game"}, {"Game"}}}));
  // Two Bank-typed labels never conflict with each other: a label's own types never block it.
  EXPECT_EQ(a.conflicts,
            (std::vector<LabelConflict>{{"Bank", "Game", {{"BankVsGame", "Bank", "Game"}}},
                                        {"BankAudit", "Game", {{"BankVsGame", "Bank", "Game"}}}}));
  EXPECT_EQ(a.reach_nothing, std::vector<std::string>{});
  EXPECT_EQ(a.reach_everything, std::vector<std::string>{"SystemManagement"});
  EXPECT_EQ(a.unused_ste_types, TypeNames{});
  EXPECT_EQ(a.unused_chwall_types, TypeNames{});
  EXPECT_TRUE(a.domains.empty());
  EXPECT_TRUE(a.sharing.empty());
}

TEST(PolicyAnalysisTest, ShypeDemoExamplePolicy) {
  const PolicyAnalysis a = Analyze("examples/policies/shype-demo.xml");
  const TypeNames types = {"Bank", "Game", "Monitoring", "SystemManagement"};
  EXPECT_EQ(a.ste_types, types);
  EXPECT_EQ(a.conflict_sets, (std::vector<NamedConflictSet>{{"Rivals", {"Bank", "Game"}}}));
  EXPECT_EQ(a.vm_matrix.rows,
            (std::vector<std::string>{"SystemManagement", "Bank", "Game", "Monitor"}));
  EXPECT_EQ(a.vm_matrix.cells, (Cells{{types, {"Bank"}, {"Game"}, {"Monitoring"}},
                                      {{"Bank"}, {"Bank"}, {}, {}},
                                      {{"Game"}, {}, {"Game"}, {}},
                                      {{"Monitoring"}, {}, {}, {"Monitoring"}}}));
  EXPECT_EQ(a.resource_matrix.cols,
            (std::vector<std::string>{"res_Bank", "res_Game", "res_Monitoring"}));
  EXPECT_EQ(a.resource_matrix.cells, (Cells{{{"Bank"}, {"Game"}, {"Monitoring"}},
                                            {{"Bank"}, {}, {}},
                                            {{}, {"Game"}, {}},
                                            {{}, {}, {"Monitoring"}}}));
  EXPECT_EQ(a.conflicts,
            (std::vector<LabelConflict>{{"Bank", "Game", {{"Rivals", "Bank", "Game"}}}}));
  EXPECT_EQ(a.reach_nothing, std::vector<std::string>{});
  EXPECT_EQ(a.reach_everything, std::vector<std::string>{"SystemManagement"});
  EXPECT_EQ(a.unused_ste_types, TypeNames{});
  EXPECT_EQ(a.unused_chwall_types, TypeNames{});
}

TEST(PolicyAnalysisTest, ShypeCloudPolicy) {
  const PolicyAnalysis a = Analyze("tests/data/policies/shype-cloud.xml");
  const TypeNames all = {"CustomerA", "CustomerB", "CustomerC", "SystemManagement"};
  EXPECT_EQ(a.ste_types, all);
  EXPECT_EQ(a.chwall_types,
            (TypeNames{"CustomerA", "CustomerB", "CustomerC", "Router", "SystemManagement"}));
  EXPECT_EQ(a.vm_labels[4], (LabelTypes{"Router", {"CustomerA", "CustomerB"}, {"Router"}}));
  const TypeNames A = {"CustomerA"}, B = {"CustomerB"}, C = {"CustomerC"},
                  AB = {"CustomerA", "CustomerB"};
  EXPECT_EQ(a.vm_matrix.cells, (Cells{{all, A, B, C, AB},
                                      {A, A, {}, {}, A},
                                      {B, {}, B, {}, B},
                                      {C, {}, {}, C, {}},
                                      {AB, A, B, {}, AB}}));
  EXPECT_EQ(a.resource_matrix.cols,
            (std::vector<std::string>{"ANet", "BNet", "ADisk", "BDisk", "AMem", "BMem"}));
  EXPECT_EQ(a.resource_matrix.cells, (Cells{{A, B, A, B, A, B},
                                            {A, {}, A, {}, A, {}},
                                            {{}, B, {}, B, {}, B},
                                            {{}, {}, {}, {}, {}, {}},
                                            {A, B, A, B, A, B}}));
  EXPECT_EQ(a.conflicts, (std::vector<LabelConflict>{
                             {"CustomerA", "CustomerC", {{"AVsC", "CustomerA", "CustomerC"}}}}));
  EXPECT_EQ(a.reach_nothing, std::vector<std::string>{});
  // The router reaches both customers' labels and resources, but not customer C.
  EXPECT_EQ(a.reach_everything, std::vector<std::string>{"SystemManagement"});
  EXPECT_EQ(a.unused_ste_types, TypeNames{});
  EXPECT_EQ(a.unused_chwall_types, TypeNames{});
}

TEST(PolicyAnalysisTest, ManyConflictsPolicy) {
  const PolicyAnalysis a = Analyze("tests/data/policies/many-conflicts.xml");
  EXPECT_EQ(a.ste_types, (TypeNames{"Beta", "Mgmt", "__UNLABELED__", "_gamma", "alpha"}));
  EXPECT_EQ(a.chwall_types, (TypeNames{"A", "B", "C", "D", "Mgmt"}));
  EXPECT_EQ(a.conflict_sets, (std::vector<NamedConflictSet>{{"Alpha", {"A", "B"}},
                                                            {"_under", {"C"}},
                                                            {"mid", {"B", "C", "D"}},
                                                            {"zeta", {"A", "D"}}}));
  // Only the first STE list of vm_a is read; the __UNLABELED__ resource label has row 0's types.
  EXPECT_EQ(a.vm_labels, (std::vector<LabelTypes>{{"vm_d", {"_gamma"}, {"D"}},
                                                  {"__UNLABELED__", {"__UNLABELED__"}, {}},
                                                  {"vm_a", {"alpha"}, {"A"}},
                                                  {"Mgmt", a.ste_types, {"Mgmt"}},
                                                  {"VM_B", {"Beta"}, {"B", "C"}}}));
  EXPECT_EQ(a.resource_labels, (std::vector<LabelTypes>{{"__UNLABELED__", {"__UNLABELED__"}, {}},
                                                        {"disk_b", {"Beta"}, {}},
                                                        {"Disk_A", {"alpha"}, {}}}));
  const TypeNames g = {"_gamma"}, u = {"__UNLABELED__"}, al = {"alpha"}, be = {"Beta"};
  EXPECT_EQ(a.vm_matrix.cells, (Cells{{g, {}, {}, g, {}},
                                      {{}, u, {}, u, {}},
                                      {{}, {}, al, al, {}},
                                      {g, u, al, a.ste_types, be},
                                      {{}, {}, {}, be, be}}));
  EXPECT_EQ(a.resource_matrix.cells,
            (Cells{{{}, {}, {}}, {u, {}, {}}, {{}, {}, al}, {u, be, al}, {{}, be, {}}}));
  // vm_d (D) and VM_B (B, C): each running blocks the other through 'mid' (D blocks B and C;
  // B or C blocks D); vm_a and vm_d through 'zeta', vm_a and VM_B through 'Alpha'.
  EXPECT_EQ(a.conflicts,
            (std::vector<LabelConflict>{{"vm_d", "vm_a", {{"zeta", "D", "A"}}},
                                        {"vm_d", "VM_B", {{"mid", "D", "B"}, {"mid", "D", "C"}}},
                                        {"vm_a", "VM_B", {{"Alpha", "A", "B"}}}}));
  EXPECT_EQ(a.reach_nothing, std::vector<std::string>{});
  EXPECT_EQ(a.reach_everything, std::vector<std::string>{"Mgmt"});
  EXPECT_EQ(a.unused_ste_types, TypeNames{});
  EXPECT_EQ(a.unused_chwall_types, TypeNames{});
}

TEST(PolicyAnalysisTest, SteOnlyPolicy) {
  const PolicyAnalysis a = Analyze("tests/data/policies/ste-only.xml");
  EXPECT_EQ(a.ste_types, (TypeNames{"db", "mgmt", "web"}));
  EXPECT_EQ(a.chwall_types, TypeNames{});
  EXPECT_TRUE(a.conflict_sets.empty());
  EXPECT_EQ(a.vm_labels, (std::vector<LabelTypes>{{"WebFront", {"web"}, {}},
                                                  {"Host", {"db", "mgmt", "web"}, {}},
                                                  {"AppServer", {"db", "web"}, {}}}));
  const TypeNames w = {"web"}, dw = {"db", "web"};
  EXPECT_EQ(a.vm_matrix.cells, (Cells{{w, w, w}, {w, {"db", "mgmt", "web"}, dw}, {w, dw, dw}}));
  EXPECT_EQ(a.resource_matrix.cells, (Cells{{{}, w}, {{"db"}, w}, {{"db"}, w}}));
  EXPECT_TRUE(a.conflicts.empty());
  EXPECT_EQ(a.reach_nothing, std::vector<std::string>{});
  EXPECT_EQ(a.reach_everything, (std::vector<std::string>{"Host", "AppServer"}));
  EXPECT_EQ(a.unused_ste_types, TypeNames{});
}

TEST(PolicyAnalysisTest, ChineseWallOnlyPolicySharesNothing) {
  const PolicyAnalysis a = Analyze("tests/data/policies/chwall-only.xml");
  EXPECT_EQ(a.ste_types, TypeNames{});
  EXPECT_EQ(a.chwall_types, (TypeNames{"Admin", "Oil_A", "Oil_B"}));
  EXPECT_EQ(a.vm_matrix.cells, (Cells{{{}, {}, {}}, {{}, {}, {}}, {{}, {}, {}}}));
  EXPECT_EQ(a.resource_matrix.cols, std::vector<std::string>{});
  EXPECT_EQ(a.conflicts,
            (std::vector<LabelConflict>{{"OilA", "OilB", {{"Oil", "Oil_A", "Oil_B"}}}}));
  EXPECT_EQ(a.reach_nothing, (std::vector<std::string>{"Admin", "OilA", "OilB"}));
  EXPECT_EQ(a.reach_everything, std::vector<std::string>{});
  EXPECT_EQ(a.unused_chwall_types, TypeNames{});
}

TEST(PolicyAnalysisTest, BuiltinDefaultPolicy) {
  auto policy = policyc::BuiltinDefaultPolicy();
  ASSERT_TRUE(policy) << policy.error().message;
  auto a = AnalyzePolicy(*policy);
  ASSERT_TRUE(a) << a.error().message;
  const TypeNames u = {"__UNLABELED__"};
  EXPECT_EQ(a->vm_labels, (std::vector<LabelTypes>{
                              {"SystemManagement", {"SystemManagement", "__UNLABELED__"}, {}},
                              {"__UNLABELED__", u, {}}}));
  EXPECT_EQ(a->resource_labels, (std::vector<LabelTypes>{{"__UNLABELED__", u, {}}}));
  EXPECT_EQ(a->vm_matrix.cells, (Cells{{{"SystemManagement", "__UNLABELED__"}, u}, {u, u}}));
  EXPECT_EQ(a->resource_matrix.cells, (Cells{{u}, {u}}));
  EXPECT_TRUE(a->conflicts.empty());
  EXPECT_EQ(a->reach_everything, (std::vector<std::string>{"SystemManagement", "__UNLABELED__"}));
  // SystemManagement's CHWALL list is an empty <Type/>: no label carries the type.
  EXPECT_EQ(a->unused_chwall_types, TypeNames{"SystemManagement"});
}

TEST(PolicyAnalysisTest, RunningDomainsThatMayShareNow) {
  const std::vector<AnalysisDomain> running = {{"Domain-0", DomainId{0}, "SystemManagement"},
                                               {"bank1", DomainId{1}, "Bank"},
                                               {"game1", DomainId{2}, "Game"},
                                               {"audit", DomainId{3}, "BankAudit"},
                                               {"ghost", DomainId{4}, "NoSuchLabel"}};
  const PolicyAnalysis a = Analyze("tests/data/policies/shype-demo.xml", running);
  EXPECT_EQ(a.domains, running);
  EXPECT_EQ(a.sharing, (std::vector<DomainSharing>{{"Domain-0", "bank1", {"Bank"}},
                                                   {"Domain-0", "game1", {"Game"}},
                                                   {"Domain-0", "audit", {"Bank"}},
                                                   {"bank1", "audit", {"Bank"}}}));
}

// The analysis decides as the monitor does: every conflict (and no other pair, a label with itself
// included) is CheckDomainCreate's refusal of the second domain in one order of starting them;
// every matrix cell is CheckShare's decision for two domains of those labels.
class RecordingSink final : public AuditSink {
 public:
  void Submit(AuditRecord) override {}
};

// Admits a domain of label `first`, then one of `second`: is the second refused?
bool SecondRefused(const policyc::CompiledPolicy& p, const std::string& first,
                   const std::string& second) {
  SystemClock clock;
  RecordingSink sink;
  Acm acm(clock, sink);
  EXPECT_TRUE(acm.LoadPolicy(p.binary, p.map));
  EXPECT_TRUE(acm.CheckDomainCreate(DomainId{1}, *p.map.VmSsidref(first)).permitted()) << first;
  return !acm.CheckDomainCreate(DomainId{2}, *p.map.VmSsidref(second)).permitted();
}

TEST(PolicyAnalysisTest, ConflictsAreTheAdmissionsRefusals) {
  for (const char* file :
       {"tests/data/policies/many-conflicts.xml", "tests/data/policies/shype-demo.xml",
        "tests/data/policies/shype-cloud.xml"}) {
    SCOPED_TRACE(file);
    auto compiled = CompileFile(file);
    ASSERT_TRUE(compiled);
    auto a = AnalyzePolicy(*compiled);
    ASSERT_TRUE(a);
    const auto& vms = a->vm_matrix.rows;
    for (std::size_t i = 0; i < vms.size(); ++i) {
      for (std::size_t j = i; j < vms.size(); ++j) {
        const bool refused =
            SecondRefused(*compiled, vms[i], vms[j]) || SecondRefused(*compiled, vms[j], vms[i]);
        const bool listed =
            std::any_of(a->conflicts.begin(), a->conflicts.end(),
                        [&](const LabelConflict& c) { return c.a == vms[i] && c.b == vms[j]; });
        EXPECT_EQ(refused, listed) << vms[i] << " × " << vms[j];
      }
    }
  }
}

TEST(PolicyAnalysisTest, SharingAgreesWithCheckShare) {
  auto compiled = CompileFile("tests/data/policies/many-conflicts.xml");
  ASSERT_TRUE(compiled);
  auto a = AnalyzePolicy(*compiled);
  ASSERT_TRUE(a);
  SystemClock clock;
  RecordingSink sink;
  const auto& vms = a->vm_matrix.rows;
  for (std::size_t i = 0; i < vms.size(); ++i) {
    for (std::size_t j = 0; j < vms.size(); ++j) {
      Acm acm(clock, sink);
      ASSERT_TRUE(acm.LoadPolicy(compiled->binary, compiled->map));
      const Ssidref ri = *compiled->map.VmSsidref(vms[i]);
      const Ssidref rj = *compiled->map.VmSsidref(vms[j]);
      if (!acm.CheckDomainCreate(DomainId{1}, ri).permitted() ||
          !acm.CheckDomainCreate(DomainId{2}, rj).permitted()) {
        continue;  // in conflict (in this order): they never run together to share
      }
      const Decision d = acm.CheckShare(DomainId{1}, DomainId{2}, ShareKind::kDoorbell);
      EXPECT_EQ(d == Decision::kPermit, !a->vm_matrix.cells[i][j].empty())
          << vms[i] << " × " << vms[j];
    }
  }
}

}  // namespace
}  // namespace shype::acm
