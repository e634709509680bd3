// SPDX-License-Identifier: Apache-2.0
//
// DomainRecord is what shyped persists about each domain it runs, in RUN_DIR/<name>/domain.json,
// so that a restarted daemon finds its domains again (pid + process start time tell a live QEMU
// from a reused pid). Written atomically; a record in state "creating" marks a half-created
// domain that recovery removes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "shype/common/id.h"
#include "shype/common/result.h"

namespace shype::daemon {

// A domain's lifecycle state. Records persist kCreating (until the guest was continued) and
// kRunning; kPaused and kShuttingDown are live states shown by `list` and `info`.
enum class DomainState : std::uint8_t { kCreating, kRunning, kPaused, kShuttingDown };

// "creating", "running", "paused", "shutting down" (the API's and domain.json's words).
std::string_view DomainStateName(DomainState state);

// A disk the guest sees: at create or hot-plugged, so that block-detach and a revocation can
// unplug it after a shyped restart too.
struct DiskRecord {
  std::string vdev;  // the config's or block-attach's name for it ("xvdb")
  std::string id;    // QEMU's: nodes d-<id>-<n>, device vd-<id>, fdsets "disk-<id>-<n>-.."
  bool writable = false;
  std::vector<std::string> resources;   // its layers' resources, the top image first
  std::vector<std::string> identities;  // its layers' ObjectIdentity::ToString()
  friend bool operator==(const DiskRecord&, const DiskRecord&) = default;
};

struct DomainRecord {
  DomainId id{0};
  std::string name;
  std::string policy;
  std::string label;
  Ssidref ssidref = kUnlabeledSsidref;
  DomainState state = DomainState::kCreating;
  int pid = 0;
  std::uint64_t start_time = 0;  // /proc/PID/stat field 22, in clock ticks since boot
  std::uint32_t memory_mib = 0;
  std::uint32_t vcpus = 0;
  std::string config_path;
  std::vector<std::string> resources;  // unified names of the resources the domain uses
  std::int64_t created_at = 0;         // Unix seconds
  // The uid/gid QEMU runs as (unique per host); also names its cgroups (shype/<uid>). Recorded
  // before QEMU is spawned, so a half-created domain's processes can always be found.
  std::uint32_t uid = 0;
  std::vector<DiskRecord> disks;
  // Disks no longer in the guest (detached, or an attach that failed after QEMU got an fd) whose
  // files QEMU may still reach (a compromised one can keep a mapping or a passed fd): their
  // sharings and resources stay recorded until the domain ends.
  std::vector<DiskRecord> held;
  // Why its QEMU was frozen (SIGSTOP) for keeping a revoked device; empty if it was not. A
  // restarted shyped keeps it frozen: only destroy ends that.
  std::string frozen;
};

// The largest domain.json written or read (SaveDomainRecord refuses more: kInvalidArgument).
inline constexpr std::size_t kMaxDomainRecordBytes = 1U << 20;

[[nodiscard]] Result<void> SaveDomainRecord(const std::filesystem::path& dir,
                                            const DomainRecord& record);
[[nodiscard]] Result<DomainRecord> LoadDomainRecord(const std::filesystem::path& dir);

}  // namespace shype::daemon
