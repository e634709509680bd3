// SPDX-License-Identifier: Apache-2.0
//
// Domain lifecycles: create (checks before the guest runs a single instruction), destroy,
// shutdown, pause, and the end of a domain when its QEMU exits. Recovery is in
// domain_recovery.cc.
#include "domain_manager.h"

#include <sys/stat.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <set>

#include "shype/admin/create_checks.h"
#include "shype/admin/verdict_text.h"
#include "shype/common/file.h"
#include "shype/common/log.h"
#include "shype/config/resource_name.h"

namespace shype::daemon {
namespace asio = boost::asio;

namespace {

vm::Accel ToVmAccel(config::Accel accel) {
  switch (accel) {
    case config::Accel::kAuto:
      return vm::Accel::kAuto;
    case config::Accel::kKvm:
      return vm::Accel::kKvm;
    case config::Accel::kTcg:
      return vm::Accel::kTcg;
  }
  return vm::Accel::kTcg;
}

vm::DiskFormat ToVmFormat(enforce::ImageFormat format) {
  return format == enforce::ImageFormat::kQcow2 ? vm::DiskFormat::kQcow2 : vm::DiskFormat::kRaw;
}

// The disks of `plan` as the record keeps them (ids as DisksOf names them).
std::vector<DiskRecord> DiskRecordsOf(const admin::DomainPlan& plan) {
  std::vector<DiskRecord> disks;
  for (const auto& use : plan.resources) {
    if (!use.disk || !use.object || !use.boot.empty()) continue;
    if (use.layer == 0) {
      disks.push_back(DiskRecord{use.disk->vdev,
                                 fmt::format("disk{}", use.disk_index),
                                 use.disk->mode == config::DiskMode::kWrite,
                                 {},
                                 {}});
    }
    disks.back().resources.push_back(use.resource);
    disks.back().identities.push_back(use.object->identity.ToString());
  }
  return disks;
}

// The disks of `plan` as QEMU sees them: each disk's chain of opened fds, in layer order.
std::vector<vm::DiskSpec> DisksOf(const admin::DomainPlan& plan) {
  std::vector<vm::DiskSpec> disks;
  for (const auto& use : plan.resources) {
    if (!use.disk || !use.object || !use.boot.empty()) continue;
    if (use.layer == 0) {
      vm::DiskSpec disk;
      disk.id = fmt::format("disk{}", use.disk_index);
      disk.read_only = use.disk->mode == config::DiskMode::kRead;
      disks.push_back(std::move(disk));
    }
    disks.back().layers.push_back(vm::DiskLayer{use.object->fd.get(), ToVmFormat(use.format),
                                                use.resource.rfind("phy:", 0) == 0});
  }
  return disks;
}

// What QEMU boots: the plan's kernel (and ramdisk) with the config's command line and the label
// appended, or, without a kernel, nothing: the firmware boots the first disk (bootindex=0), so
// QEMU gets no -kernel and no -append (and the guest no shype.label=).
Result<void> SetBoot(const config::DomainConfig& config, const admin::DomainPlan& plan,
                     const DomainRecord& record, LaunchRequest& request) {
  const config::BootSpec boot = *config.Boot();  // Validate() passed
  if (boot.firmware()) return {};
  if (!plan.kernel) return Fail(ErrorCode::kInternal, "the plan has no kernel");
  request.kernel_fd = plan.kernel->fd.get();
  if (plan.ramdisk) request.initrd_fd = plan.ramdisk->fd.get();
  request.append = boot.extra + fmt::format(" shype.label={}:{}", record.policy, record.label);
  return {};
}

}  // namespace

// SECURITY: whatever ends Create's coroutine before the domain runs (an error, an exception, the
// coroutine being destroyed) undoes everything admitted and spawned for it.
// A create's coroutine may outlive the manager (destroyed with the io_context after it): the
// manager then undid the create itself, and `alive` says so.
struct DomainManager::CreateRollback {
  CreateRollback(DomainManager* manager, std::string domain, DomainId domain_id)
      : self(manager), alive(manager->alive_), name(std::move(domain)), id(domain_id) {}
  CreateRollback(const CreateRollback&) = delete;
  CreateRollback& operator=(const CreateRollback&) = delete;
  ~CreateRollback() {
    if (armed && *alive) self->AbortCreate(name, id);
  }
  DomainManager* self;
  std::shared_ptr<const bool> alive;
  std::string name;
  DomainId id;
  bool armed = true;
};

DomainManager::DomainManager(asio::io_context& io, acm::Acm& acm,
                             enforce::SharingRegistry& sharings, vswitch::VirtualNetworks& networks,
                             shm::Regions& regions, store::StateStore& store,
                             const enforce::BootImages* images, Launcher& launcher,
                             const Clock& clock, DenialSink denials, ManagerOptions options)
    : io_(io),
      acm_(acm),
      sharings_(sharings),
      networks_(networks),
      regions_(regions),
      store_(store),
      images_(images),
      launcher_(launcher),
      clock_(clock),
      denials_(std::move(denials)),
      options_(std::move(options)) {}

DomainManager::~DomainManager() {
  *alive_ = false;
  // SECURITY: a create that has not finished is undone (its QEMU killed, its admission
  // released); only domains that run are left running for the next shyped to find.
  std::vector<std::pair<std::string, DomainId>> creating;
  for (auto& [name, domain] : domains_) {
    if (domain->state == DomainState::kCreating) {
      creating.emplace_back(name, domain->record.id);
    } else if (domain->vm) {
      domain->vm->Detach();
    }
  }
  for (const auto& [name, id] : creating) AbortCreate(name, id);
}

Result<void> DomainManager::CheckCreateConfig(const config::DomainConfig& config,
                                              const std::string& path) const {
  std::vector<Error> refusals = admin::ConfigRefusals(config, path);
  if (!refusals.empty()) return Fail(std::move(refusals.front()));
  std::vector<Error> host = HostRefusals(config);
  if (!host.empty()) return Fail(std::move(host.front()));
  return {};
}

std::vector<Error> DomainManager::HostRefusals(const config::DomainConfig& config) const {
  std::vector<Error> refusals;
  auto name = config.Name();
  if (name && Find(*name) != nullptr) {
    refusals.push_back(
        {ErrorCode::kConflict, fmt::format("a domain named '{}' is already running", *name)});
  }
  auto accel = config.Accelerator();
  if (!accel) return refusals;
  const vm::Accel requested = accel->has_value() ? ToVmAccel(**accel) : options_.accel;
  if (auto usable = vm::CheckAccelUsable(vm::ResolveAccel(requested, options_.accel_probe),
                                         options_.accel_probe);
      !usable) {
    refusals.push_back(usable.error());
  }
  return refusals;
}

// Checks the domain's label, authorization, Chinese Wall and every resource with the ACM, and
// records the domain and its resource sharings there. On any denial nothing stays recorded.
Result<admin::DomainPlan> DomainManager::Admit(const config::DomainConfig& config, DomainId id) {
  auto plan = admin::PlanDomain(config, acm_, store_, images_);
  if (!plan) return Fail(plan.error());
  if (!plan->permitted) {
    denials_({"domain-create", acm::Hook::kDomainCreate, acm::Decision::kDeny, plan->name, id,
              plan->label, "", plan->reason});
    return Fail(ErrorCode::kPermissionDenied, "domain '{}' denied: {}", plan->name, plan->reason);
  }
  std::vector<acm::ResourceRef> resources;
  for (const auto& use : plan->resources) {
    if (!use.res_ssidref) {  // not a label of the enforced policy, or not the labeled object
      denials_({"domain-create", acm::Hook::kResource, acm::Decision::kDeny, plan->name, id,
                plan->label, use.resource, use.reason});
      return Fail(ErrorCode::kPermissionDenied,
                  "domain '{}' (label {}) may not use resource '{}' (label {}:{}:{}): {}",
                  plan->name, plan->label, use.resource, use.res_policy_type, use.res_policy,
                  use.res_label, use.reason);
    }
    resources.push_back(acm::ResourceRef{use.resource, *use.res_ssidref, use.kind});
  }
  auto vtpm = VtpmResource(config, *plan);
  if (!vtpm) return Fail(vtpm.error());
  if (*vtpm) resources.push_back(**vtpm);
  if (auto r = AdmitToMonitor(plan->name, plan->label, id, plan->ssidref, resources); !r) {
    return Fail(r.error());
  }
  for (const DiskRecord& disk : DiskRecordsOf(*plan)) {
    std::vector<DiskLayerUse> uses;
    for (std::size_t n = 0; n < disk.resources.size(); ++n) {
      uses.push_back({disk.identities[n], disk.resources[n], disk.writable && n == 0});
    }
    if (auto r = CheckDiskPeers(plan->name, id, uses); !r) {
      (void)sharings_.EndDomain(id, "its create was refused");
      return Fail(r.error());
    }
  }
  return plan;
}

Result<void> DomainManager::AdmitToMonitor(const std::string& name, const std::string& label,
                                           DomainId id, Ssidref ssidref,
                                           std::span<const acm::ResourceRef> resources) {
  acm::Admission admission = acm_.AdmitDomain(id, ssidref, resources);
  if (admission.verdict.permitted()) {
    // A disk is undone by QEMU's exit (it holds the only fds); its end is logged here. A
    // network's end detaches the domain's ports from its switch (a revocation while it runs).
    for (acm::SharingId sharing : admission.sharings) {
      auto added = sharings_.Add(sharing, ResourceTeardown(name));
      if (!added) {
        (void)sharings_.EndDomain(id, "its admission was undone");
        return Fail(added.error());
      }
    }
    return {};
  }
  const acm::Verdict& v = admission.verdict;
  if (v.rule == acm::Hook::kResource) {
    return Fail(ErrorCode::kPermissionDenied,
                "domain '{}' (label {}) may not use resource '{}' (label {}): {}", name, label,
                v.resource, v.object_label, v.reason);
  }
  return Fail(ErrorCode::kPermissionDenied, "domain '{}' (label {}) denied: {}", name, label,
              admin::DescribeVerdict(v, [this](DomainId other) { return NameOf(other); }));
}

enforce::SharingRegistry::Teardown DomainManager::ResourceTeardown(const std::string& name) {
  return [this, name](const acm::Sharing& s, std::string_view why) {
    const auto kind = s.resource_kind.value_or(acm::ResourceKind::kDisk);
    if (kind == acm::ResourceKind::kNetwork && s.resource.starts_with("vnet:")) {
      networks_.DetachAll(s.subject, s.resource.substr(5), why);
    }
    if (kind == acm::ResourceKind::kSharedMemory && s.resource.starts_with("shm:")) {
      regions_.LeaveAll(s.subject, s.resource.substr(4), why);
    }
    if (kind == acm::ResourceKind::kDisk && !own_releases_.contains(s.id)) {
      RevokeDisk(s.subject, s.resource, why);
    }
    if (kind == acm::ResourceKind::kVtpm && options_.vtpms != nullptr) {
      // The domain's end, or a revocation (a policy update took the label its vTPM belongs to):
      // swtpm stops, and the guest's TPM answers nothing from here on.
      if (Domain* d = Find(name); d != nullptr && d->record.id == s.subject) d->vtpm.reset();
      options_.vtpms->Stop(name);
    }
    log::Info("domain {}: {} {} released ({})", name, acm::ResourceKindName(kind), s.resource, why);
  };
}

std::unique_ptr<DomainManager::Domain> DomainManager::NewDomain(
    const config::DomainConfig& config, const admin::DomainPlan& plan, DomainId id,
    const std::string& config_path) const {
  auto domain = std::make_unique<Domain>();
  domain->run_dir = options_.run_dir / plan.name;
  domain->record.id = id;
  domain->record.name = plan.name;
  domain->record.policy = plan.policy;
  domain->record.label = plan.label;
  domain->record.ssidref = plan.ssidref;
  domain->record.memory_mib = static_cast<std::uint32_t>(config.MemoryMiB()->value_or(128));
  domain->record.vcpus = config.Vcpus()->value_or(1);
  domain->record.config_path = config_path;
  domain->record.created_at = clock_.UnixSeconds();
  for (const auto& use : plan.resources) domain->record.resources.push_back(use.resource);
  // Its vTPM, so that a restarted shyped readmits the domain with it (the label binding stays).
  if (!config.Vtpms()->empty()) domain->record.resources.push_back("vtpm:" + plan.name);
  domain->record.disks = DiskRecordsOf(plan);
  domain->next_disk = static_cast<std::uint32_t>(config.Disks()->size());
  domain->record.uid = options_.qemu_uid_base + id.value();
  domain->started = clock_.Now();
  return domain;
}

asio::awaitable<Result<DomainView>> DomainManager::Create(const config::DomainConfig& config,
                                                          std::string config_path) {
  auto created = co_await CreateFrom(config, std::move(config_path), UniqueFd());
  co_return created;
}

asio::awaitable<Result<DomainView>> DomainManager::CreateFrom(const config::DomainConfig& config,
                                                              std::string config_path,
                                                              UniqueFd incoming) {
  if (auto r = CheckCreateConfig(config, config_path); !r) co_return Fail(r.error());
  const std::string name = *config.Name();
  auto reserved = ReserveId();
  if (!reserved) co_return Fail(reserved.error());
  const DomainId id = *reserved;
  auto t0 = clock_.Now();
  auto plan = Admit(config, id);
  auto t1 = clock_.Now();
  if (!plan) co_return Fail(plan.error().WithContext(config_path));
  auto domain = NewDomain(config, *plan, id, config_path);
  Domain& d = *domain;
  domains_[name] = std::move(domain);
  CreateRollback rollback{this, name, id};
  auto launched = co_await Launch(d, config, *plan, incoming.get());
  if (!launched) co_return Fail(launched.error());
  rollback.armed = false;
  // Look the domain up again: nothing may be assumed about it across a suspension.
  Domain* started = Find(name);
  if (started == nullptr || started->record.id != id) {
    co_return Fail(ErrorCode::kUnavailable, "domain '{}' ended while it was being started", name);
  }
  started->admission_us = std::chrono::duration<double, std::micro>(t1 - t0).count();
  started->launch_ms = std::chrono::duration<double, std::milli>(clock_.Now() - t1).count();
  const bool restored = incoming.valid();
  denials_({restored ? "domain-restore" : "domain-create", acm::Hook::kDomainCreate,
            acm::Decision::kPermit, name, id, started->record.label, "",
            fmt::format("{} '{}', pid {}", restored ? "restored from" : "started from",
                        started->record.config_path, started->record.pid)});
  log::Info("domain {} (id {}, label {}) started, pid {}; checks {:.0f} us, launch {:.1f} ms", name,
            id, started->record.label, started->record.pid, started->admission_us,
            started->launch_ms);
  co_return ViewOf(*started);
}

Result<void> DomainManager::MakeRunDir(Domain& d, std::string_view config_text) {
  // SECURITY: an exclusive mkdir of a checked name directly under STATE/run; an existing
  // directory is never reused or removed here.
  if (d.run_dir.parent_path() != options_.run_dir ||
      !config::IsValidObjectName(d.run_dir.filename().string())) {
    return Fail(ErrorCode::kInvalidArgument, "invalid domain name '{}'", d.record.name);
  }
  if (::mkdir(d.run_dir.c_str(), 0700) != 0) {
    return Fail(ErrorCode::kIo, "cannot create '{}': {}", d.run_dir.string(), std::strerror(errno));
  }
  d.created_run_dir = true;
  if (auto kept = WriteFileAtomic(d.run_dir / "config", config_text, 0600); !kept) return kept;
  return SaveDomainRecord(d.run_dir, d.record);
}

asio::awaitable<Result<void>> DomainManager::Launch(Domain& d, const config::DomainConfig& config,
                                                    const admin::DomainPlan& plan,
                                                    int incoming_fd) {
  if (auto r = MakeRunDir(d, config.Serialize()); !r) co_return r;
  // SECURITY: QEMU gets fds only: boot images and every disk layer were opened and checked
  // while planning. It opens nothing by path.
  LaunchRequest request;
  request.record = &d.record;
  request.run_dir = d.run_dir;
  auto accel = config.Accelerator();
  request.accel = vm::ResolveAccel(accel->has_value() ? ToVmAccel(**accel) : options_.accel,
                                   options_.accel_probe);
  if (auto r = SetBoot(config, plan, d.record, request); !r) co_return r;
  request.disks = DisksOf(plan);
  request.incoming = incoming_fd >= 0;
  std::vector<UniqueFd> nic_peers;  // QEMU's ends, open until it inherited them
  auto nics = AttachNics(d, config, nic_peers);
  if (!nics) co_return Fail(nics.error());
  request.nics = std::move(*nics);
  auto shms = JoinRegions(d, config, nic_peers);
  if (!shms) co_return Fail(shms.error());
  request.shms = std::move(*shms);
  if (auto r = StartVtpm(d, config, request, nic_peers); !r) co_return r;
  auto spawned = launcher_.Spawn(request);
  nic_peers.clear();
  if (!spawned) co_return Fail(spawned.error());
  d.vm = std::move(*spawned);
  Vm& vm = *d.vm;  // `d` stays: until Watch, only Create's rollback removes it
  d.record.pid = vm.identity().pid;
  d.record.start_time = vm.identity().start_time;
  d.started = clock_.Now();
  if (auto r = SaveDomainRecord(d.run_dir, d.record); !r) co_return r;
  if (auto connected = co_await vm.Connect(); !connected) co_return connected;
  std::string name = d.record.name;
  vm.OnEvent(
      [this, name](std::string_view event, const api::Json& data) { OnEvent(name, event, data); });
  // A restore: the guest's RAM and devices come from the image, still before any instruction.
  if (incoming_fd >= 0) {
    if (auto r = co_await Incoming(d, incoming_fd); !r) co_return r;
  }
  // SECURITY: a revocation while QEMU was starting took a region or disk (its unplug could not
  // reach a guest held at -S): the create fails instead of booting with it.
  if (auto r = NothingRevoked(d, request.shms.size()); !r) co_return r;
  if (auto r = VtpmMeasured(d); !r) co_return r;
  // Every check passed: only now does the guest run its first instruction.
  if (auto cont = co_await vm.Execute("cont"); !cont) co_return Fail(cont.error());
  // SECURITY: a revocation while `cont` was on its way found the domain still creating: it
  // only marked what it took; the create is undone rather than left running with it.
  if (auto r = NothingRevoked(d, request.shms.size()); !r) co_return r;
  d.state = DomainState::kRunning;
  d.record.state = DomainState::kRunning;
  // Only now may QEMU's exit release the domain: until here Create owns it (and `d`), and any
  // failure above is undone by Create's rollback.
  Watch(d);
  co_return SaveDomainRecord(d.run_dir, d.record);
}

Result<void> DomainManager::NothingRevoked(const Domain& d, std::size_t regions) {
  if (d.shms.size() != regions || !d.revoked_disks.empty()) {
    return Fail(ErrorCode::kPermissionDenied,
                "domain '{}' lost a {} to a policy change while it was being started",
                d.record.name, d.shms.size() != regions ? "shared-memory region" : "disk");
  }
  return {};
}

Result<vswitch::MacAddress> MacOf(DomainId domain, std::size_t index, const config::VifSpec& vif) {
  if (vif.mac) {
    auto parsed = vswitch::MacAddress::Parse(*vif.mac);
    if (!parsed) return Fail(parsed.error().WithContext(fmt::format("vif {}", index)));
    // SECURITY: the generated range is shyped's alone: a configured MAC in it could squat the
    // MAC a later domain's vif gets and keep that domain off a shared network.
    if (parsed->bytes[0] == 0x02 && parsed->bytes[1] == 0x16) {
      return Fail(ErrorCode::kInvalidArgument,
                  "vif {}: mac {} is in 02:16:xx:xx:xx:xx, the range shyped gives vifs without "
                  "mac=; choose another (e.g. 52:54:00:..)",
                  index, parsed->ToString());
    }
    return *parsed;
  }
  // Locally administered 02:16:<domain id, 3 bytes>:<NIC index>: unique, as ids are never reused.
  const std::uint32_t id = domain.value();
  return vswitch::MacAddress{{0x02, 0x16, static_cast<std::uint8_t>(id >> 16),
                              static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id),
                              static_cast<std::uint8_t>(index)}};
}

