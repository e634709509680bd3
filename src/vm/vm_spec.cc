// SPDX-License-Identifier: Apache-2.0
//
// QEMU argv construction from a VmSpec and the accelerator probe.
#include "shype/vm/vm_spec.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
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

std::string Path(const std::filesystem::path& path) { return EscapeQemuOptionValue(path.string()); }

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
  if (spec.kernel.empty() && !spec.initrd.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "VM '{}': an initrd needs a kernel", spec.name);
  }
  const ConsoleSpec& console = spec.console;
  const int transports = (console.fd >= 0 ? 1 : 0) + (console.connect_path.empty() ? 0 : 1) +
                         (console.listen_path.empty() ? 0 : 1);
  if (transports > 1) {
    return Fail(ErrorCode::kInvalidArgument,
                "VM '{}': give the console one of fd, connect_path or listen_path", spec.name);
  }
  std::set<std::string, std::less<>> ids;
  for (const DiskSpec& disk : spec.disks) {
    if (!IsValidToken(disk.id, 32, false) || !ids.insert(disk.id).second || disk.fd < 0) {
      return Fail(ErrorCode::kInvalidArgument,
                  "VM '{}': disk '{}' needs a unique id of [A-Za-z0-9_-]{{1,32}} and an open fd",
                  spec.name, disk.id);
    }
  }
  return {};
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
  argv.Add("-accel", spec.accel == Accel::kKvm ? "kvm" : "tcg");
  if (spec.accel == Accel::kKvm) argv.Add("-cpu", "host");
  argv.Add("-m", std::to_string(spec.memory_mib));
  argv.Add("-smp", std::to_string(spec.vcpus));
  if (spec.sandbox) {
    argv.Add("-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
  }
  if (spec.start_paused) argv.Add("-S");
  if (spec.no_reboot) argv.Add("-no-reboot");
  if (!spec.pidfile.empty()) argv.Add("-pidfile", spec.pidfile.string());
  if (!spec.kernel.empty()) argv.Add("-kernel", spec.kernel.string());
  if (!spec.initrd.empty()) argv.Add("-initrd", spec.initrd.string());
  if (!spec.append.empty()) argv.Add("-append", spec.append);
}

void AddMonitors(const VmSpec& spec, ArgvBuilder& argv) {
  if (spec.qmp_fd >= 0) {
    argv.Add("-chardev", fmt::format("socket,id=qmp0,fd={}", argv.Inherit(spec.qmp_fd)));
    argv.Add("-mon", "chardev=qmp0,mode=control");
  }
  if (!spec.qmp_socket_path.empty()) {
    argv.Add("-chardev",
             fmt::format("socket,id=qmp1,path={},server=on,wait=off", Path(spec.qmp_socket_path)));
    argv.Add("-mon", "chardev=qmp1,mode=control");
  }
}

void AddConsole(const ConsoleSpec& console, ArgvBuilder& argv) {
  std::string chardev;
  if (console.fd >= 0) {
    chardev = fmt::format("socket,id=serial0,fd={}", argv.Inherit(console.fd));
  } else if (!console.connect_path.empty()) {
    chardev =
        fmt::format("socket,id=serial0,path={},server=off,reconnect=1", Path(console.connect_path));
  } else if (!console.listen_path.empty()) {
    chardev =
        fmt::format("socket,id=serial0,path={},server=on,wait=off", Path(console.listen_path));
  } else {
    chardev = "null,id=serial0";
  }
  if (!console.log_file.empty()) {
    chardev += fmt::format(",logfile={},logappend=on", Path(console.log_file));
  }
  argv.Add("-chardev", std::move(chardev));
  argv.Add("-serial", "chardev:serial0");
}

void AddDisks(const std::vector<DiskSpec>& disks, ArgvBuilder& argv) {
  int fdset = kFirstDiskFdset;
  for (const DiskSpec& disk : disks) {
    const char* ro = disk.read_only ? ",read-only=on" : "";
    const int child_fd = argv.Inherit(disk.fd);
    argv.Add("-add-fd", fmt::format("fd={},set={},opaque=disk-{}-{}", child_fd, fdset, disk.id,
                                    disk.read_only ? "ro" : "rw"));
    argv.Add("-blockdev", fmt::format("driver=file,node-name=f-{},filename=/dev/fdset/{}{}",
                                      disk.id, fdset, ro));
    argv.Add("-blockdev", fmt::format("driver={},node-name=d-{},file=f-{}{}",
                                      disk.format == DiskFormat::kQcow2 ? "qcow2" : "raw", disk.id,
                                      disk.id, ro));
    argv.Add("-device", fmt::format("virtio-blk-pci,drive=d-{},id=vd-{}", disk.id, disk.id));
    ++fdset;
  }
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

std::string EscapeQemuOptionValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    out.push_back(c);
    if (c == ',') out.push_back(',');
  }
  return out;
}

Result<QemuCommand> BuildQemuCommand(const VmSpec& spec) {
  if (auto checked = CheckSpec(spec); !checked) return Fail(checked.error());
  ArgvBuilder argv;
  AddBase(spec, argv);
  AddMonitors(spec, argv);
  AddConsole(spec.console, argv);
  AddDisks(spec.disks, argv);
  return argv.Take();
}

}  // namespace shype::vm
