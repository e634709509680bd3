// SPDX-License-Identifier: Apache-2.0
//
// Crash recovery: a restarted shyped finds the domains a previous one left running (records in
// RUN_DIR/*/domain.json, pid + start time), rebuilds the ACM's Chinese Wall counts and sharings
// from them, and removes whatever was half-created.
#include <signal.h>

#include "await.h"
#include "daemon.h"
#include "shype/common/file.h"
#include "shype/common/log.h"

namespace shype::daemon {

Result<void> Daemon::Recover() {
  std::error_code ec;
  std::vector<std::filesystem::path> dirs;
  for (const auto& entry : std::filesystem::directory_iterator(options_.state_dir / "run", ec)) {
    if (entry.is_directory()) dirs.push_back(entry.path());
  }
  // Replay admissions in creation order, as they happened.
  std::vector<std::pair<std::uint32_t, std::filesystem::path>> ordered;
  for (const auto& dir : dirs) {
    auto record = LoadDomainRecord(dir);
    ordered.emplace_back(record ? record->id : 0, dir);
  }
  std::sort(ordered.begin(), ordered.end());
  for (const auto& [id, dir] : ordered) {
    if (auto r = RecoverOne(dir); !r) return r;
  }
  return {};
}

Result<void> Daemon::RecoverOne(const std::filesystem::path& dir) {
  std::error_code ec;
  auto record = LoadDomainRecord(dir);
  if (!record) {
    // SECURITY: a record that cannot be read may describe a running QEMU; forgetting it would
    // let its Chinese Wall counts lapse. Refuse to start instead (fail closed).
    return Fail(ErrorCode::kIo,
                "recovery: cannot read the record in '{}' ({}); check whether its QEMU still runs, "
                "stop it, and remove the directory",
                dir.string(), record.error().message);
  }
  vm::ProcessIdentity identity{record->pid, record->start_time};
  auto process =
      record->pid > 0
          ? vm::QemuProcess::Adopt(io_, identity)
          : Result<std::unique_ptr<vm::QemuProcess>>(Fail(ErrorCode::kNotFound, "never started"));
  if (record->state != "running") {
    // Half-created: the guest never ran. Nothing of it may linger, including a QEMU whose pid
    // was not recorded yet (QEMU's own pidfile names it).
    if (process) (void)(*process)->Signal(SIGKILL);
    KillByPidfile(dir / "qemu.pid", record->name);
    log::Info("recovery: removing half-created domain {}", record->name);
    std::filesystem::remove_all(dir, ec);
    return {};
  }
  if (!process && process.error().code != ErrorCode::kNotFound) {
    return Fail(ErrorCode::kIo, "recovery: cannot tell whether domain {} (pid {}) still runs: {}",
                record->name, record->pid, process.error().message);
  }
  if (!process) {
    log::Info("recovery: domain {} ended while shyped was down ({})", record->name,
              process.error().message);
    std::filesystem::remove_all(dir, ec);
    return {};
  }
  next_id_ = std::max(next_id_, record->id + 1);
  DomainId id{record->id};
  auto policy = acm_->policy();
  // SECURITY: fail closed. A domain the enforced policy does not admit (label gone, Chinese Wall,
  // a resource it may no longer use) is stopped rather than left running outside the monitor.
  auto stop = [&](const std::string& why) -> Result<void> {
    log::Error("recovery: stopping domain {} (label {}): {}", record->name, record->label, why);
    AuditDenial(acm::Hook::kDomainCreate, record->name, "recovery: " + why);
    (void)(*process)->Signal(SIGKILL);
    (void)acm_->DomainDestroy(id);
    std::filesystem::remove_all(dir, ec);
    return {};
  };
  if (record->policy != policy->name()) {
    return stop(fmt::format("its label is of policy '{}', not the enforced '{}'", record->policy,
                            policy->name()));
  }
  auto ssidref = policy->VmSsidref(record->label);
  if (!ssidref) return stop(fmt::format("label '{}' is not in the enforced policy", record->label));
  acm::AdmissionDecision admission = acm_->CheckDomainCreate(id, *ssidref);
  if (admission.decision == acm::Decision::kDeny) return stop(admission.reason);
  for (const auto& resource : record->resources) {
    auto label = store_->GetResourceLabel(resource);
    Ssidref res = kUnlabeledSsidref;
    if (label && *label) res = policy->ResourceSsidref((*label)->label).value_or(kUnlabeledSsidref);
    acm::ResourceKind kind = resource.rfind("vnet:", 0) == 0  ? acm::ResourceKind::kNetwork
                             : resource.rfind("shm:", 0) == 0 ? acm::ResourceKind::kSharedMemory
                                                              : acm::ResourceKind::kDisk;
    if (auto r = acm_->RegisterSharing(id, acm::ResourceRef{resource, res, kind}); !r) {
      return stop(fmt::format("resource {}: {}", resource, r.error().message));
    }
  }
  auto domain = std::make_unique<Domain>();
  domain->record = *record;
  domain->run_dir = dir;
  domain->process = std::move(*process);
  domain->state = "running";
  domain->started =
      std::chrono::steady_clock::now() -
      std::chrono::seconds(std::max<std::int64_t>(0, ::time(nullptr) - record->created_at));
  Domain& d = *domain;
  std::string name = record->name;
  domains_[name] = std::move(domain);
  WatchDomain(d);
  // The first QMP connection died with the old daemon; the monitor socket takes a new client.
  vm::QmpClient::ConnectPath(
      io_, dir / "qmp.sock",
      [this, name](Result<std::shared_ptr<vm::QmpClient>> qmp) {
        Domain* found = Find(name);
        if (found == nullptr) return;
        if (!qmp) {
          log::Warn("recovery: domain {}: no QMP: {}", name, qmp.error().message);
          return;
        }
        found->qmp = *qmp;
        found->qmp->SetEventHandler([this, name](const vm::QmpEvent& e) { OnQmpEvent(name, e); });
        found->qmp->Execute("query-status", nullptr, [this, name](Result<api::Json> s) {
          Domain* again = Find(name);
          if (again && s && s->value("status", "") == "paused") {
            again->state = "paused";
          }
        });
      },
      std::chrono::milliseconds(3000));
  log::Info("recovery: domain {} (id {}, label {}, pid {}) found again", name, record->id,
            record->label, record->pid);
  return {};
}

void Daemon::KillByPidfile(const std::filesystem::path& pidfile, const std::string& name) {
  auto text = ReadTextFileBounded(pidfile, 64);
  if (!text) return;
  int pid = std::atoi(text->c_str());
  if (pid <= 1) return;
  // Only a process that is this domain's QEMU (comm "shype-<name>", cut to 15 bytes).
  auto comm = ReadTextFileBounded(fmt::format("/proc/{}/comm", pid), 64);
  std::string want = ("shype-" + name).substr(0, 15);
  if (comm && comm->substr(0, comm->find('\n')) == want) ::kill(pid, SIGKILL);
}

}  // namespace shype::daemon
