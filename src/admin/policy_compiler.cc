// SPDX-License-Identifier: Apache-2.0
//
// The sandboxed policy compiler: shype-policyc run through RunSandboxed, its output read back
// with the bounded package reader.
#include "shype/admin/policy_compiler.h"

#include <unistd.h>

#include <span>

#include "shype/policyc/compiled_package.h"
#include "shype/policyc/policy_error.h"

namespace shype::admin {

Result<policyc::CompiledPolicy> SandboxedPolicyCompiler::Compile(std::string_view xml,
                                                                 std::string_view source) {
  const std::span bytes(reinterpret_cast<const std::uint8_t*>(xml.data()), xml.size());
  // The compiler's own first check, made here too so that an oversized policy is named with its
  // real size and never piped anywhere.
  if (bytes.size() > policyc::kMaxPolicyXmlBytes) {
    return Fail(
        policyc::MakePolicyError(policyc::PolicyErrorCategory::kBadXml, source, 1, "document",
                                 fmt::format("the policy is {} bytes; at most {} are accepted",
                                             bytes.size(), policyc::kMaxPolicyXmlBytes)));
  }
  // The source name only labels messages; bound it (it travels as an argument).
  std::string name(source.substr(0, policyc::kMaxNameBytes));
  auto run = RunSandboxed("the policy compiler (" + helper_.string() + ")", helper_,
                          {"--source", name}, bytes, limits_);
  if (!run) return Fail(run.error());
  if (run->exit_code == 1 && !run->err.empty()) {
    return Fail(ErrorCode::kPolicyInvalid, "{}", run->err);
  }
  if (run->exit_code != 0) {
    return Fail(ErrorCode::kInternal, "the policy compiler ({}) failed with exit status {}: {}",
                helper_.string(), run->exit_code, run->err.empty() ? "(no message)" : run->err);
  }
  // SECURITY: the helper is as untrusted as the XML it parsed; only what the bounded readers
  // accept (binary, map, header facts tied to them and to the SHA-1 of these XML bytes) is used.
  auto compiled = policyc::ParseCompiledPackage(run->out, bytes);
  if (!compiled) {
    return Fail(ErrorCode::kInternal, "the policy compiler ({}) produced output shyped refuses: {}",
                helper_.string(), compiled.error().message);
  }
  return compiled;
}

Result<std::filesystem::path> PolicyCompilerBesideSelf() {
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) {
    return Fail(ErrorCode::kUnavailable, "cannot find the running executable (/proc/self/exe): {}",
                ec.message());
  }
  std::filesystem::path helper = self.parent_path() / "shype-policyc";
  if (::access(helper.c_str(), X_OK) != 0) {
    return Fail(ErrorCode::kUnavailable,
                "the policy compiler '{}' is missing (it is installed beside {}); reinstall shype",
                helper.string(), self.filename().string());
  }
  return helper;
}

}  // namespace shype::admin
