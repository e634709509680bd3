// SPDX-License-Identifier: Apache-2.0
//
// Regions with the real ACM and the project's cloud policy: who may join which region, the
// doorbell setup each peer gets, refusals that leave nothing behind, and how a domain's end and
// a policy update's revocation take a peer out (and have its device unplugged).
// The attack each test stands for is named in it.
#include "shype/shm/regions.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cloud_policy.h"
#include "ivshmem_client.h"
#include "shype/acm/audit.h"
#include "shype/enforce/sharing_registry.h"

namespace shype::shm {
namespace {

using shype::testing::CloudPolicyWith;
using shype::testing::CloudPolicyXml;
using shype::testing::Compile;
using shype::testing::FixedClock;
using testing::ReadMessage;

constexpr std::uint64_t kSize = 64 * 1024;

class CloudRegions : public ::testing::Test {
 protected:
  void SetUp() override {
    auto compiled = Compile(CloudPolicyXml());
    ASSERT_TRUE(compiled) << compiled.error().message;
    ASSERT_TRUE(acm.LoadPolicy(compiled->binary, compiled->map));
  }
  // Admits domain `id` as `label` with region `region` (labeled `region_label`), as create does.
  // Returns whether the ACM admitted it.
  bool Admit(std::uint32_t id, const std::string& label, const std::string& region,
             const std::string& region_label) {
    const auto policy = acm.active_policy();
    const acm::ResourceRef ref{Regions::ResourceOf(region), *policy->ResourceSsidref(region_label),
                               acm::ResourceKind::kSharedMemory};
    auto admission = acm.AdmitDomain(DomainId{id}, *policy->VmSsidref(label), {&ref, 1});
    if (!admission.verdict.permitted()) return false;
    for (acm::SharingId s : admission.sharings) {
      EXPECT_TRUE(
          registry.Add(s, [this, region](const acm::Sharing& sharing, std::string_view why) {
            regions.LeaveAll(sharing.subject, region, why);
          }));
    }
    return true;
  }
  std::size_t PairSharings() const {
    std::size_t n = 0;
    for (const auto& s : acm.sharings()) n += s.peer ? 1U : 0U;
    return n;
  }
  // Drains a peer's setup; returns the ids of the present peers it was told of.
  static std::vector<std::int64_t> PeersIn(int socket) {
    std::vector<std::int64_t> ids;
    auto version = ReadMessage(socket), own = ReadMessage(socket), memory = ReadMessage(socket);
    EXPECT_TRUE(version && own && memory && memory->value == -1);
    while (auto m = ReadMessage(socket, 50)) {
      if (own && m->value != own->value) ids.push_back(m->value);
    }
    return ids;
  }

