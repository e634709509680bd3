// SPDX-License-Identifier: Apache-2.0
//
// Readers decide on the lock-free path while a writer commits policy updates and creates and
// destroys domains: every decision must be the one of the policy version in force (short run).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "acm_test_fixture.h"

namespace shype::acm {
namespace {

using testing::PolicySpec;

// Two versions that disagree on whether dom_a and dom_b share: v(odd minor) gives dom_b ste_a.
PolicySpec Version(std::uint32_t minor) {
  PolicySpec spec;
  spec.version = {1, minor};
  spec.vm_labels = {{"SystemManagement", {"ste_a", "ste_b", "ste_c"}, {}},
                    {"dom_a", {"ste_a"}, {}},
                    {"dom_b", {minor % 2 == 1 ? "ste_a" : "ste_b"}, {}},
                    {"dom_c", {"ste_c"}, {}}};
  return spec;
}

// Checks each denial against the policy version it names, without keeping the records.
class CheckingSink final : public AuditSink {
 public:
  void Submit(AuditRecord record) override {
    if (record.decision == Decision::kPermit) return;  // the committed updates' own records
    ++denials;
    // dom_a/dom_b are denied only under even minor versions, published as seqno = minor + 1.
    const bool ab = record.object.domain == DomainId{2};
    if (ab && (record.policy_version.minor % 2 != 0 ||
               record.seqno.value() != record.policy_version.minor + 1)) {
      ++inconsistent;
    }
    if (!ab && record.object.domain != DomainId{3}) ++inconsistent;
  }
  std::atomic<std::uint64_t> denials{0};
  std::atomic<std::uint64_t> inconsistent{0};
};

class ConcurrencyTest : public ::testing::Test {
 protected:
  void Start(std::uint32_t id, const std::string& label) {
    auto admission = acm.CheckDomainCreate(DomainId{id}, *acm.active_policy()->VmSsidref(label));
    ASSERT_EQ(admission.decision, Decision::kPermit) << admission.reason;
  }
  testing::FakeClock clock;
  CheckingSink audit;
  Acm acm{clock, audit};
};

TEST_F(ConcurrencyTest, ReadersNeverSeeADecisionNoPolicyVersionAllows) {
  auto first = testing::BuildPolicy(Version(0));
  ASSERT_TRUE(acm.LoadPolicy(first.binary, first.labels));
  Start(1, "dom_a");
  Start(2, "dom_b");
  Start(3, "dom_c");
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> wrong{0}, decisions{0}, permits{0};
  std::vector<std::jthread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        // dom_a and dom_c never share under any version; dom_a/dom_b flips.
        if (acm.CheckShare(DomainId{1}, DomainId{3}, ShareKind::kDoorbell) == Decision::kPermit) {
          wrong.fetch_add(1);
        }
        if (acm.CheckShare(DomainId{1}, DomainId{2}, ShareKind::kDoorbell) == Decision::kPermit) {
          permits.fetch_add(1);
        }
        decisions.fetch_add(2);
      }
    });
  }
  for (std::uint32_t minor = 1; minor <= 40; ++minor) {
    auto built = testing::BuildPolicy(Version(minor));
    UpdateRequest request{built.binary, built.labels, {}, {}, {}, UpdateMode::kCommit, false};
    request.from_policy = PolicyRef{acm.active_policy()->name(), {1, minor - 1}};
    auto report = acm.UpdatePolicy(std::move(request));
    if (!report || !report->committed) {
      stop = true;  // the readers must end, or the failure would hang in their join
      FAIL() << "update to 1." << minor << " not committed";
    }
    Start(4, "dom_c");  // domain churn on the writer side
    ASSERT_TRUE(acm.DomainDestroy(DomainId{4}));
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  stop = true;
  readers.clear();
  EXPECT_EQ(wrong.load(), 0U);
  EXPECT_EQ(audit.inconsistent.load(), 0U);
  EXPECT_GT(permits.load(), 0U);
  EXPECT_GT(audit.denials.load(), decisions.load() / 2);
  EXPECT_GT(decisions.load(), 0U);
  EXPECT_EQ(acm.CheckShare(DomainId{1}, DomainId{2}, ShareKind::kDoorbell), Decision::kDeny);
  const auto stats = acm.stats().of(Hook::kDoorbell);
  EXPECT_EQ(stats.evaluations + stats.cache_hits, decisions.load() + 1);
}

}  // namespace
}  // namespace shype::acm
