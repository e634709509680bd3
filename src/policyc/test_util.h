// SPDX-License-Identifier: Apache-2.0
//
// Helpers shared by policyc's tests: read a policy file and compile it, failing the test on error.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "shype/common/file.h"
#include "shype/policyc/compiler.h"
#include "shype/policyc/policy_document.h"

namespace shype::policyc::testing {

inline std::vector<std::uint8_t> ReadBytes(const std::filesystem::path& path) {
  auto bytes = ReadFileBounded(path, kMaxPolicyXmlBytes);
  EXPECT_TRUE(bytes.has_value()) << path << ": " << (bytes ? "" : bytes.error().message);
  return bytes.value_or(std::vector<std::uint8_t>{});
}

inline std::vector<std::uint8_t> ToBytes(std::string_view text) {
  return std::vector<std::uint8_t>(text.begin(), text.end());
}

// Parses and compiles `bytes`; the returned optional is empty (and the test failed) on error.
inline std::optional<CompiledPolicy> CompileBytes(const std::vector<std::uint8_t>& bytes,
                                                  std::string_view name,
                                                  const CompileOptions& options = {}) {
  auto doc = ParsePolicyXml(bytes, name);
  EXPECT_TRUE(doc.has_value()) << (doc ? "" : doc.error().message);
  if (!doc) return std::nullopt;
  auto compiled = CompilePolicy(*doc, options);
  EXPECT_TRUE(compiled.has_value()) << (compiled ? "" : compiled.error().message);
  if (!compiled) return std::nullopt;
  return std::move(*compiled);
}

inline std::string SharedPolicy(std::string_view file) {
  return std::string(SHYPE_SHARED_DIR "/policies/") + std::string(file);
}

inline std::filesystem::path ProjectPolicies() {
  return std::filesystem::path(SHYPE_SOURCE_DIR) / "tests" / "data" / "policies";
}

}  // namespace shype::policyc::testing
