// SPDX-License-Identifier: Apache-2.0
//
// Tests of the resource label change records: the shape of the other records (subject Domain-0,
// object the resource and its new label), __UNLABELED__ after a removal.
#include "resource_label_audit.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace shype::daemon {
namespace {

const acm::DomainInfo kAdmin{kDomain0, Ssidref{0x00010001}, "SystemManagement"};

TEST(ResourceLabelAuditTest, AnAddRecordsTheNewLabelOfTheResource) {
  const api::ResourceLabelReply after{"file:/img/bank.img", LabelKind::kAcm, "shype.demo",
                                      "BankDisk"};
  acm::AuditRecord record =
      ResourceLabelRecord(nullptr, kAdmin, "file:/img/bank.img", std::nullopt, after);
  auto json = nlohmann::json::parse(acm::FormatAuditJson(record));
  EXPECT_EQ(json["action"], "resource-label");
  EXPECT_EQ(json["decision"], "permit");
  EXPECT_EQ(json["subject"]["domain"], 0);
  EXPECT_EQ(json["subject"]["name"], "Domain-0");
  EXPECT_EQ(json["subject"]["label"], "SystemManagement");
  EXPECT_EQ(json["object"]["resource"], "file:/img/bank.img");
  EXPECT_EQ(json["object"]["label"], "BankDisk");
  EXPECT_EQ(json["reason"], "labeled ACM:shype.demo:BankDisk (was unlabeled)");
}

TEST(ResourceLabelAuditTest, ARemovalRecordsTheResourceAsUnlabeled) {
  const api::ResourceLabelReply before{"file:/img/bank.img", LabelKind::kInvalidated, "shype.demo",
                                       "BankDisk"};
  acm::AuditRecord record =
      ResourceLabelRecord(nullptr, kAdmin, "file:/img/bank.img", before, std::nullopt);
  auto json = nlohmann::json::parse(acm::FormatAuditJson(record));
  EXPECT_EQ(json["action"], "resource-label");
  EXPECT_EQ(json["object"]["resource"], "file:/img/bank.img");
  EXPECT_EQ(json["object"]["label"], "__UNLABELED__");
  EXPECT_EQ(json["reason"], "label INV_ACM:shype.demo:BankDisk removed: __UNLABELED__ now");
}

}  // namespace
}  // namespace shype::daemon
