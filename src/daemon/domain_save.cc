// SPDX-License-Identifier: Apache-2.0
//
// Save and restore (`shype save NAME FILE`, `shype restore FILE`): QEMU's migration to and from
// an image file shyped opened (QEMU gets the fd, never a path). A save records the domain's label
// and policy in the image's header and ends the domain once the image is complete; a restore is
// a create — every check under the policy and resource labels in force then — whose guest starts
// from the image instead of booting.
#include <fcntl.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>

#include "domain_manager.h"
#include "shype/common/file.h"
#include "shype/common/log.h"

namespace shype::daemon {
namespace asio = boost::asio;

namespace {

constexpr auto kMigrationPoll = std::chrono::milliseconds(50);
// The longest a migration to or from a file may take (GiBs of RAM at disk speed).
constexpr auto kMigrationLimit = std::chrono::minutes(10);

}  // namespace

// The configuration a save image records: the one the domain was created from, with the label it
// runs with now (a live relabel changed it since).
Result<std::string> DomainManager::SavedConfig(const Domain& d) const {
  auto text = ReadTextFileBounded(d.run_dir / "config", config::kMaxConfigBytes);
  if (!text) {
    return Fail(ErrorCode::kUnavailable,
                "domain '{}' cannot be saved: its configuration was not kept ({}); it was started "
                "by an older shyped",
                d.record.name, text.error().message);
  }
  auto config = config::DomainConfig::Parse(std::move(*text), d.record.config_path);
  if (!config) return Fail(config.error());
  if (auto removed = config->RemoveLabel();
      !removed && removed.error().code != ErrorCode::kNotFound) {
    return Fail(removed.error());
  }
  if (auto set = config->SetLabel(d.record.policy, d.record.label); !set) return Fail(set.error());
  // SECURITY: QEMU restores exactly the devices it saved; a domain whose devices are no longer
  // those of its configuration (hot-plugged or detached since) would come back different.
  auto disks = config->Disks();
  auto vifs = config->Vifs();
  if (!disks || !vifs) return Fail(!disks ? disks.error() : vifs.error());
  bool same = d.record.held.empty() && d.shms.empty() && config->Shms()->empty() &&
              d.record.disks.size() == disks->size() && d.next_disk == disks->size() &&
              d.nics.size() == vifs->size() && d.next_nic == vifs->size();
  for (std::size_t i = 0; same && i < disks->size(); ++i) {
    same = d.record.disks[i].vdev == (*disks)[i].vdev;
  }
  if (!same) {
    return Fail(ErrorCode::kConflict,
                "domain '{}' cannot be saved: its devices are not those of its configuration "
                "(a disk, NIC or shared-memory region was attached or detached since it started, "
                "or it is in a shared-memory region, which QEMU cannot migrate)",
                d.record.name);
  }
  return config->Serialize();
}

Result<DomainManager::Domain*> DomainManager::SaveTarget(const std::string& name) {
  Domain* d = Find(name);
  if (d == nullptr) return Fail(ErrorCode::kNotFound, "no domain named '{}' is running", name);
  if (d->state != DomainState::kRunning && d->state != DomainState::kPaused) {
    return Fail(ErrorCode::kConflict, "domain '{}' is {}: only a running or paused domain is saved",
                d->record.name, DomainStateName(d->state));
  }
  if (auto available = Available(*d); !available) return Fail(available.error());
  if (d->vtpm) {
    // Its TPM's state is not in QEMU's migration stream (shyped refuses QEMU the state blobs).
    return Fail(ErrorCode::kConflict,
                "domain '{}' has a vTPM: saving a domain with a vTPM is not supported (shut it "
                "down instead: its vTPM keeps its state)",
                d->record.name);
  }
  if (d->disk_busy || !d->attaching.empty() || !d->unplugging.empty()) {
    return Fail(ErrorCode::kConflict,
                "a block-attach or block-detach of domain '{}' is in progress; try again when it "
                "has finished",
                d->record.name);
  }
  return d;
}

// Polls query-migrate until QEMU's migration (`what`: "the save of 'x'") completes or fails.
asio::awaitable<Result<void>> DomainManager::AwaitMigration(const std::string& name, DomainId id,
                                                            std::string what) {
  const auto deadline = clock_.Now() + kMigrationLimit;
  asio::steady_timer timer(io_);
  while (true) {
    auto status = co_await QmpOf(name, id, "query-migrate", nullptr);
    if (!status) co_return Fail(status.error().WithContext(what));
    const std::string state = status->value("status", "");
    if (state == "completed") co_return Result<void>{};
    if (state == "failed" || state == "cancelled") {
      co_return Fail(ErrorCode::kIo, "{} failed in QEMU: {}", what,
                     status->value("error-desc", state));
    }
    if (clock_.Now() >= deadline) {
      co_return Fail(ErrorCode::kUnavailable, "{} did not finish within {} minutes", what,
                     std::chrono::duration_cast<std::chrono::minutes>(kMigrationLimit).count());
    }
    timer.expires_after(kMigrationPoll);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

// Long: the save transaction — checks, header, QEMU's migration, the file's commit, the end —
// each failure resuming the guest as it was.
asio::awaitable<Result<SaveOutcome>> DomainManager::Save(std::string name, PendingImage& image) {
  auto target = SaveTarget(name);
  if (!target) co_return Fail(target.error());
  Domain* d = *target;
  const std::string real = d->record.name;
  const DomainId id = d->record.id;
  auto config = SavedConfig(*d);
  if (!config) co_return Fail(config.error());
  SaveHeader header{real,
                    id.value(),
                    d->record.policy,
                    d->record.label,
                    std::move(*config),
                    d->record.config_path,
                    std::string(DomainStateName(d->state)),
                    clock_.UnixSeconds()};
  if (auto written = WriteSaveHeader(image.fd(), header); !written) co_return Fail(written.error());
  UniqueFd stream(::fcntl(image.fd(), F_DUPFD_CLOEXEC, 0));
  if (!stream.valid()) co_return Fail(ErrorCode::kIo, "dup: {}", std::strerror(errno));
  const bool was_running = d->state == DomainState::kRunning;
  d->saving = true;
  const std::string what = fmt::format("the save of '{}' to '{}'", real, image.path().string());
  // The guest stops first: the image is one instant of it, and no sharing changes meanwhile.
  // Named arguments, not temporaries of a co_await: g++ 12 mishandles those.
  api::Json getfd_args{{"fdname", "shype-save"}};
  api::Json migrate_args{{"uri", "fd:shype-save"}};
  api::Json closefd_args = getfd_args;
  Result<api::Json> step = co_await QmpOf(real, id, "stop", nullptr);
  if (step) {
    std::vector<UniqueFd> fds;
    fds.push_back(std::move(stream));
    step = co_await QmpOf(real, id, "getfd", std::move(getfd_args), std::move(fds));
  }
  if (step) step = co_await QmpOf(real, id, "migrate", std::move(migrate_args));
  const bool migrating = step.has_value();
  Result<void> done;
  if (step) {
    done = co_await AwaitMigration(real, id, what);
  } else {
    done = Fail(step.error());
  }
  // SECURITY: checked before the image gets its name: a domain that ended meanwhile (its QEMU
  // answered and crashed) leaves no image, as the refusal says, and no image without its record.
  d = Find(real);
  if (d == nullptr || d->record.id != id) {
    co_return Fail(ErrorCode::kUnavailable, "domain '{}' ended during its save; no image was kept",
                   real);
  }
  if (done) done = image.Commit();
  if (!done) {
    // A migration still running (it did not finish in time) would go on writing the image and
    // stop the guest when done: it ends before the guest resumes.
    if (migrating) (void)co_await QmpOf(real, id, "migrate_cancel", nullptr);
    (void)co_await QmpOf(real, id, "closefd", std::move(closefd_args));
    if (Domain* again = Find(real); again != nullptr && again->record.id == id) {
      again->saving = false;
    }
    if (was_running) {
      if (auto resumed = co_await QmpOf(real, id, "cont", nullptr); !resumed) {
        log::Error("domain {}: not resumed after a failed save: {}", real, resumed.error().message);
      }
    }
    co_return Fail(done.error().WithContext(fmt::format("domain '{}' was not saved", real)));
  }
  d->saving = false;
  denials_({"domain-save", acm::Hook::kDomainCreate, acm::Decision::kPermit, real, id, header.label,
            image.path().string(),
            fmt::format("saved ({}) under policy '{}'", header.state, header.policy)});
  // The image holds the domain now: it ends here, as xm save's domain does.
  if (auto killed = d->vm->Kill(); !killed && killed.error().code != ErrorCode::kUnavailable) {
    co_return Fail(killed.error());
  }
  if (!co_await WaitGone(real, id, std::chrono::seconds(5))) {
    co_return Fail(ErrorCode::kInternal, "domain '{}' did not exit after its save", real);
  }
  log::Info("domain {} (id {}) saved to {}", real, id, image.path().string());
  co_return SaveOutcome{real, id, fmt::format("ACM:{}:{}", header.policy, header.label),
                        header.state};
}

asio::awaitable<Result<DomainView>> DomainManager::Restore(OpenedImage image,
                                                           const std::string& image_path) {
  auto config = config::DomainConfig::Parse(image.header.config, image_path);
  if (!config) co_return Fail(config.error().WithContext("the configuration in the image"));
  auto label = config->GetLabel();
  if (!label) co_return Fail(label.error());
  // SECURITY: the header's label and the configuration's must agree: one image, one label.
  if (!*label || (*label)->policy != image.header.policy || (*label)->label != image.header.label ||
      *config->Name() != image.header.name) {
    co_return Fail(ErrorCode::kInvalidArgument,
                   "{}: the image's header and its configuration name different domains or labels",
                   image_path);
  }
  // SECURITY: a save with a vTPM is refused, so an image asking for one was edited. Nothing of
  // a restore is measured: its vTPM would attest the launch of the configuration's kernel while
  // the guest resumes whatever the image's RAM holds.
  auto vtpms = config->Vtpms();
  if (!vtpms) co_return Fail(vtpms.error());
  if (!vtpms->empty()) {
    co_return Fail(ErrorCode::kInvalidArgument,
                   "{}: the image's configuration asks for a vTPM; a domain with a vTPM is never "
                   "saved, so it cannot be restored (create it instead)",
                   image_path);
  }
  auto active = acm_.active_policy();
  if (!active || active->name() != image.header.policy) {
    co_return Fail(
        ErrorCode::kPermissionDenied,
        "{}: domain '{}' was saved under policy '{}'; the enforced policy is '{}', which "
        "does not know its label: relabel it in a configuration and create it instead",
        image_path, image.header.name, image.header.policy, active ? active->name() : "(none)");
  }
  auto restored = co_await CreateFrom(*config, image_path, std::move(image.fd));
  co_return restored;
}

asio::awaitable<Result<void>> DomainManager::Incoming(Domain& d, int image_fd) {
  const std::string name = d.record.name;
  const DomainId id = d.record.id;
  UniqueFd stream(::fcntl(image_fd, F_DUPFD_CLOEXEC, 0));
  if (!stream.valid()) co_return Fail(ErrorCode::kIo, "dup: {}", std::strerror(errno));
  std::vector<UniqueFd> fds;
  fds.push_back(std::move(stream));
  // Named arguments, not temporaries of a co_await: g++ 12 mishandles those.
  api::Json getfd_args{{"fdname", "shype-restore"}};
  api::Json incoming_args{{"uri", "fd:shype-restore"}};
  auto step = co_await d.vm->Execute("getfd", std::move(getfd_args), std::move(fds));
  if (!step) co_return Fail(step.error());
  if (Domain* again = Find(name); again == nullptr || again->record.id != id) {
    co_return Fail(ErrorCode::kUnavailable, "domain '{}' ended during its restore", name);
  }
  step = co_await d.vm->Execute("migrate-incoming", std::move(incoming_args));
  if (!step) co_return Fail(step.error());
  std::string what = fmt::format("the restore of '{}'", name);
  auto done = co_await AwaitMigration(name, id, std::move(what));
  co_return done;
}

}  // namespace shype::daemon
