// SPDX-License-Identifier: Apache-2.0
//
// `shype web`: serves the web UI and a guarded forward of shyped's API on loopback (src/web,
// docs/web.md), until Ctrl-C. Prints the URL with the run's token once it listens.
#include <unistd.h>

#include <array>
#include <iostream>
#include <memory>

#include "commands.h"
#include "shype/api/state_dir.h"
#include "shype/config/domain_config.h"
#include "shype/web/web_server.h"

namespace shype::cli {
namespace {

struct WebFlags {
  std::string listen = "127.0.0.1:8080";
  std::string ui;
  std::string configs;
};

// The directory of the running shype (/proc/self/exe), or empty.
std::filesystem::path ExecutableDir() {
  std::array<char, 4096> buffer{};
  const ssize_t n = ::readlink("/proc/self/exe", buffer.data(), buffer.size() - 1);
  if (n <= 0) return {};
  return std::filesystem::path(std::string(buffer.data(), static_cast<std::size_t>(n)))
      .parent_path();
}

// The UI bundle beside the program: installed (<prefix>/share/shype/web) or built (build/web/dist).
std::optional<std::filesystem::path> FindUiBundle(std::string& looked_in) {
  const std::filesystem::path exe = ExecutableDir();
  if (exe.empty()) return std::nullopt;
  for (const auto& dir : {exe / ".." / "share" / "shype" / "web", exe / ".." / "web" / "dist"}) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(dir / "index.html", ec)) {
      return dir.lexically_normal();
    }
    looked_in += (looked_in.empty() ? "" : ", ") + dir.lexically_normal().string();
  }
  return std::nullopt;
}

// The domain name a config gives, as `shype create` would read it ("" when none or invalid).
std::string DomainName(const std::string& text, const std::string& path) {
  auto parsed = config::DomainConfig::Parse(text, path);
  if (!parsed) return "";
  auto name = parsed->Name();
  return name ? *name : "";
}

void RunWeb(Context& ctx, const WebFlags& flags) {
  web::WebOptions options;
  options.listen = flags.listen;
  options.socket = api::SocketPath(ctx.state_dir());
  options.configs = web::ConfigSource{flags.configs, config::kMaxConfigBytes, DomainName};
  options.stop_on_signals = true;
  if (!flags.ui.empty()) {
    options.ui_dir = flags.ui;
  } else {
    std::string looked_in;
    options.ui_dir = FindUiBundle(looked_in);
    if (!options.ui_dir) {
      ctx.Warn(
          fmt::format("no UI bundle found (looked in {}): build the target shype_web_ui or "
                      "pass --ui DIR; serving the API only",
                      looked_in.empty() ? "no directory" : looked_in));
    }
  }
  auto server = web::WebServer::Create(std::move(options));
  if (!server) return ctx.PrintError(server.error());
  if (!(*server)->loopback()) {
    ctx.Warn(
        fmt::format("shype web listens on {}, which is not loopback: anyone who can reach "
                    "it and learns the URL's token controls shyped as you; plain HTTP "
                    "carries that token unencrypted",
                    flags.listen));
  }
  const std::string url = (*server)->url();
  ctx.Print(api::Json{{"url", url}}, fmt::format("shype web: open {}\n", url));
  (*server)->Run();
}

}  // namespace

void RegisterWebCommand(CLI::App& app, Context& ctx) {
  auto* web = app.add_subcommand(
      "web", "serve the web UI on loopback (prints a URL with an access token; Ctrl-C stops)");
  auto flags = std::make_shared<WebFlags>();
  web->add_option("--listen", flags->listen,
                  "IP:PORT to serve on (default 127.0.0.1:8080; port 0: any free port)");
  web->add_option("--ui", flags->ui,
                  "the UI bundle directory (default: share/shype/web or the build's web/dist "
                  "beside this program)");
  web->add_option("--configs", flags->configs,
                  "a directory of domain configs (*.cfg) the UI may start");
  web->callback([&ctx, flags] { RunWeb(ctx, *flags); });
}

}  // namespace shype::cli
