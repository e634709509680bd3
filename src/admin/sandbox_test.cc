// SPDX-License-Identifier: Apache-2.0
//
// The sandbox runner and the sandboxed policy compiler, with real helpers (coreutils, shell
// scripts, shype-policyc): each refusal, and what a confined helper can no longer do.
#include "shype/admin/sandbox.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "shype/admin/policy_compiler.h"
#include "shype/common/file.h"
#include "shype/common/landlock.h"
#include "shype/common/unique_fd.h"
#include "shype/policyc/compiler.h"
#include "shype/policyc/policy_error.h"

namespace shype::admin {
namespace {

namespace fs = std::filesystem;

const fs::path kHelper = fs::path(SHYPE_BINARY_DIR) / "bin" / "shype-policyc";

std::span<const std::uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string Text(const std::vector<std::uint8_t>& v) { return std::string(v.begin(), v.end()); }

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (LandlockRuleset::Abi() < 1)
      GTEST_SKIP() << "Landlock unavailable: RunSandboxed refuses to run";
    dir_ = fs::temp_directory_path() /
           fmt::format("shype-sandbox-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    fs::permissions(dir_, fs::perms(0755));
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A helper script the unprivileged sandbox uid can read and run.
  fs::path Script(const std::string& name, const std::string& body) {
    fs::path path = dir_ / name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    fs::permissions(path, fs::perms(0755));
    return path;
  }
  Result<SandboxResult> Sh(const std::string& command, const SandboxLimits& limits = {}) {
    return RunSandboxed("the test helper", "/bin/sh", {"-c", command}, {}, limits);
  }

  fs::path dir_;
};

TEST_F(SandboxTest, PassesStdinToTheHelperAndCollectsItsOutput) {
  std::string input(4U << 20, 'x');  // more than any pipe buffer: written while reading
  input += "end";
  auto r = RunSandboxed("cat", "/usr/bin/cat", {}, Bytes(input));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_EQ(Text(r->out), input);
}

TEST_F(SandboxTest, RefusesAMissingHelper) {
  auto r = RunSandboxed("the policy compiler", dir_ / "shype-policyc", {}, {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("the policy compiler cannot run: '" +
                                   (dir_ / "shype-policyc").string() + "' does not exist"),
            std::string::npos)
      << r.error().message;
}

TEST_F(SandboxTest, RefusesAHelperThatWritesTooMuch) {
  SandboxLimits limits;
  limits.max_stdout = 1U << 20;
  auto r = RunSandboxed("yes", "/usr/bin/yes", {}, {}, limits);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("yes wrote more than 1048576 bytes on its stdout"),
            std::string::npos)
      << r.error().message;
  limits.max_stderr = 1000;
  auto e = Sh("yes >&2", limits);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("more than 1000 bytes on its stderr"), std::string::npos);
}

TEST_F(SandboxTest, StopsAHelperThatTimesOut) {
  SandboxLimits limits;
  limits.timeout = std::chrono::milliseconds(300);
  const auto start = std::chrono::steady_clock::now();
  auto r = RunSandboxed("sleep", "/usr/bin/sleep", {"30"}, {}, limits);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("sleep did not finish within 300 ms"), std::string::npos)
      << r.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(SandboxTest, ReportsExitStatusAndEscapedStderr) {
  auto r = Sh("printf 'bad \\377 byte\\n' >&2; exit 7");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_code, 7);
  EXPECT_EQ(r->err, "bad \\xff byte");
}

