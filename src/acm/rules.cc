// SPDX-License-Identifier: Apache-2.0
//
// The STE and authorization rules, and the Chinese Wall refusal text (rules.h).
#include "rules.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace shype::acm {

Verdict SteVerdict(const PolicySnapshot* p, Ssidref subject, const ResourceRef& resource) {
  Verdict v;
  v.rule = Hook::kResource;
  v.resource = resource.name;
  // A vTPM holds one label's secrets and its measured launch: it serves the one VM label it was
  // made for (its ssidref is that label's), whatever types another label shares with it.
  if (p != nullptr && resource.kind == ResourceKind::kVtpm && resource.ssidref != subject) {
    v.subject_label = p->VmLabelOf(subject).value_or(fmt::format("{}", subject));
    v.object_label = p->VmLabelOf(resource.ssidref).value_or(fmt::format("{}", resource.ssidref));
    v.reason = fmt::format(
        "{} belongs to label '{}', not '{}': a vTPM serves only the label it "
        "was made for",
        resource.name, v.object_label, v.subject_label);
    return v;
  }
  if (p != nullptr && IsOpenNetwork(resource.kind, resource.ssidref)) {
    v.decision = Decision::kPermit;
    v.reason = "an unlabeled network: its switch lets only domains that may share exchange frames";
    return v;
  }
  const SteRows rows = SteRowsOf(p, subject, resource.ssidref);
  switch (rows.step) {
    case SteRows::Step::kNoPolicy:
      v.reason = "no policy is loaded";
      return v;
    case SteRows::Step::kNotMediated:
      v.decision = Decision::kPermit;
      return v;
    case SteRows::Step::kOutOfRange:
      v.reason = fmt::format("an ssidref is outside the STE rows of policy '{}'", p->name());
      return v;
    case SteRows::Step::kCompare:
      break;
  }
  v.subject_label = std::string(p->SteRowLabel(rows.subject));
  v.subject_types = p->SteTypeNames(rows.subject);
  v.object_label = std::string(p->SteRowLabel(rows.object));
  v.object_types = p->SteTypeNames(rows.object);
  if (SteRowsShareAType(*p, rows)) {
    v.decision = Decision::kPermit;
    return v;
  }
  v.reason = fmt::format("labels '{}' and '{}' share no STE type", v.subject_label, v.object_label);
  return v;
}

Verdict AuthorizationVerdict(const PolicySnapshot* p, std::optional<Ssidref> domain0, Ssidref vm) {
  Verdict v;
  v.rule = Hook::kAuthorization;
  if (p == nullptr || !domain0) {
    v.reason = "no policy is loaded";
    return v;
  }
  if (!p->has_ste()) {
    v.decision = Decision::kPermit;
    return v;
  }
  const std::uint32_t a = p->SteRow(*domain0).value_or(0xffff);
  const std::uint32_t b = p->SteRow(vm).value_or(0xffff);
  if (a >= p->ste_row_count() || b >= p->ste_row_count()) {
    v.reason = fmt::format("ssidref {} is outside the STE rows of policy '{}'", vm, p->name());
    return v;
  }
  v.subject_label = std::string(p->SteRowLabel(a));
  v.subject_types = p->SteTypeNames(a);
  v.object_label = std::string(p->SteRowLabel(b));
  v.object_types = p->SteTypeNames(b);
  if (p->SteBits(a).Contains(p->SteBits(b)) && p->SteBits(a).Intersects(p->SteBits(b))) {
    v.decision = Decision::kPermit;
    return v;
  }
  v.reason = fmt::format(
      "VM is not authorized to run: Domain-0's label '{}' (STE types [{}]) does not carry every "
      "STE type of label '{}' [{}]",
      v.subject_label, fmt::join(v.subject_types, ", "), v.object_label,
      fmt::join(v.object_types, ", "));
  return v;
}

std::string ChineseWallReason(std::string_view label,
                              const std::vector<ChineseWallConflict>& conflicts) {
  std::vector<std::string> parts;
  for (const auto& c : conflicts) {
    parts.push_back(fmt::format("type '{}' conflicts with running domain {} (label '{}', types {})",
                                c.type, c.domain, c.label, fmt::join(c.types, ", ")));
  }
  return fmt::format("Chinese Wall: label '{}': {}", label, fmt::join(parts, "; "));
}

Verdict VmLabelVerdict(const PolicySnapshot* p, Ssidref vm) {
  Verdict v;
  v.rule = Hook::kDomainCreate;
  if (p == nullptr) {
    v.reason = "no policy is loaded";
    return v;
  }
  const bool labeled = p->has_chwall() || p->has_ste();
  const auto label = labeled ? p->VmLabelOf(vm) : std::optional<std::string>("");
  if (!label) {
    // Xen's init_domain_ssid range check (ACM_INIT_SSID_ERROR); stricter: VM rows only.
    v.reason = fmt::format("ssidref {} is not a VM label of policy '{}'", vm, p->name());
    return v;
  }
  // SECURITY: __NULL_LABEL__ names "no label" (row 0 of a policy without __UNLABELED__), not a
  // label a domain may run with: under a CHWALL-only policy it would run outside the wall.
  if (labeled && *label == policy::kNullLabel) {
    v.reason = fmt::format(
        "policy '{}' defines no __UNLABELED__ label: a domain must carry one of its VM labels",
        p->name());
    return v;
  }
  if (p->has_ste() && p->SteRow(vm).value_or(0xffff) >= p->vm_row_count()) {
    v.reason = fmt::format("ssidref {} has no STE VM row", vm);
    return v;
  }
  v.decision = Decision::kPermit;
  v.subject_label = *label;
  return v;
}

std::vector<StoredResourceLabel> InvalidatedLabels(
    const PolicySnapshot& next, const std::map<std::string, std::string>& renames,
    std::span<const StoredResourceLabel> stored) {
  std::vector<StoredResourceLabel> out;
  const auto& defined = next.labels().resource_labels;
  for (const StoredResourceLabel& label : stored) {
    auto rename = renames.find(label.label);
    const std::string& name = rename != renames.end() ? rename->second : label.label;
    if (std::find(defined.begin(), defined.end(), name) == defined.end()) out.push_back(label);
  }
  return out;
}

}  // namespace shype::acm
