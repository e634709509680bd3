// SPDX-License-Identifier: Apache-2.0
//
// Disks of running domains: block-attach (the checks of create, then QEMU gets every layer as an
// fd through QMP), block-detach, and the unplug a revocation asks for. An unplug waits for the
// guest's acknowledgement (DEVICE_DELETED) before the nodes and fds go and the sharings end.
#include <fcntl.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <functional>

#include "domain_manager.h"
#include "shype/common/log.h"
#include "shype/enforce/object.h"

namespace shype::daemon {
namespace asio = boost::asio;
namespace {

vm::DiskFormat VmFormat(enforce::ImageFormat format) {
  return format == enforce::ImageFormat::kQcow2 ? vm::DiskFormat::kQcow2 : vm::DiskFormat::kRaw;
}

// Runs `f` when the scope ends (a coroutine's co_return included).
class ScopeExit {
 public:
  explicit ScopeExit(std::function<void()> f) : f_(std::move(f)) {}
  ScopeExit(const ScopeExit&) = delete;
  ScopeExit& operator=(const ScopeExit&) = delete;
  ~ScopeExit() { f_(); }

 private:
  std::function<void()> f_;
};

Error Busy(const std::string& name) {
  return Error{ErrorCode::kConflict,
               fmt::format("another block-attach or block-detach of domain '{}' is in progress; "
                           "try again when it is done",
                           name)};
}

const DiskRecord* FindDisk(const DomainRecord& record, std::string_view id) {
  for (const DiskRecord& disk : record.disks) {
    if (disk.id == id) return &disk;
  }
  return nullptr;
}

// Takes one occurrence of each of `resources` out of the record's list.
void ForgetResources(DomainRecord& record, const std::vector<std::string>& resources) {
  for (const std::string& resource : resources) {
    auto it = std::find(record.resources.begin(), record.resources.end(), resource);
    if (it != record.resources.end()) record.resources.erase(it);
  }
}

}  // namespace

asio::awaitable<Result<api::Json>> DomainManager::CheckFdsets(const std::string& name, DomainId id,
                                                              std::vector<int> fdsets) {
  // SECURITY: each of this disk's sets must hold exactly its one fd: /dev/fdset/N would pick
  // any fd of a set with the wanted access mode, another disk's too.
  Result<api::Json> sets = co_await QmpOf(name, id, "query-fdsets", nullptr);
  if (!sets) co_return sets;
  for (int wanted : fdsets) {
    std::size_t fds = 0;
    for (const api::Json& set : sets->is_array() ? *sets : api::Json::array()) {
      if (set.value("fdset-id", -1) == wanted) fds += set.value("fds", api::Json::array()).size();
    }
    if (fds != 1) {
      co_return Fail(ErrorCode::kInternal, "fdset {} holds {} fds, not this disk's one", wanted,
                     fds);
    }
  }
  co_return sets;
}

void DomainManager::ReleaseOwn(acm::SharingId sharing, std::string_view why) {
  own_releases_.insert(sharing);
  (void)sharings_.Release(sharing, why);
  own_releases_.erase(sharing);
}

Result<void> DomainManager::CheckDiskPeers(const std::string& name, DomainId id,
                                           std::span<const DiskLayerUse> layers) {
  for (const auto& [other_name, other] : domains_) {
    if (other->record.id == id) continue;
    std::vector<const DiskRecord*> all;
    for (const DiskRecord& disk : other->record.disks) all.push_back(&disk);
    for (const DiskRecord& disk : other->record.held) all.push_back(&disk);
    for (const DiskRecord* held_or_attached : all) {
      const DiskRecord& disk = *held_or_attached;
      for (std::size_t j = 0; j < disk.identities.size(); ++j) {
        const bool other_writes = disk.writable && j == 0;
        for (const DiskLayerUse& layer : layers) {
          if (layer.identity != disk.identities[j] || (!layer.writes && !other_writes)) continue;
          // SECURITY: a disk written by one of two domains carries data between them: STE must
          // let them share, whatever each may do with the disk alone.
          if (acm_.CheckShare(id, other->record.id, acm::ShareKind::kDisk) !=
              acm::Decision::kPermit) {
            return Fail(ErrorCode::kPermissionDenied,
                        "domain '{}' may not share disk '{}' with domain '{}' (which has it as "
                        "{}): {} writes it, and their labels share no STE type",
                        name, layer.resource, other_name, disk.vdev,
                        layer.writes ? fmt::format("'{}'", name) : fmt::format("'{}'", other_name));
          }
        }
      }
    }
  }
  return {};
}

// Long: the hotplug transaction, each step with its undo in order.
asio::awaitable<Result<std::string>> DomainManager::AttachDisk(const std::string& name,
                                                               const config::DiskSpec& spec) {
  auto target = HotplugTarget(name, "a disk");
  if (!target) co_return Fail(target.error());
  Domain* d = *target;
  if (d->disk_busy) co_return Fail(Busy(name));
  for (const DiskRecord& disk : d->record.disks) {
    if (disk.vdev == spec.vdev) {
      co_return Fail(ErrorCode::kConflict, "domain '{}' has a disk '{}' already", name, spec.vdev);
    }
  }
  const DomainId id = d->record.id;
  // SECURITY: the checks of create: every file of the chain opened here (no symlinks, no
  // probing), each layer's stored label under the enforced policy, then STE.
  auto layers = admin::PlanDiskAttach(acm_, store_, d->record.ssidref, spec);
  if (!layers) co_return Fail(layers.error());
  const bool writable = spec.mode == config::DiskMode::kWrite;
  std::vector<DiskLayerUse> uses;
  for (const admin::ResourceUse& use : *layers) {
    if (!use.res_ssidref || !use.permitted || !use.object) {
      denials_({"check", acm::Hook::kResource, acm::Decision::kDeny, name, d->record.id,
                d->record.label, use.resource, use.reason});
      co_return Fail(ErrorCode::kPermissionDenied,
                     "domain '{}' (label {}) may not use disk '{}' (label {}:{}:{}): {}", name,
                     d->record.label, use.resource, use.res_policy_type, use.res_policy,
                     use.res_label, use.reason);
    }
    uses.push_back({use.object->identity.ToString(), use.resource, writable && use.layer == 0});
  }
  if (auto peers = CheckDiskPeers(name, id, uses); !peers) co_return Fail(peers.error());
  std::vector<acm::SharingId> sharings;
  auto release = [&](std::string_view why) {
    for (acm::SharingId s : sharings) ReleaseOwn(s, why);
  };
  for (const admin::ResourceUse& use : *layers) {
    auto registered =
        acm_.RegisterSharing(id, acm::ResourceRef{use.resource, *use.res_ssidref, use.kind});
    if (registered) {
      if (auto added = sharings_.Add(*registered, ResourceTeardown(name)); !added) {
        (void)acm_.ReleaseSharing(*registered);
        registered = Fail(added.error());
      }
    }
    if (!registered) {
      release("its block-attach was refused");
      co_return Fail(registered.error().code, "domain '{}' may not use disk '{}': {}", name,
                     use.resource, registered.error().message);
    }
    sharings.push_back(*registered);
  }
  DiskRecord record{spec.vdev, "disk" + std::to_string(d->next_disk++), writable, {}, {}};
  for (const DiskLayerUse& use : uses) {
    record.resources.push_back(use.resource);
    record.identities.push_back(use.identity);
  }
  const std::string disk_id = record.id, device = "vd-" + disk_id;
  // SECURITY: recorded as in use before QEMU is asked anything: a relabel or revocation while
  // the hotplug waits for QEMU finds it (and the disk is taken out again below).
  d->record.disks.push_back(record);
  d->record.resources.insert(d->record.resources.end(), record.resources.begin(),
                             record.resources.end());
  d->attaching.insert(disk_id);
  // One disk change per domain at a time: two attaches must never pick one fdset, nor a detach
  // run through an attach.
  d->disk_busy = true;
  const std::shared_ptr<bool> alive = alive_;
  const ScopeExit not_busy([this, alive, name, id] {
    if (!*alive) return;
    if (Domain* x = Find(name); x != nullptr && x->record.id == id) x->disk_busy = false;
  });
  auto undo = [&](std::string_view why) {
    if (Domain* gone = Find(name); gone != nullptr && gone->record.id == id) {
      std::erase(gone->record.disks, record);
      ForgetResources(gone->record, record.resources);
      gone->attaching.erase(disk_id);
      gone->revoked_disks.erase(disk_id);
      (void)SaveDomainRecord(gone->run_dir, gone->record);
    }
    release(why);
  };
  // SECURITY: a restarted shyped recovers from the record: a disk it does not list would be in
  // the guest with no sharing recorded. No record, no disk.
  if (auto saved = SaveDomainRecord(d->run_dir, d->record); !saved) {
    undo("its block-attach could not be recorded");
    co_return Fail(saved.error().WithContext(
        fmt::format("domain '{}': recording disk {} before plugging it", name, spec.vdev)));
  }
  vm::DiskSpec disk{disk_id, {}, !writable};
  for (const admin::ResourceUse& use : *layers) {
    disk.layers.push_back(
        vm::DiskLayer{use.object->fd.get(), VmFormat(use.format),
                      use.object->identity.kind == ObjectIdentity::Kind::kBlockDevice});
  }
  // SECURITY: a fresh fdset id, above every set QEMU has: add-fd to an existing set would put
  // this disk's fd beside another's, and /dev/fdset/N picks any fd of the set.
  Result<api::Json> step = co_await QmpOf(name, id, "query-fdsets", nullptr);
  int fdset = 1000;
  if (step && step->is_array()) {
    for (const api::Json& set : *step) fdset = std::max(fdset, set.value("fdset-id", 0) + 1);
  }
  std::vector<int> fdsets;
  bool fd_sent = false;
  std::vector<std::string> nodes;  // added, the last first
  for (std::size_t n = disk.layers.size(); step && n-- > 0;) {
    std::vector<UniqueFd> fds;
    fds.emplace_back(::fcntl(disk.layers[n].fd, F_DUPFD_CLOEXEC, 0));
    if (!fds.back().valid()) {
      step = Fail(ErrorCode::kIo, "cannot duplicate the fd of layer {}", n);
      break;
    }
    // Arguments named, not temporaries of the co_await: g++ 12 destroys those twice.
    api::Json add_args{{"fdset-id", fdset}, {"opaque", vm::DiskFdsetOpaque(disk, n)}};
    fd_sent = true;  // QEMU has it once sent, whatever it answers
    step = co_await QmpOf(name, id, "add-fd", std::move(add_args), std::move(fds));
    if (!step) break;
    fdsets.push_back(fdset);
    api::Json node = vm::DiskNode(disk, n, fdset++);
    step = co_await QmpOf(name, id, "blockdev-add", std::move(node));
    if (step) nodes.insert(nodes.begin(), fmt::format("d-{}-{}", disk_id, n));
  }
  if (step) step = co_await CheckFdsets(name, id, fdsets);
  bool device_added = false;
  if (step) {
    api::Json device_args{
        {"driver", "virtio-blk-pci"}, {"drive", fmt::format("d-{}-0", disk_id)}, {"id", device}};
    step = co_await QmpOf(name, id, "device_add", std::move(device_args));
    device_added = step.has_value();
  }
  d = Find(name);  // nothing may be assumed about it across a suspension
  if (d == nullptr || d->record.id != id) {
    co_return Fail(ErrorCode::kUnavailable, "domain '{}' ended during block-attach", name);
  }
  d->attaching.erase(disk_id);
  if (step && d->revoked_disks.erase(disk_id) > 0) {
    // A policy change revoked it while QEMU was plugging it: out again, as a revocation.
    d->unplugging.insert(disk_id);
    (void)co_await UnplugDisk(name, id, disk_id, "revoked during its block-attach", true);
    co_return Fail(ErrorCode::kPermissionDenied,
                   "domain '{}': disk '{}' was revoked by a policy change during its block-attach",
                   name, spec.vdev);
  }
  if (!step) {
    if (device_added) {
      api::Json del_args{{"id", device}};
      (void)co_await QmpOf(name, id, "device_del", std::move(del_args));
    }
    for (const std::string& node : nodes) {
      api::Json del_args{{"node-name", node}};
      (void)co_await QmpOf(name, id, "blockdev-del", std::move(del_args));
    }
    for (int set : fdsets) {
      api::Json del_args{{"fdset-id", set}};
      (void)co_await QmpOf(name, id, "remove-fd", std::move(del_args));
    }
    if (!fd_sent) {
      undo("its block-attach failed");
    } else if (Domain* held = Find(name); held != nullptr && held->record.id == id) {
      // SECURITY: QEMU got an fd of it: recorded until QEMU exits (see FinishDiskUnplug).
      std::erase(held->record.disks, record);
      held->record.held.push_back(record);
      const bool revoked = held->revoked_disks.erase(disk_id) > 0;
      (void)SaveDomainRecord(held->run_dir, held->record);
      if (revoked) co_await PauseHolder(name, id, "revoked during its failed block-attach");
    }
    co_return Fail(step.error().WithContext(
        fmt::format("domain '{}': hot-plugging disk {}", name, spec.vdev)));
  }
  log::Info("domain {}: {} attached as {} ({}, {} layer(s))", name, device, spec.vdev,
            writable ? "writable" : "read-only", disk.layers.size());
  co_return device;
}

asio::awaitable<Result<void>> DomainManager::DetachDisk(const std::string& name,
                                                        const std::string& vdev) {
  Domain* d = Find(name);
  if (d == nullptr) co_return Fail(ErrorCode::kNotFound, "no domain named '{}' is running", name);
  if (d->state == DomainState::kCreating) {
    co_return Fail(ErrorCode::kConflict, "domain '{}' is still being created", name);
  }
  auto it = std::find_if(d->record.disks.begin(), d->record.disks.end(),
                         [&](const DiskRecord& disk) { return disk.vdev == vdev; });
  if (it == d->record.disks.end()) {
    co_return Fail(ErrorCode::kNotFound, "domain '{}' has no disk '{}'", name, vdev);
  }
  const std::string disk_id = it->id;
  if (d->disk_busy) co_return Fail(Busy(name));
  if (auto available = Available(*d); !available) co_return Fail(available.error());
  if (d->attaching.contains(disk_id) || !d->unplugging.insert(disk_id).second) {
    co_return Fail(ErrorCode::kConflict, "domain '{}': disk '{}' is being attached or detached",
                   name, vdev);
  }
  const DomainId id = d->record.id;
  d->disk_busy = true;
  const std::shared_ptr<bool> alive = alive_;
  const ScopeExit not_busy([this, alive, name, id] {
    if (!*alive) return;
    if (Domain* x = Find(name); x != nullptr && x->record.id == id) x->disk_busy = false;
  });
  co_return co_await UnplugDisk(name, id, disk_id, "block-detach", false);
}

void DomainManager::RevokeDisk(DomainId id, const std::string& resource, std::string_view why) {
  if (!enforce::IsRecorded(acm_, id)) return;  // ending: its QEMU and its disks go with it
  for (auto& [name, d] : domains_) {
    if (d->record.id != id) continue;
    for (const DiskRecord& disk : d->record.disks) {
      if (std::find(disk.resources.begin(), disk.resources.end(), resource) ==
          disk.resources.end()) {
        continue;
      }
      // Marked whatever happens next: a create or block-attach in progress takes it out, and an
      // unplug already under way (a block-detach) counts as a revocation when the guest keeps it.
      d->revoked_disks.insert(disk.id);
      if (d->state == DomainState::kCreating || d->attaching.contains(disk.id)) continue;
      if (d->unplugging.insert(disk.id).second) {
        asio::co_spawn(io_, UnplugDisk(name, id, disk.id, std::string(why), true), asio::detached);
      }
    }
    // A disk already out of the guest whose file QEMU may still reach: frozen if the kernel shows
    // it still has the file (an fd in any thread, a mapping); else the revocation stands.
    for (auto it = d->record.held.begin(); it != d->record.held.end();) {
      if (std::find(it->resources.begin(), it->resources.end(), resource) == it->resources.end()) {
        ++it;
        continue;
      }
      // A file an attached disk also uses is checked when that disk's unplug (this revocation's
      // too) is done.
      std::vector<ObjectIdentity> files;
      for (const std::string& text : it->identities) {
        const bool attached = std::any_of(
            d->record.disks.begin(), d->record.disks.end(), [&](const DiskRecord& other) {
              return std::find(other.identities.begin(), other.identities.end(), text) !=
                     other.identities.end();
            });
        if (auto identity = ObjectIdentity::Parse(text); identity && !attached) {
          files.push_back(*identity);
        }
      }
      auto holds = enforce::ProcessHolds(d->record.pid, files);
      if (!holds || *holds) {
        asio::co_spawn(
            io_, PauseHolder(name, id, fmt::format("{}: its QEMU still holds {}", why, resource)),
            asio::detached);
        ++it;
        continue;
      }
      ForgetResources(d->record, it->resources);
      it = d->record.held.erase(it);
      (void)SaveDomainRecord(d->run_dir, d->record);
    }
  }
}

asio::awaitable<void> DomainManager::LateUnplug(std::string name, DomainId id,
                                                std::string disk_id) {
  auto finished = co_await FinishDiskUnplug(name, id, disk_id, "the guest released it");
  Domain* d = Find(name);
  if (!finished && d != nullptr && d->record.id == id && d->revoked_disks.contains(disk_id)) {
    co_await PauseHolder(name, id, "revoked: " + finished.error().message);
  }
}

asio::awaitable<Result<void>> DomainManager::UnplugDisk(std::string name, DomainId id,
                                                        std::string disk_id, std::string why,
                                                        bool revoked) {
  const std::shared_ptr<bool> alive = alive_;
  const std::string device = "vd-" + disk_id;
  api::Json device_args{{"id", device}};
  Result<api::Json> r = co_await QmpOf(name, id, "device_del", std::move(device_args));
  if (!*alive) co_return Fail(ErrorCode::kUnavailable, "shyped is stopping");
  const bool ejected = r && co_await WaitEjected(name, id, device);
  if (!*alive) co_return Fail(ErrorCode::kUnavailable, "shyped is stopping");
  Domain* d = Find(name);
  if (d == nullptr || d->record.id != id) co_return Result<void>{};  // ended: nothing is left
  revoked = revoked || d->revoked_disks.contains(disk_id);
  if (!ejected) {
    d->unplugging.erase(disk_id);
    const std::string problem = r ? fmt::format("the guest did not release {} within {} ms", device,
                                                options_.unplug_timeout.count())
                                  : fmt::format("device_del {}: {}", device, r.error().message);
    if (revoked) co_await PauseHolder(name, id, why + ": " + problem);
    co_return Fail(ErrorCode::kUnavailable, "domain '{}': {}{}", name, problem,
                   revoked ? "; the domain is paused" : "; the disk stays attached");
  }
  auto finished = co_await FinishDiskUnplug(name, id, disk_id, why);
  d = Find(name);
  revoked = revoked || (d != nullptr && d->record.id == id && d->revoked_disks.contains(disk_id));
  if (!finished && revoked) co_await PauseHolder(name, id, why + ": " + finished.error().message);
  co_return finished;
}

// Long: the teardown in QEMU's order, then the kernel's word that QEMU let go.
asio::awaitable<Result<void>> DomainManager::FinishDiskUnplug(std::string name, DomainId id,
                                                              std::string disk_id,
                                                              std::string why) {
  const std::shared_ptr<bool> alive = alive_;
  const auto gone = [] { return Result<void>{}; };  // the domain ended: nothing of it is left
  Domain* d = Find(name);
  if (d == nullptr || d->record.id != id) co_return gone();
  const DiskRecord* found = FindDisk(d->record, disk_id);
  if (found == nullptr) co_return gone();
  const DiskRecord disk = *found;
  // Top node first: each backing node is in use by the one above it.
  for (std::size_t n = 0; n < disk.resources.size(); ++n) {
    api::Json del_args{{"node-name", fmt::format("d-{}-{}", disk_id, n)}};
    Result<api::Json> r = co_await QmpOf(name, id, "blockdev-del", std::move(del_args));
    if (!*alive) co_return gone();
    if (!r)
      log::Warn("domain {}: blockdev-del of {} layer {}: {}", name, disk_id, n, r.error().message);
  }
  Result<api::Json> sets = co_await QmpOf(name, id, "query-fdsets", nullptr);
  if (!*alive) co_return gone();
  const std::string prefix = "disk-" + disk_id + "-";
  for (const api::Json& set : sets && sets->is_array() ? *sets : api::Json::array()) {
    const api::Json fds = set.value("fds", api::Json::array());
    const bool ours = std::any_of(fds.begin(), fds.end(), [&](const api::Json& fd) {
      return fd.value("opaque", "").starts_with(prefix);
    });
    if (!ours) continue;
    api::Json del_args{{"fdset-id", set.value("fdset-id", -1)}};
    (void)co_await QmpOf(name, id, "remove-fd", std::move(del_args));
    if (!*alive) co_return gone();
  }
  d = Find(name);
  if (d == nullptr || d->record.id != id) co_return gone();
  // SECURITY: QEMU's word (DEVICE_DELETED, its replies) is not enough: a compromised QEMU may
  // say it let go and keep the file. The sharings end only once the kernel shows no fd of its
  // on the disk's files (those another of its disks also uses aside).
  std::vector<ObjectIdentity> files;
  for (const std::string& text : disk.identities) {
    // Only a disk fully attached counts: one still attaching may yet fail (review finding).
    const bool shared =
        std::any_of(d->record.disks.begin(), d->record.disks.end(), [&](const DiskRecord& other) {
          return other.id != disk.id && !d->attaching.contains(other.id) &&
                 std::find(other.identities.begin(), other.identities.end(), text) !=
                     other.identities.end();
        });
    if (auto identity = ObjectIdentity::Parse(text); identity && !shared)
      files.push_back(*identity);
  }
  auto holds = enforce::ProcessHolds(d->record.pid, files);
  if (!holds || *holds) {
    d->unplugging.erase(disk_id);
    const std::string problem =
        holds ? fmt::format("QEMU reported vd-{} unplugged but still holds its file", disk_id)
              : holds.error().message;
    log::Error("domain {}: {}", name, problem);
    co_return Fail(ErrorCode::kUnavailable, "domain '{}': {}; the disk stays recorded", name,
                   problem);
  }
  // SECURITY: gone from the guest, but not provably from QEMU (a mapping, an fd passed to
  // itself, io_uring: the kernel shows none of them reliably): the disk's sharings and
  // resources stay recorded until QEMU exits, so the file is not relabeled or given to a rival
  // while this QEMU may still reach it.
  std::erase(d->record.disks, disk);
  d->record.held.push_back(disk);
  d->unplugging.erase(disk_id);
  d->revoked_disks.erase(disk_id);
  if (auto saved = SaveDomainRecord(d->run_dir, d->record); !saved) {
    log::Error("domain {}: cannot save its record: {}", name, saved.error().message);
  }
  log::Info("domain {}: disk {} (vd-{}) unplugged ({}); its files stay recorded until it ends",
            name, disk.vdev, disk_id, why);
  co_return Result<void>{};
}

asio::awaitable<bool> DomainManager::WaitEjected(const std::string& name, DomainId id,
                                                 const std::string& device) {
  const auto deadline = std::chrono::steady_clock::now() + options_.unplug_timeout;
  for (;;) {
    Domain* d = Find(name);
    if (d == nullptr || d->record.id != id) co_return false;
    if (d->ejected.erase(device) > 0) co_return true;
    if (std::chrono::steady_clock::now() >= deadline) co_return false;
    // OnEvent and Release wake the timer; it expires on its own at the deadline.
    asio::steady_timer timer(io_, deadline);
    d->device_waiting.push_back(&timer);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (Domain* again = Find(name); again != nullptr && again->record.id == id) {
      std::erase(again->device_waiting, &timer);
    }
  }
}

asio::awaitable<void> DomainManager::PauseHolder(std::string name, DomainId id, std::string why) {
  // SECURITY: fail closed: the guest still reaches what the policy took from it; it runs no
  // further instruction until the administrator destroys it. SIGSTOP, not QMP's `stop`: the
  // kernel stops QEMU whatever QEMU would answer.
  Result<void> stopped = Fail(ErrorCode::kUnavailable, "the domain is gone");
  if (Domain* d = Find(name); d != nullptr && d->record.id == id && d->vm) {
    stopped = d->vm->Freeze();
    if (stopped) {
      d->record.frozen = why;
      d->state = DomainState::kPaused;
      (void)SaveDomainRecord(d->run_dir, d->record);
    }
  }
  denials_({"freeze", acm::Hook::kResource, acm::Decision::kDeny, name, id, "", "",
            fmt::format("{}: {}", why,
                        stopped ? "frozen" : "could not freeze: " + stopped.error().message)});
  log::Error("domain {}: {}; {}", name, why,
             stopped ? "frozen (SIGSTOP)" : "could not freeze it: " + stopped.error().message);
  co_return;
}

}  // namespace shype::daemon
