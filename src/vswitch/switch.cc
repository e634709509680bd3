// SPDX-License-Identifier: Apache-2.0
//
// Switch: the ports' sockets and the data thread around a Forwarder (Boost.Asio, one io_context
// per network). Reads are speculative async_read_some into a per-port buffer; each batch's frames
// are written to each receiver with one sendmsg (gather); a receiver that cannot take them gets a
// bounded backlog, then drops.
#include "shype/vswitch/switch.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <climits>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "shype/common/log.h"

namespace shype::vswitch {
namespace asio = boost::asio;

namespace {
// One read takes up to this much: with 64-byte frames, about 960 frames per read.
constexpr std::size_t kReadBytes = 64 * 1024;
constexpr std::size_t kIovMax = IOV_MAX;
// Deliveries per batch (a broadcast counts once per receiver): one batch's work, and so the
// wait of a control call, stays bounded however far one sender's frames fan out.
constexpr std::size_t kBatchDeliveries = 4096;
}  // namespace

struct Switch::Impl {
  struct Port {
    PortId id{0};
    PortIndex index = 0;
    bool open = true;
    asio::local::stream_protocol::socket sd;  // sends with MSG_NOSIGNAL: a gone QEMU is no SIGPIPE
    std::vector<std::uint8_t> rx;             // kReadBytes + room for an incomplete frame
    std::size_t rx_len = 0;
    std::vector<iovec> out;  // this batch's frames to it (spans of the sender's rx buffer)
    std::vector<std::uint8_t> backlog;  // frames it could not take yet, in order
    std::size_t backlog_sent = 0;       // bytes of backlog already written
    // Each backlog frame's sender and size, from the first one not wholly written, so that a
    // revocation or a detach can take the sender's frames back out.
    std::deque<std::pair<PortIndex, std::size_t>> backlog_frames;
    std::size_t backlog_head = 0;  // where backlog_frames[0] starts in backlog
    bool writing = false;
    explicit Port(asio::io_context& io) : sd(io) {}
  };
  // What Ports() shows; written on the data thread, read anywhere (mu).
  struct Meta {
    DomainId domain{0};
    MacAddress mac;
    PortIndex index = 0;
    bool connected = true;
    std::string closed_why;
    std::set<PortId> reaches;
  };

  explicit Impl(std::string n) : name(std::move(n)) {}

  std::string name;
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread;
  Forwarder fwd;
  std::array<std::shared_ptr<Port>, kMaxPorts> ports;  // data thread
  std::vector<PortIndex> dirty;                        // data thread: ports with `out` queued
  PortIndex batch_from = 0;                            // data thread: the batch's sender
  std::uint64_t next_id = 1;                           // data thread

  mutable std::mutex mu;
  std::map<PortId, Meta> meta;  // guarded by mu
  std::mutex control_mu;
  std::vector<std::function<void()>> control;  // guarded by control_mu

  // Runs f on the data thread and returns its result. Control calls jump the queue: the data
  // thread runs them before its next batch (RunControl), so a flood delays them by one batch.
  template <class F>
  auto Run(F f) -> std::invoke_result_t<F> {
    if (std::this_thread::get_id() == thread.get_id()) return f();
    std::packaged_task<std::invoke_result_t<F>()> task(std::move(f));
    auto done = task.get_future();
    {
      std::lock_guard lock(control_mu);
      control.emplace_back([&task] { task(); });
    }
    asio::post(io, [this] { RunControl(); });  // if the data thread is idle
    return done.get();
  }

  void RunControl() {
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard lock(control_mu);
      tasks.swap(control);
    }
    for (auto& task : tasks) task();
  }

  Port* Find(PortId id) {
    for (auto& p : ports) {
      if (p && p->id == id) return p.get();
    }
    return nullptr;
  }

