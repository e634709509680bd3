// SPDX-License-Identifier: Apache-2.0
//
// GET /web/audit: shyped's audit follow stream as server-sent events. Three coroutines share
// one state: the reader takes records from shyped, the watcher notices the browser leave, and
// the writer (the request's own) sends events and keep-alive comments. Whichever side ends
// first ends the others; the writer returns only once both have finished.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http.hpp>
#include <deque>

#include "shype/api/text.h"
#include "web_impl.h"

namespace shype::web {

namespace asio = boost::asio;

// What the three coroutines of one feed share (on the io_context thread).
struct AuditFeed {
  explicit AuditFeed(asio::io_context& io, std::unique_ptr<UpstreamStream> from)
      : upstream(std::move(from)), wake(io) {}
  void Wake() { wake.cancel(); }

  std::unique_ptr<UpstreamStream> upstream;
  asio::steady_timer wake;  // the writer waits on it; cancel() wakes it
  std::deque<std::string> events;
  bool shyped_ended = false;
  bool browser_left = false;
  bool reader_done = false;
  bool watcher_done = false;
};

namespace {

namespace beast = boost::beast;
namespace http = beast::http;

constexpr std::string_view kAuditTarget = "/v1/audit?tail=50&follow=true";
constexpr std::size_t kMaxQueuedEvents = 10000;

asio::awaitable<void> ReadRecords(std::shared_ptr<AuditFeed> feed) {
  while (!feed->browser_left) {
    std::optional<std::string> line = co_await feed->upstream->NextLine();
    if (!line) break;
    if (line->empty()) continue;
    // SECURITY: a browser that does not read must not make us queue records without bound.
    if (feed->events.size() >= kMaxQueuedEvents) break;
    // A record is one line of JSON: no newline inside, so one data: field carries it.
    feed->events.push_back(fmt::format("data: {}\n\n", *line));
    feed->Wake();
  }
  feed->shyped_ended = true;
  feed->reader_done = true;
  feed->Wake();
}

asio::awaitable<void> WatchBrowser(std::shared_ptr<AuditFeed> feed, TcpStream& browser) {
  char discard[512];
  for (;;) {
    boost::system::error_code ec;
    co_await browser.socket().async_read_some(asio::buffer(discard),
                                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;  // gone (EOF, reset) or cancelled by the writer
  }
  feed->browser_left = true;
  feed->watcher_done = true;
  feed->upstream->Close();
  feed->Wake();
}

}  // namespace

asio::awaitable<std::unique_ptr<UpstreamStream>> WebServer::Impl::OpenAudit(Connection& c) {
  Response refusal;
  if (audit_streams >= options.limits.max_audit_streams) {
    refusal = ErrorReply(503, "unavailable",
                         fmt::format("{} audit streams are open (the limit); close a tab",
                                     options.limits.max_audit_streams));
    co_await Write(c, refusal, false);
    co_return nullptr;
  }
  // SECURITY: the slot is taken before the first await (connecting to shyped), so feeds opened at
  // the same moment cannot all pass the check; ServeAudit gives it back when the feed ends.
  ++audit_streams;
  const std::string target(kAuditTarget);
  auto opened = co_await upstream.OpenStream(target);
  if (opened && (*opened)->status() / 100 == 2) co_return std::move(*opened);
  --audit_streams;
  if (opened) {  // shyped's refusal, passed through
    const unsigned status = (*opened)->status();
    std::string body = co_await (*opened)->ReadRest(64U << 10);
    api::Json error = api::Json::parse(body, nullptr, false);
    refusal = error.is_object() ? JsonReply(status, error)
                                : ErrorReply(status, "unavailable", api::EscapeBytes(body));
  } else {
    refusal = ErrorReply(opened.error());
  }
  co_await Write(c, refusal, false);
  co_return nullptr;
}

asio::awaitable<void> WebServer::Impl::PumpEvents(Connection& c, AuditFeed& feed) {
  boost::system::error_code ec;
  std::string text = ": shype web audit feed\n\n";
  while (!ec && !feed.browser_left) {
    for (; !feed.events.empty(); feed.events.pop_front()) text += feed.events.front();
    if (text.empty() && feed.shyped_ended) break;
    if (text.empty()) {
      feed.wake.expires_after(options.limits.keep_alive_interval);
      boost::system::error_code wait_ec;
      co_await feed.wake.async_wait(asio::redirect_error(asio::use_awaitable, wait_ec));
      if (!wait_ec) text = ": keep-alive\n\n";  // expired, not woken: the browser hears we live
      continue;
    }
    c.stream.expires_after(options.limits.write_timeout);
    co_await asio::async_write(c.stream, http::make_chunk(asio::buffer(text)),
                               asio::redirect_error(asio::use_awaitable, ec));
    c.stream.expires_never();
    text.clear();
  }
  if (ec || feed.browser_left) co_return;
  // shyped ended the stream (it stopped): say so, then end the body cleanly.
  const api::Json end{{"message", fmt::format("shyped's audit stream on '{}' ended (did shyped "
                                              "stop?)",
                                              upstream.socket().string())}};
  const std::string last = fmt::format("event: end\ndata: {}\n\n", api::DumpJson(end));
  c.stream.expires_after(options.limits.write_timeout);
  co_await asio::async_write(c.stream, http::make_chunk(asio::buffer(last)),
                             asio::redirect_error(asio::use_awaitable, ec));
  if (!ec) {
    co_await asio::async_write(c.stream, http::make_chunk_last(),
                               asio::redirect_error(asio::use_awaitable, ec));
  }
  c.stream.expires_never();
}

asio::awaitable<void> WebServer::Impl::ServeAudit(Connection& c, const HttpRequest& req) {
  std::unique_ptr<UpstreamStream> stream = co_await OpenAudit(c);
  if (!stream) co_return;  // OpenAudit gave its slot back
  auto feed = std::make_shared<AuditFeed>(io, std::move(stream));
  http::response<http::empty_body> head{http::status::ok, req.version()};
  AddSecurityHeaders(head);
  head.set(http::field::content_type, "text/event-stream");
  head.keep_alive(false);
  head.chunked(true);
  http::response_serializer<http::empty_body> serializer{head};
  boost::system::error_code ec;
  c.stream.expires_after(options.limits.write_timeout);
  co_await http::async_write_header(c.stream, serializer,
                                    asio::redirect_error(asio::use_awaitable, ec));
  c.stream.expires_never();
  asio::co_spawn(io, ReadRecords(feed), asio::detached);
  asio::co_spawn(io, WatchBrowser(feed, c.stream), asio::detached);
  if (!ec) co_await PumpEvents(c, *feed);
  // The helpers hold the browser's stream and shyped's: end both and wait for them to finish.
  feed->upstream->Close();
  c.stream.socket().cancel(ec);
  while (!feed->reader_done || !feed->watcher_done) {
    feed->wake.expires_after(std::chrono::seconds(1));
    boost::system::error_code wait_ec;
    co_await feed->wake.async_wait(asio::redirect_error(asio::use_awaitable, wait_ec));
  }
  --audit_streams;
}

}  // namespace shype::web
