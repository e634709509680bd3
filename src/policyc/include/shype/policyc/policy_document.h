// SPDX-License-Identifier: Apache-2.0
//
// PolicyDocument is a parsed, schema-valid and semantically checked ACM policy XML
// (SecurityPolicyDefinition): header, declared types, conflict sets and labels in document order,
// each with its source line. ParsePolicyXml is the only way to make one. Plain value; immutable
// by convention once returned, so it may be shared read-only across threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shype/common/result.h"
#include "shype/policy/binary_policy.h"
#include "shype/policyc/policy_header.h"

namespace shype::policyc {

struct TypeDecl {
  std::string name;
  std::uint32_t line = 0;
};

struct ConflictSetDecl {
  std::string name;
  std::vector<std::string> types;  // document order, empty <Type/> dropped
  std::uint32_t line = 0;
};

struct LabelDecl {
  std::string name;
  std::optional<std::string> from;        // <Name from="old">: a rename on policy update
  std::vector<std::string> ste_types;     // first SimpleTypeEnforcementTypes child only
  std::vector<std::string> chwall_types;  // first ChineseWallTypes child only
  std::uint32_t line = 0;
};

struct PolicyDocument {
  std::string source_name;                  // file name used in messages
  std::array<std::uint8_t, 20> xml_hash{};  // SHA-1 of the input bytes
  PolicyHeaderInfo header;
  std::vector<TypeDecl> ste_types;     // document order
  std::vector<TypeDecl> chwall_types;  // document order
  std::vector<ConflictSetDecl> conflict_sets;
  std::string bootstrap;             // SubjectLabels/@bootstrap
  std::uint32_t bootstrap_line = 0;  // of <SubjectLabels> (or <SecurityLabelTemplate>)
  std::vector<LabelDecl> vm_labels;
  std::vector<LabelDecl> resource_labels;
};

// Parses `bytes` as a policy XML, validates it against shype's embedded schema and checks the
// semantic rules of docs/policy-language.md. Never loads DTDs, external entities, XIncludes or
// anything from the network; a document with a DOCTYPE is refused. Reports the first error.
// `source_name` names the input in messages. Errors: kPolicyInvalid (see policy_error.h).
[[nodiscard]] Result<PolicyDocument> ParsePolicyXml(std::span<const std::uint8_t> bytes,
                                                    std::string_view source_name);

// Tells whether `doc` is the DEFAULT policy by Xen's rule (spec §2.4; `from` is ignored).
bool IsDefaultPolicy(const PolicyDocument& doc);

}  // namespace shype::policyc
