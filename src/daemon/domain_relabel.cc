// SPDX-License-Identifier: Apache-2.0
//
// Live relabel (`shype addlabel LABEL dom NAME`, `addlabel LABEL mgt Domain-0`): the ACM decides
// (RelabelDomain: all or nothing); the manager keeps the outcome where a restart finds it (the
// domain's record; for Domain-0 the state directory) and undoes the relabel when it cannot.
#include <fmt/format.h>

#include "domain_manager.h"
#include "shype/admin/verdict_text.h"
#include "shype/common/log.h"

namespace shype::daemon {

namespace {

std::string Qualified(const std::string& policy, const std::string& label) {
  return fmt::format("ACM:{}:{}", policy, label);
}

}  // namespace

Result<DomainManager::Domain*> DomainManager::RelabelTarget(const std::string& name) {
  Domain* d = Find(name);
  if (d == nullptr) return Fail(ErrorCode::kNotFound, "no domain named '{}' is running", name);
  const std::string& real = d->record.name;
  if (d->state != DomainState::kRunning && d->state != DomainState::kPaused) {
    return Fail(ErrorCode::kConflict,
                "domain '{}' is {}: only a running or paused domain is "
                "relabeled live",
                real, DomainStateName(d->state));
  }
  if (auto available = Available(*d); !available) return Fail(available.error());
  // SECURITY: a hotplug waiting for QEMU checked the old label; it ends first.
  if (d->disk_busy || !d->attaching.empty() || !d->unplugging.empty()) {
    return Fail(ErrorCode::kConflict,
                "a block-attach or block-detach of domain '{}' is in progress; try again when it "
                "has finished",
                real);
  }
  return d;
}

Result<RelabelOutcome> DomainManager::Relabel(const std::string& name, const std::string& label,
                                              const std::string& policy) {
  auto active = acm_.active_policy();
  if (!active) return Fail(ErrorCode::kUnavailable, "the reference monitor has no policy loaded");
  if (!policy.empty() && policy != active->name()) {
    return Fail(ErrorCode::kInvalidArgument,
                "policy '{}' is not the enforced policy '{}': a running domain is relabeled "
                "under the enforced policy only",
                policy, active->name());
  }
  auto ssidref = active->VmSsidref(label);
  if (!ssidref) {
    if (active->ResourceSsidref(label)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "'{}' is a resource label of policy '{}', not a VM label", label, active->name());
    }
    return Fail(ErrorCode::kNotFound, "'{}' is not a label of policy '{}'", label, active->name());
  }
  if (name == "Domain-0" || name == "0") return RelabelDomain0(*active, label, *ssidref);
  auto target = RelabelTarget(name);
  if (!target) return Fail(target.error());
  Domain* d = *target;
  const std::string& real = d->record.name;
  const DomainId id = d->record.id;
  const Ssidref old_ssidref = d->record.ssidref;
  const std::string old_label = d->record.label;
  // SECURITY: a domain that left a region while it runs may still map its memory (its pair
  // sharings ended): its new label must be one the region's others may share with, and so must a
  // present peer's beside it.
  std::vector<acm::RelabelPeer> peers;
  for (const auto& [peer, region] : regions_.UnpairedPeers(id)) {
    peers.push_back({peer, fmt::format("the memory of region '{}'", region)});
  }
  auto relabel = acm_.RelabelDomain(id, *ssidref, peers);
  if (!relabel) return Fail(relabel.error());
  if (!relabel->verdict.permitted()) {
    return Fail(admin::RelabelRefusal(NameOf(id), old_label, label, *relabel,
                                      [this](DomainId other) { return NameOf(other); }));
  }
  const DomainRecord before = d->record;
  d->record.label = label;
  d->record.ssidref = *ssidref;
  d->record.policy = active->name();
  if (auto saved = SaveDomainRecord(d->run_dir, d->record); !saved) {
    // Undo: the old label was admitted beside everything that runs, and nothing ran meanwhile.
    d->record = before;
    if (auto back = acm_.RelabelDomain(id, old_ssidref); !back || !back->verdict.permitted()) {
      log::Error("domain '{}': its relabel could not be undone in the reference monitor", real);
    }
    return Fail(saved.error().WithContext(
        fmt::format("domain '{}' was not relabeled: its record cannot be saved", real)));
  }
  networks_.FollowPolicy();  // pairs the new label lets share get their sharing
  log::Info("domain '{}' relabeled from '{}' to '{}'", real, old_label, label);
  return RelabelOutcome{real, id, Qualified(before.policy, old_label),
                        Qualified(active->name(), label)};
}

Result<RelabelOutcome> DomainManager::RelabelDomain0(const acm::LoadedPolicy& active,
                                                     const std::string& label, Ssidref ssidref) {
  std::string old_label(active.bootstrap_label());
  Ssidref old_ssidref = active.bootstrap_ssidref();
  for (const acm::DomainInfo& info : acm_.domains()) {
    if (info.id == kDomain0) {
      old_label = info.label;
      old_ssidref = info.ssidref;
    }
  }
  auto recorded = store_.ActivePolicy();
  if (!recorded) return Fail(recorded.error());
  if (!*recorded) {
    return Fail(ErrorCode::kConflict,
                "the DEFAULT policy keeps Domain-0 on its bootstrap label: install a policy first");
  }
  auto relabel = acm_.RelabelDomain(kDomain0, ssidref);
  if (!relabel) return Fail(relabel.error());
  if (!relabel->verdict.permitted()) {
    return Fail(admin::RelabelRefusal("Domain-0", old_label, label, *relabel,
                                      [this](DomainId other) { return NameOf(other); }));
  }
  const std::string stored = label == active.bootstrap_label() ? std::string() : label;
  if (auto saved = store_.SetDomain0Label(stored); !saved) {
    if (auto back = acm_.RelabelDomain(kDomain0, old_ssidref);
        !back || !back->verdict.permitted()) {
      log::Error("Domain-0: its relabel could not be undone in the reference monitor");
    }
    return Fail(saved.error().WithContext("Domain-0 was not relabeled"));
  }
  networks_.FollowPolicy();
  log::Info("Domain-0 relabeled from '{}' to '{}'", old_label, label);
  return RelabelOutcome{"Domain-0", kDomain0, Qualified(active.name(), old_label),
                        Qualified(active.name(), label)};
}

}  // namespace shype::daemon
