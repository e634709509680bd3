// SPDX-License-Identifier: Apache-2.0
//
// Interactive console: raw terminal <-> the domain's console socket, Ctrl-] detaches.
#include "console.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace shype::cli {
namespace {

constexpr char kDetach = 0x1d;  // Ctrl-]
constexpr int kDrainMs = 1500;

class RawTerminal {
 public:
  RawTerminal() {
    if (::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved_) == 0) {
      termios raw = saved_;
      ::cfmakeraw(&raw);
      active_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

bool WriteAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

Result<void> AttachConsole(const std::string& socket_path) {
  sockaddr_un addr{};
  if (socket_path.empty() || socket_path.size() >= sizeof addr.sun_path) {
    return Fail(ErrorCode::kUnavailable, "the domain has no console socket");
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd);
    return Fail(ErrorCode::kUnavailable,
                "cannot attach to console '{}': {} (is another console attached?)", socket_path,
                std::strerror(err));
  }
  std::string banner = "Connected to the domain console. Escape character is '^]'.\r\n";
  WriteAll(STDOUT_FILENO, banner.data(), banner.size());
  RawTerminal raw;
  pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {fd, POLLIN, 0}};
  char buf[4096];
  for (;;) {
    // Once input has ended (a script piped its commands in), relay the domain's answer until
    // it has been quiet for kDrainMs.
    int ready = ::poll(fds, 2, fds[0].fd < 0 ? kDrainMs : -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (ready == 0) break;
    if (fds[0].revents & (POLLIN | POLLHUP)) {
      ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
      if (n <= 0) {
        fds[0].fd = -1;
        continue;
      }
      if (std::memchr(buf, kDetach, static_cast<std::size_t>(n)) != nullptr) break;
      if (!WriteAll(fd, buf, static_cast<std::size_t>(n))) break;
    }
    if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) break;
      if (!WriteAll(STDOUT_FILENO, buf, static_cast<std::size_t>(n))) break;
    }
  }
  ::close(fd);
  return {};
}

}  // namespace shype::cli
