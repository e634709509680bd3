// SPDX-License-Identifier: Apache-2.0
//
// The policy update transaction (spec-acm §5.1-5.2, §5.4): under the writers' mutex, translate
// every running domain's label and every stored resource label into the new policy, replay Chinese
// Wall admissions, re-check every live sharing and the version rules (and the reserved name),
// collect all violations, then commit atomically or not at all.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "acm_update_plan.h"
#include "rules.h"
#include "shype/acm/acm.h"

namespace shype::acm {

namespace {

std::string VersionText(const policy::XmlVersion& v) {
  return fmt::format("{}.{}", v.major, v.minor);
}

Violation MakeViolation(ViolationKind kind, std::string message) {
  Violation v;
  v.kind = kind;
  v.message = std::move(message);
  return v;
}

}  // namespace

std::string_view ViolationKindName(ViolationKind kind) {
  switch (kind) {
    case ViolationKind::kVersion:
      return "version";
    case ViolationKind::kCombination:
      return "combination";
    case ViolationKind::kBadRename:
      return "bad-rename";
    case ViolationKind::kLabelMissing:
      return "label-missing";
    case ViolationKind::kBootstrapLabel:
      return "bootstrap-label";
    case ViolationKind::kChineseWallConflict:
      return "chinese-wall-conflict";
    case ViolationKind::kSharingBroken:
      return "sharing-broken";
    case ViolationKind::kResourceLabelMissing:
      return "resource-label-missing";
    case ViolationKind::kUnauthorized:
      return "unauthorized";
  }
  return "unknown";
}

std::vector<Violation> Acm::CheckVersion(const PolicySnapshot& next, const UpdateRequest& r) const {
  std::vector<Violation> out;
  const PolicySnapshot& cur = *policy_;
  if (cur.binary().primary != next.binary().primary ||
      cur.binary().secondary != next.binary().secondary) {
    out.push_back(MakeViolation(
        ViolationKind::kCombination,
        fmt::format("the component combination cannot change: active {}/{}, new {}/{}",
                    policy::PolicyCodeName(cur.binary().primary),
                    policy::PolicyCodeName(cur.binary().secondary),
                    policy::PolicyCodeName(next.binary().primary),
                    policy::PolicyCodeName(next.binary().secondary))));
  }
  // SECURITY: the name DEFAULT is reserved for the built-in policy, which the rule below skips
  // when it is active: a policy merely named DEFAULT would let any policy replace it next, an
  // older version of the real one too.
  if (!r.force_reset && next.name() == "DEFAULT") {
    out.push_back(MakeViolation(ViolationKind::kVersion,
                                "the policy name 'DEFAULT' is reserved for the built-in DEFAULT "
                                "policy: name the policy otherwise (resetpolicy installs the "
                                "DEFAULT policy)"));
  }
  // Xen skipped the rules when either side is the DEFAULT policy (reset, first install). The new
  // side is the DEFAULT policy only as a reset (force_reset, decided on its structure by the
  // caller), never by its name: a policy merely named DEFAULT must not skip the rule. The
  // active side is named DEFAULT only as the built-in one (the check above refuses the name).
  if (r.force_reset || cur.name() == "DEFAULT") return out;
  // Spec §5.4, the one version rule: <FromPolicy> names the active policy's name and version,
  // and the new version is greater (a renamed policy too: FromPolicy carries the old name).
  const PolicyRef active{cur.name(), cur.binary().xml_version};
  const auto& version = next.binary().xml_version;
  const std::string active_text =
      fmt::format("'{}' version {}", active.name, VersionText(active.version));
  if (!r.from_policy) {
    out.push_back(MakeViolation(
        ViolationKind::kVersion,
        fmt::format("policy '{}' version {} may replace the active policy {} only with "
                    "<FromPolicy> naming it: add <FromPolicy><PolicyName>{}</PolicyName>"
                    "<Version>{}</Version></FromPolicy> (or reset the policy)",
                    next.name(), VersionText(version), active_text, active.name,
                    VersionText(active.version))));
  } else if (*r.from_policy != active) {
    out.push_back(MakeViolation(
        ViolationKind::kVersion,
        fmt::format("FromPolicy '{}' version {} does not name the active policy {}",
                    r.from_policy->name, VersionText(r.from_policy->version), active_text)));
  }
  if (!(version > active.version)) {
    out.push_back(MakeViolation(
        ViolationKind::kVersion,
        fmt::format("new version {} of policy '{}' is not greater than the active version {}{}",
                    VersionText(version), next.name(), VersionText(active.version),
                    next.name() == cur.name() ? "" : fmt::format(" of '{}'", cur.name()))));
  }
  return out;
}

void Acm::PlanTranslation(const PolicySnapshot& next, const UpdateRequest& r,
                          UpdatePlan& plan) const {
  for (const auto& [from, to] : r.vm_label_renames) {
    if (!policy_->VmSsidref(from) || !next.VmSsidref(to)) {
      plan.violations.push_back(MakeViolation(
          ViolationKind::kBadRename,
          fmt::format("VM label rename '{}' -> '{}': '{}' must be a label of the active policy "
                      "and '{}' one of the new policy",
                      from, to, from, to)));
    }
  }
  for (const auto& [from, to] : r.resource_label_renames) {
    if (!policy_->ResourceSsidref(from) || !next.ResourceSsidref(to)) {
      plan.violations.push_back(MakeViolation(
          ViolationKind::kBadRename,
          fmt::format("resource label rename '{}' -> '{}': '{}' must be a resource label of the "
                      "active policy and '{}' one of the new policy",
                      from, to, from, to)));
    }
  }
  plan.invalidated = InvalidatedLabels(next, r.resource_label_renames, r.stored_resource_labels);
  const bool labeled = next.has_chwall() || next.has_ste();
  for (const auto& [id, record] : OrderedDomains()) {
    auto rename = r.vm_label_renames.find(record.label);
    const std::string& name = rename != r.vm_label_renames.end() ? rename->second : record.label;
    const auto ref = labeled ? next.VmSsidref(name) : std::optional<Ssidref>(Ssidref{0});
    if (!ref) {
      Violation v = MakeViolation(
          ViolationKind::kLabelMissing,
          fmt::format(
              "label '{}' of domain {} is not in the new policy '{}'{}", name, id, next.name(),
              name == record.label ? "" : fmt::format(" (renamed from '{}')", record.label)));
      v.domains = {id};
      plan.violations.push_back(std::move(v));
      continue;
    }
    plan.translated[id] =
        DomainRecord{*ref, labeled ? *next.VmLabelOf(*ref) : std::string(), record.order};
  }
  if (labeled) PlanDomain0(next, r, plan);
}

void Acm::PlanDomain0(const PolicySnapshot& next, const UpdateRequest& r, UpdatePlan& plan) const {
  auto current0 = domains_.find(kDomain0);
  if (current0 == domains_.end()) return;
  const DomainRecord& current = current0->second;
  const bool bootstrap = current.ssidref == Ssidref::FromParts(1, 1);
  const std::string boot(next.labels().bootstrap_label());
  auto is_dom0_missing = [](const Violation& v) {
    return v.kind == ViolationKind::kLabelMissing && v.domains == std::vector{kDomain0};
  };
  // A first policy (DEFAULT active) while nothing but Domain-0 runs: Domain-0 takes the new
  // bootstrap label, as Xen loaded a first policy with DOM0_SSIDREF. The update's other checks
  // (Domain-0's sharings) still apply to it.
  if (policy_->name() == "DEFAULT" && bootstrap && !r.vm_label_renames.contains(current.label) &&
      domains_.size() == 1) {
    plan.translated[kDomain0] = DomainRecord{Ssidref::FromParts(1, 1), boot, current.order};
    std::erase_if(plan.violations, is_dom0_missing);
    return;
  }
  const std::string hint =
      fmt::format(": write <VirtualMachineLabel><Name from=\"{}\">{}</Name> in the new policy",
                  current.label, bootstrap ? boot : current.label);
  for (Violation& v : plan.violations) {
    if (is_dom0_missing(v)) v.message += hint;
  }
  auto dom0 = plan.translated.find(kDomain0);
  if (dom0 == plan.translated.end()) return;  // its label is missing: reported above
  // Domain-0 on the bootstrap label must stay on it (its row 1 is what the policy says the
  // management plane is); a Domain-0 relabeled live keeps its (translated) label.
  if (bootstrap && dom0->second.ssidref != Ssidref::FromParts(1, 1)) {
    Violation v = MakeViolation(
        ViolationKind::kBootstrapLabel,
        fmt::format("Domain-0 would carry label '{}' but the bootstrap label of policy '{}' is "
                    "'{}'{}",
                    dom0->second.label, next.name(), boot, hint));
    v.domains = {kDomain0};
    plan.violations.push_back(std::move(v));
  }
}

void Acm::UpdatePlan::PlanAuthorization(const PolicySnapshot& next) {
  auto dom0 = translated.find(kDomain0);
  if (dom0 == translated.end()) return;  // its label is missing: reported already
  for (const auto& [id, record] : translated) {
    if (id == kDomain0) continue;
    const Verdict v = AuthorizationVerdict(&next, dom0->second.ssidref, record.ssidref);
    if (v.permitted()) continue;
    Violation violation =
        MakeViolation(ViolationKind::kUnauthorized,
                      fmt::format("running domain {} ('{}') would no longer be authorized {}: {}",
                                  id, record.label, under, v.reason));
    violation.domains = {kDomain0, id};
    violation.types = v.object_types;
    violations.push_back(std::move(violation));
  }
}

// Replays admissions in creation order under the new policy: each domain against every earlier
// one, reporting every blocked pair (Xen stopped at the first).
void Acm::PlanChineseWall(const PolicySnapshot& next, UpdatePlan& plan) const {
  if (!next.has_chwall()) return;
  std::vector<std::pair<DomainId, const DomainRecord*>> order;
  for (const auto& [id, record] : plan.translated) order.emplace_back(id, &record);
  std::sort(order.begin(), order.end(),
            [](const auto& a, const auto& b) { return a.second->order < b.second->order; });
  const auto& sets = next.binary().chwall->conflict_sets;
  const auto& names = next.labels().chwall_types;
  for (std::size_t later = 0; later < order.size(); ++later) {
    const std::uint32_t lrow = *next.ChwallRow(order[later].second->ssidref);
    for (std::size_t earlier = 0; earlier < later; ++earlier) {
      const std::uint32_t erow = *next.ChwallRow(order[earlier].second->ssidref);
      const auto blocks = next.BlockedBy(erow);
      std::vector<std::string> blocked;
      std::vector<std::string> blocking;
      for (std::uint32_t t : next.ChwallTypes(lrow)) {
        if (std::find(blocks.begin(), blocks.end(), t) != blocks.end()) blocked.push_back(names[t]);
      }
      if (blocked.empty()) continue;
      for (std::uint32_t t : next.ChwallTypes(erow)) {
        for (std::uint32_t lt : next.ChwallTypes(lrow)) {
          const auto in_set = next.SetsOfType(lt);
          if (std::any_of(in_set.begin(), in_set.end(), [&](auto s) { return sets.has(s, t); }) &&
              std::find(blocking.begin(), blocking.end(), names[t]) == blocking.end()) {
            blocking.push_back(names[t]);
          }
        }
      }
      const auto& [eid, erec] = order[earlier];
      const auto& [lid, lrec] = order[later];
      Violation v = MakeViolation(
          ViolationKind::kChineseWallConflict,
          fmt::format("running domains {} ('{}', types {}) and {} ('{}', types {}) would be in "
                      "Chinese Wall conflict {}",
                      eid, erec->label, fmt::join(blocking, ", "), lid, lrec->label,
                      fmt::join(blocked, ", "), plan.under));
      v.domains = {eid, lid};
      v.types = blocking;
      v.types.insert(v.types.end(), blocked.begin(), blocked.end());
      plan.violations.push_back(std::move(v));
    }
  }
}

}  // namespace shype::acm
