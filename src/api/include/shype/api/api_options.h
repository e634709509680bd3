// SPDX-License-Identifier: Apache-2.0
//
// shyped's --api-* command-line options, which set the API server's ServerLimits (docs/api.md
// "Limits"). Header-only so that only the shyped executable (not the daemon library) needs CLI11.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <memory>

#include "shype/api/http_server.h"

namespace shype::api {

// Add() registers the options on `app`; after parsing, Limits() gives what was asked for.
class ApiOptions {
 public:
  void Add(CLI::App& app) {
    ServerLimits d;
    request_s_ = Seconds(d.request_timeout);
    write_s_ = Seconds(d.write_timeout);
    connections_ = d.max_connections;
    body_bytes_ = d.max_body_bytes;
    backoff_ms_ = static_cast<double>(d.accept_backoff.count());
    app.add_option("--api-request-timeout", request_s_,
                   "seconds a client has to send a whole request (idle connections too)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--api-write-timeout", write_s_,
                   "seconds a client that does not read a reply or stream line is given")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    app.add_option("--api-max-connections", connections_, "API connections open at once")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100000}))
        ->capture_default_str();
    app.add_option("--api-max-body-bytes", body_bytes_, "largest request body")
        ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 30))
        ->capture_default_str();
    app.add_option("--api-accept-backoff-ms", backoff_ms_,
                   "milliseconds to wait after a failed accept() (e.g. out of file descriptors)")
        ->check(CLI::Range(1.0, 10000.0))
        ->capture_default_str();
  }

  ServerLimits Limits() const {
    ServerLimits limits;
    limits.request_timeout = Millis(request_s_ * 1000);
    limits.write_timeout = Millis(write_s_ * 1000);
    limits.max_connections = connections_;
    limits.max_body_bytes = body_bytes_;
    limits.accept_backoff = Millis(backoff_ms_);
    return limits;
  }

 private:
  static double Seconds(std::chrono::milliseconds ms) {
    return static_cast<double>(ms.count()) / 1000.0;
  }
  static std::chrono::milliseconds Millis(double ms) {
    return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(ms < 1 ? 1 : ms));
  }

  double request_s_ = 0, write_s_ = 0, backoff_ms_ = 0;
  std::size_t connections_ = 0, body_bytes_ = 0;
};

}  // namespace shype::api