TEST_F(SandboxTest, HelperCannotOpenFilesOutsideUsr) {
  auto r = RunSandboxed("cat", "/usr/bin/cat", {"/etc/hostname"}, {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_NE(r->exit_code, 0);
  EXPECT_NE(r->err.find("Permission denied"), std::string::npos) << r->err;
  // ... but may read what it needs to run, under /usr.
  auto usr = RunSandboxed("cat", "/usr/bin/cat", {"/usr/bin/cat"}, {});
  ASSERT_TRUE(usr) << usr.error().message;
  EXPECT_EQ(usr->exit_code, 0) << usr->err;
}

TEST_F(SandboxTest, HelperCannotWriteFilesEvenItsOwnDirectory) {
  fs::permissions(dir_, fs::perms(0777));  // so that only the sandbox can be what refuses
  auto r = Sh("echo x > " + (dir_ / "written").string());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_NE(r->exit_code, 0);
  EXPECT_FALSE(fs::exists(dir_ / "written"));
}

TEST_F(SandboxTest, HelperRunsUnprivilegedWithLimitsAndNoInheritedFds) {
  if (::geteuid() != 0) GTEST_SKIP() << "the uid drop is only done when run as root";
  // A descriptor the parent leaks (no O_CLOEXEC) must not reach the helper.
  UniqueFd leaked(::open("/etc/hostname", O_RDONLY));
  ASSERT_TRUE(leaked.valid());
  auto r = RunSandboxed("bash", "/bin/bash",
                        {"-c", fmt::format("id -u; id -g; id -G; ulimit -t; ulimit -v; ulimit -n; "
                                           "cat <&{} && echo LEAKED",
                                           leaked.get())},
                        {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(Text(r->out), "65534\n65534\n65534\n20\n2097152\n32\n") << r->err;
  EXPECT_NE(r->err.find("Bad file descriptor"), std::string::npos) << r->err;
}

TEST_F(SandboxTest, HelperCannotSignalItsParent) {
  auto r = Sh(fmt::format("kill -0 {} && echo allowed || echo denied", ::getpid()));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(Text(r->out), "denied\n");
}

// shype-policyc's own probe: the same open outside the sandbox is allowed (so the probe works),
// inside it is denied.
TEST_F(SandboxTest, PolicyCompilerCannotOpenCreateOrConnect) {
  ASSERT_TRUE(fs::exists(kHelper)) << kHelper;
  const std::string unconfined =
      fmt::format("{} --probe-for-testing open:/etc/hostname", kHelper.string());
  EXPECT_EQ(WEXITSTATUS(std::system(unconfined.c_str())), 3) << "the probe itself is broken";

  auto open =
      RunSandboxed("shype-policyc", kHelper, {"--probe-for-testing", "open:/etc/hostname"}, {});
  ASSERT_TRUE(open) << open.error().message;
  EXPECT_EQ(Text(open->out), "denied: Permission denied\n") << open->err;
  fs::permissions(dir_, fs::perms(0777));  // so that only the sandbox can be what refuses
  auto create = RunSandboxed("shype-policyc", kHelper,
                             {"--probe-for-testing", "create:" + (dir_ / "x").string()}, {});
  ASSERT_TRUE(create) << create.error().message;
  EXPECT_EQ(Text(create->out), "denied: Permission denied\n");

  if (LandlockRuleset::Abi() < 4) GTEST_SKIP() << "Landlock ABI < 4: TCP is not restricted";
  UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener.get(), 1), 0);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string port = std::to_string(ntohs(addr.sin_port));
  auto connect =
      RunSandboxed("shype-policyc", kHelper, {"--probe-for-testing", "connect:" + port}, {});
  ASSERT_TRUE(connect) << connect.error().message;
  EXPECT_EQ(Text(connect->out), "denied: Permission denied\n");
}

class SandboxedCompilerTest : public SandboxTest {
 protected:
  std::string Xml(const std::string& file) {
    return *ReadTextFileBounded(fs::path(SHYPE_SOURCE_DIR) / "tests/data/policies" / file,
                                1U << 20);
  }
};

TEST_F(SandboxedCompilerTest, CompilesLikeTheCompilerInProcess) {
  const std::string xml = Xml("many-conflicts.xml");
  auto compiled = SandboxedPolicyCompiler(kHelper).Compile(xml, "many-conflicts.xml");
  ASSERT_TRUE(compiled) << compiled.error().message;
  auto doc = policyc::ParsePolicyXml(Bytes(xml), "many-conflicts.xml");
  ASSERT_TRUE(doc);
  auto local = policyc::CompilePolicy(*doc);
  ASSERT_TRUE(local);
  EXPECT_EQ(compiled->bytes, local->bytes);
  EXPECT_EQ(compiled->map_text, local->map_text);
  EXPECT_EQ(compiled->header.version, "3.0");
  EXPECT_EQ(compiled->vm_renames.size(), 1U);
}

TEST_F(SandboxedCompilerTest, PassesThePolicyErrorWithItsCategory) {
  std::string xml = Xml("ste-only.xml");
  xml.replace(xml.find("<PolicyName>"), 12, "<PolicyName>bad:");
  auto r = SandboxedPolicyCompiler(kHelper).Compile(xml, "bad.xml");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kPolicyInvalid);
  EXPECT_EQ(r.error().message.rfind("bad.xml:", 0), 0U) << r.error().message;
  EXPECT_EQ(policyc::PolicyErrorCategoryOf(r.error()), policyc::PolicyErrorCategory::kBadPolicyName)
      << r.error().message;
}

TEST_F(SandboxedCompilerTest, RefusesAnOversizedPolicyWithItsSize) {
  const std::string huge(policyc::kMaxPolicyXmlBytes + 10, ' ');
  auto r = SandboxedPolicyCompiler(kHelper).Compile(huge, "huge.xml");
  ASSERT_FALSE(r);
  EXPECT_EQ(policyc::PolicyErrorCategoryOf(r.error()), policyc::PolicyErrorCategory::kBadXml);
  EXPECT_NE(r.error().message.find(std::to_string(huge.size()) + " bytes"), std::string::npos)
      << r.error().message;
}

// The helper's own bound, when more than it accepts reaches it: it stops reading, shyped stops
// writing (EPIPE, never SIGPIPE) and reports the helper's refusal.
TEST_F(SandboxedCompilerTest, HelperRefusesOversizedInputWithoutHanging) {
  const std::string huge(policyc::kMaxPolicyXmlBytes + 10, ' ');
  auto r = RunSandboxed("shype-policyc", kHelper, {"--source", "huge.xml"}, Bytes(huge));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_code, 1);
  EXPECT_NE(r->err.find("at most 16777216 are accepted [BAD_XML]"), std::string::npos) << r->err;
}

