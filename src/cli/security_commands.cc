// SPDX-License-Identifier: Apache-2.0
//
// xm's security commands: setpolicy, getpolicy, resetpolicy, dumppolicy, labels, addlabel,
// getlabel, rmlabel, resources, dry-run. Domain labels live in config files and are edited here;
// everything else goes through the backend (shyped, or offline on the state directory).
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "config_file.h"
#include "domain_label.h"
#include "format.h"
#include "shype/common/file.h"

namespace shype::cli {
namespace {

constexpr std::size_t kMaxPolicyXmlBytes = 16U << 20;

// Runs `op` and prints its result with `format`; errors are printed and set the exit code.
void Run(Context& ctx, const api::Command& command,
         const std::function<std::string(const api::Json&)>& format,
         StateDirUse use = StateDirUse::kMustExist) {
  auto backend = ctx.backend(use);
  if (!backend) return ctx.PrintError(backend.error());
  auto result = (*backend)->Call(command);
  if (!result) return ctx.PrintError(result.error());
  ctx.Print(*result, format(*result));
}

Result<std::string> ReadText(const std::string& path, std::size_t limit) {
  auto text = ReadTextFileBounded(path, limit);
  if (!text) return Fail(text.error());
  return text;
}

// The resource labels an update invalidated (Xen's INV_ACM), one line each.
std::string FormatInvalidated(const api::Json& change) {
  std::string out;
  for (const api::Json& c : change.value("relabeled_resources", api::Json::array())) {
    if (c.value("type", "ACM") != "INV_ACM") continue;
    out +=
        fmt::format("Resource label invalidated: {} is now INV_ACM:{}:{} (relabel it to use it)\n",
                    c.value("resource", ""), c.value("policy", ""), c.value("label", ""));
  }
  return out;
}

void RegisterPolicyLifecycle(CLI::App& app, Context& ctx) {
  auto* set = app.add_subcommand("setpolicy", "install and activate a policy (XML file)");
  auto file = std::make_shared<std::string>();
  auto check_only = std::make_shared<bool>(false);
  auto revoke = std::make_shared<bool>(false);
  set->add_option("file", *file, "policy XML file")->required();
  set->add_flag("--check", *check_only, "only check the update against the running system");
  set->add_flag("--revoke", *revoke,
                "tear down the live sharings the new policy forbids (switch ports, regions) "
                "instead of refusing it; each revocation is audited");
  set->callback([&ctx, file, check_only, revoke] {
    auto xml = ReadText(*file, kMaxPolicyXmlBytes);
    if (!xml) return ctx.PrintError(xml.error());
    if (auto r = CheckFileIsText(*file, *xml); !r) return ctx.PrintError(r.error());
    Run(
        ctx, api::SetPolicy{*xml, *file, *check_only, *revoke},
        [](const api::Json& r) {
          std::string head = r.value("check_only", false) ? "The policy update would succeed.\n"
                                                          : "Successfully set the new policy.\n";
          return head + FormatGetPolicy(r.at("policy")) + FormatInvalidated(r);
        },
        // A check changes nothing, so it creates nothing either.
        *check_only ? StateDirUse::kMustExist : StateDirUse::kMayCreate);
  });
  app.add_subcommand("getpolicy", "show the active policy")->callback([&ctx] {
    Run(ctx, api::GetPolicy{}, FormatGetPolicy);
  });
  app.add_subcommand("resetpolicy", "go back to the DEFAULT policy")->callback([&ctx] {
    Run(ctx, api::ResetPolicy{},
        [](const api::Json&) { return std::string("Successfully reset the system's policy.\n"); });
  });
  app.add_subcommand("dumppolicy", "dump the active binary policy")->callback([&ctx] {
    Run(ctx, api::DumpPolicy{}, [](const api::Json& r) { return r.value("text", std::string()); });
  });
}

// Stored versions: saved without activation (as the web editor saves), listed, exported.
void RegisterPolicyVersions(CLI::App& app, Context& ctx) {
  auto* save =
      app.add_subcommand("savepolicy", "store a policy (XML file) as a new version, inactive");
  auto file = std::make_shared<std::string>();
  save->add_option("file", *file, "policy XML file")->required();
  save->callback([&ctx, file] {
    auto xml = ReadText(*file, kMaxPolicyXmlBytes);
    if (!xml) return ctx.PrintError(xml.error());
    if (auto r = CheckFileIsText(*file, *xml); !r) return ctx.PrintError(r.error());
    Run(ctx, api::SavePolicy{*xml, *file}, [](const api::Json& r) {
      return fmt::format("Stored policy '{}' version {} (reference {}); not activated.\n",
                         r.value("name", ""), r.value("version", ""), r.value("hash", ""));
    });
  });
  app.add_subcommand("policies", "list the stored policy versions")->callback([&ctx] {
    Run(ctx, api::ListPolicyVersions{}, FormatPolicyVersions);
  });
  auto* out = app.add_subcommand("exportpolicy", "print a stored policy version's XML");
  auto name = std::make_shared<std::string>();
  auto version = std::make_shared<std::string>();
  out->add_option("name", *name, "policy name")->required();
  out->add_option("version", *version, "policy version (major.minor)")->required();
  out->callback([&ctx, name, version] {
    Run(ctx, api::GetPolicyVersion{*name, *version},
        [](const api::Json& r) { return r.value("xml", std::string()); });
  });
}

void RegisterLabels(CLI::App& app, Context& ctx) {
  auto* labels = app.add_subcommand("labels", "list labels: labels [POLICY] [type=dom|res|any]");
  auto args = std::make_shared<std::vector<std::string>>();
  labels->add_option("args", *args, "[POLICY] [type=dom|res|any]")->expected(0, 2);
  labels->callback([&ctx, args] {
    api::ListLabels command;
    for (const std::string& a : *args) {
      if (a.rfind("type=", 0) == 0) {
        command.type = a.substr(5);
      } else {
        command.policy = a;
      }
    }
    Run(ctx, command, FormatLabels);
  });
  app.add_subcommand("resources", "list labeled resources")->callback([&ctx] {
    Run(ctx, api::ListResources{}, FormatResources);
  });
}

void RegisterLabelEditing(CLI::App& app, Context& ctx) {
  auto* add = app.add_subcommand(
      "addlabel",
      "addlabel LABEL dom CONFIG|DOMAIN [POLICY] | LABEL mgt DOMAIN [POLICY] | LABEL res "
      "RESOURCE [POLICY]");
  auto add_args = std::make_shared<std::vector<std::string>>();
  add->add_option("args", *add_args, "LABEL dom|mgt|res CONFIG|DOMAIN|RESOURCE [POLICY]")
      ->expected(3, 4);
  add->callback([&ctx, add_args] {
    const auto& a = *add_args;
    const std::string& kind = a[1];
    std::string policy = a.size() > 3 ? a[3] : "";
    if (kind == "dom" && NamesConfigFile(a[2])) return AddDomainLabel(ctx, a[0], a[2], policy);
    if (kind == "dom" || kind == "mgt") return RelabelRunningDomain(ctx, a[0], a[2], policy);
    if (kind != "res") {
      return ctx.PrintError({ErrorCode::kInvalidArgument,
                             fmt::format("unknown label type '{}': use dom, mgt or res", kind)});
    }
    Run(ctx, api::AddResourceLabel{a[2], a[0], policy},
        [](const api::Json&) { return std::string(); });
  });
  auto* get =
      app.add_subcommand("getlabel", "getlabel dom CONFIG|DOMAIN | mgt DOMAIN | res RESOURCE");
  auto get_args = std::make_shared<std::vector<std::string>>();
  get->add_option("args", *get_args, "dom|mgt|res CONFIG|DOMAIN|RESOURCE")->expected(2);
  get->callback([&ctx, get_args] {
    const auto& a = *get_args;
    if (a[0] == "dom" && NamesConfigFile(a[1])) return GetDomainLabel(ctx, a[1]);
    if (a[0] == "dom" || a[0] == "mgt") return GetRunningDomainLabel(ctx, a[1]);
    if (a[0] != "res") {
      return ctx.PrintError({ErrorCode::kInvalidArgument,
                             fmt::format("unknown label type '{}': use dom, mgt or res", a[0])});
    }
    Run(ctx, api::GetResourceLabel{a[1]}, FormatResourceLabel);
  });
  auto* rm = app.add_subcommand("rmlabel", "rmlabel dom CONFIG | res RESOURCE");
  auto rm_args = std::make_shared<std::vector<std::string>>();
  rm->add_option("args", *rm_args, "dom CONFIG | res RESOURCE")->expected(2);
  rm->callback([&ctx, rm_args] {
    const auto& a = *rm_args;
    if (a[0] == "dom") return RemoveDomainLabel(ctx, a[1]);
    if (a[0] != "res") {
      return ctx.PrintError({ErrorCode::kInvalidArgument,
                             fmt::format("unknown label type '{}': use dom or res", a[0])});
    }
    Run(ctx, api::RemoveResourceLabel{a[1]}, [](const api::Json&) { return std::string(); });
  });
}

void RegisterDryRun(CLI::App& app, Context& ctx) {
  auto* dry = app.add_subcommand("dry-run", "check a domain configuration against the policy");
  auto config = std::make_shared<std::string>();
  dry->add_option("config", *config, "domain configuration file")->required();
  dry->callback([&ctx, config] {
    auto file = ReadConfigFile(ctx, *config);
    if (!file) return ctx.PrintError(file.error());
    Run(ctx, api::DryRun{file->text, file->path}, [&ctx](const api::Json& r) {
      if (!r.value("passed", false)) ctx.exit_code = 1;
      return FormatDryRun(r);
    });
  });
}

}  // namespace

void RegisterSecurityCommands(CLI::App& app, Context& ctx) {
  RegisterPolicyLifecycle(app, ctx);
  RegisterPolicyVersions(app, ctx);
  RegisterLabels(app, ctx);
  RegisterLabelEditing(app, ctx);
  RegisterDryRun(app, ctx);
}

}  // namespace shype::cli
