// SPDX-License-Identifier: Apache-2.0
//
// shyped: the shype host daemon. Holds the reference monitor, runs labeled QEMU domains and
// serves the API on STATE_DIR/shyped.sock until SIGTERM/SIGINT (domains keep running). Under
// systemd (Type=notify) it reports READY=1 once the socket listens and STOPPING=1 on a signal.
#include <systemd/sd-daemon.h>

#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <iostream>

#include "daemon.h"
#include "shype/api/state_dir.h"
#include "shype/common/log.h"
#include "shyped_options.h"

int main(int argc, char** argv) {
  auto parsed =
      shype::daemon::ParseCommandLine(std::vector<std::string>(argv + 1, argv + argc),
                                      shype::daemon::kDefaultConfigPath, std::cout, std::cerr);
  if (const int* exit_code = std::get_if<int>(&parsed)) return *exit_code;
  auto& settings = std::get<shype::daemon::Settings>(parsed);
  shype::log::SetupForProcess(settings.log_level, settings.json_logs);
  std::signal(SIGPIPE, SIG_IGN);
  boost::asio::io_context io;
  shype::daemon::Daemon daemon(io, settings.options);
  // Before READY=1: a SIGTERM from then on is a clean stop, never the default action.
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    ::sd_notify(0, "STOPPING=1");
    shype::log::Info("shyped: signal {}, stopping (domains keep running)", sig);
    daemon.Stop();
    io.stop();
  });
  if (auto r = daemon.Start(); !r) {
    shype::log::Error("shyped: {}", r.error().message);
    return 1;
  }
  // Start() returns once the API socket listens: clients may connect from here on.
  const std::string socket = shype::api::SocketPath(settings.options.state_dir).string();
  ::sd_notifyf(0, "READY=1\nSTATUS=serving on %s", socket.c_str());
  io.run();
  return 0;
}
