// SPDX-License-Identifier: Apache-2.0
//
// DomainManager owns the lifecycle of every domain shyped runs: create (plan, the ACM's one
// admission, launch paused, `cont` only after every check, rollback of all of it on failure),
// destroy, shutdown, pause, QEMU's exit, and crash recovery. QEMU and the clock are injected
// (launcher.h), so all of it is unit-tested without QEMU.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "console_logs.h"
#include "domain_record.h"
#include "launcher.h"
#include "save_image.h"
#include "shype/acm/acm.h"
#include "shype/admin/domain_plan.h"
#include "shype/admin/running_domains.h"
#include "shype/config/domain_config.h"
#include "shype/enforce/boot_images.h"
#include "shype/enforce/sharing_registry.h"
#include "shype/shm/regions.h"
#include "shype/store/state_store.h"
#include "shype/vswitch/networks.h"
#include "shype/vtpm/service.h"

namespace shype::daemon {

// A domain as `list` and `info` show it.
struct DomainView {
  DomainRecord record;
  std::filesystem::path run_dir;
  DomainState state = DomainState::kCreating;
  std::chrono::steady_clock::duration time{};  // since it was created
  double admission_us = 0;  // label, authorization, Chinese Wall and resource checks
  double launch_ms = 0;     // QEMU spawn, QMP handshake and cont
};

// A save done: who, with which label (ACM:<policy>:<label>), and whether it ran or was paused.
struct SaveOutcome {
  std::string name;
  DomainId id{0};
  std::string label;
  std::string state;
};

// A live relabel done: who, and the label before and after (ACM:<policy>:<label>).
struct RelabelOutcome {
  std::string name;
  DomainId id{0};
  std::string old_label;
  std::string new_label;
};

struct ManagerOptions {
  std::filesystem::path run_dir;             // STATE/run: one 0700 directory per domain
  vm::Accel accel = vm::Accel::kAuto;        // for configs without accel =
  std::uint32_t qemu_uid_base = 2100000000;  // domain N's QEMU runs as uid/gid base + N
  // How long a guest has to acknowledge a device's unplug (ACPI) before the unplug fails; a
  // guest that does not release a revoked device in that time is paused.
  std::chrono::milliseconds unplug_timeout{10000};
  // Where a domain's console output is kept when it ends (each end: destroy, its exit, an undone
  // create, recovery's removals); null: not kept.
  const ConsoleLogs* console_logs = nullptr;
  vm::AccelProbe accel_probe;      // where `auto` and `kvm` look (tests: temporary files)
  vtpm::Service* vtpms = nullptr;  // the domains' vTPMs; null: a config with a vtpm is refused
};

// One audit record of the manager's own (a refusal it made, or an action it took: a domain
// started or ended, recovery's removals and stops); the daemon adds the time and the policy.
struct AuditNote {
  std::string action = "check";  // as acm::AuditRecord::action
  acm::Hook hook = acm::Hook::kDomainCreate;
  acm::Decision decision = acm::Decision::kDeny;
  std::string domain;  // the subject: a domain's name
  std::optional<DomainId> id;
  std::string label;   // its label, if known
  std::string object;  // the resource it is about, if any
  std::string reason;
};
using DenialSink = std::function<void(const AuditNote&)>;

// A vif's MAC: its mac= (never in 02:16:..., shyped's range) or, without one, the locally
// administered 02:16:<domain id>:<index>.
[[nodiscard]] Result<vswitch::MacAddress> MacOf(DomainId domain, std::size_t index,
                                                const config::VifSpec& vif);

// Also what the admin services (the policy update, dry-run) see of the domains.
class DomainManager final : public admin::RunningDomains {
 public:
  DomainManager(boost::asio::io_context& io, acm::Acm& acm, enforce::SharingRegistry& sharings,
                vswitch::VirtualNetworks& networks, shm::Regions& regions, store::StateStore& store,
                const enforce::BootImages* images, Launcher& launcher, const Clock& clock,
                DenialSink denials, ManagerOptions options);
  DomainManager(const DomainManager&) = delete;
  DomainManager& operator=(const DomainManager&) = delete;
  // Detaches every running QEMU (domains outlive shyped) and undoes every create in progress.
  ~DomainManager() override;

