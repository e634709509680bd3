// SPDX-License-Identifier: Apache-2.0
//
// Domain commands (need a running shyped): create, list, shutdown, destroy, pause, unpause,
// save, restore, console, info, and the audit trail.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>

#include "commands.h"
#include "config_file.h"
#include "console.h"
#include "format.h"
#include "shype/api/client.h"
#include "shype/api/text.h"
#include "shype/common/file.h"

namespace shype::cli {
namespace {

// The daemon's backend for `op`; refused (creating nothing) when no shyped answers.
Result<Backend*> LiveBackend(Context& ctx, std::string_view what) {
  auto backend = ctx.backend();
  if (!backend) return backend;
  if (!(*backend)->live()) return Fail(NeedsDaemon(what, ctx.state_dir()));
  return backend;
}

void RunLive(Context& ctx, const api::Command& command,
             const std::function<std::string(const api::Json&)>& format) {
  auto backend = LiveBackend(ctx, api::OpOf(command));
  if (!backend) return ctx.PrintError(backend.error());
  auto result = (*backend)->Call(command);
  if (!result) return ctx.PrintError(result.error());
  ctx.Print(*result, format(*result));
}

// `list NAME..`: the domains of `list` named (by name or id), in the order named.
Result<api::Json> SelectDomains(const api::Json& list, const std::vector<std::string>& names) {
  if (names.empty()) return list;
  api::Json out = list;
  out["domains"] = api::Json::array();
  const api::Json all = list.value("domains", api::Json::array());
  for (const std::string& name : names) {
    auto it = std::find_if(all.begin(), all.end(), [&](const api::Json& d) {
      return d.value("name", "") == name || std::to_string(d.value("id", -1)) == name;
    });
    if (it == all.end()) {
      return Fail(ErrorCode::kNotFound, "the domain '{}' does not exist", name);
    }
    out["domains"].push_back(*it);
  }
  return out;
}

// destroy, pause, unpause: a command whose only parameter is the domain's name.
template <class NamedCommand>
void RegisterNamedAction(CLI::App& app, Context& ctx, const std::string& name,
                         const std::string& help) {
  auto* sub = app.add_subcommand(name, help);
  auto domain = std::make_shared<std::string>();
  sub->add_option("domain", *domain, "domain name")->required();
  sub->callback([&ctx, domain] {
    RunLive(ctx, NamedCommand{*domain}, [](const api::Json&) { return std::string(); });
  });
}

// SECURITY: a guest's bytes must not drive the operator's terminal (cursor moves, \r over a
// line, OSC title/clipboard sequences): control characters other than \n and \t are shown as
// \xNN when printing to a terminal.
std::string EscapeForTerminal(const std::string& bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n' && c != '\t') || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// The console log travels base64-encoded (a guest may print any byte); print its exact bytes
// (escaped on a terminal unless `raw`).
void PrintConsoleLog(Context& ctx, const std::string& domain, bool raw) {
  const api::Command command = api::GetConsoleLog{domain};
  auto backend = LiveBackend(ctx, api::OpOf(command));
  if (!backend) return ctx.PrintError(backend.error());
  auto result = (*backend)->Call(command);
  if (!result) return ctx.PrintError(result.error());
  auto encoded = result->find("log_base64");
  if (encoded == result->end() || !encoded->is_string()) {
    return ctx.PrintError({ErrorCode::kInternal, "shyped's console log reply has no 'log_base64'"});
  }
  auto bytes = api::DecodeBase64(encoded->get<std::string>());
  if (!bytes) {
    return ctx.PrintError(bytes.error().WithContext("the console log of '" + domain + "'"));
  }
  ctx.Print(*result, raw || ::isatty(STDOUT_FILENO) == 0 ? *bytes : EscapeForTerminal(*bytes));
}

void RegisterConsole(CLI::App& app, Context& ctx) {
  auto* console = app.add_subcommand("console", "attach to a domain's serial console");
  auto domain = std::make_shared<std::string>();
  auto log_only = std::make_shared<bool>(false);
  auto raw = std::make_shared<bool>(false);
  console->add_option("domain", *domain, "domain name")->required();
  console->add_flag("--log", *log_only, "print the captured console output and exit");
  console->add_flag("--raw", *raw,
                    "with --log on a terminal: print control bytes as they are (not as \\xNN)");
  console->callback([&ctx, domain, log_only, raw] {
    if (*log_only) return PrintConsoleLog(ctx, *domain, *raw);
    auto backend = LiveBackend(ctx, "console");
    if (!backend) return ctx.PrintError(backend.error());
    auto info = (*backend)->Call(api::GetDomainInfo{*domain});
    if (!info && info.error().code == ErrorCode::kNotFound) {
      return ctx.PrintError(
          {ErrorCode::kNotFound, info.error().message + "; 'shype console " + *domain +
                                     " --log' shows the console output it left when it ended"});
    }
    if (!info) return ctx.PrintError(info.error());
    if (auto r = AttachConsole(info->value("console_socket", std::string())); !r) {
      ctx.PrintError(r.error());
    }
  });
}

void RegisterAudit(CLI::App& app, Context& ctx) {
  auto* audit = app.add_subcommand("audit", "show the audit trail of denials");
  auto follow = std::make_shared<bool>(false);
  auto tail = std::make_shared<int>(100);
  audit->add_flag("-f,--follow", *follow, "keep printing new records");
  audit->add_option("-n,--tail", *tail, "how many past records to show (default 100)");
  audit->callback([&ctx, follow, tail] {
    auto backend = LiveBackend(ctx, api::ReadAudit::kOp);
    if (!backend) return ctx.PrintError(backend.error());
    // -n is checked as shyped checks it (a negative count is refused naming it).
    auto endpoint = api::FindEndpoint(api::ReadAudit::kOp);
    auto command = api::DecodeCommand(*endpoint, {{"tail", *tail}, {"follow", *follow}});
    if (!command) return ctx.PrintError(command.error());
    api::EncodedCommand encoded = api::EncodeCommand(*command);
    auto target = api::BuildTarget(encoded.endpoint, encoded.params);
    if (!target) return ctx.PrintError(target.error());
    api::Client client(api::SocketPath(ctx.state_dir()));
    auto r = client.Stream(target->target, [&ctx](std::string_view line) {
      if (line.empty()) return true;  // keepalive
      api::Json record = api::Json::parse(line, nullptr, false);
      if (ctx.json || record.is_discarded()) {
        std::cout << line << "\n";
      } else {
        std::cout << FormatAuditRecord(record) << "\n";
      }
      std::cout.flush();
      return true;
    });
    if (!r) ctx.PrintError(r.error());
  });
}

// block-attach, block-detach.
void RegisterBlockCommands(CLI::App& app, Context& ctx) {
  auto* block_attach = app.add_subcommand(
      "block-attach", "hot-plug a disk (the checks of create apply to every file of its chain)");
  auto block = std::make_shared<api::AttachDisk>();
  block->mode = "r";
  block_attach->add_option("domain", block->name, "domain name")->required();
  block_attach->add_option("resource", block->resource, "file:PATH, phy:DEV or tap:qcow2:PATH")
      ->required();
  block_attach->add_option("vdev", block->vdev, "the guest's name for it (xvdb)")->required();
  block_attach->add_option("mode", block->mode, "r (default) or w");
  block_attach->callback([&ctx, block] {
    RunLive(ctx, *block, [](const api::Json& r) {
      return fmt::format("Attached {} ({}) to {}\n", r.value("vdev", ""), r.value("device", ""),
                         r.value("name", ""));
    });
  });
  auto* block_detach = app.add_subcommand("block-detach", "unplug a domain's disk");
  auto unblock = std::make_shared<api::DetachDisk>();
  block_detach->add_option("domain", unblock->name, "domain name")->required();
  block_detach->add_option("vdev", unblock->vdev, "the disk's vdev (xvdb)")->required();
  block_detach->callback(
      [&ctx, unblock] { RunLive(ctx, *unblock, [](const api::Json&) { return std::string(); }); });
}

// shm-attach, shm-detach, shm list.
void RegisterShmCommands(CLI::App& app, Context& ctx) {
  auto* shm_attach = app.add_subcommand(
      "shm-attach", "hot-plug a shared-memory region (the checks of create apply)");
  auto shm_domain = std::make_shared<std::string>();
  auto shm_spec = std::make_shared<std::string>();
  shm_attach->add_option("domain", *shm_domain, "domain name")->required();
  shm_attach->add_option("shm", *shm_spec, "name=NAME[,size=1M]")->required();
  shm_attach->callback([&ctx, shm_domain, shm_spec] {
    RunLive(ctx, api::AttachRegion{*shm_domain, *shm_spec}, [](const api::Json& r) {
      return fmt::format("Attached {} to {}\n", r.value("device", ""), r.value("name", ""));
    });
  });
  auto* shm_detach = app.add_subcommand("shm-detach", "unplug a domain's shared-memory region");
  auto shm_detach_domain = std::make_shared<std::string>();
  auto shm_region = std::make_shared<std::string>();
  shm_detach->add_option("domain", *shm_detach_domain, "domain name")->required();
  shm_detach->add_option("region", *shm_region, "region name (name=NAME also accepted)")
      ->required();
  shm_detach->callback([&ctx, shm_detach_domain, shm_region] {
    std::string region = *shm_region;
    if (region.starts_with("name=")) region = region.substr(5);
    RunLive(ctx, api::DetachRegion{*shm_detach_domain, region},
            [](const api::Json&) { return std::string(); });
  });
  auto* shm = app.add_subcommand("shm", "shared-memory regions: their peers");
  shm->require_subcommand(1);
  shm->add_subcommand("list", "list the regions in use and their peers")->callback([&ctx] {
    RunLive(ctx, api::ListRegions{}, FormatRegionList);
  });
}

// network-attach, network-detach, vnet list|show.
void RegisterNetworkCommands(CLI::App& app, Context& ctx) {
  auto* attach = app.add_subcommand(
      "network-attach", "hot-plug a NIC on a virtual network (the checks of create apply)");
  auto nic_domain = std::make_shared<std::string>();
  auto nic_vif = std::make_shared<std::string>();
  attach->add_option("domain", *nic_domain, "domain name")->required();
  attach->add_option("vif", *nic_vif, "vnet=NAME[,mac=52:54:00:..]")->required();
  attach->callback([&ctx, nic_domain, nic_vif] {
    RunLive(ctx, api::AttachNetwork{*nic_domain, *nic_vif}, [](const api::Json& r) {
      return fmt::format("Attached {} ({}) to {}\n", r.value("device", ""), r.value("mac", ""),
                         r.value("name", ""));
    });
  });
  auto* detach = app.add_subcommand("network-detach", "unplug a domain's NICs on a network");
  auto detach_domain = std::make_shared<std::string>();
  auto detach_vnet = std::make_shared<std::string>();
  detach->add_option("domain", *detach_domain, "domain name")->required();
  detach->add_option("vnet", *detach_vnet, "network name (vnet=NAME also accepted)")->required();
  detach->callback([&ctx, detach_domain, detach_vnet] {
    std::string vnet = *detach_vnet;
    if (vnet.starts_with("vnet=")) vnet = vnet.substr(5);
    RunLive(ctx, api::DetachNetwork{*detach_domain, vnet},
            [](const api::Json&) { return std::string(); });
  });
  auto* vnet = app.add_subcommand("vnet", "virtual networks: their ports and counters");
  vnet->require_subcommand(1);
  vnet->add_subcommand("list", "list the virtual networks in use")->callback([&ctx] {
    RunLive(ctx, api::ListNetworks{}, FormatNetworkList);
  });
  auto* show =
      vnet->add_subcommand("show", "show a network's ports, counters and who reaches whom");
  auto net = std::make_shared<std::string>();
  show->add_option("name", *net, "network name (vnet=NAME)")->required();
  show->callback([&ctx, net] { RunLive(ctx, api::GetNetworkInfo{*net}, FormatNetwork); });
}

}  // namespace

// save NAME FILE / restore FILE: the file is named to shyped absolute (it opens it itself).
void RegisterSaveRestore(CLI::App& app, Context& ctx) {
  auto* save =
      app.add_subcommand("save", "suspend a domain into an image file (with its label) and end it");
  auto domain = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>();
  save->add_option("domain", *domain, "domain name or id")->required();
  save->add_option("file", *file, "the image file to create (never overwritten)")->required();
  save->callback([&ctx, domain, file] {
    const std::string path = std::filesystem::absolute(*file).lexically_normal().string();
    RunLive(ctx, api::SaveDomain{*domain, path}, [](const api::Json& r) {
      return fmt::format("Saved domain {} (id {}, label {}, {}) to {}\n", r.value("name", ""),
                         r.value("id", 0), r.value("label", ""), r.value("state", ""),
                         r.value("file", ""));
    });
  });
  auto* restore = app.add_subcommand(
      "restore",
      "start the domain an image file holds, after create's checks under the policy now");
  auto image = std::make_shared<std::string>();
  restore->add_option("file", *image, "the image file 'shype save' wrote")->required();
  restore->callback([&ctx, image] {
    const std::string path = std::filesystem::absolute(*image).lexically_normal().string();
    RunLive(ctx, api::RestoreDomain{path}, [](const api::Json& r) {
      return fmt::format("Restored domain {} (id {}, label {})\n", r.value("name", ""),
                         r.value("id", 0), r.value("label", ""));
    });
  });
}

void RegisterDomainCommands(CLI::App& app, Context& ctx) {
  auto* create = app.add_subcommand("create", "create (start) a domain from its configuration");
  auto config = std::make_shared<std::string>();
  create->add_option("config", *config, "domain configuration file")->required();
  create->callback([&ctx, config] {
    auto file = ReadConfigFile(ctx, *config);
    if (!file) return ctx.PrintError(file.error());
    RunLive(ctx, api::CreateDomain{file->text, file->path}, [](const api::Json& r) {
      return fmt::format("Started domain {} (id {}, label {})\n", r.value("name", ""),
                         r.value("id", 0), r.value("label", ""));
    });
  });
  auto* list = app.add_subcommand("list", "list domains (all, or those named: names or ids)");
  auto with_label = std::make_shared<bool>(false);
  auto names = std::make_shared<std::vector<std::string>>();
  list->add_flag("--label", *with_label, "show each domain's security label");
  list->add_option("domain", *names, "domain names or ids (Domain-0 too)");
  list->callback([&ctx, with_label, names] {
    auto backend = LiveBackend(ctx, api::OpOf(api::ListDomains{}));
    if (!backend) return ctx.PrintError(backend.error());
    auto all = (*backend)->Call(api::ListDomains{});
    if (!all) return ctx.PrintError(all.error());
    auto shown = SelectDomains(*all, *names);
    if (!shown) return ctx.PrintError(shown.error());
    ctx.Print(*shown, FormatDomainList(*shown, *with_label));
  });
  auto* info = app.add_subcommand("info", "show a domain's details");
  auto name = std::make_shared<std::string>();
  info->add_option("domain", *name, "domain name")->required();
  info->callback([&ctx, name] { RunLive(ctx, api::GetDomainInfo{*name}, FormatDomainInfo); });
  auto* shutdown = app.add_subcommand("shutdown", "power a domain off (ACPI) and wait for it");
  auto down = std::make_shared<std::string>();
  auto timeout = std::make_shared<int>(30);
  shutdown->add_option("domain", *down, "domain name")->required();
  shutdown->add_option("--timeout", *timeout, "seconds to wait for the guest (default 30)");
  shutdown->callback([&ctx, down, timeout] {
    RunLive(ctx, api::ShutdownDomain{*down, std::chrono::seconds(*timeout)},
            [](const api::Json&) { return std::string(); });
  });
  RegisterNamedAction<api::DestroyDomain>(app, ctx, "destroy", "stop a domain at once");
  RegisterSaveRestore(app, ctx);
  RegisterNamedAction<api::PauseDomain>(app, ctx, "pause", "pause a domain's vCPUs");
  RegisterNamedAction<api::UnpauseDomain>(app, ctx, "unpause", "resume a paused domain");
  RegisterConsole(app, ctx);
  RegisterAudit(app, ctx);
  RegisterNetworkCommands(app, ctx);
  RegisterBlockCommands(app, ctx);
  RegisterShmCommands(app, ctx);
}

}  // namespace shype::cli
