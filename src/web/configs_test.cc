// SPDX-License-Identifier: Apache-2.0
//
// The configs offered to start: names with '/' or "..", hidden, not *.cfg, symlinks out refused;
// then the listing (with each config's domain name) and a config read as `shype create` reads it.
#include "configs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace shype::web {
namespace {

class ConfigsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = std::filesystem::temp_directory_path() / fmt::format("shype-web-cfg-{}", ::getpid());
    std::filesystem::remove_all(base_);
    std::filesystem::create_directories(base_ / "configs");
    Write(base_ / "configs" / "bank.cfg", "name = \"bank\"\n");
    Write(base_ / "configs" / "oil.cfg", "name = \"oil\"\n");
    Write(base_ / "outside.cfg", "name = \"outside\"\n");
    source_.dir = base_ / "configs";
    source_.max_bytes = 1000;
    source_.domain_name = [](const std::string& text, const std::string&) {
      auto open = text.find('"');
      return open == std::string::npos ? std::string()
                                       : text.substr(open + 1, text.find('"', open + 1) - open - 1);
    };
  }
  void TearDown() override { std::filesystem::remove_all(base_); }
  static void Write(const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path) << text;
  }

  std::filesystem::path base_;
  ConfigSource source_;
};

TEST_F(ConfigsTest, RefusesNamesWithSlashOrDotDot) {
  for (const char* name : {"../outside.cfg", "..", "a/b.cfg", "/etc/passwd", ".hidden.cfg",
                           "bank.cfg/", "", "bank", "bank.cfg.bak", "x\\..\\y.cfg"}) {
    auto config = ReadConfig(source_, name);
    ASSERT_FALSE(config) << name;
    EXPECT_EQ(config.error().code, ErrorCode::kInvalidArgument) << name;
  }
}

TEST_F(ConfigsTest, RefusesASymlinkOutOfTheDirectory) {
  std::filesystem::create_symlink(base_ / "outside.cfg", base_ / "configs" / "link.cfg");
  auto config = ReadConfig(source_, "link.cfg");
  ASSERT_FALSE(config);
  EXPECT_NE(config.error().message.find("symbolic link"), std::string::npos);
  auto list = ListConfigs(source_);
  ASSERT_TRUE(list);
  for (const ConfigEntry& e : *list) EXPECT_NE(e.file, "link.cfg");
}

TEST_F(ConfigsTest, RefusesAConfigOverTheLimitOrNotUtf8) {
  Write(base_ / "configs" / "big.cfg", std::string(2000, '#'));
  EXPECT_FALSE(ReadConfig(source_, "big.cfg"));
  Write(base_ / "configs" / "latin1.cfg", "name = \"caf\xE9\"\n");
  auto bad = ReadConfig(source_, "latin1.cfg");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("UTF-8"), std::string::npos);
}

TEST_F(ConfigsTest, RefusesStartingWithoutADirectory) {
  source_.dir.clear();
  auto config = ReadConfig(source_, "bank.cfg");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().code, ErrorCode::kNotFound);
  EXPECT_NE(config.error().message.find("--configs"), std::string::npos);
}

TEST_F(ConfigsTest, ListsTheConfigsWithTheirDomainNames) {
  Write(base_ / "configs" / "notes.txt", "not a config");
  std::filesystem::create_directories(base_ / "configs" / "dir.cfg");
  auto list = ListConfigs(source_);
  ASSERT_TRUE(list) << list.error().message;
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].file, "bank.cfg");
  EXPECT_EQ((*list)[0].name, "bank");
  EXPECT_EQ((*list)[1].file, "oil.cfg");
  EXPECT_EQ((*list)[1].name, "oil");
}

TEST_F(ConfigsTest, ListsNothingWithoutADirectory) {
  source_.dir.clear();
  auto list = ListConfigs(source_);
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->empty());
}

TEST_F(ConfigsTest, ReadsAConfigWithItsPath) {
  auto config = ReadConfig(source_, "bank.cfg");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->text, "name = \"bank\"\n");
  EXPECT_EQ(config->path, (base_ / "configs" / "bank.cfg").string());
}

}  // namespace
}  // namespace shype::web
