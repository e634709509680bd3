// SPDX-License-Identifier: Apache-2.0
//
// SharingRegistry against a real reference monitor loaded with the project's demo policy: every
// way a sharing ends (the domain's end, a revocation, a single release) runs its teardown once
// and leaves the ACM and the registry agreeing.
#include "shype/enforce/sharing_registry.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "shype/policyc/compiler.h"
#include "shype/policyc/policy_document.h"

namespace shype::enforce {
namespace {

class FixedClock final : public acm::Clock {
 public:
  std::chrono::system_clock::time_point Now() const override { return {}; }
};

class SharingRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ifstream in(std::string(SHYPE_SOURCE_DIR) + "/tests/data/policies/shype-demo.xml",
                     std::ios::binary);
    std::vector<std::uint8_t> xml((std::istreambuf_iterator<char>(in)), {});
    auto doc = policyc::ParsePolicyXml(xml, "shype-demo.xml");
    ASSERT_TRUE(doc) << doc.error().message;
    auto compiled = policyc::CompilePolicy(*doc);
    ASSERT_TRUE(compiled) << compiled.error().message;
    ASSERT_TRUE(acm.LoadPolicy(compiled->binary, compiled->map));
  }
  // Admits `id` as `label` with one disk per resource label; returns the ACM's sharing ids.
  std::vector<acm::SharingId> Admit(std::uint32_t id, const std::string& label,
                                    const std::vector<std::string>& disks) {
    std::vector<acm::ResourceRef> refs;
    const auto policy = acm.active_policy();
    for (const auto& d : disks) {
      refs.push_back({"file:/" + d, *policy->ResourceSsidref(d), acm::ResourceKind::kDisk});
    }
    auto admission = acm.AdmitDomain(DomainId{id}, *policy->VmSsidref(label), refs);
    EXPECT_TRUE(admission.verdict.permitted()) << admission.verdict.reason;
    return admission.sharings;
  }
  SharingRegistry::Teardown Record() {
    return [this](const acm::Sharing& s, std::string_view why) {
      torn.push_back(s.resource + " " + std::string(why));
    };
  }

  FixedClock clock;
  acm::VectorAuditSink audit;
  acm::Acm acm{clock, audit};
  SharingRegistry registry{acm};
  std::vector<std::string> torn;
};

TEST_F(SharingRegistryTest, EndingADomainTearsDownEachSharingNewestFirstAndTheAcmForgetsIt) {
  auto ids = Admit(1, "Bank", {"BankDisk", "BankNet"});
  ASSERT_EQ(ids.size(), 2U);
  for (auto id : ids) ASSERT_TRUE(registry.Add(id, Record()));
  auto other = Admit(2, "BankAudit", {"BankDisk"});
  ASSERT_TRUE(registry.Add(other[0], Record()));
  auto ended = registry.EndDomain(DomainId{1}, "QEMU exited");
  ASSERT_TRUE(ended) << ended.error().message;
  EXPECT_EQ(ended->size(), 2U);
  EXPECT_EQ(torn,
            (std::vector<std::string>{"file:/BankNet QEMU exited", "file:/BankDisk QEMU exited"}));
  EXPECT_EQ(registry.size(), 1U);  // the other domain's sharing stays
  ASSERT_EQ(acm.sharings().size(), 1U);
  EXPECT_EQ(acm.sharings()[0].subject, DomainId{2});
  EXPECT_EQ(acm.domains().size(), 2U);  // Domain-0 and domain 2
}

// A review finding: Add copied every live sharing of the ACM to find one, so registering n
// sharings copied ~n*n/2 of them (20,000: ~2e8 copies, seconds); a lookup keeps it linear.
TEST_F(SharingRegistryTest, RegisteringManySharingsStaysLinear) {
  auto ids = Admit(1, "Bank", {"BankDisk"});
  const auto disk = *acm.active_policy()->ResourceSsidref("BankDisk");
  for (int i = 0; i < 20000; ++i) {
    auto id = acm.RegisterSharing(DomainId{1}, {"file:/BankDisk", disk, acm::ResourceKind::kDisk});
    ASSERT_TRUE(id) << id.error().message;
    ids.push_back(*id);
  }
  const auto start = std::chrono::steady_clock::now();
  for (auto id : ids) ASSERT_TRUE(registry.Add(id, Record()));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(registry.size(), ids.size());
  EXPECT_LT(took, std::chrono::seconds(2))
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
}

TEST_F(SharingRegistryTest, OnlySharingsTheMonitorHoldsCanBeRegisteredOnce) {
  auto ids = Admit(1, "Game", {"GameDisk"});
  EXPECT_EQ(registry.Add(acm::SharingId{999}, Record()).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(registry.Add(ids[0], Record()));
  EXPECT_EQ(registry.Add(ids[0], Record()).error().code, ErrorCode::kConflict);
  EXPECT_EQ(registry.size(), 1U);
}

TEST_F(SharingRegistryTest, ReleaseEndsOneSharingInTheMonitorAndAtItsEnforcementPoint) {
  auto ids = Admit(1, "Bank", {"BankDisk", "BankNet"});
  for (auto id : ids) ASSERT_TRUE(registry.Add(id, Record()));
  ASSERT_TRUE(registry.Release(ids[1], "hot-unplugged"));
  EXPECT_EQ(torn, std::vector<std::string>{"file:/BankNet hot-unplugged"});
  EXPECT_EQ(acm.sharings().size(), 1U);
  EXPECT_EQ(registry.Release(ids[1], "again").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(torn.size(), 1U);  // a teardown runs once
}

TEST_F(SharingRegistryTest, RevokedSharingsAreTornDownAndForgotten) {
  auto ids = Admit(1, "Game", {"GameDisk", "GameNet"});
  for (auto id : ids) ASSERT_TRUE(registry.Add(id, Record()));
  std::vector<acm::Sharing> revoked;
  for (const auto& s : acm.sharings()) {
    if (s.resource == "file:/GameNet") revoked.push_back(s);
  }
  registry.Revoked(revoked, "revoked by policy 'x' 1.1");
  EXPECT_EQ(torn, std::vector<std::string>{"file:/GameNet revoked by policy 'x' 1.1"});
  EXPECT_EQ(registry.size(), 1U);
}

TEST_F(SharingRegistryTest, AnUnknownDomainStillHasItsRegisteredTeardownsRunAndDomain0CannotEnd) {
  auto ids = Admit(1, "Game", {"GameDisk"});
  ASSERT_TRUE(registry.Add(ids[0], Record()));
  ASSERT_TRUE(acm.DomainDestroy(DomainId{1}));  // the monitor forgot it first
  auto ended = registry.EndDomain(DomainId{1}, "create aborted");
  EXPECT_EQ(ended.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(torn, std::vector<std::string>{"file:/GameDisk create aborted"});
  EXPECT_EQ(registry.size(), 0U);
  EXPECT_EQ(registry.EndDomain(kDomain0, "no").error().code, ErrorCode::kPermissionDenied);
}

}  // namespace
}  // namespace shype::enforce
