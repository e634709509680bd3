// SPDX-License-Identifier: Apache-2.0
//
// The domain requests of the API: each decoded command handed to the domain manager, and its
// result put into the reply docs/api.md describes (list, info, console log).
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "daemon.h"
#include "shype/api/text.h"
#include "shype/common/log.h"
#include "shype/config/domain_config.h"

namespace shype::daemon {
namespace asio = boost::asio;
using api::Json;

namespace {

Json InfoJson(const DomainView& d) {
  Json disks = Json::array();
  for (const DiskRecord& disk : d.record.disks) {
    disks.push_back(Json{{"vdev", disk.vdev},
                         {"device", "vd-" + disk.id},
                         {"mode", disk.writable ? "w" : "r"},
                         {"layers", disk.resources}});
  }
  return Json{{"name", d.record.name},
              {"id", d.record.id.value()},
              {"label", fmt::format("ACM:{}:{}", d.record.policy, d.record.label)},
              {"ssidref", fmt::format("0x{:08x}", d.record.ssidref.value())},
              {"state", DomainStateName(d.state)},
              {"pid", d.record.pid},
              {"memory", d.record.memory_mib},
              {"vcpus", d.record.vcpus},
              {"resources", d.record.resources},
              {"disks", std::move(disks)},
              {"config", d.record.config_path},
              {"console_socket", (d.run_dir / "console.sock").string()},
              {"console_log", (d.run_dir / "console.log").string()},
              {"timings", {{"admission_us", d.admission_us}, {"launch_ms", d.launch_ms}}}};
}

}  // namespace

asio::awaitable<Result<Json>> Daemon::Create(const api::CreateDomain& command) {
  // The configuration's file name is only for messages; shyped reads no file of the client's.
  auto config = config::DomainConfig::Parse(command.config, command.path);
  if (!config) co_return Fail(config.error());
  auto created = co_await domains_->Create(*config, command.path);
  if (!created) co_return Fail(created.error());
  co_return InfoJson(*created);
}

asio::awaitable<Result<Json>> Daemon::Done(asio::awaitable<Result<void>> work) {
  auto done = co_await std::move(work);
  if (!done) co_return Fail(done.error());
  co_return Json::object();
}

Json Daemon::Domain0Json() const {
  auto policy = acm_->active_policy();
  const double uptime =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  Json dom0{{"name", "Domain-0"}, {"id", 0},        {"memory", 0},          {"vcpus", 0},
            {"state", "running"}, {"time", uptime}, {"label", "ACM:(none)"}};
  for (const acm::DomainInfo& info : acm_->domains()) {
    if (info.id != kDomain0 || !policy) continue;
    dom0["label"] = fmt::format("ACM:{}:{}", policy->name(), info.label);
    dom0["ssidref"] = fmt::format("0x{:08x}", info.ssidref.value());
    dom0["bootstrap_label"] = std::string(policy->bootstrap_label());
  }
  return dom0;
}

Result<Json> Daemon::List() const {
  Json list = Json::array();
  list.push_back(Domain0Json());
  for (const DomainView& d : domains_->List()) {
    list.push_back({{"name", d.record.name},
                    {"id", d.record.id.value()},
                    {"memory", d.record.memory_mib},
                    {"vcpus", d.record.vcpus},
                    {"state", DomainStateName(d.state)},
                    {"time", std::chrono::duration<double>(d.time).count()},
                    {"label", fmt::format("ACM:{}:{}", d.record.policy, d.record.label)}});
  }
  return Json{{"domains", list}, {"isolated_instance", options_.isolated_instance}};
}

Result<Json> Daemon::Info(const std::string& name) const {
  if (name == "Domain-0" || name == "0") return Domain0Json();
  auto d = domains_->Info(name);
  if (!d) return Fail(d.error());
  Json info = InfoJson(*d);
  if (auto vtpm = VtpmJson(name); vtpm && !vtpm->is_null()) info["vtpm"] = std::move(*vtpm);
  return info;
}

Result<Json> Daemon::Relabel(const api::RelabelDomain& command) {
  auto done = domains_->Relabel(command.name, command.label, command.policy);
  if (!done) return Fail(done.error());
  return Json{{"name", done->name},
              {"id", done->id.value()},
              {"old_label", done->old_label},
              {"label", done->new_label}};
}

asio::awaitable<Result<Json>> Daemon::Save(const api::SaveDomain& command) {
  auto image = PendingImage::Create(command.file);
  if (!image) co_return Fail(image.error().WithContext(fmt::format("save of '{}'", command.name)));
  auto saved = co_await domains_->Save(command.name, *image);
  if (!saved) co_return Fail(saved.error());
  co_return Json{{"name", saved->name},
                 {"id", saved->id.value()},
                 {"label", saved->label},
                 {"state", saved->state},
                 {"file", command.file}};
}

asio::awaitable<Result<Json>> Daemon::Restore(const api::RestoreDomain& command) {
  auto image = OpenSaveImage(command.file);
  if (!image) co_return Fail(image.error());
  auto restored = co_await domains_->Restore(std::move(*image), command.file);
  if (!restored) co_return Fail(restored.error());
  co_return InfoJson(*restored);
}

Result<Json> Daemon::ConsoleLog(const std::string& name) const {
  auto d = domains_->Info(name);
  if (!d && d.error().code != ErrorCode::kNotFound) return Fail(d.error());
  if (!d) {
    // A domain that ended: the console output kept in STATE/logs.
    auto kept = console_logs_->Read(name);
    if (!kept && kept.error().code == ErrorCode::kNotFound) {
      return Fail(ErrorCode::kNotFound,
                  "no domain named '{}' runs, and none by that name left a console log in '{}'",
                  name, console_logs_->dir().string());
    }
    if (!kept) return Fail(kept.error());
    return Json{{"name", name},
                {"running", false},
                {"log_base64", api::EncodeBase64(kept->bytes)},
                {"truncated", kept->truncated}};
  }
  // A guest decides how much it prints: the reply carries the last 8 MiB (a longer log stays
  // readable), and any byte: base64-encoded, exactly (docs/api.md).
  constexpr std::uint64_t kMaxConsoleBytes = 8U << 20;
  const auto path = d->run_dir / "console.log";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  FileTail tail;
  if (fd.valid()) {
    auto read = ReadTail(fd.get(), kMaxConsoleBytes, path.string());
    if (!read) return Fail(read.error());
    tail = std::move(*read);
  }
  return Json{{"name", d->record.name},
              {"running", true},
              {"log_base64", api::EncodeBase64(tail.bytes)},
              {"truncated", tail.truncated}};
}

}  // namespace shype::daemon
