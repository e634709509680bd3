// SPDX-License-Identifier: Apache-2.0
//
// VmSpec describes one QEMU domain; BuildQemuCommand turns it into an argv plus the exact set of
// file descriptors the child inherits. Shared things (disks, QMP, console) reach QEMU only as
// inherited fds. Pure functions, except ResolveAccel which probes the host (paths injectable).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "shype/common/result.h"

namespace shype::vm {

enum class Accel : std::uint8_t { kAuto, kKvm, kTcg };
enum class DiskFormat : std::uint8_t { kRaw, kQcow2 };

std::string_view AccelName(Accel accel);
[[nodiscard]] Result<Accel> ParseAccel(std::string_view text);  // "auto" | "kvm" | "tcg"

// Where ResolveAccel looks; tests point these at temporary files.
struct AccelProbe {
  std::filesystem::path kvm_pvm_module = "/sys/module/kvm_pvm";
  std::filesystem::path kvm_device = "/dev/kvm";
};

// Returns kKvm or kTcg. kAuto becomes kTcg when `probe.kvm_pvm_module` exists (a nested,
// paravirtual KVM that cannot boot normal guests) or `probe.kvm_device` cannot be opened
// read-write; otherwise kKvm. An explicit kKvm/kTcg is returned unchanged.
Accel ResolveAccel(Accel requested, const AccelProbe& probe = {});

// A disk the daemon opened (and checked) itself; QEMU reaches it only through /dev/fdset/K.
struct DiskSpec {
  std::string id;  // [A-Za-z0-9_-]{1,32}; node names f-<id>/d-<id>, device vd-<id>
  int fd = -1;     // open in the parent; its access mode must match read_only
  bool read_only = false;
  DiskFormat format = DiskFormat::kRaw;
};

// The serial console (ttyS0). Exactly one of fd / connect_path / listen_path, or none of them
// (then only the log file, if any, receives the output).
struct ConsoleSpec {
  int fd = -1;                         // one end of a socketpair kept by the daemon
  std::filesystem::path connect_path;  // QEMU connects (reconnect=1) to a server the daemon runs
  std::filesystem::path listen_path;   // QEMU listens (server=on,wait=off) in the domain run dir
  std::filesystem::path log_file;      // QEMU appends all console output here (logfile=)
};

struct VmSpec {
  std::string name;  // [A-Za-z0-9_.-]{1,64}, not starting with '-'; process name shype-<name>
  std::uint32_t memory_mib = 128;
  std::uint32_t vcpus = 1;
  Accel accel = Accel::kTcg;  // must be resolved (kKvm or kTcg); see ResolveAccel
  std::filesystem::path qemu_binary = "qemu-system-x86_64";  // a bare name is searched in PATH
  std::filesystem::path kernel;
  std::filesystem::path initrd;
  std::string append;
  std::vector<DiskSpec> disks;
  ConsoleSpec console;
  int qmp_fd = -1;                        // socketpair end: -chardev socket,fd=N as monitor qmp0
  std::filesystem::path qmp_socket_path;  // second monitor qmp1 for re-attaching after a restart
  std::filesystem::path pidfile;
  bool start_paused = true;  // -S: nothing runs until QMP "cont"
  bool no_reboot = false;    // a guest reboot makes QEMU exit instead of rebooting in place
  bool sandbox = true;       // -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,...
};

// One descriptor the child inherits: `parent_fd` in the launcher becomes `child_fd` in QEMU.
struct FdMapping {
  int parent_fd = -1;
  int child_fd = -1;
};

struct QemuCommand {
  std::vector<std::string> argv;  // argv[0] is spec.qemu_binary as given
  std::vector<FdMapping> fds;     // child fds are 3, 4, ... in order; nothing else is inherited
};

// Fixed fdset ids: disk i (0-based) uses set kFirstDiskFdset + i; hotplug should use ids above.
inline constexpr int kFirstDiskFdset = 1;

// Builds QEMU's argv for `spec`. There is no -no-shutdown: a guest poweroff (or QMP quit) ends
// the QEMU process, which the owner observes as a process exit. Errors: kInvalidArgument (bad name,
// id, unresolved accel, duplicate disk id, negative fd, more than one console transport, ...).
[[nodiscard]] Result<QemuCommand> BuildQemuCommand(const VmSpec& spec);

// Doubles commas so `value` is safe inside a QEMU "key=value,..." option string.
std::string EscapeQemuOptionValue(std::string_view value);

}  // namespace shype::vm
