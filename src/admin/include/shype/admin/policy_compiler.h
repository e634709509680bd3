// SPDX-License-Identifier: Apache-2.0
//
// PolicyCompiler turns policy XML into a CompiledPolicy for the policy update. The reference
// monitor's is SandboxedPolicyCompiler: it runs shype-policyc (libxml2) in a sandbox and accepts
// its output only through the bounded readers, so shyped itself links no XML code.
// Not thread-safe per instance beyond what RunSandboxed is (Compile keeps no state).
#pragma once

#include <filesystem>
#include <string_view>

#include "shype/admin/sandbox.h"
#include "shype/common/result.h"
#include "shype/policyc/compiled_policy.h"

namespace shype::admin {

class PolicyCompiler {
 public:
  virtual ~PolicyCompiler() = default;
  // Compiles `xml` (`source` names it in messages). Errors: kPolicyInvalid for a policy the
  // compiler refuses (its message, "<file>:<line>: ... [CATEGORY]"), others when it cannot run.
  [[nodiscard]] virtual Result<policyc::CompiledPolicy> Compile(std::string_view xml,
                                                                std::string_view source) = 0;
};

class SandboxedPolicyCompiler final : public PolicyCompiler {
 public:
  explicit SandboxedPolicyCompiler(std::filesystem::path helper, SandboxLimits limits = {})
      : helper_(std::move(helper)), limits_(limits) {}

  // Runs `helper --source SOURCE` with the XML on stdin in the sandbox. Exit 0: its stdout must
  // be a package policyc::ParseCompiledPackage accepts for these XML bytes; exit 1: the policy is
  // invalid (stderr is the message); anything else, a timeout or too much output: kInternal.
  [[nodiscard]] Result<policyc::CompiledPolicy> Compile(std::string_view xml,
                                                        std::string_view source) override;

 private:
  std::filesystem::path helper_;
  SandboxLimits limits_;
};

// shype-policyc installed beside the running executable (the directory of /proc/self/exe), as
// CMake builds and installs it next to shyped and shype. Errors: kUnavailable, naming the path.
[[nodiscard]] Result<std::filesystem::path> PolicyCompilerBesideSelf();

}  // namespace shype::admin
