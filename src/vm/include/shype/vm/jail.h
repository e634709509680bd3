// SPDX-License-Identifier: Apache-2.0
//
// QemuJail is what confines one QEMU process: its own unprivileged uid/gid with no
// supplementary groups (so no capabilities), no_new_privs, a private mount namespace in which
// host directories are hidden under empty read-only tmpfs, a Landlock ruleset that lets it read
// only its own binary, libraries, firmware/ROMs and the fds it was given, no TCP, and cgroup
// limits on memory and tasks. Built in the daemon before fork; applied by the child before exec.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "shype/common/landlock.h"
#include "shype/common/result.h"
#include "shype/common/unique_fd.h"
#include "shype/vm/vm_spec.h"

namespace shype::vm {

struct QemuJail {
  uid_t uid = 0;  // must not be 0
  gid_t gid = 0;  // must not be 0
  std::optional<LandlockRuleset> ruleset;
  std::vector<std::filesystem::path> hidden_dirs;  // empty tmpfs mounted over each that exists
  std::vector<UniqueFd> cgroup_procs;              // cgroup.procs files the child joins
};

// Host directories a confined QEMU never needs and that hold other domains' files, sockets
// and state: /tmp, /run, /var, /home, /root, /srv, /mnt, /media, /boot, /opt.
std::vector<std::filesystem::path> DefaultHiddenDirs();

// Builds the Landlock ruleset for QEMU `qemu_binary` (resolved path) with `accel`: read+execute
// on the binary and /usr/lib*, read on its firmware/ROM directories and /etc/ld.so.cache,
// read-write on /dev/kvm for KVM, and read on each of `readable_fds` (the kernel and initrd,
// which QEMU opens as /proc/self/fd/N). Errors: kUnavailable without Landlock, kIo.
[[nodiscard]] Result<LandlockRuleset> MakeQemuRuleset(const std::filesystem::path& qemu_binary,
                                                      Accel accel,
                                                      std::span<const int> readable_fds);

// A domain's cgroups (v1 memory and pids controllers, or v2): STATE-independent, keyed by
// `key` (the domain's uid is unique per host). A missing controller is skipped with a warning.
class DomainCgroup {
 public:
  // Creates shype/<key> under each available controller, sets the memory limit (bytes) and the
  // task limit, and opens the cgroup.procs files a child writes its pid to. Errors: kIo.
  [[nodiscard]] static Result<DomainCgroup> Create(const std::string& key,
                                                   std::uint64_t memory_bytes,
                                                   std::uint32_t max_tasks,
                                                   const std::filesystem::path& root =
                                                       "/sys/fs/cgroup");
  // Kills every process in the cgroups of `key` (SIGKILL); returns how many were signalled.
  static int KillAll(const std::string& key,
                     const std::filesystem::path& root = "/sys/fs/cgroup");
  // Removes the (empty) cgroups of `key`; best effort.
  static void Remove(const std::string& key, const std::filesystem::path& root = "/sys/fs/cgroup");

  // The open cgroup.procs files (moved into the QemuJail).
  std::vector<UniqueFd> TakeProcsFiles() { return std::move(procs_); }
  const std::vector<std::string>& controllers() const { return controllers_; }

 private:
  std::vector<UniqueFd> procs_;
  std::vector<std::string> controllers_;
};

}  // namespace shype::vm
