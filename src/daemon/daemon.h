// SPDX-License-Identifier: Apache-2.0
//
// Daemon is shyped: the reference monitor (ACM) with the state directory, the labeled QEMU
// domains it runs, and the API that is the only way to create, share with or relabel them.
// Everything runs on one io_context thread; the ACM's hooks are also safe from other threads.
#pragma once

#include <sys/types.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audit_log.h"
#include "console_logs.h"
#include "domain_manager.h"
#include "launcher.h"
#include "shype/acm/acm.h"
#include "shype/admin/admin.h"
#include "shype/admin/domain_plan.h"
#include "shype/api/command.h"
#include "shype/api/http_server.h"
#include "shype/common/unique_fd.h"
#include "shype/enforce/boot_images.h"
#include "shype/enforce/sharing_registry.h"
#include "shype/store/state_store.h"
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
  // --socket-group: the API socket root:GROUP 0660 and the state directory root:GROUP 0710, so
  // the group's members may use the API; nullopt: root's alone (socket 0600, directory 0700).
  std::optional<gid_t> socket_group;
  // When STATE/audit.log rotates and how many rotated files stay (--audit-max-size, --audit-keep).
  AuditRotation audit = {};
};

class Daemon final {
 public:
  Daemon(boost::asio::io_context& io, Options options);
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  ~Daemon();

  // Opens the state directory, loads the active policy into the ACM, finds the domains a
  // previous shyped left running, and starts serving the API. Errors: any of those failing.
  [[nodiscard]] Result<void> Start();
  // Stops serving; running domains keep running (a restarted shyped finds them again).
  void Stop();

  api::Json Statistics() const;

 private:
  void RegisterRoutes();
  // Routes a decoded request to its handler (one per api::Command alternative).
  boost::asio::awaitable<Result<api::Json>> Dispatch(api::Command command);
  // The domain handlers: the request's config parsed, the manager's result as the reply.
  boost::asio::awaitable<Result<api::Json>> Create(const api::CreateDomain& command);
  boost::asio::awaitable<Result<api::Json>> Done(boost::asio::awaitable<Result<void>> work);
  boost::asio::awaitable<Result<api::Json>> AttachNic(const api::AttachNetwork& command);
  boost::asio::awaitable<Result<api::Json>> AttachShm(const api::AttachRegion& command);
  boost::asio::awaitable<Result<api::Json>> AttachBlock(const api::AttachDisk& command);
  Result<api::Json> Regions() const;
  // vtpm_api.cc: vtpm.list, vtpm.ca, vtpm.destroy, domain.attest; a domain's vTPM for info
  // (null when it has none).
  Result<api::Json> VtpmJson(const std::string& domain) const;
  api::Json VtpmRecordJson(const vtpm::VtpmRecord& record) const;
  Result<api::Json> Vtpms() const;
  Result<api::Json> VtpmCa();
  Result<api::Json> DestroyVtpm(const api::DestroyVtpm& command);
  boost::asio::awaitable<Result<api::Json>> Attest(api::AttestDomain command);
  Result<api::Json> List() const;
  Result<api::Json> Info(const std::string& name) const;
  // Domain-0 as list and info show it: its live label, the host's uptime.
  api::Json Domain0Json() const;
  Result<api::Json> Relabel(const api::RelabelDomain& command);
  boost::asio::awaitable<Result<api::Json>> Save(const api::SaveDomain& command);
  boost::asio::awaitable<Result<api::Json>> Restore(const api::RestoreDomain& command);
  Result<api::Json> ConsoleLog(const std::string& name) const;
  // The virtual networks, their ports and counters (all, or the one named).
  Result<api::Json> Networks(const std::string* name) const;
  // With a socket group: the state directory root:GROUP 0710, so the group reaches the socket.
  [[nodiscard]] Result<void> ShareStateDir();
  // The host-wide lock (unless isolated) and the state directory's lock, holder named in each.
  [[nodiscard]] Result<void> TakeLocks();
  // Opens the store (state checks) and loads the active policy into the ACM.
  [[nodiscard]] Result<void> LoadState();
  // Opens the boot image directories and checks QEMU can be confined (Landlock).
  [[nodiscard]] Result<void> PrepareJails();
  // An isolated instance's slot of QEMU uids (1..999), held by flock while it runs.
  [[nodiscard]] Result<std::uint32_t> TakeUidSlot();
  // A record of the domain manager's (or the daemon's own): time and policy added here.
  void AuditAction(const AuditNote& note);
  // resource.label.add / .remove, each change audited.
  Result<api::Json> LabelResource(const api::AddResourceLabel& command);
  Result<api::Json> UnlabelResource(const api::RemoveResourceLabel& command);
  // One record of a resource label change (resource_label_audit.h).
  void AuditResourceLabel(const std::string& resource,
                          const std::optional<api::ResourceLabelReply>& before,
                          const std::optional<api::ResourceLabelReply>& after);

  boost::asio::io_context& io_;
  Options options_;
  UniqueFd host_lock_fd_;  // flock(/run/shype/shyped.lock): one shyped per host
  UniqueFd lock_fd_;       // flock(STATE/shyped.lock): one shyped per state directory
  std::optional<store::StateStore> store_;
  acm::SystemClock clock_;
  std::unique_ptr<AuditLog> audit_log_;
  std::optional<ConsoleLogs> console_logs_;  // STATE/logs: ended domains' console output
  std::unique_ptr<acm::AuditSink> audit_sink_;
  std::unique_ptr<acm::Acm> acm_;
  // Every live sharing and how its enforcement point undoes it: a domain's end, a revocation
  // and an aborted create all end sharings through it.
  std::unique_ptr<enforce::SharingRegistry> sharings_;
  std::unique_ptr<vswitch::VirtualNetworks> networks_;  // borrows the two above
  std::unique_ptr<shm::Regions> regions_;               // borrows the acm and the sharings
  std::optional<admin::Admin> admin_;
  std::optional<enforce::BootImages> boot_images_;
  UniqueFd uid_slot_lock_;  // isolated instances: /run/shype/uid-slot-N.lock
  api::HttpServer server_{io_};
  SystemClock domain_clock_;
  std::unique_ptr<Launcher> launcher_;
  std::unique_ptr<vtpm::Service> vtpms_;  // STATE/vtpm; outlives the manager, which uses it
  // Every domain's lifecycle; made once the state and the jails are ready.
  std::unique_ptr<DomainManager> domains_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace shype::daemon