Result<std::vector<vm::NicSpec>> DomainManager::AttachNics(Domain& d,
                                                           const config::DomainConfig& config,
                                                           std::vector<UniqueFd>& peers) {
  std::vector<vm::NicSpec> nics;
  std::vector<std::pair<std::string, std::string>> nic_names;
  const std::vector<config::VifSpec> vifs = *config.Vifs();
  for (std::size_t i = 0; i < vifs.size(); ++i) {
    auto mac = MacOf(d.record.id, i, vifs[i]);
    if (!mac) return Fail(mac.error());
    // SECURITY: the ACM admitted the domain to vnet:<name> above (its label against the
    // network's); the switch asks it again for each pair of domains that would exchange frames.
    auto nic = networks_.Attach(d.record.id, vifs[i].vnet, *mac);
    if (!nic) {
      return Fail(nic.error().WithContext(
          fmt::format("domain '{}' vif {} (vnet={})", d.record.name, i, vifs[i].vnet)));
    }
    nics.push_back(vm::NicSpec{std::to_string(i), nic->peer.get(), mac->ToString()});
    nic_names.emplace_back("nic-" + std::to_string(i), vifs[i].vnet);
    peers.push_back(std::move(nic->peer));
  }
  d.nics = std::move(nic_names);
  d.next_nic = static_cast<std::uint32_t>(vifs.size());
  return nics;
}

