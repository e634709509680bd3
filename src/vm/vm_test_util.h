// SPDX-License-Identifier: Apache-2.0
//
// Test helpers for src/vm tests: run an io_context until a condition holds, socketpairs.
#pragma once

#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <thread>
#include <utility>

#include "shype/common/unique_fd.h"

namespace shype::vm::testing {

// Runs `io` until `done()` is true or `timeout` passes; returns done().
template <class Done>
bool RunUntil(boost::asio::io_context& io, Done done,
              std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    if (io.stopped()) io.restart();
    if (io.run_one_for(std::chrono::milliseconds(20)) == 0 && io.stopped()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // no work: do not spin
    }
  }
  return done();
}

// Returns both ends of a CLOEXEC Unix stream socketpair.
inline std::pair<UniqueFd, UniqueFd> SocketPair() {
  int fds[2] = {-1, -1};
  ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace shype::vm::testing
