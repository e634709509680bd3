// SPDX-License-Identifier: Apache-2.0
//
// The virtual switch's throughput against its baselines, all driven by one load generator that
// speaks QEMU's stream framing and writes one frame per write, as QEMU does: shype's switch under
// the NULL policy and under CHWALL+STE (the same data path: the ACM decided each pair at attach),
// vde_switch (Debian vde2, through libvdeplug, one datagram per frame) and a bare relay that only
// copies bytes from one socket to another (the ceiling). N ports in pairs, each port sending to
// its partner; frames/s and bytes/s delivered, and CPU per frame (this process and vde_switch).
// SHYPE_BENCH_FRAMES sets the frames each port sends per iteration (default 200000).
#include <benchmark/benchmark.h>
extern "C" {  // libvdeplug.h declares C functions without extern "C"
#include <libvdeplug.h>
}
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "shype/acm/acm.h"
#include "shype/enforce/sharing_registry.h"
#include "shype/policyc/compiler.h"
#include "shype/policyc/policy_document.h"
#include "shype/vswitch/networks.h"

extern char** environ;

namespace {

using namespace shype;
using Clock = std::chrono::steady_clock;

std::size_t FramesPerPort() {
  const char* env = std::getenv("SHYPE_BENCH_FRAMES");
  return env != nullptr ? std::strtoul(env, nullptr, 10) : 200000;
}

vswitch::MacAddress MacOf(std::size_t port) {
  return vswitch::MacAddress{{0x52, 0x54, 0, 0, 0, static_cast<std::uint8_t>(port + 1)}};
}

// One Ethernet frame of `size` bytes from `from` to `to`, with its 4-byte length prefix.
std::vector<std::uint8_t> Frame(std::size_t from, std::size_t to, std::size_t size) {
  std::vector<std::uint8_t> wire(4 + size, 0x5a);
  const auto n = static_cast<std::uint32_t>(size);
  wire[0] = static_cast<std::uint8_t>(n >> 24);
  wire[1] = static_cast<std::uint8_t>(n >> 16);
  wire[2] = static_cast<std::uint8_t>(n >> 8);
  wire[3] = static_cast<std::uint8_t>(n);
  const auto dst = MacOf(to), src = MacOf(from);
  std::copy(dst.bytes.begin(), dst.bytes.end(), wire.begin() + 4);
  std::copy(src.bytes.begin(), src.bytes.end(), wire.begin() + 10);
  wire[16] = 0x08;
  return wire;
}

double CpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// CPU seconds a child process used so far (/proc/PID/stat utime + stime).
double ChildCpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  const auto close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields;
  std::string field;
  for (char c : stat.substr(close + 2)) {
    if (c == ' ') {
      fields.push_back(field);
      field.clear();
    } else {
      field += c;
    }
  }
  if (fields.size() < 13) return 0;
  return static_cast<double>(std::stoull(fields[11]) + std::stoull(fields[12])) /
         static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// What a run carries: per port, the fd the generator writes its frames to and the fd it reads
// the partner's frames from (stream framing), or vde connections (datagrams).
class Rig {
 public:
  virtual ~Rig() = default;
  virtual bool stream() const { return true; }
  virtual int SendFd(std::size_t port) = 0;
  virtual int ReceiveFd(std::size_t port) = 0;
  virtual VDECONN* Vde(std::size_t) { return nullptr; }
  virtual pid_t child() const { return 0; }
};

// shype's switch: every port's domain admitted to an unlabeled network; the ACM decides each pair
// when its port is attached (all one coalition here, so every pair is permitted).
class ShypeRig final : public Rig {
 public:
  // `policy_xml` empty: the NULL policy.
  ShypeRig(std::size_t ports, const std::string& policy_xml) : acm_(clock_, sink_) {
    if (policy_xml.empty()) {
      policy::BinaryPolicy b;
      policy::LabelMap m;
      b.name = m.policy_name = "null";
      b.primary = m.primary = policy::PolicyCode::kNull;
      b.secondary = m.secondary = policy::PolicyCode::kNull;
      m.vm_labels = {"__UNLABELED__"};
      if (!acm_.LoadPolicy(b, m)) error_ = "the NULL policy does not load";
    } else {
      std::vector<std::uint8_t> bytes(policy_xml.begin(), policy_xml.end());
      auto doc = policyc::ParsePolicyXml(bytes, "shype-cloud.xml");
      if (!doc) {
        error_ = doc.error().message;
      } else if (auto compiled = policyc::CompilePolicy(*doc);
                 !compiled || !acm_.LoadPolicy(compiled->binary, compiled->map)) {
        error_ = "the cloud policy does not load";
      }
    }
    if (!error_.empty()) return;
    const auto policy = acm_.active_policy();
    const Ssidref label = policy_xml.empty() ? kUnlabeledSsidref : *policy->VmSsidref("CustomerA");
    for (std::size_t p = 0; p < ports && error_.empty(); ++p) {
      const DomainId id{static_cast<std::uint32_t>(p + 1)};
      const acm::ResourceRef lan{"vnet:bench", kUnlabeledSsidref, acm::ResourceKind::kNetwork};
      auto admission = acm_.AdmitDomain(id, label, {&lan, 1});
      if (!admission.verdict.permitted()) {
        error_ = "admission refused: " + admission.verdict.reason;
        break;
      }
      auto nic = networks_.Attach(id, "bench", MacOf(p));
      if (!nic) {
        error_ = nic.error().message;
        break;
      }
      fds_.push_back(std::move(nic->peer));
    }
  }
  const std::string& error() const { return error_; }
  int SendFd(std::size_t port) override { return fds_[port].get(); }
  int ReceiveFd(std::size_t port) override { return fds_[port].get(); }

