// SPDX-License-Identifier: Apache-2.0
//
// Confining QEMU, at start-up: Landlock present, the boot image directories opened, an isolated
// instance's slot of QEMU uids taken (each domain's jail is made by qemu_launcher.cc).
#include <fcntl.h>
#include <sys/file.h>

#include <functional>

#include "daemon.h"
#include "shype/common/landlock.h"
#include "shype/common/log.h"
#include "shype/store/state_lock.h"

namespace shype::daemon {
namespace {

constexpr std::uint32_t kUidSlots = 999;

}  // namespace

Result<std::uint32_t> Daemon::TakeUidSlot() {
  const std::filesystem::path dir = std::filesystem::path(store::kHostLockPath).parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const auto first =
      static_cast<std::uint32_t>(std::hash<std::string>{}(options_.state_dir.string()) % kUidSlots);
  for (std::uint32_t i = 0; i < kUidSlots; ++i) {
    const std::uint32_t slot = (first + i) % kUidSlots + 1;
    const auto path = dir / fmt::format("uid-slot-{}.lock", slot);
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd.valid() && ::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) {
      uid_slot_lock_ = std::move(fd);
      return slot;
    }
  }
  return Fail(ErrorCode::kUnavailable, "no free QEMU uid slot under {} ({} isolated instances run)",
              dir.string(), kUidSlots);
}

Result<void> Daemon::PrepareJails() {
  const int abi = LandlockRuleset::Abi();
  if (abi < 1) {
    return Fail(ErrorCode::kUnavailable,
                "this kernel has no Landlock: shyped cannot confine QEMU and does not start "
                "(enable CONFIG_SECURITY_LANDLOCK and lsm=landlock)");
  }
  if (abi < 4) log::Warn("Landlock ABI {}: QEMU's TCP connections cannot be blocked", abi);
  if (abi < 6) log::Warn("Landlock ABI {}: QEMU's abstract unix sockets are not scoped", abi);
  std::vector<std::filesystem::path> dirs = options_.image_dirs;
  if (dirs.empty()) {
    dirs.push_back(options_.state_dir / "images");
    std::error_code ec;
    std::filesystem::create_directories(dirs.back(), ec);
  }
  auto images = enforce::BootImages::Open(dirs);
  if (!images) return Fail(images.error());
  boot_images_.emplace(std::move(*images));
  std::string list;
  for (const auto& dir : boot_images_->dirs()) list += (list.empty() ? "" : ", ") + dir;
  log::Info("boot images come from: {}", list.empty() ? "(no existing image directory)" : list);
  if (options_.isolated_instance) {
    // SECURITY: uids are per host: an isolated instance must never hand out another
    // instance's QEMU uids (same uid = same owner of each other's processes and cgroups). Each
    // takes a free slot under /run/shype, held (flock) for its lifetime; the host instance has 0.
    auto slot = TakeUidSlot();
    if (!slot) return Fail(slot.error());
    options_.qemu_uid_base += *slot * 100000U;
  }
  log::Info("QEMU runs confined: uid/gid {}+N, Landlock ABI {}, own mount/net/IPC namespaces",
            options_.qemu_uid_base, abi);
  return {};
}

}  // namespace shype::daemon
