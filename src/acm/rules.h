// SPDX-License-Identifier: Apache-2.0
//
// The access rules as pure functions of a policy snapshot: STE between a label and a resource,
// Domain-0's authorization of a VM label, and the text of a Chinese Wall refusal. The hooks and
// the side-effect-free queries of Acm both decide through these. Private to src/acm.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "shype/acm/policy_snapshot.h"
#include "shype/acm/sharing.h"
#include "shype/acm/verdict.h"

namespace shype::acm {

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

}  // namespace shype::acm
