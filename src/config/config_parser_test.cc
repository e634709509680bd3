// SPDX-License-Identifier: Apache-2.0
//
// Parser tests: a rich config parses into the expected values; malformed configs fail with
// line-numbered messages that say what to fix.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "shype/config/domain_config.h"

namespace shype::config {
namespace {

constexpr std::string_view kRich = R"(# A domain with every kind of value.
name = "web-01"          # trailing comment
memory = 0x100
vcpus = 2; accel = 'tcg'
kernel = '/boot/vmlinuz'
extra = "console=ttyS0 \"quoted\"\t#not-a-comment\x41\101"
disk = [ 'file:/img/a.img,xvda,w',   # root
         'phy:sdb,xvdb,r',
         # a comment line inside the list

         'tap:aio:/img/b.img,xvdc,w',
       ]
empty = []
numbers = [ 1, -2, 0x10, ]
on_crash = 'preserve'
unknown_key = 'kept'
)";

TEST(ConfigParserTest, ParsesRichConfigWithCommentsListsAndEscapes) {
  auto config = DomainConfig::Parse(std::string(kRich), "rich.cfg");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->settings().size(), 11U);
  EXPECT_EQ(*config->Name(), "web-01");
  EXPECT_EQ(**config->MemoryMiB(), 256U);
  EXPECT_EQ(**config->Vcpus(), 2U);
  EXPECT_EQ(**config->Accelerator(), Accel::kTcg);
  EXPECT_EQ(**config->GetString("extra"),
            "console=ttyS0 \"quoted\"\t#not-a-comment"
            "AA");
  auto disk = config->GetStringList("disk");
  ASSERT_TRUE(disk);
  ASSERT_EQ(disk->size(), 3U);
  EXPECT_EQ(*(*disk)[2].AsString(), "tap:aio:/img/b.img,xvdc,w");
  EXPECT_EQ((*disk)[2].line, 11U);
  EXPECT_EQ(config->Find("disk")->line, 7U);
  EXPECT_TRUE(config->Find("empty")->is_list);
  EXPECT_TRUE(config->Find("empty")->items.empty());
  const Setting* numbers = config->Find("numbers");
  ASSERT_EQ(numbers->items.size(), 3U);
  EXPECT_EQ(*numbers->items[1].AsInteger(), -2);
  EXPECT_EQ(*numbers->items[2].AsInteger(), 16);
  EXPECT_EQ(**config->GetString("unknown_key"), "kept");
  EXPECT_EQ(**config->GetString("on_crash"), "preserve");
  EXPECT_EQ(std::vector<std::string>(config->warnings().begin(), config->warnings().end()),
            (std::vector<std::string>{"rich.cfg:13: unknown key 'empty'; it is ignored",
                                      "rich.cfg:14: unknown key 'numbers'; it is ignored",
                                      "rich.cfg:16: unknown key 'unknown_key'; it is ignored"}));
  EXPECT_TRUE(config->Validate()) << config->Validate().error().message;
  EXPECT_EQ(config->Serialize(), kRich);
}

TEST(ConfigParserTest, AcceptsEmptyFileCrlfAndMissingFinalNewline) {
  EXPECT_TRUE(DomainConfig::Parse("", "e.cfg"));
  auto crlf = DomainConfig::Parse("name = 'a'\r\nmemory = 64\r\n", "c.cfg");
  ASSERT_TRUE(crlf) << crlf.error().message;
  EXPECT_EQ(**crlf->MemoryMiB(), 64U);
  auto last = DomainConfig::Parse("name = 'a'\nvcpus = 4", "l.cfg");
  ASSERT_TRUE(last);
  EXPECT_EQ(**last->Vcpus(), 4U);
}

struct Malformed {
  const char* text;
  const char* message;
};

void PrintTo(const Malformed& m, std::ostream* os) { *os << testing::PrintToString(m.text); }

class MalformedConfigTest : public testing::TestWithParam<Malformed> {};