  // Creates and starts the domain `config` (read from `config_path`) describes. On any error
  // nothing of it remains: no process, no run directory, no admission, no sharing.
  boost::asio::awaitable<Result<DomainView>> Create(const config::DomainConfig& config,
                                                    std::string config_path);
  // SIGKILL; returns once QEMU has exited and the domain is released.
  boost::asio::awaitable<Result<void>> Destroy(const std::string& name);
  // ACPI power button, then waits up to `timeout` for QEMU to exit.
  boost::asio::awaitable<Result<void>> Shutdown(const std::string& name,
                                                std::chrono::seconds timeout);
  // Hot-plugs a NIC on a virtual network (`vif`: "vnet=NAME[,mac=..]") into a running domain,
  // after the checks create makes (its label against vnet:NAME's, then each pair on the switch);
  // QEMU gets the port as an fd (getfd, netdev_add, device_add). On any error nothing of it
  // remains. Returns the NIC's device id (nic-N) and MAC.
  boost::asio::awaitable<Result<std::pair<std::string, std::string>>> AttachNetwork(
      const std::string& name, const std::string& vif);
  // Detaches every NIC the domain has on network `vnet`: its ports close at once (no frame
  // crosses after this starts), the ACM's sharing ends, then the devices are unplugged.
  boost::asio::awaitable<Result<void>> DetachNetwork(const std::string& name,
                                                     const std::string& vnet);
  // Hot-plugs a shared-memory region (`shm`: "name=NAME[,size=1M]") into a running domain after
  // the checks create makes (its label against shm:NAME's, then the memory and doorbells with
  // each peer there); QEMU gets the server socket as an fd (getfd, chardev-add, device_add). On
  // any error nothing of it remains. Returns the device id (shm-N).
  boost::asio::awaitable<Result<std::string>> AttachRegion(const std::string& name,
                                                           const std::string& shm);
  // Takes the domain out of region `region` (its sharing ends, the others hear of no later peer
  // through it) and unplugs the device.
  boost::asio::awaitable<Result<void>> DetachRegion(const std::string& name,
                                                    const std::string& region);
  // Regions' unplug: domain `id` left region `region` while it runs (a revocation): its device
  // is hot-unplugged and its sharing of shm:<region> ends. A domain that is ending is ignored.
  void UnplugRegion(DomainId id, const std::string& region, std::string_view why);
  // Hot-plugs disk `disk` (the resource, vdev and mode of a config's disk entry) into a running
  // domain after the checks create makes: every file of its chain opened by shyped and checked
  // against the domain's label, and STE with every running domain that has one of those files
  // while either side writes it. QEMU gets each layer as an fd (add-fd, blockdev-add with the
  // chain explicit, device_add). On any error nothing of it remains. Returns the device (vd-..).
  boost::asio::awaitable<Result<std::string>> AttachDisk(const std::string& name,
                                                         const config::DiskSpec& disk);
  // Unplugs the domain's disk `vdev` (at create or hot-plugged): device_del, the guest's
  // acknowledgement (DEVICE_DELETED), then its nodes and fds go and its sharings end. A guest
  // that does not acknowledge within the unplug timeout keeps the disk (kUnavailable).
  boost::asio::awaitable<Result<void>> DetachDisk(const std::string& name, const std::string& vdev);
  // Sends a QMP command; on success the domain's state becomes `state` (if given).
  boost::asio::awaitable<Result<void>> QmpAction(const std::string& name, std::string command,
                                                 std::optional<DomainState> state);

  // Relabels domain `name` (a running or paused domain, or Domain-0; a name or an id) to VM label
  // `label` of the enforced policy (`policy`, if not empty, must name it), live: the ACM's
  // checks (authorization, the Chinese Wall against every other running domain, STE for every
  // live sharing), all or nothing; the domain's record (or for Domain-0 the state directory)
  // keeps it. Errors: kNotFound (no such domain or label), kInvalidArgument (another policy),
  // kConflict (a hotplug in progress, being created or shutting down, frozen),
  // kPermissionDenied (the policy refuses: every violation named, with the other party).
  [[nodiscard]] Result<RelabelOutcome> Relabel(const std::string& name, const std::string& label,
                                               const std::string& policy);

  // Saves domain `name` (running or paused, its devices those of its configuration) into `image`:
  // the header (its label, policy and labeled configuration), then QEMU's migration stream; the
  // image is committed (named) only when complete, then the domain ends. On any error the guest
  // resumes as it was and no image exists. Errors: kNotFound, kConflict, kIo, kUnavailable.
  boost::asio::awaitable<Result<SaveOutcome>> Save(std::string name, PendingImage& image);
  // Starts the domain an image holds after every check create makes, under the policy and
  // resource labels in force now; its guest resumes from the image. Errors: create's, and
  // kPermissionDenied when the image was saved under another policy.
  boost::asio::awaitable<Result<DomainView>> Restore(OpenedImage image,
                                                     const std::string& image_path);

