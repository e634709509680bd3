// SPDX-License-Identifier: Apache-2.0
//
// Crash recovery: a restarted shyped finds the domains a previous one left running (records in
// RUN_DIR/*/domain.json, pid + start time), rebuilds the ACM's Chinese Wall counts and sharings
// from them, and removes whatever was half-created (after making sure no QEMU of it runs).
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <set>
#include <thread>

#include "await.h"
#include "daemon.h"
#include "shype/common/file.h"
#include "shype/common/log.h"
#include "shype/policyc/default_policy.h"

namespace shype::daemon {
namespace {

std::vector<int> NumericEntries(const std::filesystem::path& dir) {
  std::vector<int> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    int value = 0;
    auto [end, err] = std::from_chars(name.data(), name.data() + name.size(), value);
    if (err == std::errc() && end == name.data() + name.size() && value > 1) out.push_back(value);
  }
  return out;
}

// True if `pid` is a QEMU of the domain run from `run_dir`: its comm is one of `comms` (QEMU's
// "shype-<name>" from -name process=, the binary's name before QEMU sets it, or "shyped" for a
// child not yet exec'd) and its command line or one of its open files names the run directory
// (two isolated instances may both run a domain of that name; a viewer of its log is no QEMU).
bool IsDomainQemu(int pid, const std::set<std::string>& comms,
                  const std::filesystem::path& run_dir) {
  std::filesystem::path proc = fmt::format("/proc/{}", pid);
  auto comm = ReadTextFileBounded(proc / "comm", 64);
  if (!comm || comms.count(comm->substr(0, comm->find('\n'))) == 0) return false;
  const std::string prefix = run_dir.string() + "/";
  if (auto cmdline = ReadTextFileBounded(proc / "cmdline", 1U << 20);
      cmdline && cmdline->find(prefix) != std::string::npos) {
    return true;
  }
  std::error_code ec;
  for (int fd : NumericEntries(proc / "fd")) {
    auto target = std::filesystem::read_symlink(proc / "fd" / std::to_string(fd), ec);
    if (!ec && target.string().rfind(prefix, 0) == 0) return true;
  }
  return false;
}

// Gone, or a zombie (a re-parented QEMU may wait to be reaped by init).
bool Exited(int pid) {
  auto stat = ReadTextFileBounded(fmt::format("/proc/{}/stat", pid), 4096);
  if (!stat) return true;
  auto close = stat->rfind(')');
  return close != std::string::npos && stat->compare(close, 4, ") Z ") == 0;
}

}  // namespace

Result<void> Daemon::Recover() {
  std::error_code ec;
  // Replay admissions in creation order, as they happened.
  std::vector<std::pair<std::uint32_t, std::filesystem::path>> ordered;
  std::vector<DomainRecord> records;
  for (const auto& entry : std::filesystem::directory_iterator(options_.state_dir / "run", ec)) {
    std::error_code type_ec;
    if (!entry.is_directory(type_ec) || entry.is_symlink(type_ec)) continue;
    auto record = LoadDomainRecord(entry.path());
    if (record) records.push_back(*record);
    ordered.emplace_back(record ? record->id.value() : 0, entry.path());
  }
  if (auto r = CheckRecordsKnown(records); !r) return r;
  std::sort(ordered.begin(), ordered.end());
  for (const auto& [id, dir] : ordered) {
    if (auto r = RecoverOne(dir); !r) return r;
  }
  return {};
}

Result<void> Daemon::CheckRecordsKnown(const std::vector<DomainRecord>& records) {
  auto installed = store_->Policies();
  if (!installed) return Fail(installed.error().WithContext("recovery: listing the policies"));
  std::set<std::string> known{active_->name(), std::string(policyc::kDefaultPolicyName)};
  for (const auto& p : *installed) known.insert(p.name);
  for (const auto& record : records) {
    if (record.state != DomainState::kRunning || known.count(record.policy) != 0) continue;
    // SECURITY: a running domain under a policy the store never heard of means the store lost
    // its state (labels.db replaced); starting would stop the guest and forget its labels.
    return Fail(ErrorCode::kIo,
                "recovery: domain '{}' is recorded running under policy '{}', which '{}' does not "
                "know (the active policy is '{}'): the state directory lost its security state; "
                "restore labels.db and policies/ from a backup (shyped refuses to start rather "
                "than stop the domain)",
                record.name, record.policy, (options_.state_dir / "labels.db").string(),
                active_->name());
  }
  return {};
}

