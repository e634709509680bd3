// SPDX-License-Identifier: Apache-2.0
//
// The compiled-policy package: round trip, and the reader's refusals of what a compromised
// compiler could send; the built-in DEFAULT policy against the compiler.
#include "shype/policyc/compiled_package.h"

#include <gtest/gtest.h>

#include "shype/policyc/builtin_default.h"
#include "shype/policyc/default_policy.h"
#include "test_util.h"

namespace shype::policyc {
namespace {

using testing::CompileBytes;
using testing::ReadBytes;
using testing::ToBytes;

class PackageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    xml_ = ReadBytes(testing::ProjectPolicies() / "many-conflicts.xml");
    auto compiled = CompileBytes(xml_, "many-conflicts.xml");
    ASSERT_TRUE(compiled);
    compiled_ = std::move(*compiled);
  }
  Error Refusal(std::span<const std::uint8_t> package) {
    auto r = ParseCompiledPackage(package, xml_);
    EXPECT_FALSE(r) << "accepted a bad package";
    return r ? Error{} : r.error();
  }

  std::vector<std::uint8_t> xml_;
  CompiledPolicy compiled_;
};

TEST_F(PackageTest, RoundTripsWhatTheUpdateTransactionNeeds) {
  auto parsed = ParseCompiledPackage(SerializeCompiledPackage(compiled_), xml_);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->binary, compiled_.binary);
  EXPECT_EQ(parsed->bytes, compiled_.bytes);
  EXPECT_EQ(parsed->map, compiled_.map);
  EXPECT_EQ(parsed->map_text, compiled_.map_text);
  EXPECT_EQ(parsed->header.name, "shype.tests.conflicts");
  EXPECT_EQ(parsed->header.version, "3.0");
  EXPECT_EQ(parsed->header.name_line, compiled_.header.name_line);
  EXPECT_FALSE(parsed->header.is_default);
  ASSERT_TRUE(parsed->header.from_policy);
  EXPECT_EQ(parsed->header.from_policy->name, "shype.tests.conflicts");
  EXPECT_EQ(parsed->header.from_policy->version, "2.9");
  EXPECT_EQ((parsed->header.from_policy->numbers), (policy::XmlVersion{2, 9}));
  ASSERT_EQ(parsed->vm_renames.size(), 1U);
  EXPECT_EQ(parsed->vm_renames[0].from, "vm_a_old");
  EXPECT_EQ(parsed->vm_renames[0].to, "vm_a");
  ASSERT_EQ(parsed->resource_renames.size(), 1U);
  EXPECT_EQ(parsed->resource_renames[0].to, "disk_b");
}

TEST_F(PackageTest, CarriesTheConflictSetsAndLabelsByName) {
  auto parsed = ParseCompiledPackage(SerializeCompiledPackage(compiled_), xml_);
  ASSERT_TRUE(parsed) << parsed.error().message;
  // The binary's order: stably sorted by name (byte order); types in document order.
  const std::vector<NamedConflictSet> sets = {
      {"Alpha", {"A", "B"}}, {"_under", {"C"}}, {"mid", {"B", "C", "D"}}, {"zeta", {"A", "D"}}};
  EXPECT_EQ(compiled_.conflict_sets, sets);
  EXPECT_EQ(parsed->conflict_sets, sets);
  EXPECT_EQ(parsed->vm_label_types, compiled_.vm_label_types);
  EXPECT_EQ(parsed->resource_label_types, compiled_.resource_label_types);
  ASSERT_EQ(parsed->vm_label_types.size(), 5U);
  EXPECT_EQ(parsed->vm_label_types[2], (LabelTypes{"vm_a", {"alpha"}, {"A"}}));
  ASSERT_EQ(parsed->resource_label_types.size(), 3U);
  EXPECT_EQ(parsed->resource_label_types[0], (LabelTypes{"__UNLABELED__", {"__UNLABELED__"}, {}}));
}

