// SPDX-License-Identifier: Apache-2.0
//
// PolicyErrorCategory classifies why a policy XML was rejected, mirroring Xen's XSERR codes.
// Every policyc error is an Error{kPolicyInvalid, "<file>:<line>: <element>: <what> [<CATEGORY>]"};
// PolicyErrorCategoryOf recovers the category from such an error.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "shype/common/result.h"

namespace shype::policyc {

enum class PolicyErrorCategory : std::uint16_t {
  kBadXml,                 // XSERR_BAD_XML: malformed XML, DTD, schema violation, too large
  kBadPolicyName,          // XSERR_BAD_POLICY_NAME: ':' or a path-unsafe character in a name
  kBadLabel,               // XSERR_BAD_LABEL: bad label name, undeclared type, bad rename
  kPolicyInconsistent,     // XSERR_POLICY_INCONSISTENT: bootstrap missing, no types, limits
  kPolicyHasDuplicates,    // XSERR_POLICY_HAS_DUPLICATES: a type, label or conflict set twice
  kBadConflictSet,         // XSERR_BAD_CONFLICTSET: unnamed, empty or undeclared-type set
  kVersionPreventsUpdate,  // XSERR_VERSION_PREVENTS_UPDATE: FromPolicy/version rules (§5.4)
};

// The XSERR-style name, e.g. "BAD_LABEL"; also the tag at the end of every message.
std::string_view PolicyErrorCategoryName(PolicyErrorCategory category);
// Xen's XSERR value (0x1002 for BAD_XML, ...), for tools that print Xen's numbers.
std::uint32_t PolicyErrorXserr(PolicyErrorCategory category);
// Parses a category name ("BAD_LABEL"); nullopt if unknown.
std::optional<PolicyErrorCategory> ParsePolicyErrorCategory(std::string_view name);

// Builds the kPolicyInvalid error "<file>:<line>: <element>: <what> [<CATEGORY>]".
Error MakePolicyError(PolicyErrorCategory category, std::string_view file, std::uint32_t line,
                      std::string_view element, std::string_view what);

// The category of an error produced by policyc; nullopt for any other error.
std::optional<PolicyErrorCategory> PolicyErrorCategoryOf(const Error& error);

}  // namespace shype::policyc
