// SPDX-License-Identifier: Apache-2.0
//
// Helpers of the policy analysis tests: the project's policies compiled (the test links the
// compiler), and printers so that a failed comparison shows names, not bytes.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

#include "shype/acm/policy_analysis.h"
#include "shype/common/file.h"
#include "shype/policyc/compiler.h"
#include "shype/policyc/policy_document.h"

namespace shype::policyc {
inline void PrintTo(const LabelTypes& l, std::ostream* os) {
  *os << l.name << ::testing::PrintToString(l.ste_types)
      << ::testing::PrintToString(l.chwall_types);
}
inline void PrintTo(const NamedConflictSet& s, std::ostream* os) {
  *os << s.name << ::testing::PrintToString(s.types);
}
inline void PrintTo(const LabelRename& r, std::ostream* os) { *os << r.from << "->" << r.to; }
}  // namespace shype::policyc

namespace shype::acm {
inline void PrintTo(const ConflictCause& c, std::ostream* os) {
  *os << c.set << ":" << c.type_a << "/" << c.type_b;
}
inline void PrintTo(const LabelConflict& c, std::ostream* os) {
  *os << c.a << "×" << c.b << ::testing::PrintToString(c.causes);
}
inline void PrintTo(const DomainSharing& s, std::ostream* os) {
  *os << s.a << "×" << s.b << ::testing::PrintToString(s.types);
}
inline void PrintTo(const SharingChange& s, std::ostream* os) {
  *os << PairKindName(s.kind) << ":" << s.a << "×" << s.b << ::testing::PrintToString(s.types);
}
inline void PrintTo(const StoredResourceLabel& s, std::ostream* os) {
  *os << s.resource << "=" << s.label;
}

namespace testing {

inline std::filesystem::path ProjectFile(const std::string& relative) {
  return std::filesystem::path(SHYPE_SOURCE_DIR) / relative;
}

// Compiles policy XML text; fails the test (and returns nullopt) on error.
inline std::optional<policyc::CompiledPolicy> CompileText(const std::string& xml,
                                                          const std::string& name) {
  auto doc = policyc::ParsePolicyXml(
      std::span(reinterpret_cast<const std::uint8_t*>(xml.data()), xml.size()), name);
  EXPECT_TRUE(doc) << (doc ? "" : doc.error().message);
  if (!doc) return std::nullopt;
  auto compiled = policyc::CompilePolicy(*doc);
  EXPECT_TRUE(compiled) << (compiled ? "" : compiled.error().message);
  if (!compiled) return std::nullopt;
  return std::move(*compiled);
}

inline std::string ReadText(const std::string& relative) {
  auto bytes = ReadFileBounded(ProjectFile(relative), policyc::kMaxPolicyXmlBytes);
  EXPECT_TRUE(bytes) << relative;
  return bytes ? std::string(bytes->begin(), bytes->end()) : std::string();
}

inline std::optional<policyc::CompiledPolicy> CompileFile(const std::string& relative) {
  return CompileText(ReadText(relative), relative);
}

}  // namespace testing
}  // namespace shype::acm
