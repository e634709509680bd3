// SPDX-License-Identifier: Apache-2.0
//
// AuditLog appends audit records (one JSON object per line) to STATE_DIR/audit.log and lets API
// clients follow new records. Append() may be called from any thread (it only queues and posts to
// the io_context); writing and following happen on the io_context thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "shype/api/http_server.h"
#include "shype/common/result.h"

namespace shype::daemon {

// When audit.log rotates: a record that would take it past max_bytes starts a new one; the old
// ones become audit.log.1 (the newest) .. audit.log.<keep> (the oldest, dropped next time).
struct AuditRotation {
  std::uint64_t max_bytes = 10U << 20;
  std::uint32_t keep = 5;
};

class AuditLog {
 public:
  AuditLog(boost::asio::io_context& io, std::filesystem::path path, AuditRotation rotation = {});
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;
  ~AuditLog();

  // Queues one JSON line (no newline). Thread-safe, never blocks on I/O. When more than
  // kMaxQueued lines wait, the line is dropped and counted (dropped() > 0 is an error state).
  void Append(std::string json_line);

  // Reads the last `tail` lines already written, across the rotated files, oldest first.
  [[nodiscard]] Result<std::vector<std::string>> Tail(std::size_t tail) const;

  // Streams records: first the last `tail` lines, then (if follow) each new one until the
  // client leaves or the log is closed.
  boost::asio::awaitable<void> Follow(std::size_t tail, bool follow, const api::LineWriter& write);

  std::uint64_t dropped() const;
  bool ok() const { return fd_ >= 0; }
  void Close();

  static constexpr std::size_t kMaxQueued = 10000;

 private:
  void Drain();
  // audit.log.<keep-1> .. audit.log move up one, audit.log starts empty. On any failure the
  // records go on to the file open before (never lost to a rotation).
  void Rotate();
  std::filesystem::path Numbered(std::uint32_t n) const;

  boost::asio::io_context& io_;
  std::filesystem::path path_;
  AuditRotation rotation_;
  int fd_ = -1;
  std::uint64_t size_ = 0;  // of the file fd_ writes
  mutable std::mutex mu_;
  // Guarded by mu_:
  std::deque<std::string> queue_;
  std::uint64_t dropped_ = 0;
  bool drain_posted_ = false;
  // io_context thread only:
  std::vector<std::string> recent_;  // a window of lines written since start, for followers
  std::uint64_t recent_base_ = 0;    // sequence number of recent_[0]
  std::list<boost::asio::steady_timer*> waiters_;
  bool closed_ = false;
};

}  // namespace shype::daemon
