// SPDX-License-Identifier: Apache-2.0
//
// VirtualNetworks against the real reference monitor loaded with the project's cloud policy (two
// rival customers, a router carrying both their types): the ACM decides each port pair once, at
// attach or after a policy change; its sharings' ends (the domain's end, a revocation) close the
// pairs; a domain the ACM did not admit to a network gets no port on it.
#include "shype/vswitch/networks.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

#include "shype/policyc/compiler.h"
#include "shype/policyc/policy_document.h"
#include "test_frames.h"
#include "test_networks.h"

namespace shype::vswitch {
namespace {

using testing::Arrives;
using testing::kBroadcast;
using testing::Mac;
using testing::Quiet;
using testing::Send;
using testing::Wire;

using CloudNetworks = testing::CloudNetworks;
using testing::CloudPolicyWith;
class NetworksTest : public CloudNetworks {};

TEST_F(NetworksTest, OnAnUnlabeledNetworkOnlyOneCoalitionsDomainsExchangeFrames) {
  Admit(1, "CustomerA", "lan");
  Admit(2, "CustomerA", "lan");
  Admit(3, "CustomerB", "lan");
  UniqueFd a1 = Attach(1, "lan", 1), a2 = Attach(2, "lan", 2), b = Attach(3, "lan", 3);
  EXPECT_EQ(NetworkSharings(), 1U);  // a1-a2 only
  // The ACM decided and audited each refused pair (b with a1, b with a2).
  std::size_t denials = 0;
  for (const auto& r : audit.records()) denials += r.hook == acm::Hook::kNetwork ? 1 : 0;
  EXPECT_EQ(denials, 2U);
  ASSERT_TRUE(Send(a1.get(), Wire(kBroadcast, Mac(1), 42)));
  Send(a1.get(), Wire(Mac(3), Mac(1), 60));  // unicast to b: denied
  ASSERT_TRUE(Send(a1.get(), Wire(Mac(2), Mac(1), 98)));
  EXPECT_TRUE(Arrives(a2.get(), Wire(kBroadcast, Mac(1), 42)));
  EXPECT_TRUE(Arrives(a2.get(), Wire(Mac(2), Mac(1), 98)));
  EXPECT_TRUE(Quiet(b.get()));
  ASSERT_TRUE(Send(b.get(), Wire(kBroadcast, Mac(3), 42)));
  ASSERT_TRUE(Send(b.get(), Wire(Mac(1), Mac(3), 60)));
  auto views = networks.List();
  ASSERT_EQ(views.size(), 1U);
  EXPECT_EQ(views[0].name, "lan");
  EXPECT_EQ(views[0].ports.size(), 3U);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(Quiet(a1.get()));
  EXPECT_TRUE(Quiet(a2.get()));
}

TEST_F(NetworksTest, ARouterReachesBothCoalitionsWhichStillNeverReachEachOther) {
  Admit(1, "CustomerA", "lan");
  Admit(2, "CustomerB", "lan");
  Admit(3, "Router", "lan");
  UniqueFd a = Attach(1, "lan", 1), b = Attach(2, "lan", 2), r = Attach(3, "lan", 3);
  EXPECT_EQ(NetworkSharings(), 2U);
  ASSERT_TRUE(Send(a.get(), Wire(Mac(3), Mac(1), 60, 0xa1)));
  ASSERT_TRUE(Arrives(r.get(), Wire(Mac(3), Mac(1), 60, 0xa1)));
  ASSERT_TRUE(Send(b.get(), Wire(Mac(3), Mac(2), 60, 0xb2)));
  ASSERT_TRUE(Arrives(r.get(), Wire(Mac(3), Mac(2), 60, 0xb2)));
  ASSERT_TRUE(Send(r.get(), Wire(kBroadcast, Mac(3), 42)));
  EXPECT_TRUE(Arrives(a.get(), Wire(kBroadcast, Mac(3), 42)));
  EXPECT_TRUE(Arrives(b.get(), Wire(kBroadcast, Mac(3), 42)));
  ASSERT_TRUE(Send(a.get(), Wire(Mac(2), Mac(1), 60)));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(Quiet(b.get()));
}

TEST_F(NetworksTest, ALabeledNetworkTakesOnlyDomainsItsLabelAdmits) {
  const auto policy = acm.active_policy();
  const acm::ResourceRef anet{"vnet:anet", *policy->ResourceSsidref("ANet"),
                              acm::ResourceKind::kNetwork};
  auto refused = acm.AdmitDomain(DomainId{5}, *policy->VmSsidref("CustomerB"), {&anet, 1});
  EXPECT_FALSE(refused.verdict.permitted());
  EXPECT_NE(refused.verdict.reason.find("share no STE type"), std::string::npos);
  // Even if asked directly, the switch gives no port to a domain not admitted to the network.
  auto nic = networks.Attach(DomainId{5}, "anet", Mac(5));
  ASSERT_FALSE(nic);
  EXPECT_EQ(nic.error().code, ErrorCode::kPermissionDenied);
  EXPECT_NE(nic.error().message.find("vnet:anet"), std::string::npos);
  Admit(6, "CustomerB", "lan");  // admitted to another network only
  EXPECT_FALSE(networks.Attach(DomainId{6}, "anet", Mac(6)));
  Admit(7, "CustomerA", "anet", "ANet");
  EXPECT_TRUE(networks.Attach(DomainId{7}, "anet", Mac(7)));
}

TEST_F(NetworksTest, TheEndOfADomainClosesItsPortAndItsPairs) {
  Admit(1, "CustomerA", "lan");
  Admit(2, "CustomerA", "lan");
  UniqueFd a1 = Attach(1, "lan", 1), a2 = Attach(2, "lan", 2);
  ASSERT_EQ(NetworkSharings(), 1U);
  ASSERT_TRUE(registry.EndDomain(DomainId{2}, "QEMU exited"));
  EXPECT_EQ(NetworkSharings(), 0U);
  char byte;
  EXPECT_EQ(::recv(a2.get(), &byte, 1, 0), 0);  // its QEMU's end is closed
  ASSERT_EQ(networks.List().size(), 1U);
  EXPECT_EQ(networks.List()[0].ports.size(), 1U);
  EXPECT_EQ(registry.size(), 1U);  // domain 1's vnet:lan only
  ASSERT_TRUE(registry.EndDomain(DomainId{1}, "QEMU exited"));
  EXPECT_TRUE(networks.List().empty());  // the last port went: so did the switch
}

TEST_F(NetworksTest, APolicyUpdateThatSplitsAPairIsRefusedOrRevokesIt) {
  Admit(1, "CustomerB", "lan");
  Admit(2, "Router", "lan");
  UniqueFd b = Attach(1, "lan", 1), r = Attach(2, "lan", 2);
  ASSERT_EQ(NetworkSharings(), 1U);
  // The new policy takes CustomerB away from the router.
  auto next = CloudPolicyWith(
      "<Type>CustomerA</Type>\n          <Type>CustomerB</Type>\n        "
      "</SimpleTypeEnforcementTypes>\n        <ChineseWallTypes>\n          <Type>Router</Type>",
      "<Type>CustomerA</Type>\n        </SimpleTypeEnforcementTypes>\n        "
      "<ChineseWallTypes>\n          <Type>Router</Type>");
  ASSERT_TRUE(next) << next.error().message;
  acm::UpdateRequest request{next->binary, next->map, acm::PolicyRef{"shype.cloud", {1, 0}},
                             {},           {},        acm::UpdateMode::kCommit};
  auto refused = acm.UpdatePolicy(request);
  ASSERT_TRUE(refused) << refused.error().message;
  EXPECT_FALSE(refused->committed);
  ASSERT_EQ(refused->violations.size(), 1U) << refused->violations[0].message;
  EXPECT_EQ(refused->violations[0].kind, acm::ViolationKind::kSharingBroken);
  ASSERT_TRUE(Send(b.get(), Wire(Mac(2), Mac(1), 60)));
  EXPECT_TRUE(Arrives(r.get(), Wire(Mac(2), Mac(1), 60)));  // still shared

  request.mode = acm::UpdateMode::kCommitRevokingSharings;
  auto revoked = acm.UpdatePolicy(request);
  ASSERT_TRUE(revoked) << revoked.error().message;
  ASSERT_TRUE(revoked->committed);
  ASSERT_EQ(revoked->revoked.size(), 1U);
  registry.Revoked(revoked->revoked, "revoked by policy shype.cloud 1.1");
  networks.FollowPolicy();  // asks again: the ACM refuses the pair now
  EXPECT_EQ(NetworkSharings(), 0U);
  ASSERT_TRUE(Send(b.get(), Wire(Mac(2), Mac(1), 60)));
  ASSERT_TRUE(Send(b.get(), Wire(kBroadcast, Mac(1), 42)));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(Quiet(r.get()));
  // Both stay attached (each may still use the unlabeled network).
  EXPECT_EQ(networks.List()[0].ports.size(), 2U);
}

TEST_F(NetworksTest, APolicyUpdateThatJoinsTwoDomainsOpensTheirPair) {
  Admit(1, "CustomerA", "lan");
  Admit(2, "CustomerB", "lan");
  UniqueFd a = Attach(1, "lan", 1), b = Attach(2, "lan", 2);
  ASSERT_EQ(NetworkSharings(), 0U);
  // CustomerB's label gains CustomerA's type.
  const std::string b_label =
      "<Name>CustomerB</Name>\n        <SimpleTypeEnforcementTypes>\n          "
      "<Type>CustomerB</Type>";
  auto next = CloudPolicyWith(b_label, b_label + "\n          <Type>CustomerA</Type>");
  ASSERT_TRUE(next) << next.error().message;
  auto report = acm.UpdatePolicy(acm::UpdateRequest{next->binary,
                                                    next->map,
                                                    acm::PolicyRef{"shype.cloud", {1, 0}},
                                                    {},
                                                    {},
                                                    acm::UpdateMode::kCommit});
  ASSERT_TRUE(report);
  for (const auto& v : report->violations) ADD_FAILURE() << v.message;
  ASSERT_TRUE(report->committed);
  networks.FollowPolicy();
  EXPECT_EQ(NetworkSharings(), 1U);
  ASSERT_TRUE(Send(a.get(), Wire(Mac(2), Mac(1), 60)));
  EXPECT_TRUE(Arrives(b.get(), Wire(Mac(2), Mac(1), 60)));
}

TEST_F(NetworksTest, AnUnlabeledNetworkIsOpenToAnyDomainButAnUnlabeledDiskIsNot) {
  Admit(1, "CustomerA", "lan");
  EXPECT_EQ(acm.CheckResourceAccess(DomainId{1}, kUnlabeledSsidref, acm::ResourceKind::kNetwork),
            acm::Decision::kPermit);
  // The permit is not cached for the row: a disk of the same (unlabeled) ssidref stays denied.
  EXPECT_EQ(acm.CheckResourceAccess(DomainId{1}, kUnlabeledSsidref, acm::ResourceKind::kDisk),
            acm::Decision::kDeny);
  EXPECT_EQ(acm.CheckResourceAccess(DomainId{1}, kUnlabeledSsidref, acm::ResourceKind::kDisk),
            acm::Decision::kDeny);
  const acm::ResourceRef disk{"file:/x.img", kUnlabeledSsidref, acm::ResourceKind::kDisk};
  EXPECT_FALSE(acm.QueryResource(*acm.active_policy()->VmSsidref("CustomerA"), disk).permitted());
  // Not for a domain that is not running.
  EXPECT_EQ(acm.CheckResourceAccess(DomainId{9}, kUnlabeledSsidref, acm::ResourceKind::kNetwork),
            acm::Decision::kDeny);
}

}  // namespace
}  // namespace shype::vswitch
