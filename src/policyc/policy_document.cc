// SPDX-License-Identifier: Apache-2.0
//
// ParsePolicyXml: bounded read, libxml2 parse, schema validation, DOM → model, semantic checks.
#include "shype/policyc/policy_document.h"

#include <libxml/parser.h>

#include <algorithm>

#include "document_builder.h"
#include "semantic_checks.h"
#include "shype/common/file.h"
#include "shype/policyc/policy_error.h"
#include "xml_reader.h"

namespace shype::policyc {

Result<PolicyDocument> ParsePolicyXml(std::span<const std::uint8_t> bytes,
                                      std::string_view source_name) {
  auto xml = ReadValidatedXml(bytes, source_name);
  if (!xml) return Fail(xml.error());
  const xmlNode* root = xmlDocGetRootElement(xml->get());
  if (root == nullptr) {
    return Fail(MakePolicyError(PolicyErrorCategory::kBadXml, source_name, 1, "document",
                                "the document has no root element"));
  }
  auto doc = BuildPolicyDocument(root, source_name);
  if (!doc) return doc;
  const std::vector<std::uint8_t> hash = Sha1(bytes);
  std::copy_n(hash.begin(), std::min(hash.size(), doc->xml_hash.size()), doc->xml_hash.begin());
  if (auto checked = CheckPolicyDocument(*doc); !checked) return Fail(checked.error());
  doc->header.is_default = IsDefaultPolicy(*doc);
  return doc;
}

}  // namespace shype::policyc
