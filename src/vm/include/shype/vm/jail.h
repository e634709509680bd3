// SPDX-License-Identifier: Apache-2.0
//
// QemuJail is what confines one QEMU process: its own unprivileged uid/gid with no
// supplementary groups (so no capabilities), no_new_privs, private mount, network and IPC
// namespaces with a root file system that holds only what QEMU needs (read-only /usr, a few
// device nodes, its own /proc), a Landlock ruleset that lets it read only its own binary,
// libraries, firmware/ROMs and the fds it was given, no TCP, and cgroup limits on memory and
// tasks. Built in the daemon before fork; applied by the child before exec.
#pragma once

#include <sys/types.h>

#include <cstdint>
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

// One step of building the jail's root in the child (all paths precomputed by the daemon).
struct RootStep {
  enum class Kind : std::uint8_t { kMkdir, kBindDir, kBindFile, kSymlink, kProc };
  Kind kind = Kind::kMkdir;
  std::string target;  // inside the new root (already prefixed with the staging directory)
  std::string source;  // host path to bind, or the symlink's contents
};

// The jail's root file system: an empty tmpfs mounted at `staging` (in the child's own mount
// namespace), the steps run in order, then pivot_root into it and the tmpfs made read-only.
// SECURITY: an allow-list: no host directory with other domains' files or sockets exists there.
struct JailRoot {
  std::string staging = "/tmp";
  std::vector<RootStep> steps;
};

// The root for QEMU `qemu_binary` (resolved) with `accel`: /usr read-only, /bin /sbin /lib*
// as on the host (symlinks copied, directories bound read-only), /etc/ld.so.cache, /dev/null,
// /dev/zero, /dev/urandom, /dev/random (+ /dev/kvm for KVM), a /proc that shows only QEMU's
// own processes (hidepid=invisible); a binary outside /usr is bound at its own path.
JailRoot MakeJailRoot(const std::filesystem::path& qemu_binary, Accel accel);

struct QemuJail {
  uid_t uid = 0;  // must not be 0
  gid_t gid = 0;  // must not be 0
  std::optional<LandlockRuleset> ruleset;
  std::optional<JailRoot> root;        // required by QemuProcess::Spawn
  std::vector<UniqueFd> cgroup_procs;  // cgroup.procs files the child joins
};

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
  [[nodiscard]] static Result<DomainCgroup> Create(
      const std::string& key, std::uint64_t memory_bytes, std::uint32_t max_tasks,
      const std::filesystem::path& root = "/sys/fs/cgroup");
  // Kills every process in the cgroups of `key` (SIGKILL); returns how many were signalled.
  static int KillAll(const std::string& key, const std::filesystem::path& root = "/sys/fs/cgroup");
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