TEST_F(PackageTest, RefusesConflictSetsOtherThanTheBinarys) {
  const auto saved = compiled_.conflict_sets;
  compiled_.conflict_sets[2].types.pop_back();  // mid without D
  EXPECT_NE(Refusal(SerializeCompiledPackage(compiled_))
                .message.find("conflict set 'mid' does "
                              "not list the types"),
            std::string::npos);
  compiled_.conflict_sets = saved;
  std::swap(compiled_.conflict_sets[0].name, compiled_.conflict_sets[3].name);
  EXPECT_NE(Refusal(SerializeCompiledPackage(compiled_)).message.find("out of the binary's"),
            std::string::npos);
  compiled_.conflict_sets = saved;
  compiled_.conflict_sets.pop_back();
  EXPECT_NE(Refusal(SerializeCompiledPackage(compiled_))
                .message.find("3 conflict sets listed, "
                              "the binary has 4"),
            std::string::npos);
  compiled_.conflict_sets = saved;
  compiled_.conflict_sets[1].types.push_back("Mallory");
  EXPECT_NE(Refusal(SerializeCompiledPackage(compiled_)).message.find("undeclared type 'Mallory'"),
            std::string::npos);
}

TEST_F(PackageTest, RefusesLabelsOtherThanTheBinarys) {
  const auto saved = compiled_.vm_label_types;
  compiled_.vm_label_types[2].chwall_types = {"B"};  // vm_a carries A
  EXPECT_NE(Refusal(SerializeCompiledPackage(compiled_))
                .message.find("VM label 'vm_a' does not "
                              "list the types"),
            std::string::npos);
  compiled_.vm_label_types = saved;
  compiled_.vm_label_types[0] = compiled_.vm_label_types[1];  // repeated, vm_d missing
  EXPECT_NE(Refusal(SerializeCompiledPackage(compiled_)).message.find("or is repeated"),
            std::string::npos);
  compiled_.vm_label_types = saved;
  compiled_.vm_label_types.pop_back();
  EXPECT_NE(Refusal(SerializeCompiledPackage(compiled_)).message.find("4 VM labels listed"),
            std::string::npos);
  compiled_.vm_label_types = saved;
  compiled_.resource_label_types[1].ste_types = {"alpha"};  // disk_b carries Beta
  EXPECT_NE(Refusal(SerializeCompiledPackage(compiled_)).message.find("resource label 'disk_b'"),
            std::string::npos);
  compiled_.resource_label_types[1].ste_types = {"Beta"};
  compiled_.resource_label_types.push_back({"extra", {"Beta"}, {}});
  EXPECT_NE(Refusal(SerializeCompiledPackage(compiled_)).message.find("'extra' is not a resource"),
            std::string::npos);
}

TEST_F(PackageTest, RefusesGarbageAndEveryTruncation) {
  EXPECT_NE(Refusal(ToBytes("garbage")).message.find("not shype-policyc output"),
            std::string::npos);
  const auto package = SerializeCompiledPackage(compiled_);
  for (std::size_t n = 8; n < package.size(); n += 7) {
    EXPECT_FALSE(ParseCompiledPackage(std::span(package).first(n), xml_)) << "prefix " << n;
  }
  auto longer = package;
  longer.push_back(0);
  EXPECT_NE(Refusal(longer).message.find("trailing bytes"), std::string::npos);
}

TEST_F(PackageTest, RefusesABinaryOfOtherXml) {
  std::vector<std::uint8_t> other = xml_;
  other.push_back('\n');
  auto r = ParseCompiledPackage(SerializeCompiledPackage(compiled_), other);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("is not the SHA-1"), std::string::npos) << r.error().message;
}

TEST_F(PackageTest, RefusesABinaryTheBoundedReaderRefuses) {
  compiled_.bytes[0] ^= 0xff;  // magic
  EXPECT_NE(Refusal(SerializeCompiledPackage(compiled_)).message.find("binary"), std::string::npos);
}