 private:
  struct NullSink final : acm::AuditSink {
    void Submit(acm::AuditRecord) override {}
  };
  acm::SystemClock clock_;
  NullSink sink_;
  acm::Acm acm_;
  enforce::SharingRegistry registry_{acm_};
  vswitch::VirtualNetworks networks_{acm_, registry_};
  std::vector<UniqueFd> fds_;
  std::string error_;
};

// The ceiling: per direction, a thread that copies whatever arrives to the partner's socket.
class RelayRig final : public Rig {
 public:
  explicit RelayRig(std::size_t ports) {
    for (std::size_t p = 0; p < ports; ++p) {
      int in[2], out[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM, 0, in) != 0 ||
          ::socketpair(AF_UNIX, SOCK_STREAM, 0, out) != 0) {
        std::abort();
      }
      send_.emplace_back(in[0]);
      relay_in_.emplace_back(in[1]);
      relay_out_.emplace_back(out[0]);
      receive_.emplace_back(out[1]);
    }
    for (std::size_t p = 0; p < ports; ++p) {
      const int from = relay_in_[p].get(), to = relay_out_[p ^ 1].get();
      threads_.emplace_back([from, to] {
        std::vector<std::uint8_t> buf(64 * 1024);
        while (true) {
          const ssize_t n = ::read(from, buf.data(), buf.size());
          if (n <= 0) return;
          for (ssize_t done = 0; done < n;) {
            const ssize_t w =
                ::send(to, buf.data() + done, static_cast<std::size_t>(n - done), MSG_NOSIGNAL);
            if (w <= 0) return;
            done += w;
          }
        }
      });
    }
  }
  ~RelayRig() override {
    for (auto& fd : send_) ::shutdown(fd.get(), SHUT_RDWR);
    for (auto& t : threads_) t.join();
  }
  int SendFd(std::size_t port) override { return send_[port].get(); }
  int ReceiveFd(std::size_t port) override { return receive_[port].get(); }

 private:
  std::vector<UniqueFd> send_, relay_in_, relay_out_, receive_;
  std::vector<std::thread> threads_;
};