Result<std::vector<vm::ShmDeviceSpec>> DomainManager::JoinRegions(
    Domain& d, const config::DomainConfig& config, std::vector<UniqueFd>& peers) {
  std::vector<vm::ShmDeviceSpec> devices;
  const std::vector<config::ShmSpec> shms = *config.Shms();
  for (std::size_t i = 0; i < shms.size(); ++i) {
    // SECURITY: the ACM admitted the domain to shm:<name> above (its label against the
    // region's); Regions asks it again for the memory and the doorbells with each peer there.
    auto joined = regions_.Join(d.record.id, shms[i].name, shms[i].size_bytes);
    if (!joined) {
      return Fail(joined.error().WithContext(
          fmt::format("domain '{}' shm {} (name={})", d.record.name, i, shms[i].name)));
    }
    devices.push_back(vm::ShmDeviceSpec{std::to_string(i), joined->qemu.get()});
    d.shms.emplace_back("shm-" + std::to_string(i), shms[i].name);
    peers.push_back(std::move(joined->qemu));
  }
  d.next_shm = static_cast<std::uint32_t>(shms.size());
  return devices;
}

void DomainManager::UnplugRegion(DomainId id, const std::string& region, std::string_view why) {
  if (!enforce::IsRecorded(acm_, id)) return;  // ending: its QEMU and its sharings go with it
  Domain* d = nullptr;
  for (auto& [n, domain] : domains_) {
    if (domain->record.id == id) d = domain.get();
  }
  if (d == nullptr) return;
  std::vector<std::string> devices;
  std::erase_if(d->shms, [&](const auto& shm) {
    if (shm.second != region) return false;
    devices.push_back(shm.first);
    return true;
  });
  // The record keeps shm:<region> until the domain ends: its guest may still map the memory
  // (the unplug needs its acknowledgement), so a restarted shyped stops it (recovery).
  const std::string resource = shm::Regions::ResourceOf(region);
  const std::string name = d->record.name;
  // Its sharing of the region ends too (its teardown finds the peer gone already), then QEMU
  // unplugs the device: the guest loses the BAR once it acknowledges the removal.
  while (auto sharing =
             enforce::FindResourceSharing(acm_, id, acm::ResourceKind::kSharedMemory, resource)) {
    if (!sharings_.Release(*sharing, why)) break;
  }
  asio::co_spawn(io_, UnplugDevices(name, id, std::move(devices), std::string(why)),
                 asio::detached);
}