TEST_P(MalformedConfigTest, FailsWithLineNumberedMessage) {
  auto config = DomainConfig::Parse(GetParam().text, "dom.cfg");
  ASSERT_FALSE(config) << GetParam().text;
  EXPECT_EQ(config.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(config.error().message, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MalformedConfigTest,
    testing::Values(
        Malformed{"name = 'a'\nmemory = 128\nkernel = '/k'\n\ndisk = [ 'file:/a,xvda,w',\n"
                  "   'file:/b,xvdb,r'\nvif = []\n",
                  "dom.cfg:7: expected ']' to close the list opened at line 5"},
        Malformed{"disk = [ 'a',\nname = 'x'\n",
                  "dom.cfg:2: expected ']' to close the list opened at line 1"},
        Malformed{"disk = [ 'a',\n  'b',\n",
                  "dom.cfg:3: expected ']' to close the list opened at line 1"},
        Malformed{"name 'x'\n", "dom.cfg:1: expected '=' after the setting name 'name', got '''"},
        Malformed{"\n\nmemory =   # none\n",
                  "dom.cfg:3: expected a value after 'memory =' (a quoted string, a number or a "
                  "[list])"},
        Malformed{"name = 'abc\nmemory = 1\n",
                  "dom.cfg:1: the string in 'name' opened with ' is not closed on the same line"},
        Malformed{"extra = 'a\\qb'\n",
                  "dom.cfg:1: unknown escape '\\q' in a string; write '\\\\' for a backslash"},
        Malformed{"memory = 12ab\n",
                  "dom.cfg:1: invalid number '12ab' for 'memory': use decimal digits or 0x and "
                  "hex digits"},
        Malformed{"memory = 99999999999999999999\n",
                  "dom.cfg:1: number '99999999999999999999' for 'memory' is out of range"},
        Malformed{"name = 'a'\n# again\nname = 'b'\n",
                  "dom.cfg:3: 'name' is already set at line 1; keep only one of them"},
        Malformed{"disk = [ ['a'] ]\n", "dom.cfg:1: nested lists are not supported (in 'disk')"},
        Malformed{"%x = 1\n",
                  "dom.cfg:1: expected a setting name ([A-Za-z_][A-Za-z0-9_]*), got '%'"},
        Malformed{"name = 'a' 'b'\n",
                  "dom.cfg:1: unexpected ''' after the value of 'name'; put one setting per line "
                  "or separate settings with ';'"},
        Malformed{"disk += ['a']\n",
                  "dom.cfg:1: 'disk +=' is not supported; write the whole value with '='"},
        Malformed{"vif = [ 'a',\n , 'b' ]\n",
                  "dom.cfg:2: empty element in the list 'vif' (a leading or doubled ',')"},
        Malformed{"on_crash = destroy\n",
                  "dom.cfg:1: the value destroy of 'on_crash' must be quoted: write 'destroy'"},
        Malformed{"vif = [ 'a' 'b' ]\n",
                  "dom.cfg:1: expected ',' or ']' after an element of the list 'vif' (opened at "
                  "line 1), got '''"},
        Malformed{"name = 'a\x01'\n",
                  "dom.cfg:1: control character byte 0x01 in a string of 'name'; use an escape "
                  "such as \\n"},
        Malformed{"my-key = 1\n", "dom.cfg:1: expected '=' after the setting name 'my', got '-'"},
        Malformed{"extra = 'a\\0b'\n", "dom.cfg:1: NUL byte (\\0) in a string is not allowed"},
        Malformed{"memory = -0x10\n",
                  "dom.cfg:1: invalid number '-0x10' for 'memory': use decimal digits or 0x and "
                  "hex digits"},
        Malformed{"x = [ 1 ] ]\n",
                  "dom.cfg:1: unexpected ']' after the value of 'x'; put one setting per line or "
                  "separate settings with ';'"}));

TEST(ConfigAccessorTest, TypedAccessorsNameKeyAndLine) {
  auto config = DomainConfig::Parse(
      "name = 'bad name'\nmemory = '128'\nvcpus = 65\naccel = 'xen'\nkernel = 5\n", "t.cfg");
  ASSERT_TRUE(config);
  EXPECT_EQ(config->Name().error().message,
            "t.cfg:1: name 'bad name' must match [A-Za-z0-9_.-]{1,64}");
  EXPECT_EQ(config->MemoryMiB().error().message,
            "t.cfg:2: 'memory' must be a positive unquoted integer in MiB (1..16777216), e.g. "
            "memory = 256");
  EXPECT_EQ(config->Vcpus().error().message,
            "t.cfg:3: 'vcpus' must be an unquoted integer from 1 to 64");
  EXPECT_EQ(config->Accelerator().error().message,
            "t.cfg:4: accel 'xen' must be 'auto', 'kvm' or 'tcg'");
  EXPECT_EQ(config->GetString("kernel").error().message,
            "t.cfg:5: 'kernel' must be a quoted string, e.g. kernel = 'value'");
  EXPECT_FALSE(config->Validate());
}

TEST(ConfigAccessorTest, MissingNameAndZeroMemoryAreRejected) {
  auto config = DomainConfig::Parse("memory = 0\n", "t.cfg");
  ASSERT_TRUE(config);
  EXPECT_EQ(config->Name().error().message, "t.cfg: 'name' is not set; add name = 'NAME'");
  EXPECT_FALSE(config->MemoryMiB());
  EXPECT_FALSE(*config->Vcpus());  // absent: no value, no error
  auto list = DomainConfig::Parse("disk = 'file:/a,xvda,w'\nvif = [ 1 ]\n", "t.cfg");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->Disks().error().message,
            "t.cfg:1: 'disk' must be a list of quoted strings: disk = [ '...', ]");
  EXPECT_EQ(list->Vifs().error().message, "t.cfg:2: vif[0] must be a quoted string");
}

std::vector<std::string> Warnings(const DomainConfig& config) {
  return {config.warnings().begin(), config.warnings().end()};
}

TEST(ConfigWarningTest, UnknownKeysWarnWithFileLineAndTheLikelyKeyAndStillLoad) {
  auto config = DomainConfig::Parse(
      "name = 'bank'\nkernel = '/k'\nmemroy = 128\nvcpu = 2; ramdsk = '/i'\n"
      "acess_control = ['policy=p,label=l']\nfrobnicate = 1\nmemory = 64\n",
      "bank.cfg");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(Warnings(*config),
            (std::vector<std::string>{
                "bank.cfg:3: unknown key 'memroy'; did you mean 'memory'?",
                "bank.cfg:4: unknown key 'vcpu'; did you mean 'vcpus'?",
                "bank.cfg:4: unknown key 'ramdsk'; did you mean 'ramdisk'?",
                "bank.cfg:5: unknown key 'acess_control'; did you mean 'access_control'?",
                "bank.cfg:6: unknown key 'frobnicate'; it is ignored"}));
  EXPECT_EQ(**config->MemoryMiB(), 64U);  // the config loads; the unknown keys are kept
  EXPECT_EQ(**config->GetInteger("memroy"), 128);
  EXPECT_TRUE(config->Validate());
}

TEST(ConfigWarningTest, EveryKeyShypeReadsIsKnown) {
  std::string text;
  for (std::string_view key : KnownKeys()) text += std::string(key) + " = 1\n";
  text.erase(text.find("cmdline = 1\n"), 12);  // extra's synonym: not both
  auto config = DomainConfig::Parse(text, "all.cfg");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_TRUE(config->warnings().empty()) << config->warnings().front();
  auto good = DomainConfig::Parse("name = 'a'\nmemory = 64\n", "g.cfg");
  ASSERT_TRUE(good);
  EXPECT_TRUE(good->warnings().empty());
}

TEST(ConfigSynonymTest, CmdlineIsXlsNameForExtra) {
  auto config =
      DomainConfig::Parse("name = 'a'\nkernel = '/k'\ncmdline = 'console=ttyS0'\n", "c.cfg");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_TRUE(config->warnings().empty());
  EXPECT_EQ(**config->GetString("extra"), "console=ttyS0");
  EXPECT_EQ(config->Find("extra")->key, "cmdline");
  EXPECT_TRUE(config->Validate());
  auto wrong = DomainConfig::Parse("cmdline = 1\n", "c.cfg");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->GetString("extra").error().message,
            "c.cfg:1: 'cmdline' must be a quoted string, e.g. cmdline = 'value'");
  EXPECT_FALSE(wrong->Validate());
  auto extra = DomainConfig::Parse("extra = 'quiet'\n", "e.cfg");
  ASSERT_TRUE(extra);
  EXPECT_EQ(extra->Find("cmdline"), nullptr);  // the synonym finds the key, not the other way
}

TEST(ConfigSynonymTest, ExtraAndCmdlineBothSetIsAnErrorNamingBoth) {
  auto both = DomainConfig::Parse("name = 'a'\nextra = 'x'\n\ncmdline = 'y'\n", "b.cfg");
  ASSERT_FALSE(both);
  EXPECT_EQ(both.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(both.error().message,
            "b.cfg:4: 'cmdline' and 'extra' (line 2) both set the kernel command line; keep one");
  auto reversed = DomainConfig::Parse("cmdline = 'y'; extra = 'x'\n", "r.cfg");
  ASSERT_FALSE(reversed);
  EXPECT_EQ(reversed.error().message,
            "r.cfg:1: 'cmdline' and 'extra' (line 1) both set the kernel command line; keep one");
}

}  // namespace
}  // namespace shype::config
