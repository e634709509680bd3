// SPDX-License-Identifier: Apache-2.0
//
// The Launcher shyped runs domains with: each QEMU confined (own uid/gid, Landlock, allow-list
// root, cgroups), given fds only, its QMP over a socketpair (and qmp.sock for a restarted
// shyped), and stopped by pidfd, cgroup and /proc scan.
#pragma once

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <span>

#include "launcher.h"
#include "shype/vm/jail.h"

namespace shype::daemon {

class QemuLauncher final : public Launcher {
 public:
  QemuLauncher(boost::asio::io_context& io, std::filesystem::path qemu);

  [[nodiscard]] Result<std::unique_ptr<Vm>> Spawn(const LaunchRequest& request) override;
  [[nodiscard]] Result<std::unique_ptr<Vm>> Adopt(const DomainRecord& record,
                                                  const std::filesystem::path& run_dir) override;
  [[nodiscard]] Result<std::size_t> StopAll(const DomainRecord& record,
                                            const std::filesystem::path& run_dir) override;
  void Cleanup(const DomainRecord& record) override;

 private:
  // The jail for the domain's QEMU (uid/gid, Landlock ruleset readable on `readable_fds`,
  // cgroups with limits from its memory size). Errors: kUnavailable, kIo.
  [[nodiscard]] Result<vm::QemuJail> MakeJail(const DomainRecord& record, vm::Accel accel,
                                              std::span<const int> readable_fds);

  boost::asio::io_context& io_;
  std::filesystem::path qemu_;
};

}  // namespace shype::daemon
