// SPDX-License-Identifier: Apache-2.0
//
// Audit records of the reference monitor: every denial and every rejected policy update yields
// one AuditRecord handed to an injected AuditSink. The ACM does no I/O: a sink must return
// without waiting on I/O (the daemon queues a JSON line; VectorAuditSink is for tests).
// AuditSink implementations must be thread-safe; VectorAuditSink is.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "shype/acm/types.h"
#include "shype/common/id.h"
#include "shype/policy/binary_policy.h"

namespace shype::acm {

// The time source of audit records; injected so tests control it.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::system_clock::time_point Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    return std::chrono::system_clock::now();
  }
};

// One side of a decision: a domain, or a resource named by the enforcement point.
struct AuditParty {
  std::optional<DomainId> domain;
  std::string resource;  // empty for domains
  Ssidref ssidref = kInvalidSsidref;
  std::string label;  // empty if unknown
  std::vector<std::string> ste_types;
  std::vector<std::string> chwall_types;
  std::string name = {};  // a domain's name, if the recording layer knows it
  friend bool operator==(const AuditParty&, const AuditParty&) = default;
};

struct AuditRecord {
  std::chrono::system_clock::time_point time;
  // What happened: "check" (a hook's decision), "relabel", "policy-install", "policy-reset",
  // "policy-update" (refused), "revoke", "domain-create", "domain-end", "resource-label", ...
  std::string action = "check";
  Hook hook = Hook::kDoorbell;
  AuditParty subject;
  AuditParty object;
  std::string policy_name;  // empty if no policy is loaded
  policy::XmlVersion policy_version;
  PolicySeqno seqno{0};
  Decision decision = Decision::kDeny;
  std::string reason;
  friend bool operator==(const AuditRecord&, const AuditRecord&) = default;
};

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Takes one record. Called outside the ACM's locks, possibly from several threads at once.
  // Must not block on I/O; a sink that cannot keep up drops and counts.
  virtual void Submit(AuditRecord record) = 0;
};

// Keeps every record in memory, for tests.
class VectorAuditSink final : public AuditSink {
 public:
  void Submit(AuditRecord record) override;
  std::vector<AuditRecord> records() const;
  void Clear();

 private:
  mutable std::mutex mu_;
  // Guarded by mu_:
  std::vector<AuditRecord> records_;
};

// Formats a record as one JSON object without a newline, e.g.
// {"time":"2024-05-01T12:00:00.000000Z","hook":"doorbell","decision":"deny",
//  "subject":{"domain":3,"ssidref":"0x00030003","label":"dom_Fun","ste_types":[..],..},
//  "object":{..},"policy":{"name":"example.client_v1","version":"1.0","seqno":2},"reason":".."}
std::string FormatAuditJson(const AuditRecord& record);

}  // namespace shype::acm