TEST_F(PackageTest, RefusesAMapOfAnotherPolicy) {
  auto other = CompileBytes(ReadBytes(testing::ProjectPolicies() / "ste-only.xml"), "ste-only");
  ASSERT_TRUE(other);
  compiled_.map_text = other->map_text;
  EXPECT_FALSE(ParseCompiledPackage(SerializeCompiledPackage(compiled_), xml_));
}

TEST_F(PackageTest, RefusesAVersionOtherThanTheBinarys) {
  compiled_.header.version = "9.9";
  EXPECT_NE(Refusal(SerializeCompiledPackage(compiled_)).message.find("version '9.9'"),
            std::string::npos);
}

TEST_F(PackageTest, RefusesRenamesOntoUnknownOrUnprintableLabels) {
  auto saved = compiled_.vm_renames;
  compiled_.vm_renames.push_back({"x", "no_such_label"});
  EXPECT_NE(Refusal(SerializeCompiledPackage(compiled_)).message.find("no_such_label"),
            std::string::npos);
  compiled_.vm_renames = saved;
  compiled_.vm_renames.push_back({"\xff", "vm_a"});
  EXPECT_NE(Refusal(SerializeCompiledPackage(compiled_)).message.find("printable UTF-8"),
            std::string::npos);
}

TEST_F(PackageTest, RefusesAnOversizedField) {
  auto package = SerializeCompiledPackage(compiled_);
  package[8] = 0x7f;  // binary length: ~2 GiB
  EXPECT_NE(Refusal(package).message.find("more than the"), std::string::npos);
}

// The DEFAULT policy shyped carries is what the compiler makes of DefaultPolicyXml(from).
TEST(BuiltinDefaultPolicyTest, EqualsCompilingTheDefaultXml) {
  for (const std::optional<std::string>& from :
       {std::optional<std::string>(), std::optional<std::string>("dom_Fun"),
        std::optional<std::string>("a\"b&c"), std::optional<std::string>("SystemManagement")}) {
    SCOPED_TRACE(from.value_or("(no from)"));
    auto compiled = CompileBytes(ToBytes(DefaultPolicyXml(from)), "DEFAULT");
    ASSERT_TRUE(compiled);
    auto builtin = BuiltinDefaultPolicy(from);
    ASSERT_TRUE(builtin) << builtin.error().message;
    EXPECT_EQ(builtin->binary, compiled->binary);
    EXPECT_EQ(builtin->bytes, compiled->bytes);
    EXPECT_EQ(builtin->map, compiled->map);
    EXPECT_EQ(builtin->map_text, compiled->map_text);
    EXPECT_EQ(builtin->header.name, compiled->header.name);
    EXPECT_EQ(builtin->header.version, compiled->header.version);
    EXPECT_EQ(builtin->header.numbers, compiled->header.numbers);
    EXPECT_EQ(builtin->header.name_line, compiled->header.name_line);
    EXPECT_TRUE(builtin->header.is_default);
    EXPECT_FALSE(builtin->header.from_policy);
    ASSERT_EQ(builtin->vm_renames.size(), compiled->vm_renames.size());
    for (std::size_t i = 0; i < builtin->vm_renames.size(); ++i) {
      EXPECT_EQ(builtin->vm_renames[i].from, compiled->vm_renames[i].from);
      EXPECT_EQ(builtin->vm_renames[i].to, compiled->vm_renames[i].to);
    }
    EXPECT_TRUE(builtin->resource_renames.empty());
    EXPECT_EQ(builtin->vm_label_types, compiled->vm_label_types);
    EXPECT_EQ(builtin->resource_label_types, compiled->resource_label_types);
    EXPECT_EQ(builtin->conflict_sets, compiled->conflict_sets);
  }
}

}  // namespace
}  // namespace shype::policyc
