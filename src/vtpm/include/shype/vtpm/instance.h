// SPDX-License-Identifier: Apache-2.0
//
// Instance: one domain's running vTPM — its swtpm process (state encrypted with the host key) and
// the relay thread that stands between it and the domain's QEMU. QEMU gets only its end of a
// socketpair for the control channel; shyped filters every control command (ctrl_protocol.h),
// holds the data channel, relays the guest's TPM commands one by one, measures the launch on each
// INIT (a TPM reset: start-up and every reboot) before answering it, and runs its own commands
// (quotes) between two of the guest's. Start/Stop/Submit from one thread (shyped's io thread).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "shype/common/result.h"
#include "shype/common/unique_fd.h"
#include "shype/vtpm/event_log.h"
#include "shype/vtpm/tpm.h"

namespace shype::vtpm {

struct InstanceOptions {
  std::string name;                 // for logs
  std::filesystem::path state_dir;  // swtpm's --tpmstate dir (0700)
  std::filesystem::path key_file;   // the host state key (hex, 0600)
  std::filesystem::path log_file;   // swtpm's stderr
  std::filesystem::path swtpm = "swtpm";
  EventLog launch;  // extended at each INIT, in order
};

class Instance {
 public:
  // Spawns swtpm, initializes and starts its TPM, runs `setup` on it (manufacture, or the AK
  // check) with the platform hierarchy still enabled, disables that hierarchy, then starts the
  // relay. Errors: the step that failed (spawn, a state the key cannot decrypt, setup's error).
  [[nodiscard]] static Result<std::unique_ptr<Instance>> Start(
      InstanceOptions options, const std::function<Result<void>(Tpm&)>& setup);
  ~Instance();  // Stop()
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  // QEMU's end of the control channel (`-chardev socket,id=..,fd=N`); once.
  UniqueFd TakeQemuEnd();
  // How many TPM resets have been measured (≥ 1 once QEMU's first INIT was answered).
  int launches() const { return launches_.load(); }
  // Why the vTPM stopped working ("" while it works): swtpm exited, QEMU broke the protocol.
  std::string failure() const;
  pid_t pid() const { return pid_; }
  const EventLog& launch_log() const { return options_.launch; }

  // Runs `op` on the relay thread between two guest commands; `op` gets nullptr when the vTPM
  // no longer works. Never blocks the caller.
  void Submit(std::function<void(Tpm*)> op);
  // Stops the relay, shuts swtpm down (its state is on disk) and reaps it. Idempotent.
  void Stop();

 private:
  struct Relay;
  explicit Instance(InstanceOptions options);
  InstanceOptions options_;
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  UniqueFd qemu_end_;
  std::unique_ptr<Relay> relay_;
  std::atomic<int> launches_{0};
};

}  // namespace shype::vtpm