  FixedClock clock;
  acm::VectorAuditSink audit;
  acm::Acm acm{clock, audit};
  enforce::SharingRegistry registry{acm};
  std::vector<std::pair<DomainId, std::string>> unplugged;
  Regions regions{acm, registry, [this](DomainId d, const std::string& r, std::string_view) {
                    unplugged.emplace_back(d, r);
                  }};
};

TEST_F(CloudRegions, OneCoalitionSharesMemoryAndDoorbells) {
  ASSERT_TRUE(Admit(2, "CustomerA", "ra", "AMem"));
  ASSERT_TRUE(Admit(3, "CustomerA", "ra", "AMem"));
  auto a = regions.Join(DomainId{2}, "ra", kSize);
  ASSERT_TRUE(a) << a.error().message;
  auto b = regions.Join(DomainId{3}, "ra", kSize);
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(PeersIn(b->qemu.get()), std::vector<std::int64_t>{0});
  EXPECT_EQ(PairSharings(), 2U) << "one shared-memory and one doorbell sharing";
  const auto list = regions.List();
  ASSERT_EQ(list.size(), 1U);
  EXPECT_EQ(list[0].size, kSize);
  EXPECT_EQ(list[0].peers.size(), 2U);
}

TEST_F(CloudRegions, ADomainWithoutTheRegionsAdmissionIsRefused) {
  // Attack: joining a region by name without the label check create or shm-attach makes.
  ASSERT_TRUE(Admit(2, "CustomerA", "ra", "AMem"));
  EXPECT_FALSE(Admit(3, "CustomerB", "ra", "AMem")) << "the ACM refuses B the region's label";
  auto b = regions.Join(DomainId{3}, "ra", kSize);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, ErrorCode::kPermissionDenied);
  EXPECT_TRUE(regions.List().empty());
}

TEST_F(CloudRegions, OnePeerTheAcmRefusesRefusesTheWholeJoin) {
  // Under STE a region's peers share its label's type, so the pair checks refuse only what the
  // label check let through by mistake: here the region's label changed between admissions
  // (A and the router were admitted with AMem, B with BMem). B may share with the router, not
  // with A: all or nothing, and the refusal is audited.
  ASSERT_TRUE(Admit(2, "CustomerA", "x", "AMem"));
  ASSERT_TRUE(Admit(4, "Router", "x", "AMem"));
  ASSERT_TRUE(Admit(3, "CustomerB", "x", "BMem"));
  auto a = regions.Join(DomainId{2}, "x", kSize);
  ASSERT_TRUE(a);
  ASSERT_TRUE(regions.Join(DomainId{4}, "x", kSize));
  (void)PeersIn(a->qemu.get());  // its setup and the router's arrival
  const std::size_t audited = audit.records().size();
  auto b = regions.Join(DomainId{3}, "x", kSize);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(b.error().message.find("domain 2"), std::string::npos) << b.error().message;
  EXPECT_GT(audit.records().size(), audited) << "the refusal is audited";
  EXPECT_EQ(PairSharings(), 2U) << "only A-router's; B's permitted pair with the router was undone";
  EXPECT_EQ(regions.List()[0].peers.size(), 2U);
  EXPECT_FALSE(ReadMessage(a->qemu.get(), 50)) << "A never heard of B";
}

TEST_F(CloudRegions, SizesOfOneRegionMustAgreeAndADomainJoinsOnce) {
  ASSERT_TRUE(Admit(2, "CustomerA", "ra", "AMem"));
  ASSERT_TRUE(Admit(3, "CustomerA", "ra", "AMem"));
  ASSERT_TRUE(regions.Join(DomainId{2}, "ra", kSize));
  auto other = regions.Join(DomainId{3}, "ra", 2 * kSize);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::kConflict);
  auto again = regions.Join(DomainId{2}, "ra", kSize);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kConflict);
  EXPECT_EQ(PairSharings(), 0U);
}

TEST_F(CloudRegions, TheRegionOutlivesAPeerAndGoesWithTheLast) {
  ASSERT_TRUE(Admit(2, "CustomerA", "ra", "AMem"));
  ASSERT_TRUE(Admit(3, "CustomerA", "ra", "AMem"));
  auto a = regions.Join(DomainId{2}, "ra", kSize);
  auto b = regions.Join(DomainId{3}, "ra", kSize);
  ASSERT_TRUE(a && b);
  (void)PeersIn(b->qemu.get());
  (void)PeersIn(a->qemu.get());  // its setup, then B's arrival
  ASSERT_TRUE(registry.EndDomain(DomainId{2}, "destroyed"));
  EXPECT_EQ(PairSharings(), 0U);
  EXPECT_FALSE(ReadMessage(b->qemu.get(), 50)) << "no departure message (region.cc)";
  ASSERT_EQ(regions.List().size(), 1U);
  EXPECT_EQ(regions.List()[0].peers.size(), 1U);
  EXPECT_EQ(regions.List()[0].peers[0].domain, DomainId{3}) << "the ending domain left, not B";
  ASSERT_TRUE(registry.EndDomain(DomainId{3}, "destroyed"));
  EXPECT_TRUE(regions.List().empty());
  EXPECT_EQ(registry.size(), 0U);
}

TEST_F(CloudRegions, APolicyUpdateThatSplitsTheCoalitionTakesTheLaterPeerOut) {
  // Before: region x (AMem) holds A and a router; the update takes CustomerA off the router,
  // which loses the region's label and its pairs with A at once.
  ASSERT_TRUE(Admit(2, "CustomerA", "x", "AMem"));
  ASSERT_TRUE(Admit(4, "Router", "x", "AMem"));
  auto a = regions.Join(DomainId{2}, "x", kSize);
  auto r = regions.Join(DomainId{4}, "x", kSize);
  ASSERT_TRUE(a && r);
  (void)PeersIn(a->qemu.get());
  auto split = CloudPolicyWith(
      "<Name>Router</Name>\n        <SimpleTypeEnforcementTypes>\n          "
      "<Type>CustomerA</Type>\n",
      "<Name>Router</Name>\n        <SimpleTypeEnforcementTypes>\n");
  ASSERT_TRUE(split) << split.error().message;
  acm::UpdateRequest request{
      split->binary,           split->map, acm::PolicyRef{"shype.cloud", {1, 0}}, {}, {},
      acm::UpdateMode::kCommit};
  auto refused = acm.UpdatePolicy(request);
  ASSERT_TRUE(refused) << refused.error().message;
  EXPECT_FALSE(refused->committed) << "by default a live sharing the update forbids refuses it";
  EXPECT_EQ(regions.List()[0].peers.size(), 2U);
  request.mode = acm::UpdateMode::kCommitRevokingSharings;
  auto report = acm.UpdatePolicy(request);
  ASSERT_TRUE(report) << report.error().message;
  ASSERT_TRUE(report->committed);
  registry.Revoked(report->revoked, "revoked by the policy update");
  std::size_t revocations = 0;
  for (const auto& rec : audit.records())
    revocations += rec.reason.starts_with("revoked: ") ? 1U : 0U;
  EXPECT_EQ(revocations, report->revoked.size()) << "each revocation is audited";
  EXPECT_GE(revocations, 3U) << "the router's region use and its two pairs with A";
  ASSERT_EQ(regions.List().size(), 1U);
  ASSERT_EQ(regions.List()[0].peers.size(), 1U);
  EXPECT_EQ(regions.List()[0].peers[0].domain, DomainId{2});
  ASSERT_EQ(unplugged.size(), 1U);
  EXPECT_EQ(unplugged[0].first, DomainId{4}) << "the router's device is unplugged";
  EXPECT_EQ(PairSharings(), 0U);
}