  // Finds the domains a previous shyped left in `run_dir` and admits them again in creation
  // order, as create does; removes half-created ones; stops one the policy no longer admits.
  // Errors: a domain that may run but cannot be accounted for (unreadable record, unknown
  // policy, a QEMU that cannot be stopped): shyped must not start then.
  [[nodiscard]] Result<void> Recover();

  std::vector<DomainView> List() const;
  [[nodiscard]] Result<DomainView> Info(const std::string& name) const;
  // admin::RunningDomains: Domain-0 first, then every domain shyped runs (also those being
  // created: they hold an admission).
  std::vector<admin::RunningDomain> Domains() const override;
  // "'bank1' (id 1)" for a domain id, "Domain-0" for 0.
  std::string NameOf(DomainId id) const override;
  // After a committed policy update: each record's label and ssidref become the ACM's (renames),
  // under policy `policy`.
  void FollowPolicy(const std::string& policy) override;
  const enforce::BootImages* BootImages() const override { return images_; }
  // What this shyped would refuse of `config` now: a domain of its name runs; its accelerator
  // cannot be used on this host.
  std::vector<Error> HostRefusals(const config::DomainConfig& config) const override;

 private:
  struct Domain {
    DomainRecord record;
    std::filesystem::path run_dir;
    std::unique_ptr<Vm> vm;
    DomainState state = DomainState::kCreating;
    std::chrono::steady_clock::time_point started;
    double admission_us = 0;
    double launch_ms = 0;
    bool created_run_dir = false;
    std::vector<boost::asio::steady_timer*> waiting;        // WaitGone's timers, woken by Release
    std::vector<std::pair<std::string, std::string>> nics;  // (device id nic-N, network)
    std::uint32_t next_nic = 0;                             // N of the next hot-plugged NIC
    std::vector<std::pair<std::string, std::string>> shms;  // (device id shm-N, region)
    std::uint32_t next_shm = 0;                             // N of the next region device
    std::uint32_t next_disk = 0;                            // N of the next disk id disk<N>
    std::set<std::string> ejected;  // devices QEMU reported DEVICE_DELETED for
    std::vector<boost::asio::steady_timer*> device_waiting;  // WaitEjected's timers
    std::set<std::string> attaching;       // disk ids whose block-attach waits for QEMU
    std::set<std::string> unplugging;      // disk ids being unplugged
    std::set<std::string> revoked_disks;   // revoked (while attaching, before cont, or later)
    bool disk_busy = false;                // a block-attach or block-detach waits for QEMU
    bool saving = false;                   // a save is migrating it into its image
    std::shared_ptr<vtpm::Instance> vtpm;  // its running vTPM, if it has one
  };
  // One layer of a disk as the writable-sharing check sees it.
  struct DiskLayerUse {
    std::string identity;  // ObjectIdentity::ToString()
    std::string resource;
    bool writes = false;
  };
  struct CreateRollback;

