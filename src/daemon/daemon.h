// SPDX-License-Identifier: Apache-2.0
//
// Daemon is shyped: the reference monitor (ACM) with the state directory, the labeled QEMU
// domains it runs, and the API that is the only way to create, share with or relabel them.
// Everything runs on one io_context thread; the ACM's hooks are also safe from other threads.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "audit_log.h"
#include "domain_record.h"
#include "shype/acm/acm.h"
#include "shype/admin/admin.h"
#include "shype/admin/domain_plan.h"
#include "shype/api/command.h"
#include "shype/api/http_server.h"
#include "shype/common/unique_fd.h"
#include "shype/enforce/boot_images.h"
#include "shype/enforce/sharing_registry.h"
#include "shype/store/state_store.h"
#include "shype/vm/jail.h"
#include "shype/vm/qemu_process.h"
#include "shype/vm/qmp_client.h"
#include "shype/vm/vm_spec.h"

namespace shype::daemon {

struct Options {
  std::filesystem::path state_dir;
  vm::Accel accel = vm::Accel::kAuto;  // the default for configs without accel =
  std::filesystem::path qemu = "qemu-system-x86_64";
  api::ServerLimits api_limits;  // the API's timeouts, connection cap and request size (--api-*)
  // For isolated tests only: no host-wide lock, so the Chinese Wall holds only among this
  // instance's domains. Logged at start and shown by `list`.
  bool isolated_instance = false;
  // Where boot images (kernel, initrd) may come from; empty: STATE/images.
  std::vector<std::filesystem::path> image_dirs;
  // Domain N's QEMU runs as uid/gid qemu_uid_base + N (an isolated instance offsets the base
  // so two instances never share a uid).
  std::uint32_t qemu_uid_base = 2100000000;
};

class Daemon final : public admin::LiveSystem {
 public:
  Daemon(boost::asio::io_context& io, Options options);
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  ~Daemon() override;

  // Opens the state directory, loads the active policy into the ACM, finds the domains a
  // previous shyped left running, and starts serving the API. Errors: any of those failing.
  [[nodiscard]] Result<void> Start();
  // Stops serving; running domains keep running (a restarted shyped finds them again).
  void Stop();

  // admin::LiveSystem
  std::vector<admin::RunningDomain> Domains() const override;
  const admin::ActivePolicy& Active() const override { return *active_; }
  Result<acm::PreparedUpdate> PrepareUpdate(const admin::ActivePolicy& next) override;
  Result<void> CommitUpdate(acm::PreparedUpdate prepared, const admin::ActivePolicy& next) override;
  const acm::Acm& Monitor() const override { return *acm_; }
  // "'bank1' (id 1)" for a domain id, "Domain-0" for 0.
  std::string NameOf(DomainId id) const override;
  std::string DumpLivePolicy() const override;
  api::Json Statistics() const override;
  const enforce::BootImages* BootImages() const override {
    return boot_images_ ? &*boot_images_ : nullptr;
  }

 private:
  struct Domain {
    DomainRecord record;
    std::filesystem::path run_dir;
    std::unique_ptr<vm::QemuProcess> process;
    std::shared_ptr<vm::QmpClient> qmp;
    DomainState state = DomainState::kCreating;
    std::chrono::steady_clock::time_point started;
    double admission_us = 0;  // label, authorization, Chinese Wall and resource checks
    double launch_ms = 0;     // QEMU spawn, QMP handshake and cont
    bool created_run_dir = false;
  };