Result<void> Daemon::RemoveHalfCreated(const std::filesystem::path& dir, const std::string& name,
                                       const DomainRecord& record, const std::string& why) {
  // Every QEMU of the domain: its cgroup's processes (the uid is recorded before the spawn), the
  // recorded pid (if it is still that process), and any process that is this domain's QEMU
  // though no record names it yet.
  int in_cgroup = 0;
  if (record.uid != 0) {
    std::string key = std::to_string(record.uid);
    in_cgroup = vm::DomainCgroup::KillAll(key);
    for (int i = 0; i < 100 && vm::DomainCgroup::KillAll(key) > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    vm::DomainCgroup::Remove(key);
  }
  std::set<int> pids;
  if (record.pid > 0 && vm::ReadProcessStartTime(record.pid).value_or(0) == record.start_time) {
    pids.insert(record.pid);
  }
  const std::set<std::string> comms{("shype-" + name).substr(0, 15),
                                    options_.qemu.filename().string().substr(0, 15), "shyped"};
  for (int pid : NumericEntries("/proc")) {
    if (pid != ::getpid() && IsDomainQemu(pid, comms, dir)) pids.insert(pid);
  }
  for (int pid : pids) {
    if (::kill(pid, SIGKILL) != 0 && errno != ESRCH) {
      return Fail(ErrorCode::kIo,
                  "recovery: cannot stop QEMU pid {} of half-created domain '{}' ({}): {}; stop it "
                  "and remove '{}'",
                  pid, name, why, std::strerror(errno), dir.string());
    }
  }
  // A SIGKILLed QEMU unmaps its guest memory before it is gone: on a loaded host that took more
  // than 2 s once (e2e_domains), so wait up to 10 s before refusing to start.
  for (int pid : pids) {
    for (int i = 0; i < 500 && !Exited(pid); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!Exited(pid)) {
      return Fail(ErrorCode::kIo,
                  "recovery: QEMU pid {} of half-created domain '{}' did not exit "
                  "after SIGKILL; stop it and remove '{}'",
                  pid, name, dir.string());
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) {
    return Fail(ErrorCode::kIo, "recovery: cannot remove '{}' of half-created domain '{}': {}",
                dir.string(), name, ec.message());
  }
  std::size_t killed = std::max(pids.size(), static_cast<std::size_t>(in_cgroup));
  std::string reason =
      fmt::format("recovery: removed half-created domain '{}' ({}; {} QEMU process(es) killed)",
                  name, why, killed);
  log::Warn("{}", reason);
  AuditDenial(acm::Hook::kDomainCreate, name, reason);
  return {};
}

// The same admission as create: authorization, Chinese Wall and STE for every resource it holds,
// under the enforced policy; a label or resource label that no longer resolves refuses it.
Result<void> Daemon::Readmit(const DomainRecord& record, const acm::PolicySnapshot& policy) {
  if (record.policy != policy.name()) {
    return Fail(ErrorCode::kPermissionDenied, "its label is of policy '{}', not the enforced '{}'",
                record.policy, policy.name());
  }
  auto ssidref = policy.VmSsidref(record.label);
  if (!ssidref) {
    return Fail(ErrorCode::kPermissionDenied, "label '{}' is not in the enforced policy",
                record.label);
  }
  std::vector<acm::ResourceRef> resources;
  for (const auto& resource : record.resources) {
    auto label = store_->GetResourceLabel(resource);
    if (!label) return Fail(label.error().WithContext("resource " + resource));
    auto res = admin::ResourceSsidref(*label, policy);
    if (!res) return Fail(res.error().WithContext("resource " + resource));
    acm::ResourceKind kind = resource.rfind("vnet:", 0) == 0  ? acm::ResourceKind::kNetwork
                             : resource.rfind("shm:", 0) == 0 ? acm::ResourceKind::kSharedMemory
                                                              : acm::ResourceKind::kDisk;
    resources.push_back(acm::ResourceRef{resource, *res, kind});
  }
  return AdmitToMonitor(record.name, record.label, record.id, *ssidref, resources);
}

// The first QMP connection died with the old daemon; the monitor socket takes a new client.
void Daemon::ReconnectQmp(const std::string& name, const std::filesystem::path& dir) {
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
            again->state = DomainState::kPaused;
          }
        });
      },
      std::chrono::milliseconds(3000));
}

