// SPDX-License-Identifier: Apache-2.0
//
// addlabel/getlabel/rmlabel dom: label checks through the backend, file edits here.
#include "domain_label.h"

#include <algorithm>
#include <filesystem>

#include "config_file.h"
#include "shype/config/domain_config.h"

namespace shype::cli {
namespace {

bool Lists(const api::Json& labels, const std::string& label) {
  const api::Json& list = labels.value("labels", api::Json::array());
  return std::find(list.begin(), list.end(), label) != list.end();
}

// Checks that `label` is a VM label of `policy` (the active one when empty); returns the policy.
Result<std::string> CheckVmLabel(Context& ctx, const std::string& label, std::string policy) {
  auto backend = ctx.backend();
  if (!backend) return Fail(backend.error());
  if (policy.rfind("ACM:", 0) == 0) policy.erase(0, 4);
  api::ListLabels query{"dom", policy};
  auto vm = (*backend)->Call(query);
  if (!vm) return Fail(vm.error());
  std::string name = vm->value("policy", "");
  if (Lists(*vm, label)) return name;
  query.type = "res";
  auto res = (*backend)->Call(query);
  if (res && Lists(*res, label)) {
    return Fail(ErrorCode::kInvalidArgument,
                "'{}' is a resource label of policy '{}', not a VM label; list VM labels with: "
                "shype labels",
                label, name);
  }
  return Fail(ErrorCode::kNotFound, "Label '{}' not found in policy '{}'", label, name);
}

// shyped's backend, for `domain` named as a running domain (not a file).
Result<Backend*> RunningDomainBackend(Context& ctx, const std::string& domain) {
  auto backend = ctx.backend();
  if (!backend) return backend;
  if (!(*backend)->live()) {
    return Fail(ErrorCode::kInvalidArgument,
                "'{}' is neither a configuration file nor, without a running shyped, a running "
                "domain (a running domain's label is shyped's)",
                domain);
  }
  return backend;
}

}  // namespace

void AddDomainLabel(Context& ctx, const std::string& label, const std::string& path,
                    const std::string& policy) {
  auto config = config::DomainConfig::Load(path);
  if (!config) return ctx.PrintError(config.error());
  WarnAbout(ctx, *config);
  if (!config->LooksLikeDomainConfig()) {
    return ctx.PrintError({ErrorCode::kInvalidArgument, "Invalid configuration file."});
  }
  if (auto r = config->CheckNotLabeled(); !r) return ctx.PrintError(r.error());
  auto name = CheckVmLabel(ctx, label, policy);
  if (!name) return ctx.PrintError(name.error());
  if (auto r = config->SetLabel(*name, label); !r) return ctx.PrintError(r.error());
  if (auto r = config->Save(path); !r) return ctx.PrintError(r.error());
  ctx.Print({{"config", path}, {"policy", *name}, {"label", label}}, "");
}

void GetDomainLabel(Context& ctx, const std::string& path) {
  auto config = config::DomainConfig::Load(path);
  if (!config) return ctx.PrintError(config.error());
  auto label = config->GetLabel();
  if (!label) return ctx.PrintError(label.error());
  if (!*label) return ctx.PrintError({ErrorCode::kNotFound, "Domain not labeled"});
  const auto& l = **label;
  ctx.Print({{"policytype", "ACM"}, {"policy", l.policy}, {"label", l.label}},
            fmt::format("policytype=ACM,policy={},label={}\n", l.policy, l.label));
}

void RemoveDomainLabel(Context& ctx, const std::string& path) {
  auto config = config::DomainConfig::Load(path);
  if (!config) return ctx.PrintError(config.error());
  if (auto r = config->RemoveLabel(); !r) return ctx.PrintError(r.error());
  if (auto r = config->Save(path); !r) return ctx.PrintError(r.error());
  ctx.Print(api::Json::object(), "");
}

bool NamesConfigFile(const std::string& target) {
  std::error_code ec;
  return target.find('/') != std::string::npos ||
         std::filesystem::is_regular_file(std::filesystem::path(target), ec);
}

void RelabelRunningDomain(Context& ctx, const std::string& label, const std::string& domain,
                          std::string policy) {
  if (policy.rfind("ACM:", 0) == 0) policy.erase(0, 4);
  auto backend = RunningDomainBackend(ctx, domain);
  if (!backend) return ctx.PrintError(backend.error());
  auto done = (*backend)->Call(api::RelabelDomain{domain, label, policy});
  if (!done) return ctx.PrintError(done.error());
  ctx.Print(*done, fmt::format("Domain '{}' relabeled from {} to {}.\n", done->value("name", ""),
                               done->value("old_label", ""), done->value("label", "")));
}

void GetRunningDomainLabel(Context& ctx, const std::string& domain) {
  auto backend = RunningDomainBackend(ctx, domain);
  if (!backend) return ctx.PrintError(backend.error());
  auto info = (*backend)->Call(api::GetDomainInfo{domain});
  if (!info) return ctx.PrintError(info.error());
  // "ACM:<policy>:<label>"; a label has no ':' (the compiler refuses one), a policy name may.
  const std::string full = info->value("label", "");
  const auto last = full.rfind(':');
  if (full.rfind("ACM:", 0) != 0 || last == std::string::npos || last < 4) {
    return ctx.PrintError(
        {ErrorCode::kInternal,
         fmt::format("shyped's label '{}' of '{}' is not ACM:P:L", full, domain)});
  }
  const std::string policy = full.substr(4, last - 4);
  const std::string label = full.substr(last + 1);
  ctx.Print({{"policytype", "ACM"}, {"policy", policy}, {"label", label}},
            fmt::format("policytype=ACM,policy={},label={}\n", policy, label));
}

}  // namespace shype::cli
