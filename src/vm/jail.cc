// SPDX-License-Identifier: Apache-2.0
//
// QEMU's Landlock ruleset and its cgroups.
#include "shype/vm/jail.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "shype/common/file.h"
#include "shype/common/log.h"

namespace shype::vm {
namespace {

namespace fs = std::filesystem;

// What QEMU reads to start: its libraries and modules, firmware, option ROMs and keymaps.
constexpr const char* kReadExecDirs[] = {"/usr/lib", "/usr/lib64", "/usr/libexec"};
constexpr const char* kReadDirs[] = {"/usr/share/qemu", "/usr/share/seabios", "/usr/lib/ipxe",
                                     "/usr/share/ipxe", "/usr/share/ovmf",    "/usr/share/OVMF"};
constexpr const char* kReadFiles[] = {"/etc/ld.so.cache"};

struct Controller {
  const char* v1_name;
  const char* limit_file;
};

Result<void> WriteText(const fs::path& path, const std::string& text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid() ||
      ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return Fail(ErrorCode::kIo, "cannot write '{}' to {}: {}", text, path.string(),
                std::strerror(errno));
  }
  return {};
}

std::vector<fs::path> GroupDirs(const std::string& key, const fs::path& root) {
  std::vector<fs::path> dirs;
  std::error_code ec;
  if (fs::exists(root / "cgroup.controllers", ec)) {
    dirs.push_back(root / "shype" / key);  // v2: one hierarchy
    return dirs;
  }
  for (const char* name : {"memory", "pids"}) {
    if (fs::exists(root / name / "tasks", ec)) dirs.push_back(root / name / "shype" / key);
  }
  return dirs;
}

}  // namespace

JailRoot MakeJailRoot(const fs::path& qemu_binary, Accel accel) {
  JailRoot root;
  auto at = [&](const std::string& path) { return root.staging + path; };
  auto add = [&](RootStep::Kind kind, const std::string& path, std::string source = {}) {
    root.steps.push_back(RootStep{kind, at(path), std::move(source)});
  };
  std::error_code ec;
  add(RootStep::Kind::kBindDir, "/usr", "/usr");
  for (const char* top : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    const auto status = fs::symlink_status(top, ec);
    if (ec || !fs::exists(status)) continue;
    if (fs::is_symlink(status)) {
      add(RootStep::Kind::kSymlink, top, fs::read_symlink(top, ec).string());
    } else if (fs::is_directory(status)) {
      add(RootStep::Kind::kBindDir, top, top);
    }
  }
  add(RootStep::Kind::kMkdir, "/etc");
  if (fs::exists("/etc/ld.so.cache", ec)) {
    add(RootStep::Kind::kBindFile, "/etc/ld.so.cache", "/etc/ld.so.cache");
  }
  add(RootStep::Kind::kMkdir, "/dev");
  for (const char* dev : {"/dev/null", "/dev/zero", "/dev/urandom", "/dev/random"}) {
    add(RootStep::Kind::kBindFile, dev, dev);
  }
  if (accel == Accel::kKvm) add(RootStep::Kind::kBindFile, "/dev/kvm", "/dev/kvm");
  add(RootStep::Kind::kProc, "/proc");
  const std::string binary = qemu_binary.string();
  if (binary.rfind("/usr/", 0) != 0) {
    std::string dir;
    for (const auto& part : qemu_binary.parent_path().relative_path()) {
      dir += "/" + part.string();
      add(RootStep::Kind::kMkdir, dir);
    }
    add(RootStep::Kind::kBindFile, binary, binary);
  }
  return root;
}

