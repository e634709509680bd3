// SPDX-License-Identifier: Apache-2.0
//
// The reference monitor's answers in words for the API: a Chinese Wall verdict with the running
// domains named, and a refused policy update with every violation. Formatting only; every
// decision here was made by the ACM. Also the update request of a compiled policy.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "shype/acm/acm.h"
#include "shype/acm/update.h"
#include "shype/acm/verdict.h"
#include "shype/common/result.h"
#include "shype/policyc/compiled_policy.h"

namespace shype::admin {

using NameOfDomain = std::function<std::string(DomainId)>;

// "Chinese Wall: type 'G' conflicts with type 'B' of running domain 'bank1' (id 1) (label L); ..."
// for a verdict with conflicts; its reason otherwise.
std::string DescribeVerdict(const acm::Verdict& verdict, const NameOfDomain& name_of);

// "policy update refused: N violations:" then one line per violation with its kind, message and
// the domains it names. kPolicyInvalid when only the policy file is at fault (version,
// combination, renames; version lines end in [VERSION_PREVENTS_UPDATE]), else kConflict.
Error UpdateRefusal(const std::vector<acm::Violation>& violations, const NameOfDomain& name_of);

// A refused live relabel of `who` ("domain 'bank1' (id 1)", "Domain-0") from label `from` to
// `to`: kPermissionDenied, "relabel of W from 'A' to 'B' refused" then each violation as
// UpdateRefusal lists them, or the verdict's rule and reason (authorization, the label rules).
Error RelabelRefusal(std::string_view who, std::string_view from, std::string_view to,
                     const acm::Relabel& relabel, const NameOfDomain& name_of);

// The ACM update request that installs `next` (renames, FromPolicy; a reset for DEFAULT).
// `revoke`: the live sharings it forbids are revoked (torn down) instead of refusing it.
acm::UpdateRequest MakeUpdateRequest(const policyc::CompiledPolicy& next, bool check_only,
                                     bool revoke = false);

}  // namespace shype::admin