TEST_F(SandboxedCompilerTest, RefusesAHelperThatFails) {
  auto r = SandboxedPolicyCompiler(Script("fails", "echo 'out of luck' >&2; exit 7"))
               .Compile(Xml("ste-only.xml"), "p.xml");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
  EXPECT_NE(r.error().message.find("failed with exit status 7: out of luck"), std::string::npos)
      << r.error().message;
}

TEST_F(SandboxedCompilerTest, RefusesOutputTheBoundedReaderRefuses) {
  auto r = SandboxedPolicyCompiler(Script("garbage", "echo garbage"))
               .Compile(Xml("ste-only.xml"), "p.xml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("produced output shyped refuses"), std::string::npos);
  EXPECT_NE(r.error().message.find("not shype-policyc output"), std::string::npos)
      << r.error().message;
}

// A helper replaying a valid package of another policy: refused, the hash ties it to the XML.
TEST_F(SandboxedCompilerTest, RefusesAPackageOfOtherXml) {
  const std::string other = Xml("many-conflicts.xml");
  fs::path package = dir_ / "package";
  {
    auto r = RunSandboxed("shype-policyc", kHelper, {"--source", "x"}, Bytes(other));
    ASSERT_TRUE(r && r->exit_code == 0);
    ASSERT_TRUE(WriteFileAtomic(package, r->out));
    fs::permissions(package, fs::perms(0644));
  }
  // The script may not read `package` in the sandbox, so the bytes travel inside it as hex.
  auto bytes = ReadFileBounded(package, 1U << 20);
  ASSERT_TRUE(bytes);
  std::string printf_arg;
  for (std::uint8_t b : *bytes) printf_arg += fmt::format("\\{:03o}", b);
  auto r = SandboxedPolicyCompiler(Script("replay", "printf '" + printf_arg + "'"))
               .Compile(Xml("ste-only.xml"), "p.xml");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("is not the SHA-1"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace shype::admin
