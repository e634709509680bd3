// SPDX-License-Identifier: Apache-2.0
//
// shype-policyc: the policy compiler as a separate process, run by shyped (and the offline CLI)
// in a sandbox. Policy XML on stdin, a compiled-policy package on stdout, errors on stderr.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shype/policyc/compiled_package.h"
#include "shype/policyc/compiler.h"

namespace {

constexpr int kExitPolicyInvalid = 1;
constexpr int kExitUsage = 2;
constexpr int kExitProbeAllowed = 3;

bool WriteAll(int fd, std::span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

int Error(std::string_view message, int code) {
  std::fprintf(stderr, "%.*s\n", static_cast<int>(message.size()), message.data());
  return code;
}

// Reads stdin, at most one byte more than `max` (so "too large" is detectable).
bool ReadStdin(std::vector<std::uint8_t>& out, std::size_t max) {
  std::uint8_t buffer[65536];
  while (out.size() <= max) {
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out.insert(out.end(), buffer, buffer + n);
  }
  return true;
}

int Compile(std::string_view source) {
  std::vector<std::uint8_t> xml;
  if (!ReadStdin(xml, shype::policyc::kMaxPolicyXmlBytes)) {
    return Error(std::string("shype-policyc: cannot read the policy XML: ") + std::strerror(errno),
                 kExitUsage);
  }
  auto doc = shype::policyc::ParsePolicyXml(xml, source);  // refuses > kMaxPolicyXmlBytes
  if (!doc) return Error(doc.error().message, kExitPolicyInvalid);
  auto compiled = shype::policyc::CompilePolicy(*doc);
  if (!compiled) return Error(compiled.error().message, kExitPolicyInvalid);
  if (!WriteAll(STDOUT_FILENO, shype::policyc::SerializeCompiledPackage(*compiled))) {
    return Error(std::string("shype-policyc: cannot write the result: ") + std::strerror(errno),
                 kExitUsage);
  }
  return 0;
}

// --probe-for-testing open:PATH | create:PATH | connect:PORT: tries what the sandbox must forbid
// and reports it ("denied: <errno>" and 0, or "allowed" and 3), so tests can show it fails.
int Probe(std::string_view what) {
  int rc = -1;
  if (what.starts_with("open:")) {
    rc = ::open(std::string(what.substr(5)).c_str(), O_RDONLY | O_CLOEXEC);
  } else if (what.starts_with("create:")) {
    rc = ::open(std::string(what.substr(7)).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  } else if (what.starts_with("connect:")) {
    rc = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rc >= 0) {
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<std::uint16_t>(std::stoi(std::string(what.substr(8)))));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(rc, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) rc = -1;
    }
  } else {
    return Error("shype-policyc: unknown probe (open:PATH, create:PATH, connect:PORT)", kExitUsage);
  }
  if (rc < 0) {
    std::printf("denied: %s\n", std::strerror(errno));
    return 0;
  }
  std::printf("allowed\n");
  return kExitProbeAllowed;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "--source") return Compile(args[1]);
  if (args.size() == 2 && args[0] == "--probe-for-testing") return Probe(args[1]);
  return Error(
      "usage: shype-policyc --source NAME < policy.xml > package\n"
      "  (run by shyped in a sandbox; to compile by hand use: shype policy compile FILE)",
      kExitUsage);
}