Result<LandlockRuleset> MakeQemuRuleset(const fs::path& qemu_binary, Accel accel,
                                        std::span<const int> readable_fds) {
  auto ruleset = LandlockRuleset::Create();
  if (!ruleset) return Fail(ruleset.error());
  using namespace landlock;
  auto allow = [&](const fs::path& path, std::uint64_t access) -> Result<void> {
    auto added = ruleset->AllowPath(path, access);
    if (!added) return Fail(added.error());
    return {};
  };
  if (auto r = allow(qemu_binary, kReadFile | kExecute); !r) return Fail(r.error());
  for (const char* dir : kReadExecDirs) {
    if (auto r = allow(dir, kRead | kExecute); !r) return Fail(r.error());
  }
  for (const char* dir : kReadDirs) {
    if (auto r = allow(dir, kRead); !r) return Fail(r.error());
  }
  for (const char* file : kReadFiles) {
    if (auto r = allow(file, kReadFile); !r) return Fail(r.error());
  }
  if (accel == Accel::kKvm) {
    if (auto r = allow("/dev/kvm", kReadFile | kWriteFile); !r) return Fail(r.error());
  }
  for (int fd : readable_fds) {
    if (auto r = ruleset->AllowFd(fd, kReadFile); !r) return Fail(r.error());
  }
  return std::move(*ruleset);
}

// cgroup v2: controllers must be enabled in every parent's subtree_control before a child
// group has their files. Returns false (and the caller warns) when the host does not allow it.
bool EnableV2Controllers(const fs::path& root) {
  std::error_code ec;
  fs::create_directories(root / "shype", ec);
  bool ok = true;
  for (const fs::path& parent : {root, root / "shype"}) {
    for (const char* controller : {"+memory", "+pids"}) {
      ok = WriteText(parent / "cgroup.subtree_control", controller).has_value() && ok;
    }
  }
  return ok;
}

Result<DomainCgroup> DomainCgroup::Create(const std::string& key, std::uint64_t memory_bytes,
                                          std::uint32_t max_tasks, const fs::path& root) {
  DomainCgroup group;
  std::error_code ec;
  const bool v2 = fs::exists(root / "cgroup.controllers", ec);
  if (v2 && !EnableV2Controllers(root)) {
    log::Warn("cgroup v2: cannot enable the memory/pids controllers under {}", root.string());
  }
  for (const fs::path& dir : GroupDirs(key, root)) {
    fs::create_directories(dir, ec);
    if (ec) return Fail(ErrorCode::kIo, "cannot create cgroup {}: {}", dir.string(), ec.message());
    const std::string controller = v2 ? "v2" : dir.parent_path().parent_path().filename().string();
    // A limit file that exists must take the limit; a missing one (controller not available)
    // is a warning: the host runs the domain without that limit.
    auto limit = [&](const char* file, std::uint64_t value) -> Result<void> {
      if (!fs::exists(dir / file, ec)) {
        log::Warn("cgroup {}: no {} (controller unavailable): domain {} runs without that limit",
                  dir.string(), file, key);
        return {};
      }
      return WriteText(dir / file, std::to_string(value));
    };
    if (v2 || controller == "memory") {
      if (auto r = limit(v2 ? "memory.max" : "memory.limit_in_bytes", memory_bytes); !r) {
        return Fail(r.error());
      }
    }
    if (v2 || controller == "pids") {
      if (auto r = limit("pids.max", max_tasks); !r) return Fail(r.error());
    }
    UniqueFd procs(::open((dir / "cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC));
    if (!procs.valid()) {
      return Fail(ErrorCode::kIo, "cannot open {}: {}", (dir / "cgroup.procs").string(),
                  std::strerror(errno));
    }
    group.procs_.push_back(std::move(procs));
    group.controllers_.push_back(controller);
  }
  if (group.controllers_.empty()) {
    log::Warn("no memory/pids cgroup controller under {}: domain {} runs without cgroup limits",
              root.string(), key);
  }
  return group;
}

int DomainCgroup::KillAll(const std::string& key, const fs::path& root) {
  int killed = 0;
  for (const fs::path& dir : GroupDirs(key, root)) {
    auto text = ReadTextFileBounded(dir / "cgroup.procs", 1U << 20);
    if (!text) continue;
    std::size_t at = 0;
    while (at < text->size()) {
      std::size_t end = text->find('\n', at);
      if (end == std::string::npos) end = text->size();
      const int pid = std::atoi(text->substr(at, end - at).c_str());
      if (pid > 1 && ::kill(pid, SIGKILL) == 0) ++killed;
      at = end + 1;
    }
  }
  return killed;
}

void DomainCgroup::Remove(const std::string& key, const fs::path& root) {
  for (const fs::path& dir : GroupDirs(key, root)) ::rmdir(dir.c_str());
}

}  // namespace shype::vm
