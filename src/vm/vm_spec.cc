// SPDX-License-Identifier: Apache-2.0
//
// QEMU argv construction from a VmSpec and the accelerator probe.
#include "shype/vm/vm_spec.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

namespace shype::vm {
namespace {

bool IsNameChar(char c, bool allow_dot) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || (allow_dot && c == '.');
}

bool IsValidToken(std::string_view text, std::size_t max_len, bool allow_dot) {
  if (text.empty() || text.size() > max_len || text.front() == '-' || text.front() == '.') {
    return false;
  }
  return std::all_of(text.begin(), text.end(), [&](char c) { return IsNameChar(c, allow_dot); });
}

// Builds the argv while handing out child fd numbers 3, 4, ... in order.
class ArgvBuilder {
 public:
  void Add(std::string arg) { command_.argv.push_back(std::move(arg)); }
  void Add(std::string option, std::string value) {
    Add(std::move(option));
    Add(std::move(value));
  }
  int Inherit(int parent_fd) {
    const int child_fd = 3 + static_cast<int>(command_.fds.size());
    command_.fds.push_back(FdMapping{parent_fd, child_fd});
    return child_fd;
  }
  QemuCommand Take() { return std::move(command_); }

 private:
  QemuCommand command_;
};

Result<void> CheckShms(const VmSpec& spec) {
  std::set<std::string, std::less<>> ids;
  for (const ShmDeviceSpec& shm : spec.shms) {
    if (!IsValidToken(shm.id, 32, false) || !ids.insert(shm.id).second || shm.fd < 0) {
      return Fail(ErrorCode::kInvalidArgument,
                  "VM '{}': shared-memory device '{}' needs a unique id of [A-Za-z0-9_-]{{1,32}} "
                  "and an open fd",
                  spec.name, shm.id);
    }
  }
  return {};
}

Result<void> CheckSpec(const VmSpec& spec) {
  if (!IsValidToken(spec.name, 64, true)) {
    return Fail(ErrorCode::kInvalidArgument,
                "VM name '{}' is invalid: use 1-64 of [A-Za-z0-9_.-], not starting with '-' or '.'",
                spec.name);
  }
  if (spec.accel == Accel::kAuto) {
    return Fail(ErrorCode::kInvalidArgument,
                "VM '{}': accelerator 'auto' must be resolved with ResolveAccel first", spec.name);
  }
  if (spec.memory_mib < 16 || spec.vcpus < 1 || spec.vcpus > 255) {
    return Fail(ErrorCode::kInvalidArgument,
                "VM '{}': memory {} MiB / {} vcpus out of range (>= 16 MiB, 1-255 vcpus)",
                spec.name, spec.memory_mib, spec.vcpus);
  }
  if (spec.console.fd >= 0 && spec.console.listen_fd >= 0) {
    return Fail(ErrorCode::kInvalidArgument, "VM '{}': give the console fd or listen_fd, not both",
                spec.name);
  }
  if (spec.kernel_fd < 0 && spec.initrd_fd >= 0) {
    return Fail(ErrorCode::kInvalidArgument, "VM '{}': an initrd needs a kernel", spec.name);
  }
  if (spec.kernel_fd < 0 && !spec.append.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "VM '{}': a kernel command line needs a kernel",
                spec.name);
  }
  std::set<std::string, std::less<>> ids;
  for (const DiskSpec& disk : spec.disks) {
    const bool fds_ok =
        !disk.layers.empty() && std::all_of(disk.layers.begin(), disk.layers.end(),
                                            [](const DiskLayer& layer) { return layer.fd >= 0; });
    if (!IsValidToken(disk.id, 32, false) || !ids.insert(disk.id).second || !fds_ok) {
      return Fail(ErrorCode::kInvalidArgument,
                  "VM '{}': disk '{}' needs a unique id of [A-Za-z0-9_-]{{1,32}} and open fds",
                  spec.name, disk.id);
    }
    for (std::size_t i = 0; i + 1 < disk.layers.size(); ++i) {
      if (disk.layers[i].format != DiskFormat::kQcow2) {
        return Fail(ErrorCode::kInvalidArgument,
                    "VM '{}': disk '{}' layer {} is raw and cannot have a backing layer", spec.name,
                    disk.id, i);
      }
    }
  }
  std::set<std::string, std::less<>> nic_ids;
  for (const NicSpec& nic : spec.nics) {
    const bool mac_ok =
        nic.mac.size() == 17 && std::all_of(nic.mac.begin(), nic.mac.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':';
        });
    if (!IsValidToken(nic.id, 32, false) || !nic_ids.insert(nic.id).second || nic.fd < 0 ||
        !mac_ok) {
      return Fail(ErrorCode::kInvalidArgument,
                  "VM '{}': NIC '{}' needs a unique id of [A-Za-z0-9_-]{{1,32}}, an open fd and a "
                  "MAC like 52:54:00:12:34:56",
                  spec.name, nic.id);
    }
  }
  return CheckShms(spec);
}

