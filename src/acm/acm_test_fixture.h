// SPDX-License-Identifier: Apache-2.0
//
// Shared test fixture: an Acm with a fake clock and a recording audit sink, loaded with a policy
// built from a compact description. Test-only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "shype/acm/acm.h"
#include "test_policy.h"

namespace shype::acm::testing {

class FakeClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override { return now; }
  std::chrono::system_clock::time_point now{std::chrono::seconds(1714564800)};
};

class AcmFixture : public ::testing::Test {
 protected:
  void Load(const PolicySpec& spec) {
    auto built = BuildPolicy(spec);
    auto seqno = acm.LoadPolicy(built.binary, built.labels);
    ASSERT_TRUE(seqno) << seqno.error().message;
  }
  Ssidref Vm(const std::string& label) const {
    auto ref = acm.active_policy()->VmSsidref(label);
    EXPECT_TRUE(ref) << label;
    return ref.value_or(kInvalidSsidref);
  }
  Ssidref Res(const std::string& label) const {
    auto ref = acm.active_policy()->ResourceSsidref(label);
    EXPECT_TRUE(ref) << label;
    return ref.value_or(kInvalidSsidref);
  }
  // Creates a domain and expects the admission to permit.
  void Start(std::uint32_t id, const std::string& label) {
    auto admission = acm.CheckDomainCreate(DomainId{id}, Vm(label));
    ASSERT_EQ(admission.decision, Decision::kPermit) << admission.reason;
  }

  FakeClock clock;
  VectorAuditSink audit;
  Acm acm{clock, audit};
};

}  // namespace shype::acm::testing
