// SPDX-License-Identifier: Apache-2.0
//
// Admin carries out the security administration operations of the API (xm's security
// commands: policy get/set/reset/dump, labels, resource labels, dry-run) on a state directory.
// The CLI uses it offline; shyped uses it with its Live system (the reference monitor, the
// sharing registry, the running domains), so that policy changes go through the monitor's update
// transaction (PolicyService) and running domains are taken into account.
// Not thread-safe: one Admin per thread (shyped calls it from its io thread only).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shype/acm/acm.h"
#include "shype/admin/active_policy.h"
#include "shype/admin/policy_compiler.h"
#include "shype/admin/policy_service.h"
#include "shype/admin/running_domains.h"
#include "shype/api/replies.h"
#include "shype/enforce/boot_images.h"
#include "shype/store/state_store.h"

namespace shype::admin {

// shyped's live system as the services use it: its reference monitor, the registry that tears
// its sharings down, and its running domains. Offline (the CLI) there is none.
struct Live {
  acm::Acm& acm;
  enforce::SharingRegistry& sharings;
  RunningDomains& domains;
};

class Admin {
 public:
  // `live`: shyped's (copied; what it names must outlive the Admin), nullptr offline.
  // `compiler` compiles setpolicy's XML; nullptr: the sandboxed shype-policyc installed beside
  // the running executable (found on first use).
  explicit Admin(store::StateStore& store, const Live* live = nullptr,
                 PolicyCompiler* compiler = nullptr);
  Admin(const Admin&) = delete;
  Admin& operator=(const Admin&) = delete;
  ~Admin();

  // The security administration operations of the API (docs/api.md describes each, its reply
  // and its errors), with their parameters decoded (api/command.h). A failed operation changes
  // nothing. Offline (no Live), the changes are refused with kConflict while domains are
  // recorded as running: they could not be checked against them.
  [[nodiscard]] Result<api::PolicyReply> GetPolicy();
  // Compiles `xml` (`source` names it in messages) and updates to it; `check_only`: only checks;
  // `revoke`: the live sharings it forbids are torn down instead of refusing it.
  [[nodiscard]] Result<api::PolicyChangeReply> SetPolicy(const std::string& xml,
                                                         const std::string& source, bool check_only,
                                                         bool revoke = false);
  [[nodiscard]] Result<api::PolicyChangeReply> ResetPolicy();
  [[nodiscard]] Result<api::PolicyDumpReply> DumpPolicy();
  // Stored versions: save (compiled, stored, not activated), list, read one back with its XML.
  [[nodiscard]] Result<api::PolicySaveReply> SavePolicy(const std::string& xml,
                                                        const std::string& source);
  [[nodiscard]] Result<api::PolicyVersionsReply> PolicyVersions();
  [[nodiscard]] Result<api::StoredPolicyVersion> GetPolicyVersion(const std::string& name,
                                                                  const std::string& version);
  // policy.analyze: what `xml` (`source` names it; nullopt: the active policy) means, and which
  // running domains may share now (offline: Domain-0 alone). policy_analysis.cc.
  [[nodiscard]] Result<api::PolicyAnalysisReply> AnalyzePolicy(
      const std::optional<std::string>& xml, const std::string& source);
  // policy.diff: what replacing `old_xml` (nullopt: the active policy) by `new_xml` changes,
  // and setpolicy --check's violations of `new_xml` against the running host.
  [[nodiscard]] Result<api::PolicyDiffReply> DiffPolicies(const std::optional<std::string>& old_xml,
                                                          const std::string& old_source,
                                                          const std::string& new_xml,
                                                          const std::string& new_source);
  // Every operation returns a typed reply (api/replies.h), encoded to JSON only at the API's
  // edge (api/reply_json.h).
  // `type`: dom, res or any (else kInvalidArgument); `policy`: empty or the active policy.
  [[nodiscard]] Result<api::LabelsReply> Labels(const std::string& type, const std::string& policy);
  [[nodiscard]] Result<api::ResourceLabelReply> AddResourceLabel(const std::string& resource,
                                                                 const std::string& label,
                                                                 const std::string& policy);
  [[nodiscard]] Result<api::ResourceLabelReply> GetResourceLabel(const std::string& resource);
  [[nodiscard]] Result<void> RemoveResourceLabel(const std::string& resource);
  [[nodiscard]] Result<api::ResourcesReply> Resources();
  // Checks the domain configuration `config` (`path` names it) without starting anything.
  [[nodiscard]] Result<api::DryRunReply> DryRun(const std::string& config, const std::string& path);

 private:
  [[nodiscard]] Result<std::string> FindLabeledResource(const std::string& spec);
  [[nodiscard]] Result<void> CheckNoUnmonitoredDomains(std::string_view op) const;
  // The policy the reference monitor enforces (its name, labels and their ssidrefs).
  [[nodiscard]] Result<acm::LoadedPolicy> Enforced();
  // The reference monitor: shyped's (live), else one loaded with the store's policy in which
  // only Domain-0 runs (offline: made on first use, for queries and the policy operations).
  [[nodiscard]] Result<const acm::Acm*> Monitor();
  // The policy lifecycle over the store and Monitor() (made on first use).
  [[nodiscard]] Result<PolicyService*> Policies();
  [[nodiscard]] Result<void> CheckNotInUse(const std::string& resource) const;

  store::StateStore& store_;
  acm::Acm* live_acm_ = nullptr;                  // shyped's, else nullptr
  enforce::SharingRegistry* sharings_ = nullptr;  // shyped's, else nullptr
  RunningDomains* live_ = nullptr;                // shyped's running domains, else nullptr
  PolicyCompiler* compiler_;
  struct OfflineMonitor;
  std::unique_ptr<OfflineMonitor> offline_;  // offline: Monitor()'s reference monitor
  std::unique_ptr<PolicyService> policies_;
};

}  // namespace shype::admin
