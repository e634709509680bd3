// SPDX-License-Identifier: Apache-2.0
//
// Crash recovery: a restarted shyped finds the domains a previous one left running (records in
// RUN_DIR/*/domain.json, pid + start time), admits them again as create does, and removes
// whatever was half-created or is no longer admitted (after making sure no QEMU of it runs); the
// domain-id high-water mark, which keeps ids from being reused across restarts.
#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "domain_manager.h"
#include "shype/common/file.h"
#include "shype/common/log.h"
#include "shype/policyc/default_policy.h"

namespace shype::daemon {
namespace {

// The domain-id high-water mark: the next id to hand out, one decimal line.
std::filesystem::path IdMarkPath(const std::filesystem::path& run_dir) {
  return run_dir / ".next_id";
}

}  // namespace

Result<void> DomainManager::ReadIdMark() {
  const std::filesystem::path path = IdMarkPath(options_.run_dir);
  auto text = ReadTextFileBounded(path, 32);
  if (!text && text.error().code == ErrorCode::kNotFound) {
    id_mark_read_ = true;  // a fresh state directory (or one from before the mark)
    return {};
  }
  std::string_view digits = text ? std::string_view(*text) : std::string_view();
  if (digits.ends_with('\n')) digits.remove_suffix(1);
  std::uint32_t next = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), next);
  // SECURITY: fail closed: without the mark a restarted shyped could hand out an id (and its
  // QEMU uid) a domain already had.
  if (!text || ec != std::errc() || end != digits.data() + digits.size() || next == 0) {
    return Fail(ErrorCode::kIo,
                "'{}' is damaged ({}): it holds the next domain id, so that no id is used twice; "
                "write a number greater than every domain id in the audit log into it (echo N > "
                "{}), then start shyped again",
                path.string(), text ? "not a domain id" : text.error().message, path.string());
  }
  next_id_ = std::max(next_id_, next);
  id_mark_read_ = true;
  return {};
}

Result<DomainId> DomainManager::ReserveId() {
  if (!id_mark_read_) {
    if (auto r = ReadIdMark(); !r) return Fail(r.error());
  }
  const std::uint32_t id = next_id_;
  // SECURITY: QEMU runs as uid base + id: an id past the last uid would wrap around to another
  // (root's) uid; 0xffffffff is no uid (and the ACM's reserved id).
  constexpr std::uint32_t kLastUid = 0xfffffffeU;
  const std::uint32_t base = options_.qemu_uid_base;
  if (id > (base >= kLastUid ? 0U : kLastUid - base)) {
    return Fail(ErrorCode::kUnavailable,
                "no domain id is left: domain {} would run as uid {} + {}, past uid {}; choose a "
                "lower --qemu-uid-base",
                id, base, id, kLastUid);
  }
  // SECURITY: the mark is durable before the id names anything (an audit record, a run
  // directory, a QEMU uid), so no later shyped hands it out again.
  if (auto r = WriteFileAtomic(IdMarkPath(options_.run_dir), fmt::format("{}\n", id + 1), 0600);
      !r) {
    return Fail(r.error().WithContext("recording the next domain id; no domain was created"));
  }
  next_id_ = id + 1;
  return DomainId{id};
}

Result<void> DomainManager::Recover() {
  // Replay admissions in creation order, as they happened.
  std::vector<std::pair<std::uint32_t, std::filesystem::path>> ordered;
  std::vector<std::pair<std::filesystem::path, DomainRecord>> records;
  std::error_code ec;
  // SECURITY: a run directory that cannot be read is never taken for "no domains": the QEMUs it
  // records may run, and the Chinese Wall would start empty.
  std::filesystem::directory_iterator it(options_.run_dir, ec);
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    const auto& entry = *it;
    std::error_code type_ec;
    const bool symlink = entry.is_symlink(type_ec);
    const bool directory = !type_ec && entry.is_directory(type_ec);
    if (type_ec) {
      ec = type_ec;
      break;
    }
    if (!directory || symlink) continue;
    auto record = LoadDomainRecord(entry.path());
    if (record) {
      next_id_ = std::max(next_id_, record->id.value() + 1);  // ids are never reused
      records.emplace_back(entry.path(), *record);
    }
    ordered.emplace_back(record ? record->id.value() : 0, entry.path());
  }
  if (ec) {
    return Fail(ErrorCode::kIo,
                "recovery: cannot list '{}': {}; shyped does not start without knowing which "
                "domains run",
                options_.run_dir.string(), ec.message());
  }
  if (auto r = ReadIdMark(); !r) return r;
  if (auto r = CheckRecords(records); !r) return r;
  std::sort(ordered.begin(), ordered.end());
  for (const auto& [id, dir] : ordered) {
    if (auto r = RecoverOne(dir); !r) return r;
  }
  return {};
}