void AddBase(const VmSpec& spec, ArgvBuilder& argv) {
  argv.Add(spec.qemu_binary.string());
  argv.Add("-name", fmt::format("{},process=shype-{}", spec.name, spec.name));
  argv.Add("-no-user-config");
  argv.Add("-nodefaults");
  argv.Add("-display", "none");
  argv.Add("-vga", "none");
  argv.Add("-msg", "timestamp=on");
  argv.Add("-machine", "pc");
  // tb-size bounds TCG's translation cache (default 1 GiB) so the cgroup memory limit holds.
  argv.Add("-accel", spec.accel == Accel::kKvm ? "kvm" : "tcg,tb-size=64");
  if (spec.accel == Accel::kKvm) argv.Add("-cpu", "host");
  argv.Add("-m", std::to_string(spec.memory_mib));
  argv.Add("-smp", std::to_string(spec.vcpus));
  if (spec.sandbox) {
    argv.Add("-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
  }
  if (spec.start_paused) argv.Add("-S");
  if (spec.incoming_defer) argv.Add("-incoming", "defer");
  if (spec.no_reboot) argv.Add("-no-reboot");
  // QEMU's x86 loader reads -kernel/-initrd with fopen() by name; /proc/self/fd/N names the
  // inherited fd the daemon opened and checked (the jail's Landlock rule allows exactly it).
  if (spec.kernel_fd >= 0) {
    argv.Add("-kernel", fmt::format("/proc/self/fd/{}", argv.Inherit(spec.kernel_fd)));
  }
  if (spec.initrd_fd >= 0) {
    argv.Add("-initrd", fmt::format("/proc/self/fd/{}", argv.Inherit(spec.initrd_fd)));
  }
  if (!spec.append.empty()) argv.Add("-append", spec.append);
}

void AddMonitors(const VmSpec& spec, ArgvBuilder& argv) {
  if (spec.qmp_fd >= 0) {
    argv.Add("-chardev", fmt::format("socket,id=qmp0,fd={}", argv.Inherit(spec.qmp_fd)));
    argv.Add("-mon", "chardev=qmp0,mode=control");
  }
  if (spec.qmp_listen_fd >= 0) {
    argv.Add("-chardev", fmt::format("socket,id=qmp1,fd={},server=on,wait=off",
                                     argv.Inherit(spec.qmp_listen_fd)));
    argv.Add("-mon", "chardev=qmp1,mode=control");
  }
}

void AddConsole(const ConsoleSpec& console, ArgvBuilder& argv) {
  std::string chardev = "null,id=serial0";
  if (console.fd >= 0) {
    chardev = fmt::format("socket,id=serial0,fd={}", argv.Inherit(console.fd));
  } else if (console.listen_fd >= 0) {
    chardev =
        fmt::format("socket,id=serial0,fd={},server=on,wait=off", argv.Inherit(console.listen_fd));
  }
  if (console.log_fd >= 0) {
    argv.Add("-add-fd", fmt::format("fd={},set={},opaque=console-log", argv.Inherit(console.log_fd),
                                    kConsoleLogFdset));
    chardev += fmt::format(",logfile=/dev/fdset/{},logappend=on", kConsoleLogFdset);
  }
  argv.Add("-chardev", std::move(chardev));
  argv.Add("-serial", "chardev:serial0");
}

// SECURITY: JSON -blockdev with every node explicit: the format is always given (no probing), a
// qcow2 node's backing is the next layer or null (QEMU never opens a backing file by the name in
// an image header), and every file node is an fdset of an fd the daemon opened.
// Without a kernel the firmware (SeaBIOS) boots the first disk: it alone gets bootindex=0.
void AddDisks(const std::vector<DiskSpec>& disks, bool firmware_boot, ArgvBuilder& argv) {
  int fdset = kFirstDiskFdset;
  for (const DiskSpec& disk : disks) {
    // Backing layers first: a node must exist before another names it as its backing.
    for (std::size_t n = disk.layers.size(); n-- > 0;) {
      argv.Add("-add-fd", fmt::format("fd={},set={},opaque={}", argv.Inherit(disk.layers[n].fd),
                                      fdset, DiskFdsetOpaque(disk, n)));
      argv.Add("-blockdev", DiskNode(disk, n, fdset).dump());
      ++fdset;
    }
    const bool boot = firmware_boot && &disk == &disks.front();
    argv.Add("-device", fmt::format("virtio-blk-pci,drive=d-{}-0,id=vd-{}{}", disk.id, disk.id,
                                    boot ? ",bootindex=0" : ""));
  }
}

// SECURITY: a NIC is a socket the switch handed over; QEMU connects to nothing by name (no tap,
// no bridge helper, which spawn=deny would refuse anyway).
void AddNics(const std::vector<NicSpec>& nics, ArgvBuilder& argv) {
  for (const NicSpec& nic : nics) {
    argv.Add("-netdev", fmt::format("stream,id=net-{},server=off,addr.type=fd,addr.str={}", nic.id,
                                    argv.Inherit(nic.fd)));
    argv.Add("-device",
             fmt::format("virtio-net-pci,netdev=net-{},id=nic-{},mac={}", nic.id, nic.id, nic.mac));
  }
}

// SECURITY: a region is a socket shyped serves; QEMU opens no memory file and connects to no
// server by name (its mem-path/chardev path options are never used).
void AddShms(const std::vector<ShmDeviceSpec>& shms, ArgvBuilder& argv) {
  for (const ShmDeviceSpec& shm : shms) {
    argv.Add("-chardev", fmt::format("socket,id=shmc-{},fd={}", shm.id, argv.Inherit(shm.fd)));
    argv.Add("-device",
             fmt::format("ivshmem-doorbell,chardev=shmc-{},vectors=1,id=shm-{}", shm.id, shm.id));
  }
}

// SECURITY: the TPM's control channel is a socketpair whose other end is shyped's relay (which
// filters it); QEMU makes its data channel itself and hands it over that channel.
void AddTpm(int tpm_fd, ArgvBuilder& argv) {
  if (tpm_fd < 0) return;
  argv.Add("-chardev", fmt::format("socket,id=chrtpm,fd={}", argv.Inherit(tpm_fd)));
  argv.Add("-tpmdev", "emulator,id=tpm0,chardev=chrtpm");
  argv.Add("-device", "tpm-crb,tpmdev=tpm0");
}

}  // namespace

