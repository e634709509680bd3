// SPDX-License-Identifier: Apache-2.0
//
// Attacks on the daemon's virtual-switch integration (a reviewer's tests, expected to FAIL until
// fixed): a domain config squats the MAC shyped will give the next domain's vif; a hot-plug whose
// QEMU holds its reply hides the network it holds from the in-use check that guards relabeling.
#include <fmt/format.h>

#include "domain_manager.h"
#include "test_manager.h"

namespace shype::daemon {
namespace {
using namespace fakes;

class VswitchAttackTest : public ManagerTest {};

// Domain config: AttachNics gives a vif without mac= the MAC 02:16:3e:<id>:<vif index>, and
// domain ids are sequential, so the next domain's MAC is known in advance. A domain on the same
// open network (under the cloud policy: another customer's) configured with mac= that MAC makes
// the next create fail ("in use"), and every create after it that lands on the squatted id.
TEST_F(VswitchAttackTest, AConfiguredMacSquatsTheNextDomainsGeneratedMac) {
  ASSERT_TRUE(Create("probe", "BankAudit"));
  const std::uint32_t next = manager_->Info("probe")->record.id.value() + 2;
  const std::string squat = fmt::format("02:16:{:02x}:{:02x}:{:02x}:00", (next >> 16) & 0xff,
                                        (next >> 8) & 0xff, next & 0xff);
  auto squatter = Create("audit", "BankAudit", "", "vif = ['vnet=lan,mac=" + squat + "']\n");
  ASSERT_FALSE(squatter);  // the range is shyped's
  EXPECT_NE(squatter.error().message.find("the range shyped gives"), std::string::npos)
      << squatter.error().message;
  auto victim = Create("bank1", "Bank", "", "vif = ['vnet=lan']\n");
  EXPECT_TRUE(victim) << "domain id " << next << ": " << victim.error().message;
}

// Compromised QEMU + API client: network-attach records the vnet sharing in the ACM and attaches
// the port, then waits for QEMU's device_add reply; only after it does the domain's record list
// the network (d->record.resources, domain_hotplug.cc). A QEMU that never replies keeps the port
// while RunningDomains::Domains() does not show the network, so Admin::CheckNotInUse lets an
// operator label it (resource.label.add vnet:lan ANet): the domain stays on a network now labeled
// for another coalition, and its sharing (recorded unlabeled) is skipped by every policy update.
TEST_F(VswitchAttackTest, AHeldHotplugHidesItsNetworkFromTheInUseCheck) {
  ASSERT_TRUE(Create("audit", "BankAudit"));
  host_.hold_command = "device_add";
  std::optional<Result<std::pair<std::string, std::string>>> done;
  const std::string domain = "audit", vif = "vnet=lan";  // AttachNetwork keeps references
  asio::co_spawn(*io_, manager_->AttachNetwork(domain, vif),
                 [&](std::exception_ptr, Result<std::pair<std::string, std::string>> r) {
                   done.emplace(std::move(r));
                 });
  io_->restart();
  io_->poll();
  ASSERT_NE(host_.release_command, nullptr);  // QEMU holds its reply
  ASSERT_EQ(networks_->List().size(), 1U);    // the port is on lan
  bool listed = false;
  for (const auto& d : manager_->Domains()) {
    for (const auto& r : d.resources) listed |= r == "vnet:lan";
  }
  EXPECT_TRUE(listed) << "domain 'audit' holds a port on vnet:lan that no in-use check sees";
  host_.release_command->cancel();
  io_->restart();
  while (!done.has_value() && io_->run_one() > 0) {
  }
}

// Domain config + API client: a domain created with two vifs on one network holds two vnet:lan
// sharings. network-detach releases one (FindResourceSharing's first) but erases every "vnet:lan"
// from the record: the ACM still holds the other, no in-use check sees it, the operator labels
// vnet:lan for another coalition (GameNet), and network-attach finds the leftover sharing
// (new_sharing false): the domain gets a port on a network its label does not meet, with no check
// at all.
TEST_F(VswitchAttackTest, ALeftoverSharingAfterNetworkDetachAdmitsToARelabeledNetwork) {
  ASSERT_TRUE(
      Create("audit", "BankAudit", "",
             "vif = ['vnet=lan,mac=52:54:00:00:00:01', 'vnet=lan,mac=52:54:00:00:00:02']\n"));
  ASSERT_TRUE(Run(manager_->DetachNetwork("audit", "lan")));
  bool held = false, listed = false;
  for (const auto& s : acm_->sharings()) held |= !s.peer && s.resource == "vnet:lan";
  for (const auto& d : manager_->Domains()) {
    for (const auto& r : d.resources) listed |= r == "vnet:lan";
  }
  EXPECT_EQ(held, listed) << "the ACM holds a vnet:lan sharing that no in-use check sees";
  ASSERT_TRUE(store_->AddResourceLabel(
      store::ResourceLabel{"vnet:lan", LabelKind::kAcm, "shype.demo", "GameNet", {}}));
  auto nic = Run(manager_->AttachNetwork("audit", "vnet=lan"));
  EXPECT_FALSE(nic) << "BankAudit got a port on vnet:lan, labeled GameNet";
}

}  // namespace
}  // namespace shype::daemon