  [[nodiscard]] Result<void> CheckCreateConfig(const config::DomainConfig& config,
                                               const std::string& path) const;
  [[nodiscard]] Result<admin::DomainPlan> Admit(const config::DomainConfig& config, DomainId id);
  // The one admission of create and recovery: the ACM admits the domain with all its resources
  // or records nothing; a refusal names the rule and the other party.
  // The domain a hotplug of `what` ("a disk", "a NIC", ...) goes into: it must run (or be
  // paused). Errors: kNotFound, kConflict (still being created, or shutting down).
  [[nodiscard]] Result<Domain*> HotplugTarget(const std::string& name, std::string_view what);
  // One QMP command to domain `name` if it is still domain `id` (kUnavailable if it is gone).
  boost::asio::awaitable<Result<api::Json>> QmpOf(const std::string& name, DomainId id,
                                                  std::string command, api::Json args,
                                                  std::vector<UniqueFd> fds = {});
  // The teardown of a domain's resource sharing: a network's ends detach the domain's ports.
  enforce::SharingRegistry::Teardown ResourceTeardown(const std::string& name);
  [[nodiscard]] Result<void> AdmitToMonitor(const std::string& name, const std::string& label,
                                            DomainId id, Ssidref ssidref,
                                            std::span<const acm::ResourceRef> resources);
  std::unique_ptr<Domain> NewDomain(const config::DomainConfig& config,
                                    const admin::DomainPlan& plan, DomainId id,
                                    const std::string& config_path) const;
  boost::asio::awaitable<Result<void>> Launch(Domain& domain, const config::DomainConfig& config,
                                              const admin::DomainPlan& plan, int incoming_fd);
  // The domain's run directory, its record and its configuration's text (kept for a save).
  [[nodiscard]] Result<void> MakeRunDir(Domain& domain, std::string_view config_text);
  // domain_vtpm.cc: the vTPM a config asks for, as the ACM's resource (its owner label's
  // ssidref); then its start with the launch to measure, the boot images sealed in memfds.
  [[nodiscard]] Result<std::optional<acm::ResourceRef>> VtpmResource(
      const config::DomainConfig& config, const admin::DomainPlan& plan) const;
  [[nodiscard]] Result<void> StartVtpm(Domain& domain, const config::DomainConfig& config,
                                       LaunchRequest& request, std::vector<UniqueFd>& keep);
  // The resource of the domain's existing vTPM: the ssidref of the label it belongs to.
  [[nodiscard]] Result<acm::ResourceRef> VtpmOwnerRef(const std::string& domain,
                                                      const acm::LoadedPolicy& policy) const;
  // Before `cont`: a domain with a vTPM has had its launch measured (QEMU's first INIT).
  [[nodiscard]] static Result<void> VtpmMeasured(const Domain& domain);
  // kPermissionDenied if a revocation took one of the `regions` regions or a disk of a domain
  // being created.
  [[nodiscard]] static Result<void> NothingRevoked(const Domain& domain, std::size_t regions);
  // Attaches each vif to its virtual network; `peers` keeps QEMU's ends open until the spawn.
  [[nodiscard]] Result<std::vector<vm::NicSpec>> AttachNics(Domain& domain,
                                                            const config::DomainConfig& config,
                                                            std::vector<UniqueFd>& peers);
  // Joins each shm region; `peers` keeps QEMU's ends open until the spawn.
  [[nodiscard]] Result<std::vector<vm::ShmDeviceSpec>> JoinRegions(
      Domain& domain, const config::DomainConfig& config, std::vector<UniqueFd>& peers);
  // STE between domain `id` and every other domain holding one of `layers` while either side
  // writes it (CheckShare, kDisk; a denial is audited). Errors: kPermissionDenied, naming both.
  [[nodiscard]] Result<void> CheckDiskPeers(const std::string& name, DomainId id,
                                            std::span<const DiskLayerUse> layers);
  // Whether each of `fdsets` holds exactly one fd in domain `id`'s QEMU (kInternal if not).
  boost::asio::awaitable<Result<api::Json>> CheckFdsets(const std::string& name, DomainId id,
                                                        std::vector<int> fdsets);
  // Ends a disk sharing the manager is done with (not a revocation: other disks on the file stay).
  void ReleaseOwn(acm::SharingId sharing, std::string_view why);
  // A revocation of resource `resource` of domain `id` (a sharing's teardown): the disk holding
  // it is unplugged; a domain that is ending is ignored.
  void RevokeDisk(DomainId id, const std::string& resource, std::string_view why);
  boost::asio::awaitable<Result<void>> UnplugDisk(std::string name, DomainId id,
                                                  std::string disk_id, std::string why,
                                                  bool revoked);
  // After the guest released disk `disk_id`: its nodes and fdsets go, the record forgets it and
  // its sharings end. Errors: kUnavailable when the kernel shows QEMU still holding one of the
  // disk's files (then nothing is forgotten).
  boost::asio::awaitable<Result<void>> FinishDiskUnplug(std::string name, DomainId id,
                                                        std::string disk_id, std::string why);
  // FinishDiskUnplug for a guest's late acknowledgement; a revoked disk QEMU keeps: frozen.
  boost::asio::awaitable<void> LateUnplug(std::string name, DomainId id, std::string disk_id);
  // Waits until QEMU reported DEVICE_DELETED for `device`, at most the unplug timeout; false
  // when it did not or the domain ended.
  boost::asio::awaitable<bool> WaitEjected(const std::string& name, DomainId id,
                                           const std::string& device);
  // A guest that kept a revoked device past the timeout is paused and its QEMU frozen (SIGSTOP:
  // the kernel's doing, not QEMU's); audited. Only destroy ends that.
  boost::asio::awaitable<void> PauseHolder(std::string name, DomainId id, std::string why);
  // device_del (and chardev-remove) of region devices left by UnplugRegion.
  boost::asio::awaitable<void> UnplugDevices(std::string name, DomainId id,
                                             std::vector<std::string> devices, std::string why);
  void AbortCreate(const std::string& name, DomainId id);
  // The end of a domain's run directory: its console output kept (options_.console_logs), then
  // the directory removed. Errors: the removal's.
  [[nodiscard]] Result<void> RemoveRunDir(const std::string& name,
                                          const std::filesystem::path& run_dir);
  void Watch(Domain& domain);
  void OnEvent(const std::string& name, std::string_view event, const api::Json& data);
  // QEMU is gone: its sharings end, its run directory and cgroups go, waiters wake.
  void Release(const std::string& name, const std::string& why);
  // Waits until domain `id` (named `name`) is released, at most `limit`; true if it is gone.
  boost::asio::awaitable<bool> WaitGone(const std::string& name, DomainId id,
                                        std::chrono::milliseconds limit);