Result<void> DomainManager::CheckRecords(
    const std::vector<std::pair<std::filesystem::path, DomainRecord>>& records) const {
  auto installed = store_.Policies();
  if (!installed) return Fail(installed.error().WithContext("recovery: listing the policies"));
  auto policy = acm_.active_policy();
  if (!policy) return Fail(ErrorCode::kUnavailable, "recovery: the ACM has no policy loaded");
  const std::string active = policy->name();
  std::set<std::string> known{active, std::string(policyc::kDefaultPolicyName)};
  for (const auto& p : *installed) known.insert(p.name);
  std::map<std::uint32_t, std::filesystem::path> ids;
  for (const auto& [dir, record] : records) {
    // SECURITY: corruption fails closed. Two records with one id would let the refusal of one
    // release the other's admission; a record in another domain's directory would replace it.
    if (auto [other, fresh] = ids.emplace(record.id.value(), dir); !fresh) {
      return Fail(ErrorCode::kIo,
                  "recovery: '{}' and '{}' both record domain id {}; the run directory is "
                  "corrupt: find out which QEMU runs, stop the other and remove its directory",
                  other->second.string(), dir.string(), record.id);
    }
    if (record.name != dir.filename().string()) {
      return Fail(ErrorCode::kIo,
                  "recovery: '{}' records domain '{}', not '{}'; the run directory is corrupt: "
                  "stop that domain's QEMU and remove the directory",
                  (dir / "domain.json").string(), record.name, dir.filename().string());
    }
    if (record.state != DomainState::kRunning || known.count(record.policy) != 0) continue;
    // SECURITY: a running domain under a policy the store never heard of means the store lost
    // its state (labels.db replaced); starting would stop the guest and forget its labels.
    return Fail(ErrorCode::kIo,
                "recovery: domain '{}' is recorded running under policy '{}', which '{}' does not "
                "know (the active policy is '{}'): the state directory lost its security state; "
                "restore labels.db and policies/ from a backup (shyped refuses to start rather "
                "than stop the domain)",
                record.name, record.policy, (store_.dir() / "labels.db").string(), active);
  }
  return {};
}

Result<void> DomainManager::StopAndRemove(const DomainRecord& record,
                                          const std::filesystem::path& dir,
                                          const std::string& why) {
  const std::string name = record.name.empty() ? dir.filename().string() : record.name;
  auto killed = launcher_.StopAll(record, dir);
  if (!killed) {
    // SECURITY: a QEMU that may still run is never forgotten: shyped does not start.
    return Fail(killed.error().WithContext(fmt::format("recovery: domain '{}' ({})", name, why)));
  }
  launcher_.Cleanup(record);
  // Nothing to release in the ACM: the domain was never (re)admitted.
  if (auto removed = RemoveRunDir(name, dir); !removed) {
    return Fail(removed.error().WithContext("recovery"));
  }
  std::string reason = fmt::format(
      "recovery: removed {} '{}' ({}; {} QEMU process(es) killed)",
      record.state == DomainState::kRunning ? "domain" : "half-created domain", name, why, *killed);
  log::Warn("{}", reason);
  denials_({"domain-end", acm::Hook::kDomainCreate, acm::Decision::kDeny, name, record.id,
            record.label, "", reason});
  return {};
}

// The same admission as create: authorization, Chinese Wall and STE for every resource it holds,
// under the enforced policy; a label or resource label that no longer resolves refuses it.
Result<void> DomainManager::Readmit(const DomainRecord& record) {
  auto policy = acm_.active_policy();
  if (!policy) return Fail(ErrorCode::kUnavailable, "the ACM has no policy loaded");
  if (record.policy != policy->name()) {
    return Fail(ErrorCode::kPermissionDenied, "its label is of policy '{}', not the enforced '{}'",
                record.policy, policy->name());
  }
  auto ssidref = policy->VmSsidref(record.label);
  if (!ssidref) {
    return Fail(ErrorCode::kPermissionDenied, "label '{}' is not in the enforced policy",
                record.label);
  }
  std::vector<acm::ResourceRef> resources;
  for (const auto& resource : record.resources) {
    if (resource.rfind("vtpm:", 0) == 0) {
      // SECURITY: its vTPM belongs to the label it was made for; readmitted with that label, a
      // relabel of the domain stays refused. A vTPM that is gone stops the domain (fail closed).
      auto owner = VtpmOwnerRef(record.name, *policy);
      if (!owner) return Fail(owner.error().WithContext("resource " + resource));
      resources.push_back(*owner);
      continue;
    }
    auto label = store_.GetResourceLabel(resource);
    if (!label) return Fail(label.error().WithContext("resource " + resource));
    auto res = admin::ResourceSsidref(*label, *policy);
    if (!res) return Fail(res.error().WithContext("resource " + resource));
    acm::ResourceKind kind = resource.rfind("vnet:", 0) == 0  ? acm::ResourceKind::kNetwork
                             : resource.rfind("shm:", 0) == 0 ? acm::ResourceKind::kSharedMemory
                                                              : acm::ResourceKind::kDisk;
    resources.push_back(acm::ResourceRef{resource, *res, kind});
  }
  return AdmitToMonitor(record.name, record.label, record.id, *ssidref, resources);
}

