// SPDX-License-Identifier: Apache-2.0
//
// Domains: create (checks before the guest runs a single instruction), destroy, pause,
// shutdown, list, info, console log, and release of Chinese Wall counts when QEMU exits.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <cstring>

#include "await.h"
#include "daemon.h"
#include "shype/admin/verdict_text.h"
#include "shype/api/text.h"
#include "shype/common/file.h"
#include "shype/common/log.h"
#include "shype/config/domain_config.h"
#include "shype/config/resource_name.h"

namespace shype::daemon {
namespace asio = boost::asio;
using api::Json;

namespace {

std::int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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

// Binds a listening unix socket at `path` (mode 0600) for QEMU to accept on: QEMU gets the fd,
// never the path.
Result<UniqueFd> ListenUnix(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.native().size() >= sizeof addr.sun_path) {
    return Fail(ErrorCode::kInvalidArgument, "socket path '{}' is too long", path.string());
  }
  std::memcpy(addr.sun_path, path.c_str(), path.native().size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid() || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::chmod(path.c_str(), 0600) != 0 || ::listen(fd.get(), 4) != 0) {
    return Fail(ErrorCode::kIo, "cannot listen on '{}': {}", path.string(), std::strerror(errno));
  }
  return fd;
}

vm::DiskFormat ToVmFormat(enforce::ImageFormat format) {
  return format == enforce::ImageFormat::kQcow2 ? vm::DiskFormat::kQcow2 : vm::DiskFormat::kRaw;
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

}  // namespace

// Checks the domain's label, authorization, Chinese Wall and every resource with the ACM, and
// records the domain and its resource sharings there. On any denial nothing stays recorded.
Result<admin::DomainPlan> Daemon::Admit(const config::DomainConfig& config, DomainId id) {
  auto plan = admin::PlanDomain(config, *acm_, *store_, &*boot_images_);
  if (!plan) return Fail(plan.error());
  if (!plan->permitted) {
    AuditDenial(acm::Hook::kDomainCreate, plan->name, plan->reason);
    return Fail(ErrorCode::kPermissionDenied, "domain '{}' denied: {}", plan->name, plan->reason);
  }
  std::vector<acm::ResourceRef> resources;
  for (const auto& use : plan->resources) {
    if (!use.res_ssidref) {  // not a label of the enforced policy, or not the labeled object
      AuditDenial(acm::Hook::kResource, plan->name, use.resource + ": " + use.reason);
      return Fail(ErrorCode::kPermissionDenied,
                  "domain '{}' (label {}) may not use resource '{}' (label {}:{}:{}): {}",
                  plan->name, plan->label, use.resource, use.res_policy_type, use.res_policy,
                  use.res_label, use.reason);
    }
    resources.push_back(acm::ResourceRef{use.resource, *use.res_ssidref, use.kind});
  }
  if (auto r = AdmitToMonitor(plan->name, plan->label, id, plan->ssidref, resources); !r) {
    return Fail(r.error());
  }
  return plan;
}

Result<void> Daemon::AdmitToMonitor(const std::string& name, const std::string& label, DomainId id,
                                    Ssidref ssidref, std::span<const acm::ResourceRef> resources) {
  acm::Admission admission = acm_->AdmitDomain(id, ssidref, resources);
  if (admission.verdict.permitted()) {
    // A disk is undone by QEMU's exit (it holds the only fds); its end is logged here.
    for (acm::SharingId sharing : admission.sharings) {
      auto added = sharings_->Add(sharing, [name](const acm::Sharing& s, std::string_view why) {
        log::Info("domain {}: {} {} released ({})", name,
                  acm::ResourceKindName(s.resource_kind.value_or(acm::ResourceKind::kDisk)),
                  s.resource, why);
      });
      if (!added) return Fail(added.error());
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

Result<config::DomainConfig> Daemon::CheckCreateConfig(const api::CreateDomain& command) {
  const std::string& path = command.path;  // the configuration's file name, for messages
  auto config = config::DomainConfig::Parse(command.config, path);
  if (!config) return Fail(config.error());
  if (auto v = config->Validate(); !v) return Fail(v.error());
  std::string name = *config->Name();
  if (name == "Domain-0" || Find(name) != nullptr) {
    return Fail(ErrorCode::kConflict, "a domain named '{}' is already running", name);
  }
  auto kernel = config->GetString("kernel");
  if (!*kernel) return Fail(ErrorCode::kInvalidArgument, "{}: 'kernel' is required", path);
  if (auto extra = config->GetString("extra");
      *extra && (*extra)->find("shype.label=") != std::string::npos) {
    return Fail(ErrorCode::kInvalidArgument,
                "{}: 'extra' may not set shype.label= (shyped gives the guest its label)", path);
  }
  if (!config->Vifs()->empty() || !config->Shms()->empty() || !config->Vtpms()->empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "{}: vif, shm and vtpm devices are not supported by this shyped yet (they are "
                "checked by dry-run); remove them to start the domain",
                path);
  }
  return std::move(*config);
}

std::unique_ptr<Daemon::Domain> Daemon::NewDomain(const config::DomainConfig& config,
                                                  const admin::DomainPlan& plan, DomainId id,
                                                  const std::string& config_path) const {
  auto domain = std::make_unique<Domain>();
  domain->run_dir = options_.state_dir / "run" / plan.name;
  domain->record.id = id;
  domain->record.name = plan.name;
  domain->record.policy = plan.policy;
  domain->record.label = plan.label;
  domain->record.ssidref = plan.ssidref;
  domain->record.memory_mib = static_cast<std::uint32_t>(config.MemoryMiB()->value_or(128));
  domain->record.vcpus = config.Vcpus()->value_or(1);
  domain->record.config_path = config_path;
  domain->record.created_at = UnixNow();
  for (const auto& use : plan.resources) domain->record.resources.push_back(use.resource);
  domain->record.uid = options_.qemu_uid_base + id.value();
  domain->state = DomainState::kCreating;
  return domain;
}

asio::awaitable<Result<Json>> Daemon::Create(const api::CreateDomain& command) {
  auto config = CheckCreateConfig(command);
  if (!config) co_return Fail(config.error());
  const std::string name = *config->Name();
  DomainId id{next_id_++};
  auto t0 = std::chrono::steady_clock::now();
  auto plan = Admit(*config, id);
  auto t1 = std::chrono::steady_clock::now();
  if (!plan) co_return Fail(plan.error().WithContext(command.path));
  auto domain = NewDomain(*config, *plan, id, command.path);
  Domain& d = *domain;
  domains_[name] = std::move(domain);
  // SECURITY: whatever ends this coroutine before the domain runs (an error, an exception, the
  // coroutine being destroyed) undoes everything admitted and spawned for it.
  CreateRollback rollback{this, name, id};
  auto launched = co_await Launch(d, *config, *plan);
  if (!launched) co_return Fail(launched.error());
  rollback.armed = false;
  // Look the domain up again: nothing may be assumed about it across a suspension.
  Domain* started = Find(name);
  if (started == nullptr || started->record.id != id) {
    co_return Fail(ErrorCode::kUnavailable, "domain '{}' ended while it was being started", name);
  }
  started->admission_us = std::chrono::duration<double, std::micro>(t1 - t0).count();
  started->launch_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
  log::Info("domain {} (id {}, label {}) started, pid {}; checks {:.0f} us, launch {:.1f} ms", name,
            id, started->record.label, started->record.pid, started->admission_us,
            started->launch_ms);
  co_return Info(name);
}

Result<void> Daemon::MakeRunDir(Domain& d) {
  // SECURITY: an exclusive mkdir of a checked name directly under STATE/run; an existing
  // directory is never reused or removed here.
  if (d.run_dir.parent_path() != options_.state_dir / "run" ||
      !config::IsValidObjectName(d.run_dir.filename().string())) {
    return Fail(ErrorCode::kInvalidArgument, "invalid domain name '{}'", d.record.name);
  }
  if (::mkdir(d.run_dir.c_str(), 0700) != 0) {
    return Fail(ErrorCode::kIo, "cannot create '{}': {}", d.run_dir.string(), std::strerror(errno));
  }
  d.created_run_dir = true;
  return SaveDomainRecord(d.run_dir, d.record);
}

Result<vm::VmSpec> Daemon::MakeSpec(const Domain& d, const config::DomainConfig& config,
                                    const admin::DomainPlan& plan, LaunchFds& fds) {
  vm::VmSpec spec;
  spec.name = d.record.name;
  spec.memory_mib = d.record.memory_mib;
  spec.vcpus = d.record.vcpus;
  spec.qemu_binary = options_.qemu;
  auto accel = config.Accelerator();
  spec.accel = vm::ResolveAccel(accel->has_value() ? ToVmAccel(**accel) : options_.accel);
  // SECURITY: QEMU gets fds only: boot images and every disk layer were opened and checked while
  // planning; the sockets and the console log are made here. It opens nothing by path.
  if (!plan.kernel) return Fail(ErrorCode::kInternal, "the plan has no kernel");
  spec.kernel_fd = plan.kernel->fd.get();
  if (plan.ramdisk) spec.initrd_fd = plan.ramdisk->fd.get();
  spec.append = config.GetString("extra")->value_or("") +
                fmt::format(" shype.label={}:{}", d.record.policy, d.record.label);
  spec.disks = DisksOf(plan);
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    return Fail(ErrorCode::kIo, "socketpair: {}", std::strerror(errno));
  }
  fds.qmp_ours = UniqueFd(pair[0]);
  fds.qmp_theirs = UniqueFd(pair[1]);
  auto qmp_listen = ListenUnix(d.run_dir / "qmp.sock");
  if (!qmp_listen) return Fail(qmp_listen.error());
  fds.qmp_listen = std::move(*qmp_listen);
  auto console_listen = ListenUnix(d.run_dir / "console.sock");
  if (!console_listen) return Fail(console_listen.error());
  fds.console_listen = std::move(*console_listen);
  fds.console_log = UniqueFd(::open((d.run_dir / "console.log").c_str(),
                                    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fds.console_log.valid()) {
    return Fail(ErrorCode::kIo, "cannot create the console log: {}", std::strerror(errno));
  }
  spec.qmp_fd = fds.qmp_theirs.get();
  spec.qmp_listen_fd = fds.qmp_listen.get();
  spec.console.listen_fd = fds.console_listen.get();
  spec.console.log_fd = fds.console_log.get();
  spec.start_paused = true;
  return spec;
}

asio::awaitable<Result<void>> Daemon::Launch(Domain& d, const config::DomainConfig& config,
                                             const admin::DomainPlan& plan) {
  if (auto r = MakeRunDir(d); !r) co_return r;
  LaunchFds fds;
  auto made = MakeSpec(d, config, plan, fds);
  if (!made) co_return Fail(made.error());
  const vm::VmSpec& spec = *made;
  auto command = vm::BuildQemuCommand(spec);
  if (!command) co_return Fail(command.error());
  std::vector<int> readable{spec.kernel_fd};
  if (spec.initrd_fd >= 0) readable.push_back(spec.initrd_fd);
  auto jail = MakeJail(d.record, spec.accel, readable);
  if (!jail) co_return Fail(jail.error());
  auto process = vm::QemuProcess::Spawn(io_, *command, d.run_dir / "qemu.log", *jail);
  if (!process) co_return Fail(process.error());
  d.process = std::move(*process);
  fds.qmp_theirs.Reset();
  d.record.pid = d.process->pid();
  d.record.start_time = d.process->identity().start_time;
  d.started = std::chrono::steady_clock::now();
  if (auto r = SaveDomainRecord(d.run_dir, d.record); !r) co_return r;
  // Named lambdas: g++ 12 destroys temporaries of a co_await expression twice.
  auto attach = [this, fd = std::make_shared<UniqueFd>(std::move(fds.qmp_ours))](auto done) {
    vm::QmpClient::AttachFd(io_, std::move(*fd), std::move(done));
  };
  auto qmp = co_await AwaitCallback<Result<std::shared_ptr<vm::QmpClient>>>(attach);
  if (!qmp) {
    std::string log = ReadTextFileBounded(d.run_dir / "qemu.log", 1U << 16).value_or("");
    co_return Fail(ErrorCode::kUnavailable, "QEMU for '{}' did not come up: {}{}", d.record.name,
                   qmp.error().message, log.empty() ? "" : "\nQEMU said: " + log);
  }
  d.qmp = *qmp;
  std::string name = d.record.name;
  d.qmp->SetEventHandler([this, name](const vm::QmpEvent& e) { OnQmpEvent(name, e); });
  // Every check passed: only now does the guest run its first instruction.
  auto resume = [&d](auto done) { d.qmp->Execute("cont", nullptr, std::move(done)); };
  auto cont = co_await AwaitCallback<Result<Json>>(resume);
  if (!cont) co_return Fail(cont.error());
  d.state = DomainState::kRunning;
  d.record.state = DomainState::kRunning;
  // Only now may QEMU's exit release the domain: until here Create owns it (and `d`), and any
  // failure above is cleaned up by Create itself.
  WatchDomain(d);
  co_return SaveDomainRecord(d.run_dir, d.record);
}

Daemon::CreateRollback::~CreateRollback() {
  if (armed) self->AbortCreate(name, id);
}

void Daemon::AbortCreate(const std::string& name, DomainId id) {
  auto it = domains_.find(name);
  if (it != domains_.end() && it->second->record.id == id) {
    Domain& d = *it->second;
    if (d.process) (void)d.process->Signal(SIGKILL);
    d.process.reset();  // kills and reaps
    if (d.record.uid != 0) {
      vm::DomainCgroup::KillAll(std::to_string(d.record.uid));
      vm::DomainCgroup::Remove(std::to_string(d.record.uid));
    }
    if (d.created_run_dir) {
      std::error_code ec;
      std::filesystem::remove_all(d.run_dir, ec);
    }
    domains_.erase(it);
  }
  (void)sharings_->EndDomain(id, "its create was undone");
}

void Daemon::WatchDomain(Domain& d) {
  std::string name = d.record.name;
  d.process->AsyncWaitExit(
      [this, name](const vm::ExitStatus& status) { Release(name, status.Describe()); });
}

void Daemon::OnQmpEvent(const std::string& name, const vm::QmpEvent& event) {
  Domain* d = Find(name);
  if (d == nullptr) return;
  if (event.name == "STOP") d->state = DomainState::kPaused;
  if (event.name == "RESUME") d->state = DomainState::kRunning;
  if (event.name == "SHUTDOWN") d->state = DomainState::kShuttingDown;
}

// QEMU is gone: release the domain's Chinese Wall counts and sharings, forget it.
void Daemon::Release(const std::string& name, const std::string& why) {
  auto it = domains_.find(name);
  if (it == domains_.end()) return;
  Domain& d = *it->second;
  if (d.qmp) d.qmp->Close();
  auto released = sharings_->EndDomain(d.record.id, why);
  if (!released) log::Warn("domain {}: ACM release: {}", name, released.error().message);
  std::error_code ec;
  std::filesystem::remove_all(d.run_dir, ec);
  if (d.record.uid != 0) vm::DomainCgroup::Remove(std::to_string(d.record.uid));
  log::Info("domain {} (id {}) ended: {}", name, d.record.id, why);
  domains_.erase(it);
}

asio::awaitable<Result<Json>> Daemon::Destroy(const std::string& name) {
  Domain* d = Find(name);
  if (d == nullptr) co_return Fail(ErrorCode::kNotFound, "no running domain named '{}'", name);
  if (!d->process || d->state == DomainState::kCreating) {
    co_return Fail(ErrorCode::kConflict,
                   "domain '{}' is still being created; its create either starts it or undoes "
                   "everything; try again in a moment",
                   name);
  }
  if (auto r = d->process->Signal(SIGKILL); !r && r.error().code != ErrorCode::kUnavailable) {
    co_return Fail(r.error());
  }
  // The reply waits until QEMU has exited and its counts are released.
  if (!co_await WaitGone(name, std::chrono::seconds(5))) {
    co_return Fail(ErrorCode::kInternal, "domain '{}' did not exit after SIGKILL", name);
  }
  co_return Json::object();
}

asio::awaitable<bool> Daemon::WaitGone(const std::string& name, std::chrono::milliseconds limit) {
  // Release() runs from the pidfd notification; this only waits for it to have happened.
  asio::steady_timer timer(io_);
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (Find(name) != nullptr && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(asio::use_awaitable);
  }
  co_return Find(name) == nullptr;
}

asio::awaitable<Result<Json>> Daemon::Shutdown(const std::string& name,
                                               std::chrono::seconds timeout) {
  auto sent = co_await QmpAction(name, "system_powerdown", DomainState::kShuttingDown);
  if (!sent) co_return sent;
  if (!co_await WaitGone(name, timeout)) {
    co_return Fail(ErrorCode::kUnavailable,
                   "domain '{}' did not power off within {} s of the ACPI power-button request "
                   "(does the guest handle ACPI?); 'shype destroy {}' stops it at once",
                   name, timeout.count(), name);
  }
  co_return Json::object();
}

asio::awaitable<Result<Json>> Daemon::QmpAction(const std::string& name, std::string command,
                                                std::optional<DomainState> state) {
  Domain* d = Find(name);
  if (d == nullptr) co_return Fail(ErrorCode::kNotFound, "no running domain named '{}'", name);
  if (!d->qmp || !d->qmp->is_open()) {
    co_return Fail(ErrorCode::kUnavailable, "domain '{}' has no QMP connection", name);
  }
  auto qmp = d->qmp;
  auto execute = [qmp, command](auto done) { qmp->Execute(command, nullptr, std::move(done)); };
  auto reply = co_await AwaitCallback<Result<Json>>(execute);
  if (!reply) co_return Fail(reply.error());
  if (Domain* again = Find(name); again != nullptr && state) again->state = *state;
  co_return Json::object();
}

Result<Json> Daemon::List() const {
  Json list = Json::array();
  auto policy = acm_->policy();
  double uptime =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  list.push_back(
      {{"name", "Domain-0"},
       {"id", 0},
       {"memory", 0},
       {"vcpus", 0},
       {"state", "running"},
       {"time", uptime},
       {"label", fmt::format("ACM:{}:{}", policy->name(), policy->labels().bootstrap_label())}});
  for (const auto& [name, d] : domains_) {
    double time =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - d->started).count();
    list.push_back({{"name", name},
                    {"id", d->record.id.value()},
                    {"memory", d->record.memory_mib},
                    {"vcpus", d->record.vcpus},
                    {"state", DomainStateName(d->state)},
                    {"time", time},
                    {"label", fmt::format("ACM:{}:{}", d->record.policy, d->record.label)}});
  }
  return Json{{"domains", list}, {"isolated_instance", options_.isolated_instance}};
}

Result<Json> Daemon::Info(const std::string& name) const {
  auto it = domains_.find(name);
  if (it == domains_.end()) return Fail(ErrorCode::kNotFound, "no running domain named '{}'", name);
  const Domain& d = *it->second;
  return Json{{"name", name},
              {"id", d.record.id.value()},
              {"label", fmt::format("ACM:{}:{}", d.record.policy, d.record.label)},
              {"ssidref", fmt::format("0x{:08x}", d.record.ssidref.value())},
              {"state", DomainStateName(d.state)},
              {"pid", d.record.pid},
              {"memory", d.record.memory_mib},
              {"vcpus", d.record.vcpus},
              {"resources", d.record.resources},
              {"config", d.record.config_path},
              {"console_socket", (d.run_dir / "console.sock").string()},
              {"console_log", (d.run_dir / "console.log").string()},
              {"timings", {{"admission_us", d.admission_us}, {"launch_ms", d.launch_ms}}}};
}

Result<Json> Daemon::ConsoleLog(const std::string& name) const {
  auto it = domains_.find(name);
  if (it == domains_.end()) return Fail(ErrorCode::kNotFound, "no running domain named '{}'", name);
  // A guest decides how much it prints: the reply carries the last 8 MiB (a longer log stays
  // readable), and any byte: base64-encoded, exactly (docs/api.md).
  constexpr std::uint64_t kMaxConsoleBytes = 8U << 20;
  const auto path = it->second->run_dir / "console.log";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  std::string log;
  struct stat st {};
  if (fd.valid() && ::fstat(fd.get(), &st) == 0 && st.st_size > 0) {
    const auto size = static_cast<std::uint64_t>(st.st_size);
    const std::uint64_t from = size > kMaxConsoleBytes ? size - kMaxConsoleBytes : 0;
    log.resize(static_cast<std::size_t>(size - from));
    const ssize_t n = ::pread(fd.get(), log.data(), log.size(), static_cast<off_t>(from));
    if (n < 0)
      return Fail(ErrorCode::kIo, "cannot read {}: {}", path.string(), std::strerror(errno));
    log.resize(static_cast<std::size_t>(n));
  }
  return Json{{"name", name},
              {"log_base64", api::EncodeBase64(log)},
              {"truncated", log.size() == kMaxConsoleBytes}};
}

}  // namespace shype::daemon