// vde_switch (Debian vde2) as a child process; each port a libvdeplug connection.
class VdeRig final : public Rig {
 public:
  explicit VdeRig(std::size_t ports) {
    dir_ = std::filesystem::temp_directory_path() / ("shype-vde-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::string sock = (dir_ / "sw").string();
    const std::string pidfile = (dir_ / "pid").string();
    std::vector<std::string> args = {"vde_switch", "-s", sock, "-d", "-p", pidfile};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t launcher = 0;
    if (::posix_spawnp(&launcher, "vde_switch", nullptr, nullptr, argv.data(), environ) != 0) {
      error_ = "vde_switch is not installed (apt-get install vde2)";
      return;
    }
    int status = 0;
    ::waitpid(launcher, &status, 0);  // -d: it forks and the parent exits
    for (int i = 0; i < 100 && !std::filesystem::exists(pidfile); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::ifstream(pidfile) >> pid_;
    if (pid_ <= 0) {
      error_ = "vde_switch did not start (exit status " + std::to_string(status) + ")";
      return;
    }
    for (std::size_t p = 0; p < ports; ++p) {
      std::string descr = "shype-bench";
      VDECONN* conn = vde_open(sock.data(), descr.data(), nullptr);
      if (conn == nullptr) {
        error_ = "vde_open failed: " + std::string(std::strerror(errno));
        return;
      }
      conns_.push_back(conn);
      // Teach the switch this port's MAC, so unicast is not flooded.
      auto hello = Frame(p, p ^ 1, 64);
      std::fill(hello.begin() + 4, hello.begin() + 10, 0xff);
      vde_send(conn, hello.data() + 4, 64, 0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (VDECONN* conn : conns_) {  // drop the hellos the others received
      std::uint8_t buf[2048];
      pollfd p{vde_datafd(conn), POLLIN, 0};
      while (::poll(&p, 1, 0) == 1) vde_recv(conn, buf, sizeof buf, 0);
    }
  }
  ~VdeRig() override {
    for (VDECONN* c : conns_) vde_close(c);
    if (pid_ > 0) ::kill(pid_, SIGTERM);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const std::string& error() const { return error_; }
  bool stream() const override { return false; }
  int SendFd(std::size_t) override { return -1; }
  int ReceiveFd(std::size_t port) override { return vde_datafd(conns_[port]); }
  VDECONN* Vde(std::size_t port) override { return conns_[port]; }
  pid_t child() const override { return pid_; }

 private:
  std::filesystem::path dir_;
  pid_t pid_ = 0;
  std::vector<VDECONN*> conns_;
  std::string error_;
};

struct RunResult {
  double seconds = 0;
  std::uint64_t delivered = 0;  // frames the receivers got
  double cpu_seconds = 0;
};

// Each port sends `frames` frames of `size` bytes to its partner (one write or datagram per
// frame); each receiver counts what arrives until everything sent arrived or 300 ms of silence
// after the senders finished. The time is until the last frame arrived.
RunResult Run(Rig& rig, std::size_t ports, std::size_t size, std::size_t frames) {
  std::atomic<std::size_t> senders_done{0};
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::int64_t> last_ns{0};  // when the last frame arrived, since t0
  const double cpu0 = CpuSeconds() + (rig.child() ? ChildCpuSeconds(rig.child()) : 0);
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (std::size_t p = 0; p < ports; ++p) {
    threads.emplace_back([&, p] {
      const auto wire = Frame(p, p ^ 1, size);
      for (std::size_t i = 0; i < frames; ++i) {
        if (rig.stream()) {
          if (::send(rig.SendFd(p), wire.data(), wire.size(), MSG_NOSIGNAL) <= 0) break;
        } else {
          vde_send(rig.Vde(p), wire.data() + 4, size, 0);
        }
      }
      senders_done.fetch_add(1);
    });
    threads.emplace_back([&, p] {
      std::vector<std::uint8_t> buf(256 * 1024);
      std::uint64_t bytes = 0, got = 0;
      Clock::time_point last = t0;
      const std::uint64_t want = frames;
      while (got < want) {
        pollfd pfd{rig.ReceiveFd(p), POLLIN, 0};
        const int timeout = senders_done.load() == ports ? 300 : 1000;
        if (::poll(&pfd, 1, timeout) != 1) {
          if (senders_done.load() == ports) break;
          continue;
        }
        if (rig.stream()) {
          const ssize_t n = ::recv(rig.ReceiveFd(p), buf.data(), buf.size(), 0);
          if (n <= 0) break;
          bytes += static_cast<std::uint64_t>(n);
          got = bytes / (4 + size);
          last = Clock::now();
        } else if (vde_recv(rig.Vde(p), buf.data(), buf.size(), 0) > 0) {
          ++got;
          last = Clock::now();
        }
      }
      delivered.fetch_add(got);
      const auto at = std::chrono::duration_cast<std::chrono::nanoseconds>(last - t0).count();
      for (auto seen = last_ns.load(); at > seen && !last_ns.compare_exchange_weak(seen, at);) {
      }
    });
  }
  for (auto& t : threads) t.join();
  RunResult r;
  // Until the last frame arrived: the receivers' wait for stragglers is not the switch's time.
  r.seconds = std::max(1e-6, static_cast<double>(last_ns.load()) / 1e9);
  r.delivered = delivered.load();
  r.cpu_seconds = CpuSeconds() + (rig.child() ? ChildCpuSeconds(rig.child()) : 0) - cpu0;
  return r;
}

void Report(benchmark::State& state, Rig& rig, std::size_t ports, std::size_t size) {
  const std::size_t frames = FramesPerPort();
  std::uint64_t delivered = 0, sent = 0;
  double cpu = 0;
  for (auto _ : state) {
    RunResult r = Run(rig, ports, size, frames);
    state.SetIterationTime(r.seconds);
    delivered += r.delivered;
    sent += frames * ports;
    cpu += r.cpu_seconds;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(delivered));
  state.SetBytesProcessed(static_cast<std::int64_t>(delivered * size));
  state.counters["delivered_pct"] =
      100.0 * static_cast<double>(delivered) / static_cast<double>(sent);
  state.counters["cpu_ns_per_frame"] =
      delivered > 0 ? cpu * 1e9 / static_cast<double>(delivered) : 0;
}

std::string CloudPolicy() {
  std::ifstream in(std::string(SHYPE_SOURCE_DIR) + "/tests/data/policies/shype-cloud.xml");
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

void BM_ShypeNullPolicy(benchmark::State& state) {
  const auto ports = static_cast<std::size_t>(state.range(0));
  ShypeRig rig(ports, "");
  if (!rig.error().empty()) return state.SkipWithError(rig.error().c_str());
  Report(state, rig, ports, static_cast<std::size_t>(state.range(1)));
}
void BM_ShypeChwallSte(benchmark::State& state) {
  const auto ports = static_cast<std::size_t>(state.range(0));
  ShypeRig rig(ports, CloudPolicy());
  if (!rig.error().empty()) return state.SkipWithError(rig.error().c_str());
  Report(state, rig, ports, static_cast<std::size_t>(state.range(1)));
}
void BM_VdeSwitch(benchmark::State& state) {
  const auto ports = static_cast<std::size_t>(state.range(0));
  VdeRig rig(ports);
  if (!rig.error().empty()) return state.SkipWithError(rig.error().c_str());
  Report(state, rig, ports, static_cast<std::size_t>(state.range(1)));
}
void BM_BareRelay(benchmark::State& state) {
  const auto ports = static_cast<std::size_t>(state.range(0));
  RelayRig rig(ports);
  Report(state, rig, ports, static_cast<std::size_t>(state.range(1)));
}

void Shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"ports", "frame"});
  for (int ports : {2, 8}) {
    for (int frame : {64, 1500}) b->Args({ports, frame});
  }
  b->UseManualTime()->Iterations(3)->Unit(benchmark::kMillisecond);
}
BENCHMARK(BM_ShypeNullPolicy)->Apply(Shapes);
BENCHMARK(BM_ShypeChwallSte)->Apply(Shapes);
BENCHMARK(BM_VdeSwitch)->Apply(Shapes);
BENCHMARK(BM_BareRelay)->Apply(Shapes);

}  // namespace
