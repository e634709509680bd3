// SPDX-License-Identifier: Apache-2.0
//
// Hotplug into running domains (network-attach / network-detach, shm-attach / shm-detach): the
// checks create makes, then the device through QMP with its backend passed as an fd; any failure
// undoes all of it.
#include "domain_manager.h"
#include "shype/admin/domain_plan.h"
#include "shype/common/log.h"
#include "shype/config/device_spec.h"

namespace shype::daemon {
namespace asio = boost::asio;

Result<DomainManager::Domain*> DomainManager::HotplugTarget(const std::string& name,
                                                            std::string_view what) {
  Domain* d = Find(name);
  if (d == nullptr) return Fail(ErrorCode::kNotFound, "no domain named '{}' is running", name);
  if (d->state != DomainState::kRunning && d->state != DomainState::kPaused) {
    return Fail(ErrorCode::kConflict, "domain '{}' is {}: {} is attached to a running domain", name,
                DomainStateName(d->state), what);
  }
  if (auto available = Available(*d); !available) return Fail(available.error());
  return d;
}

Result<void> DomainManager::Available(const Domain& domain) {
  if (domain.saving) {
    return Fail(ErrorCode::kConflict,
                "domain '{}' is being saved; it ends when its image is complete",
                domain.record.name);
  }
  if (domain.record.frozen.empty()) return {};
  return Fail(ErrorCode::kConflict, "domain '{}' is frozen: {}; only 'shype destroy {}' ends that",
              domain.record.name, domain.record.frozen, domain.record.name);
}

// Long: the hotplug transaction, each step with its undo in order.
asio::awaitable<Result<std::pair<std::string, std::string>>> DomainManager::AttachNetwork(
    const std::string& name, const std::string& vif_text) {
  auto target = HotplugTarget(name, "a NIC");
  if (!target) co_return Fail(target.error());
  Domain* d = *target;
  auto vif = config::ParseVifSpec(vif_text);
  if (!vif) co_return Fail(vif.error());
  const DomainId id = d->record.id;
  const std::string resource = vif->resource();
  // SECURITY: the same checks as create: the network's stored label under the enforced policy,
  // then the ACM records the sharing (STE; a denial is audited there) before any port exists.
  // Asked even when the domain holds a sharing of the network already (a second NIC on it):
  // the network's label is the one stored now.
  auto use = admin::PlanNamedResource(acm_, store_, d->record.ssidref, acm::ResourceKind::kNetwork,
                                      resource);
  if (!use) co_return Fail(use.error());
  if (!use->res_ssidref || !use->permitted) {
    denials_({"check", acm::Hook::kResource, acm::Decision::kDeny, name, d->record.id,
              d->record.label, resource, use->reason});
    co_return Fail(ErrorCode::kPermissionDenied,
                   "domain '{}' (label {}) may not use network '{}' (label {}:{}:{}): {}", name,
                   d->record.label, resource, use->res_policy_type, use->res_policy, use->res_label,
                   use->reason);
  }
  std::optional<acm::SharingId> sharing =
      enforce::FindResourceSharing(acm_, id, acm::ResourceKind::kNetwork, resource);
  const bool new_sharing = !sharing;
  if (new_sharing) {
    auto registered =
        acm_.RegisterSharing(id, acm::ResourceRef{resource, *use->res_ssidref, use->kind});
    if (!registered) {
      co_return Fail(registered.error().code,
                     "domain '{}' (label {}) may not use network '{}' (label {}): {}", name,
                     d->record.label, resource, use->res_label,
                     use->reason.empty() ? registered.error().message : use->reason);
    }
    if (auto added = sharings_.Add(*registered, ResourceTeardown(name)); !added) {
      (void)acm_.ReleaseSharing(*registered);
      co_return Fail(added.error());
    }
    sharing = *registered;
    // SECURITY: listed as in use before any port exists or QEMU is asked anything, so that no
    // relabel of the network can slip in while a hotplug waits for QEMU.
    d->record.resources.push_back(resource);
  }
  const std::uint32_t index = d->next_nic++;
  auto undo = [&, sharing = *sharing](std::string_view why) {
    if (!new_sharing) return;
    (void)sharings_.Release(sharing, why);
    if (Domain* gone = Find(name); gone != nullptr && gone->record.id == id) {
      std::erase(gone->record.resources, resource);
    }
  };
  auto mac = MacOf(id, index, *vif);
  if (!mac) {
    undo("its network-attach was refused");
    co_return Fail(mac.error());
  }
  auto nic = networks_.Attach(id, vif->vnet, *mac);
  if (!nic) {
    undo("its network-attach was refused");
    co_return Fail(nic.error().WithContext(fmt::format("domain '{}' vnet={}", name, vif->vnet)));
  }
  const std::string n = std::to_string(index);
  const std::string device = "nic-" + n, netdev = "net-" + n, fdname = "netfd-" + n;
  std::vector<UniqueFd> fds;
  fds.push_back(std::move(nic->peer));
  // QEMU 7.2's stream netdev does not take a hot-plugged fd; the socket netdev has the same
  // framing (4-byte length + frame) and does.
  // Arguments named, not temporaries of the co_await: g++ 12 destroys those twice.
  api::Json getfd_args{{"fdname", fdname}};
  api::Json netdev_args{{"type", "socket"}, {"id", netdev}, {"fd", fdname}};
  api::Json device_args{
      {"driver", "virtio-net-pci"}, {"netdev", netdev}, {"id", device}, {"mac", mac->ToString()}};
  api::Json del_args{{"id", netdev}};
  Result<api::Json> step = co_await QmpOf(name, id, "getfd", std::move(getfd_args), std::move(fds));
  bool netdev_added = false;
  if (step) {
    step = co_await QmpOf(name, id, "netdev_add", std::move(netdev_args));
    netdev_added = step.has_value();
  }
  if (step) step = co_await QmpOf(name, id, "device_add", std::move(device_args));
  d = Find(name);  // nothing may be assumed about it across a suspension
  if (d == nullptr || d->record.id != id) {
    co_return Fail(ErrorCode::kUnavailable, "domain '{}' ended during network-attach", name);
  }
  if (!step) {
    if (netdev_added) (void)co_await QmpOf(name, id, "netdev_del", std::move(del_args));
    networks_.Detach(vif->vnet, nic->port, "its network-attach failed");
    undo("its network-attach failed");
    co_return Fail(step.error().WithContext(
        fmt::format("domain '{}': hot-plugging the NIC on vnet={}", name, vif->vnet)));
  }
  d->nics.emplace_back(device, vif->vnet);
  if (auto saved = SaveDomainRecord(d->run_dir, d->record); !saved) {
    log::Error("domain {}: cannot save its record: {}", name, saved.error().message);
  }
  log::Info("domain {}: {} ({}) attached to vnet {}", name, device, mac->ToString(), vif->vnet);
  co_return std::pair<std::string, std::string>{device, mac->ToString()};
}

asio::awaitable<Result<void>> DomainManager::DetachNetwork(const std::string& name,
                                                           const std::string& vnet) {
  Domain* d = Find(name);
  if (d == nullptr) co_return Fail(ErrorCode::kNotFound, "no domain named '{}' is running", name);
  const DomainId id = d->record.id;
  const std::string resource = vswitch::VirtualNetworks::ResourceOf(vnet);
  std::optional<acm::SharingId> sharing =
      enforce::FindResourceSharing(acm_, id, acm::ResourceKind::kNetwork, resource);
  if (!sharing) {
    co_return Fail(ErrorCode::kNotFound, "domain '{}' has no NIC on network '{}'", name, vnet);
  }
  // SECURITY: the ports close first (the sharing's teardown): no frame crosses from here on,
  // whatever the guest or QEMU does with the device meanwhile. Every sharing of the network
  // goes (create records one per vif): none may stay behind unlisted.
  for (; sharing;
       sharing = enforce::FindResourceSharing(acm_, id, acm::ResourceKind::kNetwork, resource)) {
    if (!sharings_.Release(*sharing, "network-detach")) break;
  }
  std::vector<std::string> devices;
  std::erase_if(d->nics, [&](const auto& nic) {
    if (nic.second != vnet) return false;
    devices.push_back(nic.first);
    return true;
  });
  std::erase(d->record.resources, resource);
  if (auto saved = SaveDomainRecord(d->run_dir, d->record); !saved) {
    log::Error("domain {}: cannot save its record: {}", name, saved.error().message);
  }
  for (const std::string& device : devices) {
    api::Json device_args{{"id", device}};
    Result<api::Json> r = co_await QmpOf(name, id, "device_del", std::move(device_args));
    if (!r) log::Warn("domain {}: device_del {}: {}", name, device, r.error().message);
    const std::string netdev = "net-" + device.substr(4);
    api::Json netdev_args{{"id", netdev}};
    r = co_await QmpOf(name, id, "netdev_del", std::move(netdev_args));
    if (!r) log::Warn("domain {}: netdev_del {}: {}", name, netdev, r.error().message);
  }
  log::Info("domain {}: detached from vnet {}", name, vnet);
  co_return Result<void>{};
}

// Long: the hotplug transaction, each step with its undo in order.
asio::awaitable<Result<std::string>> DomainManager::AttachRegion(const std::string& name,
                                                                 const std::string& shm_text) {
  auto target = HotplugTarget(name, "a region");
  if (!target) co_return Fail(target.error());
  Domain* d = *target;
  auto spec = config::ParseShmSpec(shm_text);
  if (!spec) co_return Fail(spec.error());
  const DomainId id = d->record.id;
  const std::string resource = spec->resource();
  if (enforce::FindResourceSharing(acm_, id, acm::ResourceKind::kSharedMemory, resource)) {
    co_return Fail(ErrorCode::kConflict, "domain '{}' is attached to region '{}' already", name,
                   spec->name);
  }
  // SECURITY: the same checks as create: the region's stored label under the enforced policy,
  // then the ACM records the sharing (STE; a denial is audited there) before any peer exists.
  auto use = admin::PlanNamedResource(acm_, store_, d->record.ssidref,
                                      acm::ResourceKind::kSharedMemory, resource);
  if (!use) co_return Fail(use.error());
  if (!use->res_ssidref || !use->permitted) {
    denials_({"check", acm::Hook::kResource, acm::Decision::kDeny, name, d->record.id,
              d->record.label, resource, use->reason});
    co_return Fail(ErrorCode::kPermissionDenied,
                   "domain '{}' (label {}) may not use region '{}' (label {}:{}:{}): {}", name,
                   d->record.label, resource, use->res_policy_type, use->res_policy, use->res_label,
                   use->reason);
  }
  auto registered =
      acm_.RegisterSharing(id, acm::ResourceRef{resource, *use->res_ssidref, use->kind});
  if (!registered) {
    co_return Fail(registered.error().code,
                   "domain '{}' (label {}) may not use region '{}' (label {}): {}", name,
                   d->record.label, resource, use->res_label,
                   use->reason.empty() ? registered.error().message : use->reason);
  }
  if (auto added = sharings_.Add(*registered, ResourceTeardown(name)); !added) {
    (void)acm_.ReleaseSharing(*registered);
    co_return Fail(added.error());
  }
  const acm::SharingId sharing = *registered;
  // SECURITY: listed as in use before any peer exists or QEMU is asked anything (no relabel of
  // the region slips in while the hotplug waits for QEMU).
  d->record.resources.push_back(resource);
  auto undo = [&](std::string_view why) {
    (void)sharings_.Release(sharing, why);
    if (Domain* gone = Find(name); gone != nullptr && gone->record.id == id) {
      std::erase(gone->record.resources, resource);
    }
  };
  auto joined = regions_.Join(id, spec->name, spec->size_bytes);
  if (!joined) {
    undo("its shm-attach was refused");
    co_return Fail(joined.error().WithContext(fmt::format("domain '{}' shm {}", name, spec->name)));
  }
  const std::string n = std::to_string(d->next_shm++);
  const std::string device = "shm-" + n, chardev = "shmc-" + n, fdname = "shmfd-" + n;
  std::vector<UniqueFd> fds;
  fds.push_back(std::move(joined->qemu));
  // Arguments named, not temporaries of the co_await: g++ 12 destroys those twice.
  api::Json getfd_args{{"fdname", fdname}};
  api::Json chardev_args{
      {"id", chardev},
      {"backend",
       {{"type", "socket"},
        {"data", {{"addr", {{"type", "fd"}, {"data", {{"str", fdname}}}}}, {"server", false}}}}}};
  api::Json device_args{
      {"driver", "ivshmem-doorbell"}, {"chardev", chardev}, {"vectors", 1}, {"id", device}};
  api::Json remove_args{{"id", chardev}};
  Result<api::Json> step = co_await QmpOf(name, id, "getfd", std::move(getfd_args), std::move(fds));
  bool chardev_added = false;
  if (step) {
    step = co_await QmpOf(name, id, "chardev-add", std::move(chardev_args));
    chardev_added = step.has_value();
  }
  if (step) step = co_await QmpOf(name, id, "device_add", std::move(device_args));
  d = Find(name);  // nothing may be assumed about it across a suspension
  if (d == nullptr || d->record.id != id) {
    co_return Fail(ErrorCode::kUnavailable, "domain '{}' ended during shm-attach", name);
  }
  if (!step) {
    if (chardev_added) (void)co_await QmpOf(name, id, "chardev-remove", std::move(remove_args));
    regions_.Abandon(spec->name, joined->peer, "its shm-attach failed");
    undo("its shm-attach failed");
    co_return Fail(step.error().WithContext(
        fmt::format("domain '{}': hot-plugging region {}", name, spec->name)));
  }
  d->shms.emplace_back(device, spec->name);
  if (auto saved = SaveDomainRecord(d->run_dir, d->record); !saved) {
    log::Error("domain {}: cannot save its record: {}", name, saved.error().message);
  }
  log::Info("domain {}: {} attached to region {} as peer {}", name, device, spec->name,
            joined->peer.value());
  co_return device;
}

asio::awaitable<Result<void>> DomainManager::DetachRegion(const std::string& name,
                                                          const std::string& region) {
  Domain* d = Find(name);
  if (d == nullptr) co_return Fail(ErrorCode::kNotFound, "no domain named '{}' is running", name);
  const DomainId id = d->record.id;
  const std::string resource = shm::Regions::ResourceOf(region);
  auto sharing = enforce::FindResourceSharing(acm_, id, acm::ResourceKind::kSharedMemory, resource);
  if (!sharing) {
    co_return Fail(ErrorCode::kNotFound, "domain '{}' is not attached to region '{}'", name,
                   region);
  }
  // SECURITY: the domain leaves the region first (the sharing's teardown): it gets no later
  // peer's eventfd; then its device is unplugged (UnplugRegion, through Regions' unplug).
  if (auto r = sharings_.Release(*sharing, "shm-detach"); !r) co_return r;
  co_return Result<void>{};
}

asio::awaitable<Result<api::Json>> DomainManager::QmpOf(const std::string& name, DomainId id,
                                                        std::string command, api::Json args,
                                                        std::vector<UniqueFd> fds) {
  Domain* d = Find(name);
  if (d == nullptr || d->record.id != id || !d->vm) {
    co_return Fail(ErrorCode::kUnavailable, "domain '{}' is gone", name);
  }
  co_return co_await d->vm->Execute(std::move(command), std::move(args), std::move(fds));
}

}  // namespace shype::daemon