asio::awaitable<void> DomainManager::UnplugDevices(std::string name, DomainId id,
                                                   std::vector<std::string> devices,
                                                   std::string why) {
  const std::shared_ptr<bool> alive = alive_;
  for (const std::string& device : devices) {
    api::Json device_args{{"id", device}};
    Result<api::Json> r = co_await QmpOf(name, id, "device_del", std::move(device_args));
    if (!*alive) co_return;
    if (!r) log::Warn("domain {}: device_del {}: {}", name, device, r.error().message);
    // The chardev stays until the guest released the device (QEMU refuses to remove a chardev
    // in use); a guest that keeps a revoked region is paused.
    if (r && !co_await WaitEjected(name, id, device)) {
      if (!*alive) co_return;
      co_await PauseHolder(name, id, why + ": the guest did not release " + device);
      continue;
    }
    if (!*alive) co_return;
    api::Json chardev_args{{"id", "shmc-" + device.substr(4)}};
    r = co_await QmpOf(name, id, "chardev-remove", std::move(chardev_args));
    if (!*alive) co_return;
    log::Info("domain {}: {} unplugged ({}){}", name, device, why,
              r ? "" : "; chardev-remove: " + r.error().message);
  }
}

void DomainManager::AbortCreate(const std::string& name, DomainId id) {
  auto it = domains_.find(name);
  if (it != domains_.end() && it->second->record.id == id) {
    Domain& d = *it->second;
    if (d.vm) (void)d.vm->Kill();
    d.vm.reset();  // kills and reaps
    launcher_.Cleanup(d.record);
    if (d.created_run_dir) (void)RemoveRunDir(name, d.run_dir);
    domains_.erase(it);
  }
  (void)sharings_.EndDomain(id, "its create was undone");
}

