// SPDX-License-Identifier: Apache-2.0
//
// Admin carries out the security administration operations of the API (xm's security
// commands: policy get/set/reset/dump, labels, resource labels, dry-run) on a state directory.
// The CLI uses it offline; shyped uses it with a LiveSystem so that policy changes go through
// the reference monitor's update transaction and running domains are taken into account.
// Not thread-safe: one Admin per thread (shyped calls it from its io thread only).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shype/acm/acm.h"
#include "shype/admin/active_policy.h"
#include "shype/admin/policy_compiler.h"
#include "shype/api/replies.h"
#include "shype/api/wire.h"
#include "shype/enforce/boot_images.h"
#include "shype/store/state_store.h"

namespace shype::admin {

struct RunningDomain {
  std::string name;
  std::uint32_t id = 0;
  std::string label;
  std::vector<std::string> resources;  // unified names in use
};

// What shyped provides to Admin about the live system.
class LiveSystem {
 public:
  virtual ~LiveSystem() = default;
  virtual std::vector<RunningDomain> Domains() const = 0;
  // The policy the reference monitor enforces now.
  virtual const ActivePolicy& Active() const = 0;
  // The reference monitor: dry-run's decisions are its side-effect-free queries.
  virtual const acm::Acm& Monitor() const = 0;
  // "'bank1' (id 1)" for a running domain, to name the parties of a verdict.
  virtual std::string NameOf(DomainId id) const = 0;
  // The reference monitor's check of an update to `next` (its snapshot built once), kept for
  // CommitUpdate. Errors: the refusal listing every violation; nothing changes then.
  [[nodiscard]] virtual Result<acm::PreparedUpdate> PrepareUpdate(const ActivePolicy& next) = 0;
  // Commits a prepared update once the store has recorded it, and keeps the domains' records in
  // step. Errors: the monitor refused it after all (nothing of it is enforced).
  [[nodiscard]] virtual Result<void> CommitUpdate(acm::PreparedUpdate prepared,
                                                  const ActivePolicy& next) = 0;
  // xm dumppolicy of the live policy (with running types and conflict aggregate).
  virtual std::string DumpLivePolicy() const = 0;
  virtual api::Json Statistics() const = 0;
  // The image directories boot images come from (dry-run opens kernel and ramdisk there too).
  virtual const enforce::BootImages* BootImages() const { return nullptr; }
};

class Admin {
 public:
  // `compiler` compiles setpolicy's XML; nullptr: the sandboxed shype-policyc installed beside
  // the running executable (found on first use).
  explicit Admin(store::StateStore& store, LiveSystem* live = nullptr,
                 PolicyCompiler* compiler = nullptr);
  Admin(const Admin&) = delete;
  Admin& operator=(const Admin&) = delete;
  ~Admin();

  // The security administration operations of the API (docs/api.md describes each, its reply
  // and its errors), with their parameters decoded (api/command.h). A failed operation changes
  // nothing. Offline (no LiveSystem), the changes are refused with kConflict while domains are
  // recorded as running: they could not be checked against them.
  [[nodiscard]] Result<api::Json> GetPolicy();
  // Compiles `xml` (`source` names it in messages) and updates to it; `check_only`: only checks.
  [[nodiscard]] Result<api::Json> SetPolicy(const std::string& xml, const std::string& source,
                                            bool check_only);
  [[nodiscard]] Result<api::Json> ResetPolicy();
  [[nodiscard]] Result<api::Json> DumpPolicy();
  // The label, resource and dry-run operations return typed replies (api/replies.h), encoded
  // to JSON only at the API's edge (api/reply_json.h).
  // `type`: dom, res or any (else kInvalidArgument); `policy`: empty or the active policy.
  [[nodiscard]] Result<api::LabelsReply> Labels(const std::string& type,
                                                const std::string& policy);
  [[nodiscard]] Result<api::ResourceLabelReply> AddResourceLabel(const std::string& resource,
                                                                 const std::string& label,
                                                                 const std::string& policy);
  [[nodiscard]] Result<api::ResourceLabelReply> GetResourceLabel(const std::string& resource);
  [[nodiscard]] Result<void> RemoveResourceLabel(const std::string& resource);
  [[nodiscard]] Result<api::ResourcesReply> Resources();
  // Checks the domain configuration `config` (`path` names it) without starting anything.
  [[nodiscard]] Result<api::DryRunReply> DryRun(const std::string& config,
                                                const std::string& path);

 private:
  [[nodiscard]] Result<std::string> FindLabeledResource(const std::string& spec);
  [[nodiscard]] Result<void> CheckNoUnmonitoredDomains(std::string_view op) const;
  // The enforced policy: shyped's (live), else loaded from the store. Valid until the next call
  // or a committed update.
  [[nodiscard]] Result<const ActivePolicy*> Current();
  [[nodiscard]] Result<PolicyCompiler*> Compiler();
  // The reference monitor: shyped's (live), else one loaded with the store's policy in which
  // only Domain-0 runs (offline: for queries and check-only updates; it records nothing).
  [[nodiscard]] Result<const acm::Acm*> Monitor();
  // The monitor's check of an update to `next`: shyped's, or offline the monitor of Monitor().
  [[nodiscard]] Result<acm::PreparedUpdate> PrepareUpdate(const ActivePolicy& next);
  [[nodiscard]] Result<void> CheckNotInUse(const std::string& resource) const;
  [[nodiscard]] Result<api::Json> Commit(const ActivePolicy& next, bool check_only,
                                         const std::vector<store::ResourceLabel>& changes);

  store::StateStore& store_;
  LiveSystem* live_;
  PolicyCompiler* compiler_;
  std::unique_ptr<PolicyCompiler> own_compiler_;  // the default, when none was given
  std::optional<ActivePolicy> loaded_;            // offline: the policy Current() loaded
  struct OfflineMonitor;
  std::unique_ptr<OfflineMonitor> offline_;  // offline: Monitor()'s reference monitor
};

// The getpolicy record of a policy.
api::Json PolicyJson(const ActivePolicy& policy, bool loaded);

}  // namespace shype::admin
