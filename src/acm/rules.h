// SPDX-License-Identifier: Apache-2.0
//
// The access rules as pure functions of a policy snapshot: STE between a label and a resource,
// Domain-0's authorization of a VM label, and the text of a Chinese Wall refusal. The hooks and
// the side-effect-free queries of Acm both decide through these. Private to src/acm.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "policy_snapshot.h"
#include "shype/acm/sharing.h"
#include "shype/acm/update.h"
#include "shype/acm/verdict.h"

namespace shype::acm {

// The STE rule (spec §1.4) up to the comparison of types: a policy without STE does not mediate
// (permit); ssidrefs outside its STE rows are refused; else the rows' types decide. The one copy
// of the rule: the hooks (which cache the comparison) and the verdicts below both use it.
struct SteRows {
  enum class Step : std::uint8_t { kCompare, kNoPolicy, kNotMediated, kOutOfRange };
  Step step = Step::kNoPolicy;
  std::uint16_t subject = 0;
  std::uint16_t object = 0;
};
inline SteRows SteRowsOf(const PolicySnapshot* p, Ssidref subject, Ssidref object) {
  if (p == nullptr) return {SteRows::Step::kNoPolicy};
  if (!p->has_ste()) return {SteRows::Step::kNotMediated};  // the NULL / CHWALL-only policies
  const auto a = static_cast<std::uint16_t>(p->SteRowUnchecked(subject));
  const auto b = static_cast<std::uint16_t>(p->SteRowUnchecked(object));
  if (a >= p->ste_row_count() || b >= p->ste_row_count()) return {SteRows::Step::kOutOfRange};
  return {SteRows::Step::kCompare, a, b};
}
// The comparison: permit iff the two rows share a type.
inline bool SteRowsShareAType(const PolicySnapshot& p, const SteRows& rows) {
  return p.SteBits(rows.subject).Intersects(p.SteBits(rows.object));
}

// shype's rule for an unlabeled virtual network (spec-acm has no networks of its own): a medium,
// not an object. Any domain may attach to it; its switch forwards a frame between two domains
// only while CheckShare(kNetwork) permits them, so STE still governs every frame. A labeled
// network is a resource like any other.
inline bool IsOpenNetwork(ResourceKind kind, Ssidref resource) {
  return kind == ResourceKind::kNetwork && resource == kUnlabeledSsidref;
}

// STE (spec §1.4): permit iff the subject's label and the resource's label share a type; a
// policy without STE permits. `policy` nullptr: deny (no policy loaded).
Verdict SteVerdict(const PolicySnapshot* policy, Ssidref subject, const ResourceRef& resource);

// Authorization (spec §1.5, Xen's hook 2): Domain-0's STE types must include every type of the
// VM label and share one with it. `domain0`: Domain-0's ssidref (nullopt: no policy loaded).
Verdict AuthorizationVerdict(const PolicySnapshot* policy, std::optional<Ssidref> domain0,
                             Ssidref vm);

// "Chinese Wall: label 'L': type 'T' conflicts with running domain N (label 'M', types U)".
std::string ChineseWallReason(std::string_view label,
                              const std::vector<ChineseWallConflict>& conflicts);

// The label rules of a domain's admission (Xen's init_domain_ssid, stricter): `vm` must name a
// VM row of the policy, not row 0's __NULL_LABEL__ ("no label"), with an STE VM row. On permit
// subject_label is the label ("" under the NULL policy). `policy` nullptr: deny. The admission
// and the side-effect-free authorization query (dry-run) both decide through it.
Verdict VmLabelVerdict(const PolicySnapshot* policy, Ssidref vm);

// SECURITY: a resource the store labels under the active policy keeps its label only if `next`
// defines it (after the <Name from=..> `renames`, old name -> new); else the label is invalidated
// (Xen's INV_ACM:<old policy>:<label>), which no domain may use, rather than left dangling. The
// update transaction and the policy diff both decide through it. Returns those of `stored`.
std::vector<StoredResourceLabel> InvalidatedLabels(
    const PolicySnapshot& next, const std::map<std::string, std::string>& renames,
    std::span<const StoredResourceLabel> stored);

}  // namespace shype::acm
