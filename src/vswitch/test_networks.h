// SPDX-License-Identifier: Apache-2.0
//
// Test fixture: the real ACM loaded with the project's cloud policy (tests/data/policies/
// shype-cloud.xml, tests/support/cloud_policy.h), a SharingRegistry and VirtualNetworks over it,
// and admission as create does.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cloud_policy.h"
#include "shype/vswitch/networks.h"
#include "test_frames.h"

namespace shype::vswitch::testing {

using shype::testing::CloudPolicyWith;
using shype::testing::CloudPolicyXml;
using shype::testing::Compile;
using shype::testing::FixedClock;

class CloudNetworks : public ::testing::Test {
 protected:
  void SetUp() override {
    auto compiled = Compile(CloudPolicyXml());
    ASSERT_TRUE(compiled) << compiled.error().message;
    ASSERT_TRUE(acm.LoadPolicy(compiled->binary, compiled->map));
  }
  // Admits domain `id` as `label` to network `net` (unlabeled unless `net_label`), as create does.
  void Admit(std::uint32_t id, const std::string& label, const std::string& net,
             const std::string& net_label = "") {
    const auto policy = acm.active_policy();
    const Ssidref res = net_label.empty() ? kUnlabeledSsidref : *policy->ResourceSsidref(net_label);
    const acm::ResourceRef ref{VirtualNetworks::ResourceOf(net), res, acm::ResourceKind::kNetwork};
    auto admission = acm.AdmitDomain(DomainId{id}, *policy->VmSsidref(label), {&ref, 1});
    ASSERT_TRUE(admission.verdict.permitted()) << admission.verdict.reason;
    for (acm::SharingId s : admission.sharings) {
      ASSERT_TRUE(registry.Add(s, [this, net](const acm::Sharing& sharing, std::string_view why) {
        networks.DetachAll(sharing.subject, net, why);
      }));
    }
  }
  UniqueFd Attach(std::uint32_t id, const std::string& net, std::uint8_t mac) {
    auto nic = networks.Attach(DomainId{id}, net, Mac(mac));
    EXPECT_TRUE(nic) << nic.error().message;
    return nic ? std::move(nic->peer) : UniqueFd{};
  }
  std::size_t NetworkSharings() const {
    std::size_t n = 0;
    for (const auto& s : acm.sharings()) n += s.share_kind == acm::ShareKind::kNetwork ? 1U : 0U;
    return n;
  }

  FixedClock clock;
  acm::VectorAuditSink audit;
  acm::Acm acm{clock, audit};
  enforce::SharingRegistry registry{acm};
  VirtualNetworks networks{acm, registry};
};

}  // namespace shype::vswitch::testing
