// SPDX-License-Identifier: Apache-2.0
//
// shyped's command line and config file: the file's keys, the command line winning, and every
// bad line refused with FILE:LINE (exit 2).
#include "shyped_options.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <sstream>

namespace shype::daemon {
namespace {

class ShypedOptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "shyped-options.XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    conf_ = (dir_ / "shyped.conf").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void WriteConfig(const std::string& text) { std::ofstream(conf_) << text; }

  // Parses with the default config at conf_; the settings, or the exit code with err_ filled.
  std::variant<Settings, int> Parse(std::vector<std::string> args) {
    out_.str("");
    err_.str("");
    return ParseCommandLine(args, conf_, out_, err_);
  }
  Settings ParseOk(std::vector<std::string> args) {
    auto parsed = Parse(std::move(args));
    EXPECT_TRUE(std::holds_alternative<Settings>(parsed)) << err_.str();
    return std::holds_alternative<Settings>(parsed) ? std::get<Settings>(parsed) : Settings{};
  }
  // Expects exit 2 with `needle` in the error.
  void ExpectError(std::vector<std::string> args, const std::string& needle) {
    auto parsed = Parse(std::move(args));
    ASSERT_TRUE(std::holds_alternative<int>(parsed)) << "accepted; wanted: " << needle;
    EXPECT_EQ(std::get<int>(parsed), 2);
    EXPECT_NE(err_.str().find(needle), std::string::npos) << err_.str();
  }