  void RegisterRoutes();
  // Routes a decoded request to its handler (one per api::Command alternative).
  boost::asio::awaitable<Result<api::Json>> Dispatch(api::Command command);
  boost::asio::awaitable<Result<api::Json>> Create(const api::CreateDomain& command);
  // The create request's configuration, parsed and checked (name free, kernel given, no label
  // in `extra`, only supported devices). Errors name the file and the field.
  [[nodiscard]] Result<config::DomainConfig> CheckCreateConfig(const api::CreateDomain& command);
  // The record and state of a domain about to be launched from `plan`.
  std::unique_ptr<Domain> NewDomain(const config::DomainConfig& config,
                                    const admin::DomainPlan& plan, DomainId id,
                                    const std::string& config_path) const;
  // Plans `config` (opening what it uses) and admits it through AdmitToMonitor.
  [[nodiscard]] Result<admin::DomainPlan> Admit(const config::DomainConfig& config, DomainId id);
  // The one admission of create and crash recovery: the ACM admits the domain with all its
  // resources or records nothing; a refusal names the rule and the other party.
  [[nodiscard]] Result<void> AdmitToMonitor(const std::string& name, const std::string& label,
                                            DomainId id, Ssidref ssidref,
                                            std::span<const acm::ResourceRef> resources);
  boost::asio::awaitable<Result<void>> Launch(Domain& domain, const config::DomainConfig& config,
                                              const admin::DomainPlan& plan);
  // The run directory (exclusive mkdir of a checked name) and the first record.
  [[nodiscard]] Result<void> MakeRunDir(Domain& domain);
  // What shyped makes for one QEMU beside the plan's fds; held until QEMU has them.
  struct LaunchFds {
    UniqueFd qmp_ours, qmp_theirs, qmp_listen, console_listen, console_log;
  };
  // The QEMU spec of a planned domain: fds only (plan's boot images and disk layers, `fds`).
  [[nodiscard]] Result<vm::VmSpec> MakeSpec(const Domain& domain,
                                            const config::DomainConfig& config,
                                            const admin::DomainPlan& plan, LaunchFds& fds);
  boost::asio::awaitable<Result<api::Json>> Destroy(const std::string& name);
  // ACPI power button, then waits up to `timeout` for QEMU to exit.
  boost::asio::awaitable<Result<api::Json>> Shutdown(const std::string& name,
                                                     std::chrono::seconds timeout);
  // Waits until the domain is gone (its exit released), at most `limit`; true if gone.
  boost::asio::awaitable<bool> WaitGone(const std::string& name, std::chrono::milliseconds limit);
  // Sends a QMP command; on success the domain's state becomes `state` (if given).
  boost::asio::awaitable<Result<api::Json>> QmpAction(const std::string& name, std::string command,
                                                      std::optional<DomainState> state);
  Result<api::Json> List() const;
  Result<api::Json> Info(const std::string& name) const;
  Result<api::Json> ConsoleLog(const std::string& name) const;
  // Undoes a create that did not finish: kills its QEMU (and its cgroup), removes its run
  // directory, forgets it, releases its ACM admission and sharings.
  void AbortCreate(const std::string& name, DomainId id);
  struct CreateRollback {
    CreateRollback(Daemon* daemon, std::string domain, DomainId domain_id)
        : self(daemon), name(std::move(domain)), id(domain_id) {}
    Daemon* self;
    std::string name;
    DomainId id;
    bool armed = true;
    CreateRollback(const CreateRollback&) = delete;
    CreateRollback& operator=(const CreateRollback&) = delete;
    ~CreateRollback();
  };
  void WatchDomain(Domain& domain);
  void OnQmpEvent(const std::string& name, const vm::QmpEvent& event);
  void Release(const std::string& name, const std::string& why);
  // The host-wide lock (unless isolated) and the state directory's lock, holder named in each.
  [[nodiscard]] Result<void> TakeLocks();
  // Opens the store (state checks) and loads the active policy into the ACM.
  [[nodiscard]] Result<void> LoadState();
  // Opens the boot image directories and checks QEMU can be confined (Landlock).
  [[nodiscard]] Result<void> PrepareJails();
  // An isolated instance's slot of QEMU uids (1..999), held by flock while it runs.
  [[nodiscard]] Result<std::uint32_t> TakeUidSlot();
  // The jail for domain `id`'s QEMU (uid/gid, Landlock ruleset readable on `readable_fds`,
  // cgroups with limits from its memory size). Errors: kUnavailable, kIo.
  [[nodiscard]] Result<vm::QemuJail> MakeJail(const DomainRecord& record, vm::Accel accel,
                                              std::span<const int> readable_fds);
  [[nodiscard]] Result<void> Recover();
  // Refuses when a running domain's record names a policy the store does not know (lost state).
  [[nodiscard]] Result<void> CheckRecordsKnown(const std::vector<DomainRecord>& records);
  [[nodiscard]] Result<void> RecoverOne(const std::filesystem::path& dir);
  // Admits a found-again domain as create would (AdmitToMonitor); the error says why it may not
  // run under the enforced policy.
  [[nodiscard]] Result<void> Readmit(const DomainRecord& record, const acm::PolicySnapshot& policy);
  void ReconnectQmp(const std::string& name, const std::filesystem::path& dir);
  void Track(const DomainRecord& record, const std::filesystem::path& dir,
             std::unique_ptr<vm::QemuProcess> process);
  // Removes a run directory whose domain never ran (no record, or still "creating"), after
  // killing any QEMU of it (its cgroup when `uid` is known, the recorded pid, and any process
  // that is its QEMU); audited. Errors: kIo when a QEMU of it cannot be stopped.
  [[nodiscard]] Result<void> RemoveHalfCreated(const std::filesystem::path& dir,
                                               const std::string& name, const DomainRecord& record,
                                               const std::string& why);
  void AuditDenial(acm::Hook hook, const std::string& subject, const std::string& reason);
  Domain* Find(const std::string& name);

  boost::asio::io_context& io_;
  Options options_;
  UniqueFd host_lock_fd_;  // flock(/run/shype/shyped.lock): one shyped per host
  UniqueFd lock_fd_;       // flock(STATE/shyped.lock): one shyped per state directory
  std::optional<store::StateStore> store_;
  acm::SystemClock clock_;
  std::unique_ptr<AuditLog> audit_log_;
  std::unique_ptr<acm::AuditSink> audit_sink_;
  std::unique_ptr<acm::Acm> acm_;
  // Every live sharing and how its enforcement point undoes it: a domain's end, a revocation
  // and an aborted create all end sharings through it.
  std::unique_ptr<enforce::SharingRegistry> sharings_;
  std::optional<admin::Admin> admin_;
  // The policy the ACM enforces, as admin's view of it (label map, XML header); replaced on
  // every committed update so domain plans and ACM decisions always use the same policy.
  std::optional<admin::ActivePolicy> active_;
  std::optional<enforce::BootImages> boot_images_;
  UniqueFd uid_slot_lock_;  // isolated instances: /run/shype/uid-slot-N.lock
  api::HttpServer server_{io_};
  std::map<std::string, std::unique_ptr<Domain>> domains_;
  std::uint32_t next_id_ = 1;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace shype::daemon
