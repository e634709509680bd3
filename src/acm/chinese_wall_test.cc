// SPDX-License-Identifier: Apache-2.0
//
// Chinese Wall bookkeeping across many create/destroy cycles, checked against a slow reference
// model that recomputes running_types and conflict_aggregate from scratch (spec-acm §4.5).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "acm_test_fixture.h"

namespace shype::acm {
namespace {

using Types = std::set<std::string>;

// The spec's definitions, on names: nothing shared with the implementation's derived tables.
struct ReferenceModel {
  std::vector<std::string> columns;  // sorted type names
  std::vector<Types> sets;

  std::pair<std::vector<std::uint32_t>, std::vector<std::uint32_t>> Counts(
      const std::vector<Types>& running) const {
    std::vector<std::uint32_t> types(columns.size(), 0), aggregate(columns.size(), 0);
    for (const Types& row : running) {
      for (std::size_t t = 0; t < columns.size(); ++t) {
        if (row.contains(columns[t])) ++types[t];
      }
      for (const Types& set : sets) {
        const bool shares =
            std::any_of(set.begin(), set.end(), [&](auto& t) { return row.contains(t); });
        if (!shares) continue;
        for (std::size_t t = 0; t < columns.size(); ++t) {
          if (set.contains(columns[t]) && !row.contains(columns[t])) ++aggregate[t];
        }
      }
    }
    return {types, aggregate};
  }
  bool Admits(const std::vector<Types>& running, const Types& row) const {
    const auto aggregate = Counts(running).second;
    for (std::size_t t = 0; t < columns.size(); ++t) {
      if (row.contains(columns[t]) && aggregate[t] > 0) return false;
    }
    return true;
  }
};

class ChineseWallTest : public testing::AcmFixture {};

TEST_F(ChineseWallTest, CountsMatchARecomputationAcrossRandomCreateDestroyCycles) {
  std::mt19937 rng(20240501);
  testing::PolicySpec spec;
  ReferenceModel model;
  for (int t = 0; t < 12; ++t) model.columns.push_back(fmt::format("cw_{:02}", t));
  auto pick = [&](int n) {
    Types out;
    const int count = 1 + static_cast<int>(rng() % static_cast<unsigned>(n));
    for (int i = 0; i < count; ++i) out.insert(model.columns[rng() % model.columns.size()]);
    return out;
  };
  for (int c = 0; c < 4; ++c) {
    model.sets.push_back(pick(4));
    spec.conflict_sets.push_back(
        {fmt::format("set{}", c), {model.sets.back().begin(), model.sets.back().end()}});
  }
  std::map<std::string, Types> labels{{"SystemManagement", {}}};
  spec.vm_labels.push_back({"SystemManagement", {"ste_all"}, {}});
  for (int l = 0; l < 10; ++l) {
    const std::string name = fmt::format("dom_{}", l);
    labels[name] = pick(3);
    spec.vm_labels.push_back({name, {"ste_all"}, {labels[name].begin(), labels[name].end()}});
  }
  spec.extra_chwall_types = model.columns;
  Load(spec);

  std::map<std::uint32_t, std::string> running{{0, "SystemManagement"}};
  std::uint32_t next_id = 1;
  int permitted = 0, denied = 0;
  for (int step = 0; step < 3000; ++step) {
    std::vector<Types> rows;
    for (const auto& [id, label] : running) rows.push_back(labels[label]);
    if (running.size() > 1 && rng() % 3 == 0) {
      auto it = std::next(running.begin(), 1 + static_cast<long>(rng() % (running.size() - 1)));
      ASSERT_TRUE(acm.DomainDestroy(DomainId{it->first}));
      running.erase(it);
    } else {
      const std::string label = fmt::format("dom_{}", rng() % 10);
      const bool expected = model.Admits(rows, labels[label]);
      const auto admission = acm.CheckDomainCreate(DomainId{next_id}, Vm(label));
      ASSERT_EQ(admission.decision == Decision::kPermit, expected)
          << "step " << step << " " << label;
      if (expected) {
        running[next_id] = label;
        ++permitted;
      } else {
        ASSERT_FALSE(admission.conflicts.empty());
        ++denied;
      }
      ++next_id;
    }
    rows.clear();
    for (const auto& [id, label] : running) rows.push_back(labels[label]);
    ASSERT_EQ(acm.chinese_wall_counts(), model.Counts(rows)) << "step " << step;
  }
  EXPECT_GT(permitted, 100);  // the sequence exercised both outcomes
  EXPECT_GT(denied, 100);
}

TEST_F(ChineseWallTest, ALabelHoldingTwoTypesOfOneSetNeverBlocksItself) {
  testing::PolicySpec spec;
  spec.vm_labels = {{"SystemManagement", {"s"}, {}},
                    {"dom_both", {"s"}, {"cw_a", "cw_b"}},
                    {"dom_a", {"s"}, {"cw_a"}}};
  spec.conflict_sets = {{"ab", {"cw_a", "cw_b"}}};
  Load(spec);
  Start(1, "dom_both");
  Start(2, "dom_both");
  // dom_a carries cw_a, which running dom_both domains do not block (they carry it themselves).
  Start(3, "dom_a");
  // The reverse order is refused: with dom_a running, cw_b of dom_both is blocked.
  ASSERT_TRUE(acm.DomainDestroy(DomainId{1}));
  ASSERT_TRUE(acm.DomainDestroy(DomainId{2}));
  EXPECT_EQ(acm.CheckDomainCreate(DomainId{4}, Vm("dom_both")).decision, Decision::kDeny);
}

TEST_F(ChineseWallTest, TypesInSeveralSharedSetsAreCountedOncePerSet) {
  testing::PolicySpec spec;
  spec.vm_labels = {{"SystemManagement", {"s"}, {}}, {"dom_a", {"s"}, {"cw_a"}}};
  spec.conflict_sets = {{"one", {"cw_a", "cw_b"}}, {"two", {"cw_a", "cw_b"}}};
  spec.extra_chwall_types = {"cw_b"};
  Load(spec);
  Start(1, "dom_a");
  // Columns: cw_a, cw_b. Xen increments cw_b once per conflict set sharing a type with the row.
  EXPECT_EQ(acm.chinese_wall_counts().second, (std::vector<std::uint32_t>{0, 2}));
  ASSERT_TRUE(acm.DomainDestroy(DomainId{1}));
  EXPECT_EQ(acm.chinese_wall_counts().second, (std::vector<std::uint32_t>{0, 0}));
}

}  // namespace
}  // namespace shype::acm
