// SPDX-License-Identifier: Apache-2.0
//
// Device entries of a domain config (`disk`, `vif`, `vtpm`, `shm` list elements) parsed into
// structs naming the resource each one uses. Pure string parsing, no file system access.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "shype/common/result.h"

namespace shype::config {

enum class DiskMode : std::uint8_t { kRead, kWrite };
enum class DiskFormat : std::uint8_t { kRaw, kQcow2 };

// A virtual block device. Accepted forms:
//   xm:  '<type>:<path>,<vdev>[:cdrom],<mode>'   type = file | phy | tap:<sub>
//   xl:  '<target>,<format>,<vdev>,<access>' and 'target=..,vdev=..,access=..,format=..,devtype=..'
// A bare target (no type prefix) is `phy:` under /dev/, else `file:`. Modes r/ro and w/rw/w!.
// `tap:qcow2:` implies format qcow2, `tap:aio:` raw.
struct DiskSpec {
  std::string resource;  // "file:/img/a.img", "phy:sdb", "tap:aio:/img/b.img" (not yet unified)
  std::string vdev;      // "xvda", "hdc"
  DiskMode mode = DiskMode::kRead;
  std::optional<DiskFormat> format;  // when given by the entry
  bool cdrom = false;
};

// A virtual NIC: 'mac=..,bridge=..,vnet=NAME,model=..'. The shype virtual switch is named by
// `vnet=`; xl's `bridge=` is accepted as its synonym (if both are given they must agree).
struct VifSpec {
  std::string vnet;                                         // switch name; resource "vnet:<vnet>"
  std::optional<std::string> mac;                           // "00:16:3e:01:02:03" (validated)
  std::map<std::string, std::string, std::less<>> options;  // every key=value as written
  std::string resource() const { return "vnet:" + vnet; }
};

// A vTPM: 'backend=..,uuid=..' (xl) or 'instance=..,backend=..' (xm); keys kept as written.
struct VtpmSpec {
  std::map<std::string, std::string, std::less<>> options;
};

// A shared-memory region: 'name=NAME,size=1M[,key=value...]'. size accepts K/M/G suffixes and
// must be a power of two >= 4K (ivshmem exposes it as a PCI BAR); default 1M.
struct ShmSpec {
  std::string name;
  std::uint64_t size_bytes = 1U << 20;
  std::map<std::string, std::string, std::less<>> options;
  std::string resource() const { return "shm:" + name; }
};

// Each returns kInvalidArgument with a message naming the entry and what to fix.
[[nodiscard]] Result<DiskSpec> ParseDiskSpec(std::string_view entry);
[[nodiscard]] Result<VifSpec> ParseVifSpec(std::string_view entry);
[[nodiscard]] Result<VtpmSpec> ParseVtpmSpec(std::string_view entry);
[[nodiscard]] Result<ShmSpec> ParseShmSpec(std::string_view entry);

}  // namespace shype::config
