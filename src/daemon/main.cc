// SPDX-License-Identifier: Apache-2.0
//
// shyped: the shype host daemon. Holds the reference monitor, runs labeled QEMU domains and
// serves the API on STATE_DIR/shyped.sock until SIGTERM/SIGINT (domains keep running).
#include <CLI/CLI.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <iostream>

#include "daemon.h"
#include "shype/api/api_options.h"
#include "shype/api/state_dir.h"
#include "shype/common/log.h"

int main(int argc, char** argv) {
  CLI::App app{"shyped: the shype host daemon (reference monitor + labeled QEMU domains)"};
  std::string state_dir, accel = "auto", log_level = "info", qemu = "qemu-system-x86_64";
  bool json_logs = false, isolated = false;
  // Every option may also come from a config file (INI/TOML: `image-dir = ["/srv/boot"]`,
  // `state-dir = "/var/lib/shype"`, ...); the command line wins.
  app.set_config("--config", "", "shyped's config file (the long option names as keys)");
  app.add_option("--state-dir", state_dir,
                 "state directory (default: $SHYPE_STATE_DIR or /var/lib/shype)");
  app.add_option("--accel", accel, "default accelerator: auto, kvm or tcg")
      ->check(CLI::IsMember({"auto", "kvm", "tcg"}));
  app.add_option("--qemu", qemu, "QEMU binary");
  std::vector<std::string> image_dirs;
  std::uint32_t qemu_uid_base = 2100000000;
  app.add_option("--qemu-uid-base", qemu_uid_base,
                 "domain N's QEMU runs as uid/gid BASE+N (default 2100000000)")
      ->check(CLI::Range(1000U, 4000000000U));
  app.add_option("--image-dir", image_dirs,
                 "directory boot images (kernel, initrd) may come from; repeatable (default: "
                 "STATE/images)");
  app.add_option("--log-level", log_level, "debug, info, warn, error");
  app.add_flag("--json-logs", json_logs, "structured (JSON lines) logs");
  app.add_flag("--isolated-instance", isolated,
               "for isolated tests only: take no host-wide lock (/run/shype/shyped.lock), so the "
               "Chinese Wall holds among this instance's domains only; shown by logs and 'list'");
  shype::api::ApiOptions api_options;  // --api-*: the API server's limits
  api_options.Add(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {  // adapter: CLI11 reports usage errors by throwing
    return app.exit(e) == 0 ? 0 : 2;
  }
  shype::log::SetupForProcess(log_level, json_logs);
  std::signal(SIGPIPE, SIG_IGN);
  boost::asio::io_context io;
  shype::daemon::Options options;
  options.state_dir = shype::api::ResolveStateDir(state_dir);
  options.accel = *shype::vm::ParseAccel(accel);
  options.qemu = qemu;
  for (const auto& dir : image_dirs) options.image_dirs.emplace_back(dir);
  options.qemu_uid_base = qemu_uid_base;
  options.api_limits = api_options.Limits();
  options.isolated_instance = isolated;
  shype::daemon::Daemon daemon(io, options);
  if (auto r = daemon.Start(); !r) {
    shype::log::Error("shyped: {}", r.error().message);
    return 1;
  }
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    shype::log::Info("shyped: signal {}, stopping (domains keep running)", sig);
    daemon.Stop();
    io.stop();
  });
  io.run();
  return 0;
}