// Review finding: releasing an earlier peer's pairs fired their teardowns, which took every later
// joiner out with it (each pair's subject), though the ACM still permitted them.
TEST_F(CloudRegions, APeerLeavingWhileItRunsTakesNoOtherPeerOut) {
  ASSERT_TRUE(Admit(2, "CustomerA", "ra", "AMem"));
  ASSERT_TRUE(Admit(3, "CustomerA", "ra", "AMem"));
  ASSERT_TRUE(Admit(4, "CustomerA", "ra", "AMem"));
  for (std::uint32_t id : {2U, 3U, 4U}) ASSERT_TRUE(regions.Join(DomainId{id}, "ra", kSize));
  auto l =
      enforce::FindResourceSharing(acm, DomainId{3}, acm::ResourceKind::kSharedMemory, "shm:ra");
  ASSERT_TRUE(l);
  ASSERT_TRUE(registry.Release(*l, "shm-detach"));
  ASSERT_EQ(regions.List().size(), 1U);
  std::vector<DomainId> left;
  const std::vector<RegionView> list = regions.List();
  for (const auto& p : list[0].peers) left.push_back(p.domain);
  EXPECT_EQ(left, (std::vector<DomainId>{DomainId{2}, DomainId{4}}));
  ASSERT_EQ(unplugged.size(), 1U);
  EXPECT_EQ(unplugged[0].first, DomainId{3});
  EXPECT_EQ(PairSharings(), 2U) << "2-4's pair stays";
}

// Review finding: a revoked peer whose guest never acknowledges the unplug still maps the memory;
// a later joiner it may not share with must not get that memory.
TEST_F(CloudRegions, ARevokedPeerThatStillRunsKeepsRivalsOut) {
  ASSERT_TRUE(Admit(2, "CustomerA", "x", "AMem"));
  ASSERT_TRUE(Admit(4, "Router", "x", "AMem"));
  ASSERT_TRUE(regions.Join(DomainId{2}, "x", kSize));
  ASSERT_TRUE(regions.Join(DomainId{4}, "x", kSize));
  auto split = CloudPolicyWith(
      "<Name>Router</Name>\n        <SimpleTypeEnforcementTypes>\n          "
      "<Type>CustomerA</Type>\n",
      "<Name>Router</Name>\n        <SimpleTypeEnforcementTypes>\n");
  ASSERT_TRUE(split);
  auto report = acm.UpdatePolicy(acm::UpdateRequest{split->binary,
                                                    split->map,
                                                    acm::PolicyRef{"shype.cloud", {1, 0}},
                                                    {},
                                                    {},
                                                    acm::UpdateMode::kCommitRevokingSharings});
  ASSERT_TRUE(report && report->committed);
  registry.Revoked(report->revoked, "revoked");
  ASSERT_EQ(regions.List()[0].peers.size(), 1U);
  // A new customer-A domain may share with A but not with the router, which may still map x.
  ASSERT_TRUE(Admit(5, "CustomerA", "x", "AMem"));
  auto c = regions.Join(DomainId{5}, "x", kSize);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(c.error().message.find("domain 4"), std::string::npos) << c.error().message;
  // Once the router has ended, the region takes the joiner.
  ASSERT_TRUE(registry.EndDomain(DomainId{4}, "destroyed"));
  EXPECT_TRUE(regions.Join(DomainId{5}, "x", kSize));
}

}  // namespace
}  // namespace shype::shm