Result<void> DomainManager::RemoveRunDir(const std::string& name,
                                         const std::filesystem::path& run_dir) {
  // A log that cannot be kept does not keep the domain from ending (it is logged).
  if (options_.console_logs != nullptr) {
    if (auto kept = options_.console_logs->Keep(name, run_dir / "console.log"); !kept) {
      log::Warn("domain {}: its console output was not kept: {}", name, kept.error().message);
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(run_dir, ec);
  if (ec) {
    return Fail(ErrorCode::kIo, "cannot remove '{}' of domain '{}': {}", run_dir.string(), name,
                ec.message());
  }
  return {};
}

void DomainManager::Watch(Domain& d) {
  std::string name = d.record.name;
  d.vm->OnExit([this, name](std::string why) { Release(name, why); });
}

void DomainManager::OnEvent(const std::string& name, std::string_view event,
                            const api::Json& data) {
  Domain* d = Find(name);
  // Until `cont` the domain's state is its create's: a guest cannot make it look running.
  if (d == nullptr || d->state == DomainState::kCreating) return;
  if (event == "STOP") d->state = DomainState::kPaused;
  if (event == "RESUME") d->state = DomainState::kRunning;
  if (event == "SHUTDOWN") d->state = DomainState::kShuttingDown;
  if (event != "DEVICE_DELETED") return;
  const std::string device = data.is_object() ? data.value("device", "") : "";
  d->ejected.insert(device);
  for (asio::steady_timer* waiter : d->device_waiting) waiter->cancel();
  // A guest that acknowledged a block-detach after it timed out: the disk goes now.
  const std::string disk_id = device.starts_with("vd-") ? device.substr(3) : "";
  const bool known = std::any_of(d->record.disks.begin(), d->record.disks.end(),
                                 [&](const DiskRecord& disk) { return disk.id == disk_id; });
  if (known && !d->attaching.contains(disk_id) && d->unplugging.insert(disk_id).second) {
    d->ejected.erase(device);
    asio::co_spawn(io_, LateUnplug(name, d->record.id, disk_id), asio::detached);
  }
}

void DomainManager::Release(const std::string& name, const std::string& why) {
  auto it = domains_.find(name);
  if (it == domains_.end()) return;
  Domain& d = *it->second;
  auto released = sharings_.EndDomain(d.record.id, why);
  if (!released) log::Warn("domain {}: ACM release: {}", name, released.error().message);
  (void)RemoveRunDir(name, d.run_dir);
  launcher_.Cleanup(d.record);
  log::Info("domain {} (id {}) ended: {}", name, d.record.id, why);
  denials_({"domain-end", acm::Hook::kDomainCreate, acm::Decision::kPermit, name, d.record.id,
            d.record.label, "", why});
  for (asio::steady_timer* waiter : d.waiting) waiter->cancel();
  for (asio::steady_timer* waiter : d.device_waiting) waiter->cancel();
  domains_.erase(it);
}

asio::awaitable<Result<void>> DomainManager::Destroy(const std::string& name) {
  Domain* d = Find(name);
  if (d == nullptr) co_return Fail(ErrorCode::kNotFound, "no running domain named '{}'", name);
  if (!d->vm || d->state == DomainState::kCreating) {
    co_return Fail(ErrorCode::kConflict,
                   "domain '{}' is still being created; its create either starts it or undoes "
                   "everything; try again in a moment",
                   name);
  }
  const DomainId id = d->record.id;
  if (auto r = d->vm->Kill(); !r && r.error().code != ErrorCode::kUnavailable) {
    co_return Fail(r.error());
  }
  // The reply waits until QEMU has exited and the domain is released.
  if (!co_await WaitGone(name, id, std::chrono::seconds(5))) {
    co_return Fail(ErrorCode::kInternal, "domain '{}' did not exit after SIGKILL", name);
  }
  co_return Result<void>{};
}

asio::awaitable<bool> DomainManager::WaitGone(const std::string& name, DomainId id,
                                              std::chrono::milliseconds limit) {
  // By id: a new domain of the same name may have been created across a suspension.
  Domain* d = Find(name);
  if (d == nullptr || d->record.id != id) co_return true;
  // Release() wakes the timer; it expires on its own after `limit`.
  asio::steady_timer timer(io_, limit);
  d->waiting.push_back(&timer);
  boost::system::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  Domain* again = Find(name);
  if (again == nullptr || again->record.id != id) co_return true;
  std::erase(again->waiting, &timer);
  co_return false;
}

asio::awaitable<Result<void>> DomainManager::Shutdown(const std::string& name,
                                                      std::chrono::seconds timeout) {
  const Domain* d = Find(name);
  if (d == nullptr) co_return Fail(ErrorCode::kNotFound, "no running domain named '{}'", name);
  const DomainId id = d->record.id;
  auto sent = co_await QmpAction(name, "system_powerdown", DomainState::kShuttingDown);
  if (!sent) co_return sent;
  if (!co_await WaitGone(name, id, timeout)) {
    co_return Fail(ErrorCode::kUnavailable,
                   "domain '{}' did not power off within {} s of the ACPI power-button request "
                   "(does the guest handle ACPI?); 'shype destroy {}' stops it at once",
                   name, timeout.count(), name);
  }
  co_return Result<void>{};
}

asio::awaitable<Result<void>> DomainManager::QmpAction(const std::string& name, std::string command,
                                                       std::optional<DomainState> state) {
  Domain* d = Find(name);
  if (d == nullptr) co_return Fail(ErrorCode::kNotFound, "no running domain named '{}'", name);
  if (!d->vm || d->state == DomainState::kCreating) {
    co_return Fail(ErrorCode::kConflict,
                   "domain '{}' is still being created; try again in a moment", name);
  }
  if (auto available = Available(*d); !available) co_return Fail(available.error());
  const DomainId id = d->record.id;
  auto reply = co_await d->vm->Execute(std::move(command));
  if (!reply) co_return Fail(reply.error());
  if (Domain* again = Find(name); again != nullptr && again->record.id == id && state) {
    again->state = *state;
  }
  co_return Result<void>{};
}

DomainView DomainManager::ViewOf(const Domain& d) const {
  return DomainView{d.record,       d.run_dir,  d.state, clock_.Now() - d.started,
                    d.admission_us, d.launch_ms};
}

std::vector<DomainView> DomainManager::List() const {
  std::vector<DomainView> out;
  for (const auto& [name, d] : domains_) out.push_back(ViewOf(*d));
  return out;
}

Result<DomainView> DomainManager::Info(const std::string& name) const {
  const Domain* d = Find(name);
  if (d == nullptr) return Fail(ErrorCode::kNotFound, "no running domain named '{}'", name);
  return ViewOf(*d);
}

std::vector<admin::RunningDomain> DomainManager::Domains() const {
  std::vector<admin::RunningDomain> out;
  auto policy = acm_.active_policy();
  std::string dom0_label(policy ? policy->bootstrap_label() : "");
  for (const acm::DomainInfo& info : acm_.domains()) {
    if (info.id == kDomain0) dom0_label = info.label;
  }
  out.push_back({"Domain-0", 0, std::move(dom0_label), {}});
  for (const auto& [name, d] : domains_) {
    out.push_back({name, d->record.id.value(), d->record.label, d->record.resources});
  }
  return out;
}

std::string DomainManager::NameOf(DomainId id) const {
  if (id == kDomain0) return "Domain-0";
  for (const auto& [name, d] : domains_) {
    if (d->record.id == id) return fmt::format("'{}' (id {})", name, id);
  }
  return fmt::format("id {}", id);
}

void DomainManager::FollowPolicy(const std::string& policy) {
  networks_.FollowPolicy();  // pairs the new policy lets share get their sharing
  std::map<DomainId, acm::DomainInfo> infos;
  for (const auto& info : acm_.domains()) infos[info.id] = info;
  for (auto& [name, d] : domains_) {
    auto it = infos.find(d->record.id);
    if (it == infos.end()) continue;
    d->record.label = it->second.label;
    d->record.policy = policy;
    d->record.ssidref = it->second.ssidref;
    if (auto r = SaveDomainRecord(d->run_dir, d->record); !r) {
      log::Error("domain {}: cannot save its record: {}", name, r.error().message);
    }
  }
}

DomainManager::Domain* DomainManager::Find(const std::string& name) {
  return const_cast<Domain*>(std::as_const(*this).Find(name));
}

const DomainManager::Domain* DomainManager::Find(const std::string& name) const {
  auto it = domains_.find(name);
  if (it != domains_.end()) return it->second.get();
  // An id: decimal digits only (a name may not be all digits: CheckCreateConfig).
  if (name.empty() || name.size() > 9 ||
      !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return nullptr;
  }
  const DomainId id{static_cast<std::uint32_t>(std::stoul(name))};
  for (const auto& [n, d] : domains_) {
    if (d->record.id == id) return d.get();
  }
  return nullptr;
}

}  // namespace shype::daemon
