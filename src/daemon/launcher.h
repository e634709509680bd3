// SPDX-License-Identifier: Apache-2.0
//
// What the domain manager needs from the host to run a domain: a Launcher that spawns, adopts
// and stops QEMU processes, the Vm it gets back for each, and a Clock. shyped injects the real
// ones (qemu_launcher.h); the manager's unit tests inject fakes, so lifecycles run without QEMU.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "domain_record.h"
#include "shype/api/wire.h"
#include "shype/common/result.h"
#include "shype/common/unique_fd.h"
#include "shype/vm/qemu_process.h"
#include "shype/vm/vm_spec.h"

namespace shype::daemon {

// One domain's QEMU as the manager drives it. Destroying a Vm kills its process unless it was
// Detach()ed. Used from the io_context's thread only.
class Vm {
 public:
  virtual ~Vm() = default;
  virtual vm::ProcessIdentity identity() const = 0;
  // The QMP handshake with a QEMU just spawned (paused). Errors: kUnavailable with QEMU's words.
  virtual boost::asio::awaitable<Result<void>> Connect() = 0;
  // Sends one QMP command with its arguments (an object, or null) and fds attached (SCM_RIGHTS,
  // in the command's own sendmsg; closed once sent). Errors: kUnavailable (no QMP connection),
  // QEMU's error.
  virtual boost::asio::awaitable<Result<api::Json>> Execute(std::string command,
                                                            api::Json args = nullptr,
                                                            std::vector<UniqueFd> fds = {}) = 0;
  // QMP events by name ("STOP", "RESUME", "SHUTDOWN", "DEVICE_DELETED", ...) with their data
  // object ({} when none), on the io_context.
  using EventHandler = std::function<void(std::string_view event, const api::Json& data)>;
  virtual void OnEvent(EventHandler handler) = 0;
  // Called once, on the io_context, when the process has ended, with how it ended.
  virtual void OnExit(std::function<void(std::string why)> handler) = 0;
  // SIGKILL (its exit handler then runs). Errors: kUnavailable when it has exited already.
  [[nodiscard]] virtual Result<void> Kill() = 0;
  // SIGSTOP: the kernel stops every thread of QEMU, whatever QEMU would answer (a compromised
  // one can ignore QMP's `stop`). Errors: kUnavailable when it has exited already.
  [[nodiscard]] virtual Result<void> Freeze() = 0;
  // Leaves the process running: shyped stops and a restarted one adopts it.
  virtual void Detach() = 0;
};

// What a planned domain's QEMU is started with: every file as an fd opened and checked while
// planning (QEMU opens nothing by path), valid until Spawn returns.
struct LaunchRequest {
  const DomainRecord* record = nullptr;
  std::filesystem::path run_dir;  // exists (0700), holds the record
  vm::Accel accel = vm::Accel::kTcg;
  int kernel_fd = -1;  // -1: the firmware boots the first disk (then no initrd, no append)
  int initrd_fd = -1;
  std::string append;  // kernel command line, the shype.label= included
  std::vector<vm::DiskSpec> disks;
  std::vector<vm::NicSpec> nics;        // each a switch port's QEMU end
  std::vector<vm::ShmDeviceSpec> shms;  // each a region server socket's QEMU end
  bool incoming = false;  // a restore: QEMU waits for migrate-incoming (-incoming defer)
  int tpm_fd = -1;        // QEMU's end of its vTPM's control channel (-1: no TPM)
};

class Launcher {
 public:
  virtual ~Launcher() = default;
  // Starts the domain's QEMU confined and paused; the guest runs no instruction before the
  // manager's `cont`. Errors: the step that failed (jail, spawn), kIo.
  [[nodiscard]] virtual Result<std::unique_ptr<Vm>> Spawn(const LaunchRequest& request) = 0;
  // Takes over the QEMU a previous shyped left running (the record's pid and start time; QMP
  // reconnected in the background). Errors: kNotFound when it is gone; kIo when that cannot be
  // told.
  [[nodiscard]] virtual Result<std::unique_ptr<Vm>> Adopt(const DomainRecord& record,
                                                          const std::filesystem::path& run_dir) = 0;
  // Stops every process of the domain (its cgroup, the recorded process, any process that is its
  // QEMU though no record names it) and waits until they are gone; returns how many were killed.
  // Errors: kIo when one cannot be stopped (the caller must not forget the domain then).
  [[nodiscard]] virtual Result<std::size_t> StopAll(const DomainRecord& record,
                                                    const std::filesystem::path& run_dir) = 0;
  // Frees what the domain held on the host beside its process (its cgroups) once it has ended.
  virtual void Cleanup(const DomainRecord& record) = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point Now() const = 0;
  virtual std::int64_t UnixSeconds() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override {
    return std::chrono::steady_clock::now();
  }
  std::int64_t UnixSeconds() const override {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace shype::daemon
