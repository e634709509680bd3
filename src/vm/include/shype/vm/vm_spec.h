// SPDX-License-Identifier: Apache-2.0
//
// VmSpec describes one QEMU domain; BuildQemuCommand turns it into an argv plus the exact set of
// file descriptors the child inherits. SECURITY: a VmSpec holds no host paths at all: the kernel,
// initrd, disks (every layer of a backing chain), QMP, console and its log reach QEMU only as
// inherited fds, so QEMU opens nothing by path. Pure functions, except ResolveAccel which probes
// the host (paths injectable).
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
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
// Whether a resolved accelerator can run a guest here: kvm needs `probe.kvm_device` to open
// read-write (else kUnavailable, saying what to use instead); tcg always can.
[[nodiscard]] Result<void> CheckAccelUsable(Accel resolved, const AccelProbe& probe = {});

// One file of a disk: the fd the daemon opened (and checked) itself; QEMU reaches it only through
// /dev/fdset/K. Its access mode must match read_only.
struct DiskLayer {
  int fd = -1;
  DiskFormat format = DiskFormat::kRaw;
  bool block_device = false;  // host_device instead of file
};

// A guest disk: the top image and, for qcow2, its backing chain given explicitly (layers[1] is
// the backing file of layers[0], ...). The last qcow2 layer gets "backing": null, so QEMU never
// opens a backing file named in an image header. Backing layers are always read-only.
struct DiskSpec {
  std::string id;  // [A-Za-z0-9_-]{1,32}; node names f-<id>-<n>/d-<id>-<n>, device vd-<id>
  std::vector<DiskLayer> layers;
  bool read_only = false;  // of the top layer
};

// The serial console (ttyS0): a listening socket the daemon bound (QEMU accepts on it) and/or a
// log file the daemon opened for appending (QEMU writes all console output to it).
struct ConsoleSpec {
  int fd = -1;         // or: a connected socket (one end of a socketpair kept by the daemon)
  int listen_fd = -1;  // a bound AF_UNIX SOCK_STREAM socket: server=on,wait=off
  int log_fd = -1;     // O_WRONLY|O_APPEND; passed as an fdset and used as logfile=/dev/fdset/K
};

// A virtio-net NIC on a shyped virtual switch: one end of a socketpair the switch holds the other
// end of (QEMU's stream netdev framing: 4-byte big-endian length + frame). No path, no tap.
struct NicSpec {
  std::string id;   // [A-Za-z0-9_-]{1,32}; netdev net-<id>, device nic-<id>
  int fd = -1;      // SOCK_STREAM, connected
  std::string mac;  // "52:54:00:12:34:56"
};

// A shared-memory region with doorbells (ivshmem-doorbell): one end of the socketpair whose other
// end shyped serves the region on; the memory and the eventfds come through it (SCM_RIGHTS).
struct ShmDeviceSpec {
  std::string id;  // [A-Za-z0-9_-]{1,32}; chardev shmc-<id>, device shm-<id>
  int fd = -1;     // SOCK_STREAM, connected; the setup is in it already
};

struct VmSpec {
  std::string name;  // [A-Za-z0-9_.-]{1,64}, not starting with '-'; process name shype-<name>
  std::uint32_t memory_mib = 128;
  std::uint32_t vcpus = 1;
  Accel accel = Accel::kTcg;  // must be resolved (kKvm or kTcg); see ResolveAccel
  std::filesystem::path qemu_binary = "qemu-system-x86_64";  // a bare name is searched in PATH
  // Read as /proc/self/fd/N (QEMU's loader takes a path, not an fdset). -1: the firmware
  // (SeaBIOS) boots the first disk (bootindex=0); then no initrd and no append either.
  int kernel_fd = -1;
  int initrd_fd = -1;
  std::string append;
  std::vector<DiskSpec> disks;
  std::vector<NicSpec> nics;
  std::vector<ShmDeviceSpec> shms;
  ConsoleSpec console;
  int qmp_fd = -1;              // socketpair end: -chardev socket,fd=N as monitor qmp0
  int qmp_listen_fd = -1;       // bound unix socket: monitor qmp1 for re-attaching after a restart
  bool start_paused = true;     // -S: nothing runs until QMP "cont"
  bool no_reboot = false;       // a guest reboot makes QEMU exit instead of rebooting in place
  bool sandbox = true;          // -sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,...
  bool incoming_defer = false;  // -incoming defer: the state comes by QMP migrate-incoming (fd:)
  // shyped's vTPM control channel (socketpair end): -chardev socket,fd=N -tpmdev emulator
  // -device tpm-crb. -1: no TPM.
  int tpm_fd = -1;
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

// Fixed fdset ids: the console log uses kConsoleLogFdset; the files of the disks use sets
// kFirstDiskFdset, kFirstDiskFdset + 1, ... in order; hotplug should use ids above those.
inline constexpr int kConsoleLogFdset = 1;
inline constexpr int kFirstDiskFdset = 2;

// The block node of layer `n` of `disk` whose file is fdset `fdset` (the -blockdev JSON on the
// command line and blockdev-add's arguments in hotplug: one shape): the format explicit, a qcow2
// layer's backing the next layer's node or null, backing layers read-only.
nlohmann::json DiskNode(const DiskSpec& disk, std::size_t n, int fdset);
// The opaque string of that layer's fdset: "disk-<id>-<n>-ro" / "-rw".
std::string DiskFdsetOpaque(const DiskSpec& disk, std::size_t n);

// Builds QEMU's argv for `spec`. There is no -no-shutdown: a guest poweroff (or QMP quit) ends
// the QEMU process, which the owner observes as a process exit. Errors: kInvalidArgument (bad name,
// id, unresolved accel, duplicate disk id, negative fd, more than one console transport, ...).
[[nodiscard]] Result<QemuCommand> BuildQemuCommand(const VmSpec& spec);

// Doubles commas so `value` is safe inside a QEMU "key=value,..." option string.
std::string EscapeQemuOptionValue(std::string_view value);

}  // namespace shype::vm