  std::filesystem::path dir_;
  std::string conf_;
  std::ostringstream out_, err_;
};

TEST_F(ShypedOptionsTest, MissingDefaultFileIsFine) {
  Settings s = ParseOk({"--state-dir", "/srv/st"});
  EXPECT_EQ(s.options.state_dir, "/srv/st");
  EXPECT_EQ(s.options.accel, vm::Accel::kAuto);
  EXPECT_EQ(s.log_level, "info");
  EXPECT_FALSE(s.options.socket_group);
  EXPECT_FALSE(s.json_logs);
}

TEST_F(ShypedOptionsTest, FileSetsEveryKindOfOption) {
  WriteConfig(
      "# shyped's settings\n"
      "\n"
      "state_dir = /srv/shype\n"
      "accel = tcg\n"
      "log-level = \"debug\"\n"
      "socket_group = root\n"
      "image_dir = /srv/boot\n"
      "image_dir = /srv/boot2\n"
      "json_logs = true\n"
      "api_max_connections = 8\n");
  Settings s = ParseOk({});
  EXPECT_EQ(s.options.state_dir, "/srv/shype");
  EXPECT_EQ(s.options.accel, vm::Accel::kTcg);
  EXPECT_EQ(s.log_level, "debug");
  ASSERT_TRUE(s.options.socket_group);
  EXPECT_EQ(*s.options.socket_group, 0U);
  EXPECT_EQ(s.options.image_dirs, (std::vector<std::filesystem::path>{"/srv/boot", "/srv/boot2"}));
  EXPECT_TRUE(s.json_logs);
  EXPECT_EQ(s.options.api_limits.max_connections, 8U);
}

TEST_F(ShypedOptionsTest, ListsAndDashedKeysAsOlderFilesWroteThem) {
  WriteConfig("image-dir = [\"/a\", '/b']\nisolated-instance = true\naccel = \"tcg\"\n");
  Settings s = ParseOk({});
  EXPECT_EQ(s.options.image_dirs, (std::vector<std::filesystem::path>{"/a", "/b"}));
  EXPECT_TRUE(s.options.isolated_instance);
  EXPECT_EQ(s.options.accel, vm::Accel::kTcg);
  WriteConfig("accel = [\"tcg\", \"kvm\"]\n");
  ExpectError({}, conf_ + ":1: 'accel' takes one value, not a list");
  WriteConfig("image_dir = [\"/a\",]\n");  // TOML allows the trailing comma
  EXPECT_EQ(ParseOk({}).options.image_dirs, (std::vector<std::filesystem::path>{"/a"}));
  WriteConfig("image_dir = [, \"/a\"]\n");
  ExpectError({}, conf_ + ":1: expected 'key = value'");
  WriteConfig("image_dir = [\"/a\"\n");
  ExpectError({}, conf_ + ":1: expected 'key = value'");
}

TEST_F(ShypedOptionsTest, AuditRotationFromTheFileOrTheCommandLine) {
  Settings defaults = ParseOk({});
  EXPECT_EQ(defaults.options.audit.max_bytes, 10U << 20);
  EXPECT_EQ(defaults.options.audit.keep, 5U);
  WriteConfig("audit_max_size = 64K\naudit_keep = 3\n");
  Settings file = ParseOk({});
  EXPECT_EQ(file.options.audit.max_bytes, 64U << 10);
  EXPECT_EQ(file.options.audit.keep, 3U);
  Settings flags = ParseOk({"--audit-max-size", "2M", "--audit-keep", "9"});
  EXPECT_EQ(flags.options.audit.max_bytes, 2U << 20);
  EXPECT_EQ(flags.options.audit.keep, 9U);
  EXPECT_EQ(ParseOk({"--audit-max-size", "5000"}).options.audit.max_bytes, 5000U);
  ExpectError({"--audit-max-size", "100"}, "--audit-max-size");
  ExpectError({"--audit-keep", "0"}, "--audit-keep");
  WriteConfig("audit_max_size = lots\n");
  ExpectError({}, "shyped.conf:1:");
}

TEST_F(ShypedOptionsTest, CommandLineWinsOverTheFile) {
  WriteConfig("accel = tcg\nimage_dir = /a\nimage_dir = /b\nstate_dir = /srv/file\n");
  Settings s = ParseOk({"--accel", "kvm", "--image-dir", "/c", "--state-dir", "/srv/flag"});
  EXPECT_EQ(s.options.accel, vm::Accel::kKvm);
  EXPECT_EQ(s.options.image_dirs, (std::vector<std::filesystem::path>{"/c"}));
  EXPECT_EQ(s.options.state_dir, "/srv/flag");
}

TEST_F(ShypedOptionsTest, ExplicitConfigReplacesTheDefault) {
  WriteConfig("accel = tcg\n");
  const std::string other = (dir_ / "other.conf").string();
  std::ofstream(other) << "accel = kvm\n";
  EXPECT_EQ(ParseOk({"--config", other}).options.accel, vm::Accel::kKvm);
}

TEST_F(ShypedOptionsTest, MissingExplicitFileIsAnError) {
  ExpectError({"--config", (dir_ / "nope.conf").string()}, "nope.conf");
}

TEST_F(ShypedOptionsTest, BadLinesNameFileAndLine) {
  WriteConfig("# ok\naccel = tcg\nthis is not a setting\n");
  ExpectError({}, conf_ + ":3: expected 'key = value'");
  WriteConfig("[shyped]\n");
  ExpectError({}, conf_ + ":1:");
  WriteConfig("state_dir =\n");
  ExpectError({}, conf_ + ":1:");
  WriteConfig("\nstate_dri = /x\n");
  ExpectError({}, conf_ + ":2: unknown key 'state_dri' (known: state_dir");
  WriteConfig("config = /etc/other.conf\n");
  ExpectError({}, conf_ + ":1: unknown key 'config'");
  WriteConfig("accel = tcg\naccel = kvm\n");
  ExpectError({}, conf_ + ":2: 'accel' given twice (first on line 1)");
  WriteConfig("accel = fast\n");
  ExpectError({}, conf_ + ":1: --accel: fast not in {auto,kvm,tcg}");
  WriteConfig("qemu_uid_base = many\n");
  ExpectError({}, conf_ + ":1:");
}

TEST_F(ShypedOptionsTest, InvalidLogLevelNamesTheAllowedValues) {
  ExpectError({"--log-level", "loud"}, "trace,debug,info,warn,error,off");
  WriteConfig("log_level = loud\n");
  ExpectError({}, conf_ + ":1: --log-level: loud not in {trace,debug,info,warn,error,off}");
}

TEST_F(ShypedOptionsTest, UnknownSocketGroupIsAnError) {
  ExpectError({"--socket-group", "no-such-group-shype"}, "no such group 'no-such-group-shype'");
  WriteConfig("socket_group = no-such-group-shype\n");
  ExpectError({}, conf_ + ":1: --socket-group: no such group");
}

TEST_F(ShypedOptionsTest, HelpExitsZero) {
  auto parsed = Parse({"--help"});
  ASSERT_TRUE(std::holds_alternative<int>(parsed));
  EXPECT_EQ(std::get<int>(parsed), 0);
  EXPECT_NE(out_.str().find("--socket-group"), std::string::npos);
  EXPECT_NE(out_.str().find("--config"), std::string::npos);
}

}  // namespace
}  // namespace shype::daemon