std::string_view AccelName(Accel accel) {
  switch (accel) {
    case Accel::kAuto:
      return "auto";
    case Accel::kKvm:
      return "kvm";
    case Accel::kTcg:
      return "tcg";
  }
  return "unknown";
}

Result<Accel> ParseAccel(std::string_view text) {
  for (Accel accel : {Accel::kAuto, Accel::kKvm, Accel::kTcg}) {
    if (text == AccelName(accel)) return accel;
  }
  return Fail(ErrorCode::kInvalidArgument, "accelerator '{}' is unknown: use auto, kvm or tcg",
              text);
}

Accel ResolveAccel(Accel requested, const AccelProbe& probe) {
  if (requested != Accel::kAuto) return requested;
  std::error_code ec;
  if (std::filesystem::exists(probe.kvm_pvm_module, ec)) return Accel::kTcg;
  const int fd = ::open(probe.kvm_device.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Accel::kTcg;
  ::close(fd);
  return Accel::kKvm;
}

Result<void> CheckAccelUsable(Accel resolved, const AccelProbe& probe) {
  if (resolved != Accel::kKvm) return {};
  const int fd = ::open(probe.kvm_device.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return Fail(ErrorCode::kUnavailable,
                "accelerator 'kvm' cannot be used on this host: cannot open {}: {}; use "
                "accel = \"auto\" or \"tcg\"",
                probe.kvm_device.string(), std::strerror(errno));
  }
  ::close(fd);
  return {};
}

std::string EscapeQemuOptionValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    out.push_back(c);
    if (c == ',') out.push_back(',');
  }
  return out;
}

std::string DiskFdsetOpaque(const DiskSpec& disk, std::size_t n) {
  return fmt::format("disk-{}-{}-{}", disk.id, n, n > 0 || disk.read_only ? "ro" : "rw");
}

nlohmann::json DiskNode(const DiskSpec& disk, std::size_t n, int fdset) {
  const DiskLayer& layer = disk.layers.at(n);
  const bool ro = n > 0 || disk.read_only;
  nlohmann::json file = {{"driver", layer.block_device ? "host_device" : "file"},
                         {"filename", fmt::format("/dev/fdset/{}", fdset)},
                         {"node-name", fmt::format("f-{}-{}", disk.id, n)},
                         {"read-only", ro}};
  nlohmann::json node = {{"driver", layer.format == DiskFormat::kQcow2 ? "qcow2" : "raw"},
                         {"node-name", fmt::format("d-{}-{}", disk.id, n)},
                         {"file", std::move(file)},
                         {"read-only", ro}};
  if (layer.format == DiskFormat::kQcow2) {
    node["backing"] = n + 1 < disk.layers.size()
                          ? nlohmann::json(fmt::format("d-{}-{}", disk.id, n + 1))
                          : nlohmann::json(nullptr);
  }
  return node;
}

Result<QemuCommand> BuildQemuCommand(const VmSpec& spec) {
  if (auto checked = CheckSpec(spec); !checked) return Fail(checked.error());
  ArgvBuilder argv;
  AddBase(spec, argv);
  AddMonitors(spec, argv);
  AddConsole(spec.console, argv);
  AddDisks(spec.disks, spec.kernel_fd < 0, argv);
  AddNics(spec.nics, argv);
  AddShms(spec.shms, argv);
  AddTpm(spec.tpm_fd, argv);
  return argv.Take();
}

}  // namespace shype::vm
