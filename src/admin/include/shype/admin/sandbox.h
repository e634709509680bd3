// SPDX-License-Identifier: Apache-2.0
//
// RunSandboxed runs a helper executable that handles hostile input (the policy XML compiler) in
// a sandbox: fixed fds (input on stdin, output on stdout, messages on stderr), resource limits,
// no_new_privs, an unprivileged uid, and Landlock (no file but /usr, /etc/ld.so.cache and the
// helper itself, read/exec only; no TCP; scoped abstract unix sockets and signals), with a
// wall-clock timeout and bounded output. Blocks the calling thread; thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "shype/common/result.h"

namespace shype::admin {

struct SandboxLimits {
  std::chrono::milliseconds timeout{30'000};  // wall clock, then SIGKILL
  std::uint64_t cpu_seconds = 20;             // RLIMIT_CPU (SIGXCPU, then SIGKILL)
  std::uint64_t address_space = 2ULL << 30;   // RLIMIT_AS, bytes
  std::uint64_t open_files = 32;              // RLIMIT_NOFILE
  std::size_t max_stdout = 96U << 20;         // more is refused (the helper is killed)
  std::size_t max_stderr = 64U << 10;         // more is refused (the helper is killed)
  // When run as root: the helper's uid and gid (supplementary groups are dropped). An
  // unprivileged caller keeps its own ids (it has nothing to drop).
  uid_t uid = 65534;
  gid_t gid = 65534;
};

struct SandboxResult {
  int exit_code = 0;  // the helper exited (a signal is an error instead)
  std::vector<std::uint8_t> out;
  std::string err;  // stderr, with bytes other than printable ASCII, \n, \t escaped
};

// Runs `exe` with `args` (argv[1...]) and an empty environment in the sandbox, writes `input` to
// its stdin and collects stdout and stderr. Errors (the helper is killed and reaped first):
// kUnavailable when the sandbox cannot be set up (no Landlock, cannot fork); kInternal when the
// helper exceeds the timeout or an output bound, or dies of a signal. Each message names `what`
// (e.g. "the policy compiler"), the limit, and what to do.
[[nodiscard]] Result<SandboxResult> RunSandboxed(std::string_view what,
                                                 const std::filesystem::path& exe,
                                                 const std::vector<std::string>& args,
                                                 std::span<const std::uint8_t> input,
                                                 const SandboxLimits& limits = {});

}  // namespace shype::admin
