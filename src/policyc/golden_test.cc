// SPDX-License-Identifier: Apache-2.0
//
// Golden tests: every project policy in tests/data/policies/*.xml compiles to exactly the binary
// (as a hex dump and as DumpBinaryPolicy text) and the map file recorded in
// tests/data/policies/golden/. Run with SHYPE_REGEN_GOLDEN=1 (see
// tests/data/policies/regen-golden.sh) to rewrite the goldens; review the diff before committing
// it.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "shype/common/file.h"
#include "shype/policy/binary_policy.h"
#include "shype/policy/dump.h"
#include "shype/policy/label_map.h"
#include "test_util.h"

namespace shype::policyc {
namespace {

namespace fs = std::filesystem;
using testing::ProjectPolicies;

// 16 bytes per line, "offset: hex bytes", as in spec §3.10.
std::string HexDump(const std::vector<std::uint8_t>& bytes) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); i += 16) {
    out += fmt::format("{:04x}:", i);
    for (std::size_t j = i; j < std::min(i + 16, bytes.size()); ++j) {
      out += fmt::format(" {:02x}", bytes[j]);
    }
    out += "\n";
  }
  return out;
}

std::vector<std::string> ProjectPolicyNames() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(ProjectPolicies())) {
    if (entry.is_regular_file() && entry.path().extension() == ".xml") {
      names.push_back(entry.path().stem().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string ReadGolden(const fs::path& path) {
  auto text = ReadTextFileBounded(path, 1U << 20);
  EXPECT_TRUE(text.has_value()) << path << " is missing; run tests/data/policies/regen-golden.sh";
  return text.value_or("");
}

void CheckOrRegen(const fs::path& path, const std::string& actual) {
  if (std::getenv("SHYPE_REGEN_GOLDEN") != nullptr) {
    auto written = WriteFileAtomic(path, actual);
    ASSERT_TRUE(written.has_value()) << written.error().message;
    return;
  }
  EXPECT_EQ(actual, ReadGolden(path)) << "golden " << path << " differs";
}

class GoldenPolicyTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenPolicyTest, CompilesToTheGoldenBinaryAndMapFile) {
  const fs::path xml = ProjectPolicies() / (GetParam() + ".xml");
  auto compiled = testing::CompileBytes(testing::ReadBytes(xml), xml.filename().string(),
                                        CompileOptions{"/var/lib/shype/policies"});
  ASSERT_TRUE(compiled);
  auto parsed = policy::ParseBinaryPolicy(compiled->bytes);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(*parsed, compiled->binary);
  const fs::path golden = ProjectPolicies() / "golden";
  CheckOrRegen(golden / (GetParam() + ".hex"), HexDump(compiled->bytes));
  CheckOrRegen(golden / (GetParam() + ".dump"),
               policy::DumpBinaryPolicy(compiled->binary, Ssidref::FromParts(1, 1)));
  CheckOrRegen(golden / (GetParam() + ".map"), compiled->map_text);
}

INSTANTIATE_TEST_SUITE_P(Project, GoldenPolicyTest, ::testing::ValuesIn(ProjectPolicyNames()),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST_P(GoldenPolicyTest, MapFileReadsBackAsTheCompiledLabelMap) {
  const fs::path xml = ProjectPolicies() / (GetParam() + ".xml");
  auto compiled = testing::CompileBytes(testing::ReadBytes(xml), xml.filename().string());
  ASSERT_TRUE(compiled);
  auto map = policy::ParseMapFile(compiled->map_text);
  ASSERT_TRUE(map.has_value()) << map.error().message;
  EXPECT_EQ(map->vm_labels, compiled->map.vm_labels);
  EXPECT_EQ(map->resource_labels, compiled->map.resource_labels);
  auto matches = policy::CheckMapMatchesBinary(*map, compiled->binary);
  EXPECT_TRUE(matches.has_value()) << matches.error().message;
}

TEST(GoldenPolicyTest, ProjectHasExamplePolicies) { EXPECT_GE(ProjectPolicyNames().size(), 4U); }

}  // namespace
}  // namespace shype::policyc
