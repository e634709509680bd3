// SPDX-License-Identifier: Apache-2.0
//
// LandlockRuleset: raw syscalls of the Landlock ABI, with the rights masked to what the kernel
// supports.
#include "shype/common/landlock.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace shype {
namespace {

// The ABI 6 layout of struct landlock_ruleset_attr (older kernels take a prefix of it).
struct RulesetAttr {
  std::uint64_t handled_access_fs;
  std::uint64_t handled_access_net;
  std::uint64_t scoped;
};

struct PathBeneathAttr {
  std::uint64_t allowed_access;
  std::int32_t parent_fd;
} __attribute__((packed));

constexpr std::uint64_t kFileOnlyRights = landlock::kExecute | landlock::kWriteFile |
                                          landlock::kReadFile | landlock::kTruncate |
                                          (1ULL << 15);  // IOCTL_DEV (ABI 5)

std::uint64_t FsRights(int abi) {
  std::uint64_t rights = (1ULL << 13) - 1;  // ABI 1: EXECUTE .. MAKE_SYM
  if (abi >= 2) rights |= 1ULL << 13;       // REFER
  if (abi >= 3) rights |= landlock::kTruncate;
  if (abi >= 5) rights |= 1ULL << 15;  // IOCTL_DEV
  return rights;
}

}  // namespace

int LandlockRuleset::Abi() {
  const long abi =
      ::syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi < 0 ? 0 : static_cast<int>(abi);
}

Result<LandlockRuleset> LandlockRuleset::Create() {
  const int abi = Abi();
  if (abi < 1) {
    return Fail(ErrorCode::kUnavailable,
                "this kernel has no Landlock (CONFIG_SECURITY_LANDLOCK, lsm=landlock): QEMU cannot "
                "be confined, so no domain is started");
  }
  RulesetAttr attr{};
  attr.handled_access_fs = FsRights(abi);
  std::size_t size = sizeof attr.handled_access_fs;
  if (abi >= 4) {
    attr.handled_access_net = 3;  // BIND_TCP | CONNECT_TCP
    size = 2 * sizeof(std::uint64_t);
  }
  if (abi >= 6) {
    attr.scoped = 3;  // ABSTRACT_UNIX_SOCKET | SIGNAL
    size = sizeof attr;
  }
  const long fd = ::syscall(SYS_landlock_create_ruleset, &attr, size, 0U);
  if (fd < 0) {
    return Fail(ErrorCode::kIo, "landlock_create_ruleset (ABI {}): {}", abi, std::strerror(errno));
  }
  return LandlockRuleset(UniqueFd(static_cast<int>(fd)), abi, attr.handled_access_fs);
}

Result<bool> LandlockRuleset::AllowPath(const std::filesystem::path& path, std::uint64_t access) {
  UniqueFd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return false;
    return Fail(ErrorCode::kIo, "landlock rule for '{}': {}", path.string(), std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && !S_ISDIR(st.st_mode)) access &= kFileOnlyRights;
  if (auto r = AllowFd(fd.get(), access); !r) return Fail(r.error().WithContext(path.string()));
  return true;
}

Result<void> LandlockRuleset::AllowFd(int fd, std::uint64_t access) {
  PathBeneathAttr rule{access & handled_, fd};
  if (::syscall(SYS_landlock_add_rule, fd_.get(), LANDLOCK_RULE_PATH_BENEATH, &rule, 0U) != 0) {
    return Fail(ErrorCode::kIo, "landlock_add_rule: {}", std::strerror(errno));
  }
  return {};
}

bool LandlockRestrictSelf(int ruleset_fd) {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
  return ::syscall(SYS_landlock_restrict_self, ruleset_fd, 0U) == 0;
}

}  // namespace shype
