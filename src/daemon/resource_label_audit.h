// SPDX-License-Identifier: Apache-2.0
//
// The audit record of a resource label change (`shype addlabel LABEL res R`, `rmlabel res R`):
// the subject is Domain-0, the administrator's domain; the object the resource with its new
// label (__UNLABELED__ once removed), as relabel records name the domain and its new label.
#pragma once

#include <optional>
#include <string>

#include "shype/acm/acm.h"
#include "shype/acm/audit.h"
#include "shype/acm/loaded_policy.h"
#include "shype/api/replies.h"

namespace shype::daemon {

// `before` is the label the resource had (none for an add), `after` the one it has now (none
// after a removal). `admin` is Domain-0 as the ACM knows it; `active` the enforced policy (its
// name, version and seqno go into the record, and the new label's ssidref).
[[nodiscard]] acm::AuditRecord ResourceLabelRecord(
    const acm::LoadedPolicy* active, const acm::DomainInfo& admin, const std::string& resource,
    const std::optional<api::ResourceLabelReply>& before,
    const std::optional<api::ResourceLabelReply>& after);

}  // namespace shype::daemon