  Result<Attached> AttachOnThread(DomainId domain, MacAddress mac) {
    auto index = fwd.AddPort(mac);
    if (!index) return Fail(index.error().WithContext(fmt::format("network '{}'", name)));
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      fwd.RemovePort(*index);
      return Fail(ErrorCode::kIo, "network '{}': socketpair: {}", name, std::strerror(errno));
    }
    UniqueFd mine(fds[0]);
    UniqueFd peer(fds[1]);
    if (::fcntl(mine.get(), F_SETFL, ::fcntl(mine.get(), F_GETFL) | O_NONBLOCK) != 0) {
      fwd.RemovePort(*index);
      return Fail(ErrorCode::kIo, "network '{}': fcntl: {}", name, std::strerror(errno));
    }
    auto port = std::make_shared<Port>(io);
    boost::system::error_code ec;
    port->sd.assign(asio::local::stream_protocol(), mine.get(), ec);
    if (ec) {
      fwd.RemovePort(*index);
      return Fail(ErrorCode::kIo, "network '{}': {}", name, ec.message());
    }
    (void)mine.Release();  // the socket owns it now
    port->id = PortId{next_id++};
    port->index = *index;
    port->rx.resize(kReadBytes + kLengthPrefixBytes + kMaxFrameBytes);
    ports[*index] = port;
    {
      std::lock_guard lock(mu);
      meta[port->id] = Meta{domain, mac, *index, true, {}, {}};
    }
    StartRead(port);
    return Attached{port->id, std::move(peer)};
  }

  void StartRead(const std::shared_ptr<Port>& p) {
    p->sd.async_read_some(
        asio::buffer(p->rx.data() + p->rx_len, p->rx.size() - p->rx_len),
        [this, p](const boost::system::error_code& ec, std::size_t n) { OnRead(p, ec, n); });
  }

  void OnRead(const std::shared_ptr<Port>& p, const boost::system::error_code& ec, std::size_t n) {
    if (!p->open) return;
    if (ec) {
      Close(*p,
            ec == asio::error::eof ? "its QEMU closed the connection" : "read: " + ec.message());
      return;
    }
    p->rx_len += n;
    Process(p);
  }

  // One batch: control calls first, then at most kBatchDeliveries of p's frames, each receiver's
  // written with one sendmsg. What the budget left waits for the next batch (posted: the other
  // ports and control calls go first); only then is p read again.
  void Process(const std::shared_ptr<Port>& p) {
    RunControl();
    if (!p->open) return;
    const PortIndex from = p->index;
    batch_from = from;
    const IngestResult r = fwd.Ingest(
        from, std::span<const std::uint8_t>(p->rx.data(), p->rx_len),
        [this](PortIndex to, std::span<const std::uint8_t> wire) { Queue(to, wire); },
        kBatchDeliveries);
    for (PortIndex to : dirty) Flush(*ports[to], from);
    dirty.clear();
    if (r.framing_lost) {
      Close(*p, "it sent a length prefix QEMU never sends (the stream lost its framing)");
      return;
    }
    std::memmove(p->rx.data(), p->rx.data() + r.consumed, p->rx_len - r.consumed);
    p->rx_len -= r.consumed;
    if (r.budget_spent) {
      asio::post(io, [this, p] { Process(p); });
    } else {
      StartRead(p);
    }
  }

  void Queue(PortIndex to, std::span<const std::uint8_t> wire) {
    const PortIndex queue_from = batch_from;
    Port* d = ports[to].get();
    if (d == nullptr || !d->open) return;
    if (d->backlog.size() > d->backlog_sent) {  // keep the order: behind what waits already
      Backlog(*d, queue_from, wire);
      return;
    }
    if (d->out.empty()) dirty.push_back(to);
    d->out.push_back(iovec{const_cast<std::uint8_t*>(wire.data()), wire.size()});
  }

  void Backlog(Port& d, PortIndex from, std::span<const std::uint8_t> wire) {
    if (d.backlog.size() - d.backlog_sent + wire.size() > kMaxQueuedBytes) {
      fwd.CountCongested(d.index);
      return;
    }
    d.backlog.insert(d.backlog.end(), wire.begin(), wire.end());
    d.backlog_frames.emplace_back(from, wire.size());
    fwd.CountDelivered(d.index, wire.size());
  }

  // Takes every frame of `from` still waiting for d back out; the one being written ends with
  // zeros instead of its unwritten bytes (the stream's framing needs its length).
  void Purge(Port& d, PortIndex from) {
    if (d.backlog_frames.empty()) return;
    const bool started = d.backlog_sent > d.backlog_head;  // frames[0] partly written
    std::vector<std::uint8_t> kept;
    std::deque<std::pair<PortIndex, std::size_t>> frames;
    std::size_t at = d.backlog_head;
    for (std::size_t i = 0; i < d.backlog_frames.size(); ++i) {
      const auto [sender, size] = d.backlog_frames[i];
      if (sender != from || (i == 0 && started)) {
        kept.insert(kept.end(), d.backlog.begin() + static_cast<std::ptrdiff_t>(at),
                    d.backlog.begin() + static_cast<std::ptrdiff_t>(at + size));
        frames.emplace_back(sender, size);
        if (sender == from) {
          // SECURITY: the frame being written must end (the stream's framing), but with none
          // of the sender's bytes: its unwritten rest goes out as zeros.
          const std::size_t written = d.backlog_sent - d.backlog_head;
          std::fill(kept.end() - static_cast<std::ptrdiff_t>(size - written), kept.end(), 0);
        }
      }
      at += size;
    }
    d.backlog_sent = started ? d.backlog_sent - d.backlog_head : 0;
    d.backlog_head = 0;
    d.backlog = std::move(kept);
    d.backlog_frames = std::move(frames);
  }

  void Flush(Port& d, PortIndex from) {
    std::size_t i = 0;
    while (i < d.out.size() && d.open) {
      const std::size_t count = std::min(d.out.size() - i, kIovMax);
      std::size_t asked = 0;
      for (std::size_t k = i; k < i + count; ++k) asked += d.out[k].iov_len;
      msghdr msg{};
      msg.msg_iov = &d.out[i];
      msg.msg_iovlen = count;
      ssize_t w = ::sendmsg(d.sd.native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          Close(d, fmt::format("write: {}", std::strerror(errno)));
          break;
        }
        w = 0;
      }
      auto left = static_cast<std::size_t>(w);
      while (i < d.out.size() && left >= d.out[i].iov_len) {
        left -= d.out[i].iov_len;
        fwd.CountDelivered(d.index, d.out[i].iov_len);
        ++i;
      }
      if (static_cast<std::size_t>(w) == asked) continue;
      // Short write: the rest of a partly written frame must follow (the framing), then what
      // fits of the others.
      if (left > 0) {  // the backlog is empty here: this frame becomes its (started) head
        const auto* base = static_cast<const std::uint8_t*>(d.out[i].iov_base);
        d.backlog.assign(base, base + d.out[i].iov_len);
        d.backlog_sent = left;
        d.backlog_head = 0;
        d.backlog_frames.assign(1, {from, d.out[i].iov_len});
        fwd.CountDelivered(d.index, d.out[i].iov_len);
        ++i;
      }
      for (; i < d.out.size(); ++i) {
        Backlog(d, from, {static_cast<const std::uint8_t*>(d.out[i].iov_base), d.out[i].iov_len});
      }
      StartWrite(ports[d.index]);
    }
    d.out.clear();
  }

  // Waits until the port can take more, then sends from its backlog. No buffer is handed to a
  // pending operation: the backlog may grow (and move) while it waits.
  void StartWrite(const std::shared_ptr<Port>& d) {
    if (d->writing || !d->open || d->backlog.size() == d->backlog_sent) return;
    d->writing = true;
    d->sd.async_wait(asio::local::stream_protocol::socket::wait_write,
                     [this, d](const boost::system::error_code& ec) {
                       d->writing = false;
                       if (!d->open) return;
                       if (ec) {
                         Close(*d, "write: " + ec.message());
                         return;
                       }
                       SendBacklog(*d);
                       StartWrite(d);
                     });
  }

  void SendBacklog(Port& d) {
    while (d.backlog_sent < d.backlog.size()) {
      const ssize_t w = ::send(d.sd.native_handle(), d.backlog.data() + d.backlog_sent,
                               d.backlog.size() - d.backlog_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
          Close(d, fmt::format("write: {}", std::strerror(errno)));
          return;
        }
        break;
      }
      d.backlog_sent += static_cast<std::size_t>(w);
    }
    while (!d.backlog_frames.empty() &&
           d.backlog_head + d.backlog_frames.front().second <= d.backlog_sent) {
      d.backlog_head += d.backlog_frames.front().second;
      d.backlog_frames.pop_front();
    }
    if (d.backlog_sent == d.backlog.size()) {
      d.backlog.clear();
      d.backlog_sent = 0;
      d.backlog_head = 0;
    } else if (d.backlog_head > kMaxQueuedBytes / 2) {
      d.backlog.erase(d.backlog.begin(),
                      d.backlog.begin() + static_cast<std::ptrdiff_t>(d.backlog_head));
      d.backlog_sent -= d.backlog_head;
      d.backlog_head = 0;
    }
  }

  // Stops serving a port whose QEMU went or broke the framing; it stays listed until detached.
  void Close(Port& p, std::string why) {
    if (!p.open) return;
    p.open = false;
    boost::system::error_code ignored;
    p.sd.close(ignored);
    p.out.clear();
    p.backlog.clear();
    p.backlog_sent = 0;
    p.backlog_frames.clear();
    p.backlog_head = 0;
    log::Info("network '{}': port {} closed: {}", name, p.id.value(), why);
    std::lock_guard lock(mu);
    auto it = meta.find(p.id);
    if (it != meta.end()) {
      it->second.connected = false;
      it->second.closed_why = std::move(why);
    }
  }

  void DetachOnThread(PortId id) {
    Port* p = Find(id);
    if (p == nullptr) return;
    const PortIndex index = p->index;
    Close(*p, "detached");
    for (auto& other : ports) {
      if (other && other.get() != p) Purge(*other, index);
    }
    fwd.RemovePort(index);
    ports[index].reset();  // a pending handler keeps its Port alive until it sees !open
    std::lock_guard lock(mu);
    meta.erase(id);
    for (auto& [other, m] : meta) m.reaches.erase(id);
  }

  void SetPermittedOnThread(PortId a, PortId b, bool permitted) {
    Port* pa = Find(a);
    Port* pb = Find(b);
    if (pa == nullptr || pb == nullptr || pa == pb) return;
    fwd.SetPermitted(pa->index, pb->index, permitted);
    if (!permitted) {  // what either sent the other and still waits is not delivered
      Purge(*pa, pb->index);
      Purge(*pb, pa->index);
    }
    std::lock_guard lock(mu);
    if (permitted) {
      meta[a].reaches.insert(b);
      meta[b].reaches.insert(a);
    } else {
      meta[a].reaches.erase(b);
      meta[b].reaches.erase(a);
    }
  }
};

