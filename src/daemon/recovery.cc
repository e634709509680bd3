// SPDX-License-Identifier: Apache-2.0
//
// Crash recovery: a restarted shyped finds the domains a previous one left running (records in
// RUN_DIR/*/domain.json, pid + start time), rebuilds the ACM's Chinese Wall counts and sharings
// from them, and removes whatever was half-created.
#include <signal.h>

#include "await.h"
#include "daemon.h"
#include "shype/common/log.h"

namespace shype::daemon {

void Daemon::Recover() {
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
  for (const auto& [id, dir] : ordered) RecoverOne(dir);
}

void Daemon::RecoverOne(const std::filesystem::path& dir) {
  std::error_code ec;
  auto record = LoadDomainRecord(dir);
  if (!record) {
    log::Warn("recovery: removing '{}': {}", dir.string(), record.error().message);
    std::filesystem::remove_all(dir, ec);
    return;
  }
  vm::ProcessIdentity identity{record->pid, record->start_time};
  auto process =
      record->pid > 0
          ? vm::QemuProcess::Adopt(io_, identity)
          : Result<std::unique_ptr<vm::QemuProcess>>(Fail(ErrorCode::kNotFound, "never started"));
  if (record->state != "running") {
    // Half-created: the guest never ran. Nothing of it may linger.
    if (process) (void)(*process)->Signal(SIGKILL);
    log::Info("recovery: removing half-created domain {}", record->name);
    std::filesystem::remove_all(dir, ec);
    return;
  }
  if (!process) {
    log::Info("recovery: domain {} ended while shyped was down ({})", record->name,
              process.error().message);
    std::filesystem::remove_all(dir, ec);
    return;
  }
  next_id_ = std::max(next_id_, record->id + 1);
  DomainId id{record->id};
  auto policy = acm_->policy();
  Ssidref ssidref = policy->VmSsidref(record->label).value_or(Ssidref{record->ssidref});
  acm::AdmissionDecision admission = acm_->CheckDomainCreate(id, ssidref);
  if (admission.decision == acm::Decision::kDeny) {
    // Cannot happen unless the state directory was edited: the domain runs, so keep tracking it
    // (it can be destroyed), but say loudly that the wall did not admit it.
    log::Error("recovery: domain {} (label {}) is running but the ACM refuses it: {}", record->name,
               record->label, admission.reason);
  }
  for (const auto& resource : record->resources) {
    auto label = store_->GetResourceLabel(resource);
    Ssidref res = kUnlabeledSsidref;
    if (label && *label) res = policy->ResourceSsidref((*label)->label).value_or(kUnlabeledSsidref);
    acm::ResourceKind kind = resource.rfind("vnet:", 0) == 0  ? acm::ResourceKind::kNetwork
                             : resource.rfind("shm:", 0) == 0 ? acm::ResourceKind::kSharedMemory
                                                              : acm::ResourceKind::kDisk;
    if (auto r = acm_->RegisterSharing(id, acm::ResourceRef{resource, res, kind}); !r) {
      log::Error("recovery: domain {}: resource {}: {}", record->name, resource, r.error().message);
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
}

}  // namespace shype::daemon