// Watches a found-again domain like one shyped started: its exit, its QMP events.
void Daemon::Track(const DomainRecord& record, const std::filesystem::path& dir,
                   std::unique_ptr<vm::QemuProcess> process) {
  auto domain = std::make_unique<Domain>();
  domain->record = record;
  domain->run_dir = dir;
  domain->process = std::move(process);
  domain->state = DomainState::kRunning;
  domain->started = std::chrono::steady_clock::now() - std::chrono::seconds(std::max<std::int64_t>(
                                                           0, ::time(nullptr) - record.created_at));
  Domain& d = *domain;
  std::string name = record.name;
  domains_[name] = std::move(domain);
  WatchDomain(d);
  ReconnectQmp(name, dir);
}

Result<void> Daemon::RecoverOne(const std::filesystem::path& dir) {
  std::error_code ec;
  auto record = LoadDomainRecord(dir);
  if (!record && record.error().code == ErrorCode::kNotFound) {
    // A create killed between mkdir and its first record: the guest never ran.
    return RemoveHalfCreated(dir, dir.filename().string(), DomainRecord{}, "no domain.json");
  }
  if (!record) {
    // SECURITY: a record that cannot be read may describe a running QEMU; forgetting it would
    // let its Chinese Wall counts lapse. Refuse to start instead (fail closed).
    return Fail(ErrorCode::kIo,
                "recovery: cannot read the record in '{}' ({}); check whether its QEMU still runs, "
                "stop it, and remove the directory",
                dir.string(), record.error().message);
  }
  if (record->state != DomainState::kRunning) {
    // Half-created: the guest never ran. Nothing of it may linger, including a QEMU whose pid
    // was not recorded yet.
    return RemoveHalfCreated(dir, record->name, *record,
                             fmt::format("its record says '{}'", DomainStateName(record->state)));
  }
  vm::ProcessIdentity identity{record->pid, record->start_time};
  auto process =
      record->pid > 0
          ? vm::QemuProcess::Adopt(io_, identity)
          : Result<std::unique_ptr<vm::QemuProcess>>(Fail(ErrorCode::kNotFound, "never started"));
  if (!process && process.error().code != ErrorCode::kNotFound) {
    return Fail(ErrorCode::kIo, "recovery: cannot tell whether domain {} (pid {}) still runs: {}",
                record->name, record->pid, process.error().message);
  }
  if (!process) {
    log::Info("recovery: domain {} ended while shyped was down ({})", record->name,
              process.error().message);
    if (record->uid != 0) vm::DomainCgroup::Remove(std::to_string(record->uid));
    std::filesystem::remove_all(dir, ec);
    return {};
  }
  next_id_ = std::max(next_id_, record->id.value() + 1);
  const DomainId id = record->id;
  const std::shared_ptr<const acm::PolicySnapshot> policy = acm_->policy();
  // SECURITY: fail closed. A domain the enforced policy does not admit (label gone, Chinese Wall,
  // a resource it may no longer use) is stopped rather than left running outside the monitor.
  auto stop = [&](const std::string& why) -> Result<void> {
    log::Error("recovery: stopping domain {} (label {}): {}", record->name, record->label, why);
    AuditDenial(acm::Hook::kDomainCreate, record->name, "recovery: " + why);
    (void)(*process)->Signal(SIGKILL);
    if (record->uid != 0) vm::DomainCgroup::KillAll(std::to_string(record->uid));
    (void)sharings_->EndDomain(id, "stopped by recovery");
    std::filesystem::remove_all(dir, ec);
    if (record->uid != 0) vm::DomainCgroup::Remove(std::to_string(record->uid));
    return {};
  };
  if (auto r = Readmit(*record, *policy); !r) return stop(r.error().message);
  Track(*record, dir, std::move(*process));
  log::Info("recovery: domain {} (id {}, label {}, pid {}) found again", record->name, record->id,
            record->label, record->pid);
  return {};
}

}  // namespace shype::daemon
