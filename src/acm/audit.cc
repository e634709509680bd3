// SPDX-License-Identifier: Apache-2.0
//
// Audit plumbing: the in-memory sink for tests and the JSON-line formatter the daemon writes.
#include "shype/acm/audit.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "shype/policy/label_map.h"

namespace shype::acm {
namespace {

nlohmann::json PartyJson(const AuditParty& party) {
  nlohmann::json json = nlohmann::json::object();
  if (party.domain) json["domain"] = party.domain->value();
  if (!party.name.empty()) json["name"] = party.name;
  if (!party.resource.empty()) json["resource"] = party.resource;
  json["ssidref"] = fmt::format("{}", party.ssidref);
  // One name for "no label" everywhere: a resource recorded without one is __UNLABELED__.
  json["label"] = party.label.empty() && !party.resource.empty()
                      ? std::string(policy::kUnlabeledLabel)
                      : party.label;
  json["ste_types"] = party.ste_types;
  json["chwall_types"] = party.chwall_types;
  return json;
}

std::string FormatTime(std::chrono::system_clock::time_point time) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
  const auto seconds = std::chrono::system_clock::time_point(
      std::chrono::seconds(micros >= 0 ? micros / 1000000 : (micros - 999999) / 1000000));
  const auto fraction =
      micros -
      std::chrono::duration_cast<std::chrono::microseconds>(seconds.time_since_epoch()).count();
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:06d}Z", fmt::gmtime(seconds), fraction);
}

}  // namespace

std::string_view DecisionName(Decision decision) {
  switch (decision) {
    case Decision::kPermit:
      return "permit";
    case Decision::kDeny:
      return "deny";
  }
  return "deny";
}

std::string_view ShareKindName(ShareKind kind) {
  switch (kind) {
    case ShareKind::kDoorbell:
      return "doorbell";
    case ShareKind::kSharedMemory:
      return "shared-memory";
    case ShareKind::kNetwork:
      return "network";
    case ShareKind::kDisk:
      return "disk";
  }
  return "unknown";
}

std::string_view ResourceKindName(ResourceKind kind) {
  switch (kind) {
    case ResourceKind::kDisk:
      return "disk";
    case ResourceKind::kNetwork:
      return "network";
    case ResourceKind::kSharedMemory:
      return "shared-memory";
    case ResourceKind::kVtpm:
      return "vtpm";
  }
  return "unknown";
}

std::string_view HookName(Hook hook) {
  switch (hook) {
    case Hook::kDoorbell:
      return "doorbell";
    case Hook::kSharedMemory:
      return "shared-memory";
    case Hook::kNetwork:
      return "network";
    case Hook::kResource:
      return "resource";
    case Hook::kDomainCreate:
      return "domain-create";
    case Hook::kAuthorization:
      return "authorization";
    case Hook::kConflictSet:
      return "conflict-set";
    case Hook::kPolicyUpdate:
      return "policy-update";
    case Hook::kSharedDisk:
      return "shared-disk";
    case Hook::kRelabel:
      return "relabel";
  }
  return "unknown";
}

void VectorAuditSink::Submit(AuditRecord record) {
  std::lock_guard lock(mu_);
  records_.push_back(std::move(record));
}

std::vector<AuditRecord> VectorAuditSink::records() const {
  std::lock_guard lock(mu_);
  return records_;
}

void VectorAuditSink::Clear() {
  std::lock_guard lock(mu_);
  records_.clear();
}

std::string FormatAuditJson(const AuditRecord& record) {
  nlohmann::json json = nlohmann::json::object();
  json["time"] = FormatTime(record.time);
  json["action"] = record.action;
  json["hook"] = HookName(record.hook);
  json["decision"] = DecisionName(record.decision);
  json["subject"] = PartyJson(record.subject);
  json["object"] = PartyJson(record.object);
  json["policy"] = {
      {"name", record.policy_name},
      {"version", fmt::format("{}.{}", record.policy_version.major, record.policy_version.minor)},
      {"seqno", record.seqno.value()}};
  json["reason"] = record.reason;
  // Replace invalid UTF-8 rather than throw: labels come from policies and requests.
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace shype::acm
