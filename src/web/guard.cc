// SPDX-License-Identifier: Apache-2.0
//
// The web server's request guard and the run's secrets.
#include "guard.h"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "shype/api/target.h"
#include "shype/api/text.h"
#include "shype/common/file.h"

namespace shype::web {
namespace {

constexpr std::size_t kSecretBytes = 32;

Result<std::string> RandomHex() {
  std::array<std::uint8_t, kSecretBytes> bytes{};
  std::size_t filled = 0;
  while (filled < bytes.size()) {
    ssize_t n = ::getrandom(bytes.data() + filled, bytes.size() - filled, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Fail(ErrorCode::kInternal, "cannot draw the access token: getrandom: {}",
                  std::strerror(errno));
    }
    filled += static_cast<std::size_t>(n);
  }
  return HexEncode(bytes);
}

Refusal Forbidden(std::string message) { return Refusal{403, "forbidden", std::move(message)}; }

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool IsJsonMediaType(std::string_view content_type) {
  std::string_view media = Trim(content_type.substr(0, content_type.find(';')));
  return EqualsIgnoringCase(media, "application/json");
}

}  // namespace

Result<Secrets> MakeSecrets() {
  auto token = RandomHex();
  if (!token) return Fail(token.error());
  auto csrf = RandomHex();
  if (!csrf) return Fail(csrf.error());
  return Secrets{std::move(*token), std::move(*csrf)};
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = static_cast<unsigned char>(
        diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
  }
  return diff == 0;
}

std::string Guard::SessionCookie() const {
  return fmt::format("{}={}; HttpOnly; SameSite=Strict; Path=/", kSessionCookie, secrets_.token);
}

Verdict Guard::Check(const RequestFacts& request) const {
  const std::string_view m = request.method;
  if (m != "GET" && m != "POST" && m != "PUT" && m != "DELETE") {
    return tl::unexpected(Refusal{
        405, "method_not_allowed",
        fmt::format("method '{}' is not served (GET, POST, PUT, DELETE)", api::EscapeBytes(m))});
  }
  if (auto site = CheckSite(request); !site) return site;
  auto token = CheckToken(request);
  if (!token || *token == Pass::kLogin) return token;
  return CheckStateChange(request);
}

Verdict Guard::CheckSite(const RequestFacts& request) const {
  // SECURITY: DNS rebinding — a page of evil.example whose name is made to resolve to 127.0.0.1
  // reaches this port as "same-origin" to the browser, but its requests say Host: evil.example.
  // Only requests naming this server's own address are served.
  if (request.host.size() != 1) {
    return tl::unexpected(Forbidden(fmt::format(
        "a request needs exactly one Host header, this one has {}", request.host.size())));
  }
  const std::string_view host = request.host.front();
  bool known = false;
  for (const std::string& h : hosts_) known = known || EqualsIgnoringCase(h, host);
  if (!known) {
    return tl::unexpected(Forbidden(fmt::format(
        "the Host header '{}' does not name this server (only {} are served: a page reached by "
        "another name, e.g. DNS rebinding, is refused); open the URL shype web printed",
        api::EscapeBytes(host), fmt::join(hosts_, ", "))));
  }
  // SECURITY: a page of another origin — another site, or another port of this host, which
  // SameSite does not tell apart — may send requests here; the browser names it in Origin and
  // Sec-Fetch-Site, and those requests are refused before the token is even looked at.
  const std::string own_origin = fmt::format("http://{}", host);
  for (std::string_view origin : request.origin) {
    if (!EqualsIgnoringCase(origin, own_origin)) {
      return tl::unexpected(Forbidden(fmt::format(
          "cross-origin request refused: Origin '{}' is not '{}' (only the pages shype web "
          "serves may use it)",
          api::EscapeBytes(origin), own_origin)));
    }
  }
  for (std::string_view site : request.sec_fetch_site) {
    if (site != "same-origin" && site != "none") {
      return tl::unexpected(Forbidden(fmt::format(
          "cross-site request refused (Sec-Fetch-Site: {}): only the pages shype web serves, "
          "or the URL it printed typed or pasted into the browser, may use it",
          api::EscapeBytes(site))));
    }
  }
  return Pass::kProceed;
}

bool Guard::HasSessionCookie(const RequestFacts& request) const {
  const std::string prefix = fmt::format("{}=", kSessionCookie);
  for (std::string_view header : request.cookie) {
    for (std::size_t pos = 0; pos <= header.size();) {
      std::size_t end = header.find(';', pos);
      if (end == std::string_view::npos) end = header.size();
      std::string_view pair = Trim(header.substr(pos, end - pos));
      if (pair.starts_with(prefix) &&
          ConstantTimeEqual(pair.substr(prefix.size()), secrets_.token)) {
        return true;
      }
      pos = end + 1;
    }
  }
  return false;
}

Verdict Guard::CheckToken(const RequestFacts& request) const {
  if (request.method == "GET" && request.path == "/" && !request.query.empty()) {
    auto query = api::ParseQuery(request.query);
    if (query && query->count("token") != 0) {
      // SECURITY: the token is compared in constant time; a wrong one gets nothing.
      if (ConstantTimeEqual(query->at("token"), secrets_.token)) return Pass::kLogin;
      return tl::unexpected(Refusal{401, "unauthenticated",
                                    "the token in the URL is wrong: open the URL the running "
                                    "shype web printed (each run prints a new token)"});
    }
  }
  if (!HasSessionCookie(request)) {
    return tl::unexpected(Refusal{
        401, "unauthenticated",
        fmt::format("no valid session: open the URL shype web printed on its terminal "
                    "(http://{}/?token=...); it keeps the token in a cookie",
                    request.host.empty() ? std::string_view("HOST:PORT") : request.host.front())});
  }
  return Pass::kProceed;
}

Verdict Guard::CheckStateChange(const RequestFacts& request) const {
  if (request.method == "GET") return Pass::kProceed;
  // SECURITY: a form or script of another page can make the browser send the cookie; it cannot
  // read /web/session (same-origin policy), so it cannot know the CSRF token this header needs.
  bool csrf_ok = request.csrf.size() == 1 && ConstantTimeEqual(request.csrf.front(), secrets_.csrf);
  if (!csrf_ok) {
    return tl::unexpected(Forbidden(fmt::format(
        "{} {} needs the header {}: <the token GET /web/session gives> (missing or wrong)",
        request.method, api::EscapeBytes(request.path), kCsrfHeader)));
  }
  if (request.body_bytes > 0 &&
      (request.content_type.size() != 1 || !IsJsonMediaType(request.content_type.front()))) {
    return tl::unexpected(Refusal{415, "unsupported_media_type",
                                  "a request body must be JSON, sent with Content-Type: "
                                  "application/json"});
  }
  return Pass::kProceed;
}

}  // namespace shype::web