namespace {
bool HoldsRegions(const DomainRecord& record) {
  return std::any_of(record.resources.begin(), record.resources.end(),
                     [](const std::string& r) { return r.rfind("shm:", 0) == 0; });
}
}  // namespace

// Long: recovery of one domain, each outcome (gone, half-created, refused, found again) in order.
Result<void> DomainManager::RecoverOne(const std::filesystem::path& dir) {
  auto record = LoadDomainRecord(dir);
  if (!record && record.error().code == ErrorCode::kNotFound) {
    // A create killed between mkdir and its first record: the guest never ran.
    DomainRecord unknown;
    unknown.name = dir.filename().string();
    return StopAndRemove(unknown, dir, "no domain.json");
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
    return StopAndRemove(*record, dir,
                         fmt::format("its record says '{}'", DomainStateName(record->state)));
  }
  auto vm = launcher_.Adopt(*record, dir);
  if (!vm && vm.error().code != ErrorCode::kNotFound) {
    return Fail(ErrorCode::kIo, "recovery: cannot tell whether domain {} (pid {}) still runs: {}",
                record->name, record->pid, vm.error().message);
  }
  if (!vm) {
    // SECURITY: "gone" by its pid; any other process of it (its cgroup, a QEMU naming its run
    // directory) is stopped before it is forgotten, or shyped does not start.
    log::Info("recovery: domain {} ended while shyped was down ({})", record->name,
              vm.error().message);
    auto stopped = launcher_.StopAll(*record, dir);
    if (!stopped) {
      return Fail(stopped.error().WithContext(fmt::format(
          "recovery: domain '{}' (its QEMU pid {} is gone)", record->name, record->pid)));
    }
    launcher_.Cleanup(*record);
    (void)RemoveRunDir(record->name, dir);
    return {};
  }
  // SECURITY: fail closed. Its shared-memory regions died with the previous shyped's server,
  // but its QEMU still maps their memory, shared with the other peers' QEMUs: no pair sharing
  // would record that, so no later policy update could revoke it. It is stopped.
  if (HoldsRegions(*record)) {
    (void)(*vm)->Kill();
    return StopAndRemove(*record, dir,
                         "it shared memory regions, which a restarted shyped cannot account for");
  }
  // SECURITY: fail closed. A domain the enforced policy does not admit (label gone, Chinese Wall,
  // a resource it may no longer use) is stopped rather than left running outside the monitor.
  if (auto r = Readmit(*record); !r) {
    log::Error("recovery: stopping domain {} (label {}): {}", record->name, record->label,
               r.error().message);
    (void)(*vm)->Kill();
    return StopAndRemove(*record, dir, "not admitted: " + r.error().message);
  }
  Track(*record, dir, std::move(*vm));
  return {};
}

void DomainManager::Track(const DomainRecord& record, const std::filesystem::path& dir,
                          std::unique_ptr<Vm> vm) {
  auto domain = std::make_unique<Domain>();
  domain->record = record;
  domain->run_dir = dir;
  domain->vm = std::move(vm);
  domain->state = record.frozen.empty() ? DomainState::kRunning : DomainState::kPaused;
  for (const DiskRecord& disk : record.disks) {  // ids disk<N>: the next one is above them all
    if (!disk.id.starts_with("disk")) continue;
    const auto n = static_cast<std::uint32_t>(std::strtoul(disk.id.c_str() + 4, nullptr, 10));
    domain->next_disk = std::max(domain->next_disk, n + 1);
  }
  domain->started = clock_.Now() - std::chrono::seconds(std::max<std::int64_t>(
                                       0, clock_.UnixSeconds() - record.created_at));
  Domain& d = *domain;
  domains_[record.name] = std::move(domain);
  const std::string name = record.name;
  d.vm->OnEvent(
      [this, name](std::string_view event, const api::Json& data) { OnEvent(name, event, data); });
  Watch(d);
  log::Info("recovery: domain {} (id {}, label {}, pid {}) found again", record.name, record.id,
            record.label, record.pid);
}

}  // namespace shype::daemon