  // Refuses records recovery cannot account for: a running one under a policy the store does not
  // know, two with one id, one whose name is not its directory's.
  [[nodiscard]] Result<void> CheckRecords(
      const std::vector<std::pair<std::filesystem::path, DomainRecord>>& records) const;
  [[nodiscard]] Result<void> RecoverOne(const std::filesystem::path& dir);
  [[nodiscard]] Result<void> Readmit(const DomainRecord& record);
  // Watches a found-again domain like one shyped started: its exit, its QMP events.
  void Track(const DomainRecord& record, const std::filesystem::path& dir, std::unique_ptr<Vm> vm);
  // Stops and removes a domain recovery may not keep (half-created, or refused by the policy).
  [[nodiscard]] Result<void> StopAndRemove(const DomainRecord& record,
                                           const std::filesystem::path& dir,
                                           const std::string& why);
  // Ids are never reused, across restarts too (QEMU's uid is base + id, and an id names one
  // domain in the audit trail): RUN_DIR/.next_id holds the next id, durably advanced past each
  // id before it is used. ReadIdMark raises next_id_ to it (kIo if it is damaged).
  [[nodiscard]] Result<void> ReadIdMark();
  [[nodiscard]] Result<DomainId> ReserveId();
  // By name, or by id (decimal digits). Domain-0 is not one of them.
  Domain* Find(const std::string& name);
  const Domain* Find(const std::string& name) const;
  // kConflict if the domain's QEMU was frozen for keeping a revoked device (only destroy ends it)
  // or the domain is being saved.
  [[nodiscard]] static Result<void> Available(const Domain& domain);
  // The domain a save applies to: running or paused, available, no disk hotplug under way.
  [[nodiscard]] Result<Domain*> SaveTarget(const std::string& name);
  // The configuration a save image records (the domain's, labeled as it runs now). Errors:
  // kConflict when its devices are no longer its configuration's, kUnavailable when not kept.
  [[nodiscard]] Result<std::string> SavedConfig(const Domain& domain) const;
  // Polls QEMU's migration of domain `id` until it completes; `what` starts its errors.
  boost::asio::awaitable<Result<void>> AwaitMigration(const std::string& name, DomainId id,
                                                      std::string what);
  // A restore's QEMU (started with -incoming defer) reads the image's stream from `image_fd`.
  boost::asio::awaitable<Result<void>> Incoming(Domain& domain, int image_fd);
  // Create, and for a restore (`incoming` valid) the guest's state read from that image stream.
  boost::asio::awaitable<Result<DomainView>> CreateFrom(const config::DomainConfig& config,
                                                        std::string config_path, UniqueFd incoming);
  // The guest a relabel applies to: running or paused, not frozen, no disk hotplug under way.
  [[nodiscard]] Result<Domain*> RelabelTarget(const std::string& name);
  [[nodiscard]] Result<RelabelOutcome> RelabelDomain0(const acm::LoadedPolicy& active,
                                                      const std::string& label, Ssidref ssidref);
  DomainView ViewOf(const Domain& domain) const;

  boost::asio::io_context& io_;
  acm::Acm& acm_;
  enforce::SharingRegistry& sharings_;
  vswitch::VirtualNetworks& networks_;
  shm::Regions& regions_;
  store::StateStore& store_;
  const enforce::BootImages* images_;
  Launcher& launcher_;
  const Clock& clock_;
  DenialSink denials_;
  ManagerOptions options_;
  std::map<std::string, std::unique_ptr<Domain>> domains_;
  std::uint32_t next_id_ = 1;
  bool id_mark_read_ = false;
  // False once the manager is destroyed (a create's coroutine may outlive it).
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  // Sharings the manager itself ends after a disk's unplug (or an undone attach): their teardown
  // must not take other disks that use the same file out as if revoked.
  std::set<acm::SharingId> own_releases_;
};

}  // namespace shype::daemon
