// SPDX-License-Identifier: Apache-2.0
//
// Stored policy versions: save without activating, list, read back, activate later; the
// refusals (same version with other XML, the DEFAULT name, bad XML, a tampered file).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "shype/admin/admin.h"
#include "shype/common/file.h"

namespace shype::admin {
namespace {

std::string DemoPolicy() {
  auto xml = ReadTextFileBounded(
      std::string(SHYPE_SOURCE_DIR) + "/tests/data/policies/shype-demo.xml", 1U << 20);
  EXPECT_TRUE(xml) << xml.error().message;
  return xml ? *xml : std::string();
}

// shype.demo as version `version` updating 1.0.
std::string DemoVersion(const std::string& version) {
  std::string xml = DemoPolicy();
  auto at = xml.find("<Version>1.0</Version>");
  EXPECT_NE(at, std::string::npos);
  xml.replace(at, 22,
              "<Version>" + version +
                  "</Version><FromPolicy><PolicyName>shype.demo</PolicyName>"
                  "<Version>1.0</Version></FromPolicy>");
  return xml;
}

class PolicyVersionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("shype-versions-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto s = store::StateStore::Open(dir_);
    ASSERT_TRUE(s) << s.error().message;
    store_.emplace(std::move(*s));
    admin_.emplace(*store_, nullptr, &compiler_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  template <class T>
  static T Ok(const Result<T>& r) {
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : T();
  }
  template <class T>
  static Error Refused(const Result<T>& r) {
    EXPECT_FALSE(r) << "unexpectedly succeeded";
    return r ? Error{} : r.error();
  }

  std::filesystem::path dir_;
  std::optional<store::StateStore> store_;
  SandboxedPolicyCompiler compiler_{std::filesystem::path(SHYPE_BINARY_DIR) / "bin/shype-policyc"};
  std::optional<Admin> admin_;
};

TEST_F(PolicyVersionsTest, ASavedVersionIsStoredButNotActivated) {
  const std::string xml = DemoPolicy();
  auto saved = Ok(admin_->SavePolicy(xml, "demo.xml"));
  EXPECT_EQ(saved.name, "shype.demo");
  EXPECT_EQ(saved.version, "1.0");
  EXPECT_EQ(
      saved.hash,
      HexEncode(Sha1(std::span(reinterpret_cast<const std::uint8_t*>(xml.data()), xml.size()))));
  EXPECT_EQ(Ok(admin_->GetPolicy()).policy.name, "DEFAULT");  // nothing activated
  auto versions = Ok(admin_->PolicyVersions()).versions;
  ASSERT_EQ(versions.size(), 1U);
  EXPECT_EQ(versions[0].name, "shype.demo");
  EXPECT_FALSE(versions[0].active);
  EXPECT_TRUE(versions[0].xml.empty());  // the list carries no XML
  auto stored = Ok(admin_->GetPolicyVersion("shype.demo", "1.0"));
  EXPECT_EQ(stored.xml, xml);
  EXPECT_FALSE(stored.active);
  // Saving the same bytes again is no change.
  EXPECT_EQ(Ok(admin_->SavePolicy(xml, "again.xml")), saved);
}

TEST_F(PolicyVersionsTest, ASavedVersionActivatesThroughTheUpdateTransaction) {
  const std::string xml = DemoPolicy();
  Ok(admin_->SavePolicy(xml, "demo.xml"));
  Ok(admin_->SavePolicy(DemoVersion("1.1"), "demo-1.1.xml"));
  Ok(admin_->SetPolicy(Ok(admin_->GetPolicyVersion("shype.demo", "1.0")).xml, "demo.xml", false));
  auto versions = Ok(admin_->PolicyVersions()).versions;
  ASSERT_EQ(versions.size(), 2U);
  EXPECT_TRUE(versions[0].active);
  EXPECT_FALSE(versions[1].active);
  EXPECT_EQ(versions[1].version, "1.1");
  // Saving a version does not touch the active one, older or newer.
  EXPECT_EQ(Ok(admin_->GetPolicy()).policy.version, "1.0");
  Ok(admin_->SetPolicy(DemoVersion("1.1"), "demo-1.1.xml", false));
  EXPECT_TRUE(Ok(admin_->GetPolicyVersion("shype.demo", "1.1")).active);
}

TEST_F(PolicyVersionsTest, RefusalsNameWhatIsWrongAndStoreNothing) {
  Ok(admin_->SavePolicy(DemoPolicy(), "demo.xml"));
  // The same name and version with other XML: a second version needs a new number.
  std::string other = DemoPolicy();
  other.insert(other.find("<PolicyHeader>"), "<!-- changed -->\n");
  Error same = Refused(admin_->SavePolicy(other, "other.xml"));
  EXPECT_EQ(same.code, ErrorCode::kConflict) << same.message;
  EXPECT_NE(same.message.find("other.xml"), std::string::npos) << same.message;
  // Bad XML: the compiler's message with file and line.
  Error bad = Refused(admin_->SavePolicy("<SecurityPolicyDefinition>", "bad.xml"));
  EXPECT_EQ(bad.code, ErrorCode::kPolicyInvalid);
  EXPECT_EQ(bad.message.rfind("bad.xml:", 0), 0U) << bad.message;
  // The DEFAULT policy is built in.
  std::string def = DemoPolicy();
  def.replace(def.find("shype.demo"), 10, "DEFAULT");
  Error named = Refused(admin_->SavePolicy(def, "default.xml"));
  EXPECT_EQ(named.code, ErrorCode::kInvalidArgument) << named.message;
  EXPECT_EQ(Ok(admin_->PolicyVersions()).versions.size(), 1U);
  Error missing = Refused(admin_->GetPolicyVersion("shype.demo", "9.9"));
  EXPECT_EQ(missing.code, ErrorCode::kNotFound);
  EXPECT_NE(missing.message.find("stored: shype.demo 1.0"), std::string::npos) << missing.message;
}

TEST_F(PolicyVersionsTest, ATamperedStoredFileIsRefusedNotHandedOut) {
  Ok(admin_->SavePolicy(DemoPolicy(), "demo.xml"));
  std::ofstream(dir_ / "policies/shype.demo/1.0/policy.xml", std::ios::app) << "<!-- x -->";
  Error tampered = Refused(admin_->GetPolicyVersion("shype.demo", "1.0"));
  EXPECT_EQ(tampered.code, ErrorCode::kIo);
  EXPECT_NE(tampered.message.find("not the one recorded"), std::string::npos) << tampered.message;
}

}  // namespace
}  // namespace shype::admin
