// SPDX-License-Identifier: Apache-2.0
//
// Audit records as JSON lines: queued from any thread, written and followed on the io thread.
#include "audit_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "shype/common/file.h"
#include "shype/common/log.h"

namespace shype::daemon {
namespace asio = boost::asio;

namespace {

int OpenForAppend(const std::filesystem::path& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
}

}  // namespace

AuditLog::AuditLog(asio::io_context& io, std::filesystem::path path, AuditRotation rotation)
    : io_(io), path_(std::move(path)), rotation_(rotation) {
  fd_ = OpenForAppend(path_);
  if (fd_ < 0) log::Error("audit: cannot open '{}': {}", path_.string(), std::strerror(errno));
  struct stat st {};
  if (fd_ >= 0 && ::fstat(fd_, &st) == 0) size_ = static_cast<std::uint64_t>(st.st_size);
}

std::filesystem::path AuditLog::Numbered(std::uint32_t n) const {
  return n == 0 ? path_ : std::filesystem::path(fmt::format("{}.{}", path_.string(), n));
}

void AuditLog::Rotate() {
  for (std::uint32_t n = rotation_.keep; n > 1; --n) {
    if (::rename(Numbered(n - 1).c_str(), Numbered(n).c_str()) != 0 && errno != ENOENT) {
      log::Error("audit: cannot rotate '{}': {}", Numbered(n - 1).string(), std::strerror(errno));
      return;
    }
  }
  if (::rename(path_.c_str(), Numbered(1).c_str()) != 0) {
    log::Error("audit: cannot rotate '{}': {}", path_.string(), std::strerror(errno));
    return;
  }
  const int fresh = OpenForAppend(path_);
  if (fresh < 0) {  // the records go on to the renamed file: none is lost
    log::Error("audit: cannot open a new '{}': {}", path_.string(), std::strerror(errno));
    return;
  }
  ::close(fd_);
  fd_ = fresh;
  size_ = 0;
}

AuditLog::~AuditLog() {
  if (fd_ >= 0) ::close(fd_);
}

void AuditLog::Append(std::string json_line) {
  std::lock_guard lock(mu_);
  if (queue_.size() >= kMaxQueued) {
    ++dropped_;
    return;
  }
  queue_.push_back(std::move(json_line));
  if (!drain_posted_) {
    drain_posted_ = true;
    asio::post(io_, [this] { Drain(); });
  }
}

void AuditLog::Drain() {
  std::deque<std::string> lines;
  {
    std::lock_guard lock(mu_);
    lines.swap(queue_);
    drain_posted_ = false;
  }
  for (std::string& line : lines) {
    std::string out = line + "\n";
    if (fd_ >= 0 && size_ > 0 && size_ + out.size() > rotation_.max_bytes) Rotate();
    if (fd_ >= 0 && ::write(fd_, out.data(), out.size()) != static_cast<ssize_t>(out.size())) {
      log::Error("audit: write to '{}' failed: {}", path_.string(), std::strerror(errno));
    }
    size_ += out.size();
    recent_.push_back(std::move(line));
  }
  if (recent_.size() > 2 * kMaxQueued) {
    recent_.erase(recent_.begin(), recent_.begin() + static_cast<std::ptrdiff_t>(kMaxQueued));
    recent_base_ += kMaxQueued;
  }
  for (auto* timer : waiters_) timer->cancel();
}

Result<std::vector<std::string>> AuditLog::Tail(std::size_t tail) const {
  // Newest file first, until `tail` lines are found; then oldest first.
  std::vector<std::vector<std::string>> files;
  std::size_t found = 0;
  for (std::uint32_t n = 0; n <= rotation_.keep && found < tail; ++n) {
    auto text = ReadTextFileBounded(Numbered(n), 256U << 20);
    if (!text && text.error().code == ErrorCode::kNotFound) continue;
    if (!text) return Fail(text.error());
    std::vector<std::string>& lines = files.emplace_back();
    std::size_t pos = 0;
    while (pos < text->size()) {
      std::size_t nl = text->find('\n', pos);
      if (nl == std::string::npos) nl = text->size();
      if (nl > pos) lines.emplace_back(text->substr(pos, nl - pos));
      pos = nl + 1;
    }
    found += lines.size();
  }
  std::vector<std::string> lines;
  for (auto file = files.rbegin(); file != files.rend(); ++file) {
    lines.insert(lines.end(), std::make_move_iterator(file->begin()),
                 std::make_move_iterator(file->end()));
  }
  if (lines.size() > tail)
    lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(tail));
  return lines;
}

asio::awaitable<void> AuditLog::Follow(std::size_t tail, bool follow,
                                       const api::LineWriter& write) {
  // SECURITY: what is new is counted from the moment the past is read (nothing runs between
  // the two): records appended while the past is sent are streamed after it, none skipped.
  auto past = Tail(tail);
  std::uint64_t seen = recent_base_ + recent_.size();
  if (past) {
    for (auto& line : *past) {
      if (!co_await write(line)) co_return;
    }
  }
  while (follow && !closed_) {
    asio::steady_timer timer(io_, std::chrono::seconds(5));
    waiters_.push_back(&timer);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    waiters_.remove(&timer);
    if (seen < recent_base_) seen = recent_base_;  // a slow follower lost trimmed lines
    for (; seen < recent_base_ + recent_.size(); ++seen) {
      const std::string line = recent_[static_cast<std::size_t>(seen - recent_base_)];
      if (!co_await write(line)) co_return;
    }
    // An empty chunk-free keepalive: a blank line tells a vanished client from a quiet log.
    const std::string keepalive;
    if (ec != asio::error::operation_aborted && !co_await write(keepalive)) co_return;
  }
}

std::uint64_t AuditLog::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void AuditLog::Close() {
  closed_ = true;
  for (auto* timer : waiters_) timer->cancel();
}

}  // namespace shype::daemon
