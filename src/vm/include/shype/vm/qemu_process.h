// SPDX-License-Identifier: Apache-2.0
//
// QemuProcess owns one QEMU (or any) child process: spawned with exactly the intended fds, in its
// own session, stdout/stderr to a log file; exit is observed through a pidfd on the io_context.
// The owner kills and reaps it on destruction unless Release()d, so QEMU can outlive a daemon
// that chooses so (and always outlives a daemon killed with SIGKILL: no PDEATHSIG, own session).
// Not thread-safe: use from the io_context's thread.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "shype/common/result.h"
#include "shype/vm/jail.h"
#include "shype/vm/vm_spec.h"

namespace shype::vm {

// A process as a restarted daemon can recognise it: a pid alone may have been reused.
struct ProcessIdentity {
  pid_t pid = 0;
  std::uint64_t start_time = 0;  // /proc/PID/stat field 22 (clock ticks since boot)
  friend bool operator==(const ProcessIdentity&, const ProcessIdentity&) = default;
};

// How a process ended. Both fields are empty when the status is unknown (an adopted process
// that is not our child is reaped by someone else).
struct ExitStatus {
  std::optional<int> exit_code;
  std::optional<int> signal;
  std::string Describe()
      const;  // "exited with code 0", "killed by signal 9", "exit status unknown"
};

// Reads field 22 of /proc/PID/stat. Errors: kNotFound (no such process), kIo.
[[nodiscard]] Result<std::uint64_t> ReadProcessStartTime(pid_t pid);

// Returns the absolute path of `binary`: as given if it contains '/', else the first executable
// match in $PATH. Errors: kNotFound.
[[nodiscard]] Result<std::filesystem::path> FindExecutable(const std::filesystem::path& binary);

class QemuProcess {
 public:
  using ExitHandler = std::function<void(const ExitStatus&)>;

  // Starts `command` (argv[0] searched in PATH) in a new session, confined by `jail`: the child
  // joins the jail's cgroups, gets private mount/network/IPC namespaces and the jail's root, drops
  // to the jail's uid/gid with no groups and no capabilities, sets no_new_privs and enforces the
  // Landlock ruleset, all before execve. It inherits exactly command.fds (renumbered to their
  // child_fd), /dev/null as stdin and `log_file` (created 0600, appended) as stdout and stderr.
  // Errors: kInvalidArgument (jail uid/gid 0 or no ruleset), kNotFound (binary), kIo (log file,
  // fork, pidfd, a jail step failing in the child: the message names the step).
  [[nodiscard]] static Result<std::unique_ptr<QemuProcess>> Spawn(
      boost::asio::io_context& io, const QemuCommand& command,
      const std::filesystem::path& log_file, QemuJail& jail);
  // As Spawn, but unconfined (runs as the caller, with its privileges): for tests of process
  // handling with programs other than QEMU only.
  [[nodiscard]] static Result<std::unique_ptr<QemuProcess>> UnsafeSpawnUnconfined(
      boost::asio::io_context& io, const QemuCommand& command,
      const std::filesystem::path& log_file);

  // Takes over a process found after a daemon restart. Fails unless `identity.pid` is alive and
  // has `identity.start_time`. Errors: kNotFound (gone or pid reused), kIo.
  [[nodiscard]] static Result<std::unique_ptr<QemuProcess>> Adopt(boost::asio::io_context& io,
                                                                  ProcessIdentity identity);

  QemuProcess(const QemuProcess&) = delete;
  QemuProcess& operator=(const QemuProcess&) = delete;
  // Kills (SIGKILL) and reaps the process unless it exited or was Release()d.
  ~QemuProcess();

  const ProcessIdentity& identity() const { return identity_; }
  pid_t pid() const { return identity_.pid; }
  bool exited() const { return exit_status_.has_value(); }

  // Calls `on_exit` once, on the io_context, when the process has ended (and reaps it if it is
  // our child). Event-driven (pidfd readable), no polling. Only one wait may be pending; a
  // handler still pending when this object is destroyed or released is never called.
  void AsyncWaitExit(ExitHandler on_exit);

  // Sends `signal` through the pidfd (never hits a reused pid). Errors: kUnavailable (exited), kIo.
  [[nodiscard]] Result<void> Signal(int signal);

  // Stops owning the process: it keeps running, nothing is killed on destruction.
  ProcessIdentity Release();

 private:
  [[nodiscard]] static Result<std::unique_ptr<QemuProcess>> SpawnWith(
      boost::asio::io_context& io, const QemuCommand& command,
      const std::filesystem::path& log_file, const QemuJail* jail);
  QemuProcess(boost::asio::io_context& io, int pidfd, ProcessIdentity identity, bool is_child);
  void OnPidfdReadable(const boost::system::error_code& ec);
  ExitStatus Reap(bool block);

  boost::asio::posix::stream_descriptor pidfd_;
  ProcessIdentity identity_;
  bool is_child_;
  bool owned_ = true;
  std::optional<ExitStatus> exit_status_;
  ExitHandler on_exit_;
  // Set to false on destruction/release so a handler already queued by asio does nothing.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace shype::vm
