// SPDX-License-Identifier: Apache-2.0
//
// Guard decides whether a browser request may reach anything: the Host header (DNS rebinding),
// Origin and Sec-Fetch-Site (cross-site pages), the run's token (URL once, then the cookie) and,
// for state-changing requests, the anti-CSRF header and a JSON body. Pure logic, no I/O;
// immutable after construction, so thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "shype/common/result.h"

namespace shype::web {

inline constexpr std::string_view kSessionCookie = "shype_session";
inline constexpr std::string_view kCsrfHeader = "X-Shype-CSRF";

// The secrets of one `shype web` run, each 32 random bytes as 64 lowercase hex digits: the
// access token (printed in the URL, then kept in the HttpOnly cookie) and the anti-CSRF token
// (handed to the page by GET /web/session, sent back in X-Shype-CSRF).
struct Secrets {
  std::string token;
  std::string csrf;
};

// Draws new secrets from the kernel (getrandom). Errors: kInternal when it gives none.
[[nodiscard]] Result<Secrets> MakeSecrets();

// Compares in time that depends on the lengths only, not on where the strings differ.
bool ConstantTimeEqual(std::string_view a, std::string_view b);

// What the guard reads of a request: header values as sent (every occurrence).
struct RequestFacts {
  std::string_view method;
  std::string_view path;   // the target before '?', still percent-encoded
  std::string_view query;  // after '?', "" when none
  std::vector<std::string_view> host;
  std::vector<std::string_view> origin;
  std::vector<std::string_view> sec_fetch_site;
  std::vector<std::string_view> cookie;
  std::vector<std::string_view> csrf;
  std::vector<std::string_view> content_type;
  std::size_t body_bytes = 0;
};

// A refused request's reply: HTTP status, the JSON error code and a message to act on.
struct Refusal {
  unsigned status = 403;
  std::string code;
  std::string message;
};

enum class Pass : std::uint8_t {
  kProceed,  // serve it
  kLogin,    // GET /?token=<the token>: 303 to / setting the session cookie
};
using Verdict = tl::expected<Pass, Refusal>;

class Guard {
 public:
  // `hosts`: the Host header values that name this server ("127.0.0.1:8080", "localhost:8080").
  Guard(Secrets secrets, std::vector<std::string> hosts)
      : secrets_(std::move(secrets)), hosts_(std::move(hosts)) {}

  // Checks, in this order: the method, the Host header, Origin and Sec-Fetch-Site, the token
  // (URL or cookie), then for POST/PUT/DELETE the CSRF header and the body's media type.
  [[nodiscard]] Verdict Check(const RequestFacts& request) const;

  // The Set-Cookie value that logs a browser in.
  std::string SessionCookie() const;
  const Secrets& secrets() const { return secrets_; }

 private:
  [[nodiscard]] Verdict CheckSite(const RequestFacts& request) const;
  [[nodiscard]] Verdict CheckToken(const RequestFacts& request) const;
  [[nodiscard]] Verdict CheckStateChange(const RequestFacts& request) const;
  bool HasSessionCookie(const RequestFacts& request) const;

  Secrets secrets_;
  std::vector<std::string> hosts_;
};

}  // namespace shype::web