Result<std::unique_ptr<Switch>> Switch::Start(std::string name) {
  auto impl = std::make_unique<Impl>(std::move(name));
  try {
    Impl* raw = impl.get();
    impl->thread = std::thread([raw] { raw->io.run(); });
  } catch (const std::system_error& e) {
    return Fail(ErrorCode::kIo, "network '{}': its data thread could not start: {}", impl->name,
                e.what());
  }
  return std::unique_ptr<Switch>(new Switch(std::move(impl)));
}

Switch::Switch(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Switch::~Switch() {
  impl_->work.reset();
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  for (auto& port : impl_->ports) {
    if (!port) continue;
    port->open = false;
    boost::system::error_code ignored;
    port->sd.close(ignored);
  }
}

const std::string& Switch::name() const { return impl_->name; }

Result<Switch::Attached> Switch::Attach(DomainId domain, MacAddress mac) {
  return impl_->Run([&] { return impl_->AttachOnThread(domain, mac); });
}

void Switch::Detach(PortId port) {
  impl_->Run([&] { impl_->DetachOnThread(port); });
}

void Switch::SetPermitted(PortId a, PortId b, bool permitted) {
  impl_->Run([&] { impl_->SetPermittedOnThread(a, b, permitted); });
}

std::vector<PortView> Switch::Ports() const {
  std::vector<PortView> out;
  std::lock_guard lock(impl_->mu);
  for (const auto& [id, m] : impl_->meta) {
    PortView v;
    v.id = id;
    v.domain = m.domain;
    v.mac = m.mac;
    v.connected = m.connected;
    v.closed_why = m.closed_why;
    v.counters = impl_->fwd.Counters(m.index);
    v.reaches.assign(m.reaches.begin(), m.reaches.end());
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace shype::vswitch
