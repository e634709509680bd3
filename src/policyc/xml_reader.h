// SPDX-License-Identifier: Apache-2.0
//
// The libxml2 boundary: reads policy XML bytes into a DOM (no network, no DTD, no external
// entities, no XInclude, bounded size) and validates it against the embedded schema, turning
// libxml2's diagnostics into policyc errors. Also small DOM walking helpers. Private to policyc.
#pragma once

#include <libxml/tree.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shype/common/result.h"

namespace shype::policyc {

struct XmlDocDeleter {
  void operator()(xmlDoc* doc) const;
};
using XmlDocPtr = std::unique_ptr<xmlDoc, XmlDocDeleter>;

// The schema text embedded at build time from security_policy.xsd.
std::string_view EmbeddedPolicySchema();

// Parses and schema-validates `bytes`; errors are BAD_XML naming `source_name` and the line.
[[nodiscard]] Result<XmlDocPtr> ReadValidatedXml(std::span<const std::uint8_t> bytes,
                                                 std::string_view source_name);

// DOM helpers (elements only; text, comments and PIs are skipped).
std::string_view LocalName(const xmlNode* node);
std::uint32_t LineOf(const xmlNode* node);
std::vector<const xmlNode*> ChildElements(const xmlNode* node);
const xmlNode* FirstChild(const xmlNode* node, std::string_view name);
std::vector<const xmlNode*> ChildrenNamed(const xmlNode* node, std::string_view name);
std::string TextOf(const xmlNode* node);
std::optional<std::string> AttributeOf(const xmlNode* node, std::string_view name);

}  // namespace shype::policyc
