// SPDX-License-Identifier: Apache-2.0
//
// WebServer is `shype web`: the browser's edge to shyped. It serves the UI bundle and a guarded
// forward of shyped's API over loopback TCP (HTTP/1.1, Boost.Beast coroutines on one thread),
// and talks to shyped over its Unix socket like the CLI, asynchronously (a live audit stream
// never holds up other requests). Every request must come from a page of this server's own
// origin with the run's token (docs/web.md "Security model"). Create() on any thread; Run()
// serves on the calling thread; Stop() may be called from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "shype/common/result.h"

namespace shype::web {

// The domain configs `shype web --configs DIR` offers: DIR's plain *.cfg files, read as
// `shype create` reads them (at most `max_bytes`, UTF-8), their domain names by `domain_name`
// (the CLI's config parser; "" when the config names none or does not parse).
struct ConfigSource {
  std::filesystem::path dir;  // empty: no configs
  std::size_t max_bytes = 1U << 20;
  std::function<std::string(const std::string& text, const std::string& path)> domain_name;
};

// The web server's resource limits (docs/web.md "Limits").
struct WebLimits {
  std::size_t max_body_bytes = 1U << 20;  // a request's body (413 beyond)
  std::size_t max_header_bytes = 32U << 10;
  std::size_t max_reply_bytes = 64U << 20;   // a reply from shyped passed through (502 beyond)
  std::size_t max_static_bytes = 16U << 20;  // one file of the UI bundle
  std::size_t max_connections = 64;          // browser connections at once (503 beyond)
  std::size_t max_audit_streams = 8;         // /web/audit streams at once (503 beyond)
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  // A forwarded request's reply from shyped (a domain's shutdown waits for its guest).
  std::chrono::milliseconds upstream_timeout{std::chrono::minutes(5)};
  std::chrono::milliseconds keep_alive_interval{std::chrono::seconds(15)};  // SSE comments
};

struct WebOptions {
  std::string listen = "127.0.0.1:8080";        // IP:PORT ([v6]:PORT, localhost:PORT); port 0: any
  std::filesystem::path socket;                 // shyped's API socket (api::SocketPath)
  std::optional<std::filesystem::path> ui_dir;  // the UI bundle; nullopt: the API only
  ConfigSource configs;
  WebLimits limits;
  bool stop_on_signals = false;  // Run() returns on SIGINT or SIGTERM
};

class WebServer {
 public:
  // Parses the listen address, draws the run's secrets and binds the socket (nothing is served
  // before Run()). Errors: kInvalidArgument (a bad or wildcard --listen, a --ui that is no
  // directory), kIo (cannot listen there), kInternal (no randomness).
  [[nodiscard]] static Result<std::unique_ptr<WebServer>> Create(WebOptions options);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  // The URL to open: http://HOST:PORT/?token=<64 hex digits>, with the port bound.
  std::string url() const;
  std::uint16_t port() const;
  bool loopback() const;  // false: reachable from other hosts (the CLI warns)

  // Serves until Stop() (or a signal, with stop_on_signals).
  void Run();
  // Stops accepting and ends open connections and streams; Run() then returns.
  void Stop();

  struct Impl;  // web_server.cc

 private:
  explicit WebServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace shype::web
