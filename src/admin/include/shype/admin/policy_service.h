// SPDX-License-Identifier: Apache-2.0
//
// PolicyService is the policy lifecycle (xm getpolicy, setpolicy, resetpolicy, dumppolicy) as one
// transaction over the state store and the reference monitor: compile (sandboxed), plan in the
// ACM once, record durably, commit; then revoked sharings are torn down and the running domains'
// records follow the renames. shyped runs it with its ACM; the offline CLI with an ACM of its own
// (only Domain-0 runs there). The enforced policy is the ACM's: nothing here keeps a copy.
// Not thread-safe: one caller thread (shyped's io thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "shype/acm/acm.h"
#include "shype/acm/policy_analysis.h"
#include "shype/admin/policy_compiler.h"
#include "shype/admin/running_domains.h"
#include "shype/api/replies.h"
#include "shype/enforce/sharing_registry.h"
#include "shype/store/state_store.h"

namespace shype::admin {

// A policy as getpolicy shows it (the API's reply type: the service computes exactly that).
using PolicyInfo = api::PolicyInfo;

// getpolicy: the enforced policy and every version installed, oldest first.
struct PolicyState {
  PolicyInfo policy;
  std::vector<store::PolicyRecord> history;
};

// setpolicy / resetpolicy: the policy updated to (or checked), and the resources relabeled.
struct PolicyChange {
  bool check_only = false;
  PolicyInfo policy;
  std::vector<store::ResourceLabel> relabeled_resources;
};

class PolicyService {
 public:
  // `acm` enforces the store's active policy. `sharings` and `domains`: shyped's (both nullptr
  // offline). `compiler` nullptr: the sandboxed shype-policyc beside the running executable,
  // found on first use. All must outlive the service.
  PolicyService(store::StateStore& store, acm::Acm& acm, enforce::SharingRegistry* sharings,
                RunningDomains* domains, PolicyCompiler* compiler);
  PolicyService(const PolicyService&) = delete;
  PolicyService& operator=(const PolicyService&) = delete;
  ~PolicyService();

  // The operations of docs/api.md (replies and errors there). A refused or failed one changes
  // nothing; a refusal lists every violation (kConflict; kPolicyInvalid for the file alone).
  [[nodiscard]] Result<PolicyState> Get();
  // Compiles `xml` (`source` names it in messages) and updates to it; `check_only`: checks only;
  // `revoke`: the live sharings it forbids are torn down (each audited) instead of refusing it
  // (a Chinese Wall conflict among running domains is still refused).
  [[nodiscard]] Result<PolicyChange> Set(const std::string& xml, const std::string& source,
                                         bool check_only, bool revoke = false);
  [[nodiscard]] Result<PolicyChange> Reset();
  // xm dumppolicy; live with the Chinese Wall running types and conflict aggregate.
  [[nodiscard]] Result<std::string> Dump();

  // Stored versions (policy_versions.cc). Save compiles `xml` (sandboxed, as Set) and stores it
  // as a new version without activating it (kConflict: that name and version hold other XML;
  // kInvalidArgument: the DEFAULT policy, which is built in).
  [[nodiscard]] Result<api::PolicySaveReply> Save(const std::string& xml,
                                                  const std::string& source);
  // Every stored version, oldest first, the active one marked.
  [[nodiscard]] Result<api::PolicyVersionsReply> Versions();
  // One stored version with its XML (kNotFound naming what is stored).
  [[nodiscard]] Result<api::StoredPolicyVersion> Version(const std::string& name,
                                                         const std::string& version);
  // For the policy analysis (nothing changes). Compiles `xml` as Set does (sandboxed).
  [[nodiscard]] Result<policyc::CompiledPolicy> Compile(const std::string& xml,
                                                        const std::string& source);
  // The enforced policy with its document's names: the store's XML compiled again (the result
  // must be the enforced binary, else kConflict), or the built-in DEFAULT.
  [[nodiscard]] Result<policyc::CompiledPolicy> CompileActive();
  // What `setpolicy --check` of `next` finds: the update's check-only run (the ACM's
  // PrepareUpdate) against the running domains, their sharings and the stored resource labels.
  [[nodiscard]] Result<std::vector<acm::Violation>> Check(const policyc::CompiledPolicy& next);
  // The running domains (creation order, Domain-0 first) as the ACM labels them, named.
  std::vector<acm::AnalysisDomain> RunningLabels() const;
  // The store's resource labels under the enforced policy.
  [[nodiscard]] Result<std::vector<acm::StoredResourceLabel>> StoredResourceLabels();
  // A running domain's name ("Domain-0" for 0), plain.
  std::string DomainName(DomainId id) const;

  const acm::Acm& monitor() const { return acm_; }

 private:
  struct Candidate;
  [[nodiscard]] Result<PolicyCompiler*> Compiler();
  [[nodiscard]] Result<acm::LoadedPolicy> Enforced() const;
  // The transaction: the ACM checks once, the store records, the ACM commits what it checked.
  // `changes`: the store's relabels on commit; `stored`: the labels the ACM checks against the
  // new policy; `refusal_hint` (if not empty) opens a refusal's message.
  [[nodiscard]] Result<PolicyChange> Update(const Candidate& next, bool check_only, bool revoke,
                                            std::vector<store::ResourceLabel> changes,
                                            std::vector<acm::StoredResourceLabel> stored,
                                            std::string_view refusal_hint);
  [[nodiscard]] Result<void> Record(const Candidate& next,
                                    const std::vector<store::ResourceLabel>& changes,
                                    std::string_view domain0_label);
  [[nodiscard]] Result<void> CommitChecked(acm::PreparedUpdate prepared, const Candidate& next);
  std::string NameOf(DomainId id) const;

  store::StateStore& store_;
  acm::Acm& acm_;
  enforce::SharingRegistry* sharings_;
  RunningDomains* domains_;
  PolicyCompiler* compiler_;
  std::unique_ptr<PolicyCompiler> own_compiler_;  // the default, when none was given
};

}  // namespace shype::admin
