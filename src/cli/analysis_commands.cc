// SPDX-License-Identifier: Apache-2.0
//
// shype policy analyze FILE|--active, shype policy diff OLD NEW | --active NEW: what a policy
// means and what an update changes, through the backend (shyped, else offline on the state
// directory), so the running host's domains are taken into account.
#include <memory>
#include <string>
#include <vector>

#include "analysis_format.h"
#include "commands.h"
#include "shype/common/file.h"

namespace shype::cli {
namespace {

constexpr std::size_t kMaxPolicyXmlBytes = 16U << 20;

Result<std::string> ReadPolicy(const std::string& path) {
  auto xml = ReadTextFileBounded(path, kMaxPolicyXmlBytes);
  if (!xml) return Fail(xml.error());
  if (auto r = CheckFileIsText(path, *xml); !r) return Fail(r.error());
  return xml;
}

// `use`: a policy file alone needs no state directory (a missing one reads as a fresh host, only
// Domain-0 running, and is not created: analyze and diff only read); --active needs one.
void Call(Context& ctx, const api::Command& command, std::string (*format)(const api::Json&),
          StateDirUse use) {
  auto backend = ctx.backend(use);
  if (!backend) return ctx.PrintError(backend.error());
  auto result = (*backend)->Call(command);
  if (!result) return ctx.PrintError(result.error());
  ctx.Print(*result, format(*result));
}

void Analyze(Context& ctx, const std::string& file, bool active) {
  if (active == !file.empty()) {
    return ctx.PrintError(Error{ErrorCode::kInvalidArgument,
                                "policy analyze: give a policy FILE or --active (not both)"});
  }
  api::AnalyzePolicy command;
  if (!active) {
    auto xml = ReadPolicy(file);
    if (!xml) return ctx.PrintError(xml.error());
    command = {std::move(*xml), file};
  }
  Call(ctx, command, FormatPolicyAnalysis,
       active ? StateDirUse::kMustExist : StateDirUse::kMayCreate);
}

void Diff(Context& ctx, const std::vector<std::string>& files, bool active) {
  if (files.size() != (active ? 1U : 2U)) {
    return ctx.PrintError(Error{ErrorCode::kInvalidArgument,
                                "policy diff: give OLD and NEW policy files, or --active NEW"});
  }
  api::DiffPolicies command;
  auto next = ReadPolicy(files.back());
  if (!next) return ctx.PrintError(next.error());
  command.new_xml = std::move(*next);
  command.new_source = files.back();
  if (!active) {
    auto old = ReadPolicy(files.front());
    if (!old) return ctx.PrintError(old.error());
    command.old_xml = std::move(*old);
    command.old_source = files.front();
  }
  Call(ctx, command, FormatPolicyDiff, active ? StateDirUse::kMustExist : StateDirUse::kMayCreate);
}

}  // namespace

void RegisterAnalysisCommands(CLI::App& policy, Context& ctx) {
  auto file = std::make_shared<std::string>();
  auto files = std::make_shared<std::vector<std::string>>();
  auto active = std::make_shared<bool>(false);
  auto* analyze = policy.add_subcommand(
      "analyze", "what a policy (FILE or --active) means: sharing, conflicts, reach, unused types");
  analyze->add_option("file", *file, "policy XML");
  analyze->add_flag("--active", *active, "the active policy");
  analyze->callback([&ctx, file, active] { Analyze(ctx, *file, *active); });
  auto* diff = policy.add_subcommand(
      "diff", "what replacing OLD (or --active) by NEW changes; setpolicy --check's verdict");
  diff->add_option("files", *files, "OLD NEW, or NEW with --active")->expected(1, 2);
  diff->add_flag("--active", *active, "OLD is the active policy");
  diff->callback([&ctx, files, active] { Diff(ctx, *files, *active); });
}

}  // namespace shype::cli
