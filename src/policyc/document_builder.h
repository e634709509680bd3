// SPDX-License-Identifier: Apache-2.0
//
// Builds a PolicyDocument from a schema-valid DOM (structure only; semantic_checks.h judges it).
// Private to policyc.
#pragma once

#include <libxml/tree.h>

#include <string_view>

#include "shype/common/result.h"
#include "shype/policyc/policy_document.h"

namespace shype::policyc {

// Reads header, types, conflict sets and labels of the SecurityPolicyDefinition `root`.
// Only the first SimpleTypeEnforcementTypes / ChineseWallTypes child of a label is read and
// empty <Type/> elements are dropped, as Xen's compiler did. Errors: BAD_XML (bad Version).
[[nodiscard]] Result<PolicyDocument> BuildPolicyDocument(const xmlNode* root,
                                                         std::string_view source_name);

}  // namespace shype::policyc
