// SPDX-License-Identifier: Apache-2.0
//
// Test fixture: the real ACM loaded with the project's cloud policy (tests/data/policies/
// shype-cloud.xml), a SharingRegistry and VirtualNetworks over it, and admission as create does.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "shype/policyc/compiler.h"
#include "shype/policyc/policy_document.h"
#include "shype/vswitch/networks.h"
#include "test_frames.h"

namespace shype::vswitch::testing {

class FixedClock final : public acm::Clock {
 public:
  std::chrono::system_clock::time_point Now() const override { return {}; }
};

inline std::string CloudPolicyXml() {
  std::ifstream in(std::string(SHYPE_SOURCE_DIR) + "/tests/data/policies/shype-cloud.xml",
                   std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

inline Result<policyc::CompiledPolicy> Compile(const std::string& xml) {
  std::vector<std::uint8_t> bytes(xml.begin(), xml.end());
  auto doc = policyc::ParsePolicyXml(bytes, "shype-cloud.xml");
  if (!doc) return Fail(doc.error());
  return policyc::CompilePolicy(*doc);
}

// Version 1.1 of the cloud policy (FromPolicy: 1.0) with `from` replaced by `to`.
inline Result<policyc::CompiledPolicy> CloudPolicyWith(const std::string& from,
                                                       const std::string& to) {
  std::string xml = CloudPolicyXml();
  const auto at = xml.find(from);
  if (at == std::string::npos) return Fail(ErrorCode::kNotFound, "'{}' is not in the policy", from);
  xml.replace(at, from.size(), to);
  xml.replace(xml.find("<Version>1.0</Version>"), 22, "<Version>1.1</Version>");
  return Compile(xml);
}

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
