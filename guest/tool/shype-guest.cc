// SPDX-License-Identifier: Apache-2.0
//
// shype-guest: the static helper inside the shype test guest. It reports the shype.* kernel
// arguments, reads or writes ivshmem shared memory by mapping the PCI BAR2 sysfs file
// (memory-BAR resource files support only mmap; read()/write() fail with EIO), rings and awaits
// ivshmem doorbells through the shype_ivshmem module's /dev/ivshmem-<PCI address> nodes, and
// powers the guest off when the ACPI power button (QMP system_powerdown) is pressed.

#include <dirent.h>
#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

namespace {

template <class T>
using Result = tl::expected<T, std::string>;
using Status = tl::expected<void, std::string>;

constexpr std::string_view kPciDevices = "/sys/bus/pci/devices";
constexpr std::size_t kMaxSmallFile = 64 * 1024;

tl::unexpected<std::string> Fail(std::string_view what, const std::string& path) {
  return tl::unexpected(std::string(what) + " " + path + ": " + std::strerror(errno));
}

// Owns a file descriptor.
class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

[[nodiscard]] Result<std::string> ReadSmallFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Fail("cannot open", path);
  std::string text(kMaxSmallFile, '\0');
  std::size_t used = 0;
  while (used < text.size()) {
    const ssize_t got = read(fd.get(), text.data() + used, text.size() - used);
    if (got < 0) return Fail("cannot read", path);
    if (got == 0) break;
    used += static_cast<std::size_t>(got);
  }
  text.resize(used);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
  return text;
}

[[nodiscard]] Status WriteSmallFile(const std::string& path, std::string_view text) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) return Fail("cannot open", path);
  if (write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return Fail("cannot write", path);
  }
  return {};
}

// Splits the kernel command line on blanks and keeps the "shype.key=value" words.
std::vector<std::pair<std::string, std::string>> ShypeArgs(std::string_view cmdline) {
  std::vector<std::pair<std::string, std::string>> args;
  std::size_t pos = 0;
  while (pos < cmdline.size()) {
    const std::size_t end = std::min(cmdline.find_first_of(" \t\n", pos), cmdline.size());
    const std::string_view word = cmdline.substr(pos, end - pos);
    pos = end + 1;
    if (!word.starts_with("shype.")) continue;
    const std::size_t eq = word.find('=');
    if (eq == std::string_view::npos) {
      args.emplace_back(std::string(word), "");
    } else {
      args.emplace_back(std::string(word.substr(0, eq)), std::string(word.substr(eq + 1)));
    }
  }
  return args;
}

int CmdInfo() {
  auto cmdline = ReadSmallFile("/proc/cmdline");
  if (!cmdline) {
    std::fprintf(stderr, "shype-guest info: %s\n", cmdline.error().c_str());
    return 1;
  }
  utsname uts{};
  if (uname(&uts) == 0) {
    std::printf("release=%s\nhostname=%s\n", uts.release, uts.nodename);
  }
  if (auto uptime = ReadSmallFile("/proc/uptime")) {
    std::printf("uptime=%s\n", uptime->substr(0, uptime->find(' ')).c_str());
  }
  for (const auto& [key, value] : ShypeArgs(*cmdline)) {
    std::printf("%s=%s\n", key.c_str(), value.c_str());
  }
  return 0;
}

// Parses a decimal or 0x-prefixed hexadecimal unsigned number.
[[nodiscard]] Result<std::uint64_t> ParseU64(std::string_view text) {
  const auto bad = [text] { return tl::unexpected("bad number '" + std::string(text) + "'"); };
  std::string_view digits = text;
  std::uint64_t base = 10;
  if (digits.starts_with("0x") || digits.starts_with("0X")) {
    base = 16;
    digits.remove_prefix(2);
  }
  if (digits.empty() || digits.size() > (base == 16 ? 16U : 19U)) return bad();
  std::uint64_t value = 0;
  for (const char c : digits) {
    int digit = -1;
    if (c >= '0' && c <= '9') digit = c - '0';
    if (base == 16 && c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    if (base == 16 && c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    if (digit < 0) return bad();
    value = value * base + static_cast<std::uint64_t>(digit);
  }
  return value;
}

bool IsIvshmem(const std::string& dir) {
  auto vendor = ReadSmallFile(dir + "/vendor");
  auto device = ReadSmallFile(dir + "/device");
  return vendor && device && *vendor == "0x1af4" && *device == "0x1110";
}

// Lists the PCI addresses of ivshmem devices (1af4:1110), in directory order.
[[nodiscard]] Result<std::vector<std::string>> FindIvshmem() {
  DIR* dir = opendir(std::string(kPciDevices).c_str());
  if (dir == nullptr) return Fail("cannot list", std::string(kPciDevices));
  std::vector<std::string> found;
  while (const dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.starts_with(".")) continue;
    if (IsIvshmem(std::string(kPciDevices) + "/" + name)) found.push_back(name);
  }
  closedir(dir);
  return found;
}

// Maps DEV's BAR2: DEV is a PCI address, "auto" (first ivshmem device) or a resource file path.
class BarMapping {
 public:
  [[nodiscard]] static Result<BarMapping> Open(std::string_view dev, bool writable);
  BarMapping(BarMapping&& other) noexcept
      : base_(std::exchange(other.base_, nullptr)), size_(other.size_) {}
  BarMapping(const BarMapping&) = delete;
  BarMapping& operator=(const BarMapping&) = delete;
  BarMapping& operator=(BarMapping&&) = delete;
  ~BarMapping() {
    if (base_ != nullptr) munmap(base_, size_);
  }
  char* data() const { return static_cast<char*>(base_); }
  std::size_t size() const { return size_; }

 private:
  BarMapping(void* base, std::size_t size) : base_(base), size_(size) {}
  void* base_;
  std::size_t size_;
};

// Resolves DEV ("auto" or a PCI address) to the PCI address of an ivshmem device.
[[nodiscard]] Result<std::string> ResolveAddress(std::string_view dev) {
  if (dev == "auto") {
    auto found = FindIvshmem();
    if (!found) return tl::unexpected(found.error());
    if (found->empty()) return tl::unexpected(std::string("no ivshmem device (1af4:1110) found"));
    return found->front();
  }
  const std::string address(dev);
  if (address.empty() || address.find('/') != std::string::npos || address.starts_with(".") ||
      !IsIvshmem(std::string(kPciDevices) + "/" + address)) {
    return tl::unexpected("no ivshmem device (1af4:1110) at PCI address '" + address + "'");
  }
  return address;
}

[[nodiscard]] Result<std::string> ResolveResourcePath(std::string_view dev) {
  if (dev.find('/') != std::string_view::npos) return std::string(dev);
  auto address = ResolveAddress(dev);
  if (!address) return tl::unexpected(address.error());
  const std::string dir = std::string(kPciDevices) + "/" + *address;
  // Memory decoding must be on before the BAR is accessed. With the shype_ivshmem driver bound
  // the device is enabled already, and writing `enable` would fail with EBUSY.
  auto enabled = ReadSmallFile(dir + "/enable");
  if (!enabled) return tl::unexpected(enabled.error());
  if (*enabled == "0") {
    if (auto written = WriteSmallFile(dir + "/enable", "1"); !written) {
      return tl::unexpected(written.error());
    }
  }
  return dir + "/resource2";
}

Result<BarMapping> BarMapping::Open(std::string_view dev, bool writable) {
  auto path = ResolveResourcePath(dev);
  if (!path) return tl::unexpected(path.error());
  UniqueFd fd(open(path->c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC));
  if (fd.get() < 0) return Fail("cannot open", *path);
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return Fail("cannot stat", *path);
  if (st.st_size <= 0) return tl::unexpected("empty BAR resource " + *path);
  const auto size = static_cast<std::size_t>(st.st_size);
  const int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
  void* base = mmap(nullptr, size, prot, MAP_SHARED, fd.get(), 0);
  if (base == MAP_FAILED) return Fail("cannot mmap", *path);
  return BarMapping(base, size);
}

[[nodiscard]] Status CheckRange(const BarMapping& bar, std::uint64_t offset, std::uint64_t len) {
  if (offset > bar.size() || len > bar.size() - offset) {
    return tl::unexpected("range " + std::to_string(offset) + "+" + std::to_string(len) +
                          " is outside the " + std::to_string(bar.size()) + "-byte BAR");
  }
  return {};
}

int CmdShmFind() {
  auto found = FindIvshmem();
  if (!found) {
    std::fprintf(stderr, "shype-guest shm-find: %s\n", found.error().c_str());
    return 1;
  }
  for (const auto& address : *found) {
    const std::string path = std::string(kPciDevices) + "/" + address + "/resource2";
    struct stat st {};
    const long long size = stat(path.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : -1;
    std::printf("%s size=%lld %s\n", address.c_str(), size, path.c_str());
  }
  return found->empty() ? 1 : 0;
}

struct ShmRange {
  BarMapping bar;
  std::uint64_t offset;
};

// Parses OFFSET, maps DEV's BAR2 and checks that [OFFSET, OFFSET+len) lies inside it.
[[nodiscard]] Result<ShmRange> OpenRange(std::string_view dev, std::string_view offset_text,
                                         std::uint64_t len, bool writable) {
  auto offset = ParseU64(offset_text);
  if (!offset) return tl::unexpected(offset.error());
  auto bar = BarMapping::Open(dev, writable);
  if (!bar) return tl::unexpected(bar.error());
  if (auto in_range = CheckRange(*bar, *offset, len); !in_range) {
    return tl::unexpected(in_range.error());
  }
  return ShmRange{std::move(*bar), *offset};
}

int CmdShmRead(std::string_view dev, std::string_view offset_text, std::string_view len_text) {
  auto len = ParseU64(len_text);
  if (!len) {
    std::fprintf(stderr, "shype-guest shm-read: %s\n", len.error().c_str());
    return 1;
  }
  auto range = OpenRange(dev, offset_text, *len, false);
  if (!range) {
    std::fprintf(stderr, "shype-guest shm-read: %s\n", range.error().c_str());
    return 1;
  }
  const auto count = static_cast<std::size_t>(*len);
  const char* begin = range->bar.data() + range->offset;
  const bool written = std::fwrite(begin, 1, count, stdout) == count;
  return written && std::fflush(stdout) == 0 ? 0 : 1;
}

int CmdShmWrite(std::string_view dev, std::string_view offset_text, std::string_view text) {
  auto range = OpenRange(dev, offset_text, text.size(), true);
  if (!range) {
    std::fprintf(stderr, "shype-guest shm-write: %s\n", range.error().c_str());
    return 1;
  }
  std::memcpy(range->bar.data() + range->offset, text.data(), text.size());
  if (msync(range->bar.data(), range->bar.size(), MS_SYNC) != 0) {
    std::fprintf(stderr, "shype-guest shm-write: msync: %s\n", std::strerror(errno));
    return 1;
  }
  return 0;
}

// The `shm` commands: the shared-memory string at offset 0 of BAR2, IVPosition and doorbells.
class ShmCommand {
 public:
  explicit ShmCommand(std::string dev) : dev_(std::move(dev)) {}

  int Write(std::string_view text) const {
    auto bar = BarMapping::Open(dev_, true);
    if (!bar) return Error("write", bar.error());
    if (auto in_range = CheckRange(*bar, 0, text.size() + 1); !in_range) {
      return Error("write", in_range.error());
    }
    std::memcpy(bar->data(), text.data(), text.size());
    bar->data()[text.size()] = '\0';
    if (msync(bar->data(), bar->size(), MS_SYNC) != 0) return Error("write", Errno("msync"));
    return 0;
  }

  int Read() const {
    auto bar = BarMapping::Open(dev_, false);
    if (!bar) return Error("read", bar.error());
    const void* nul = std::memchr(bar->data(), '\0', bar->size());
    if (nul == nullptr) {
      return Error("read", "no NUL in the " + std::to_string(bar->size()) + "-byte BAR");
    }
    std::printf("%s\n", bar->data());
    return std::fflush(stdout) == 0 ? 0 : 1;
  }

  int Id() const {
    auto address = ResolveAddress(dev_);
    if (!address) return Error("id", address.error());
    auto position = ReadSmallFile(std::string(kPciDevices) + "/" + *address + "/ivposition");
    if (!position) return Error("id", position.error() + kModuleHint);
    std::printf("%s\n", position->c_str());
    return 0;
  }

  int Ring(std::string_view peer_text, std::string_view vector_text) const {
    auto peer = ParseU64(peer_text);
    auto vector = ParseU64(vector_text);
    if (!peer || *peer > 0xffff)
      return Error("ring", "bad peer ID '" + std::string(peer_text) + "'");
    if (!vector || *vector > 0xffff) {
      return Error("ring", "bad vector '" + std::string(vector_text) + "'");
    }
    auto node = DeviceNode();
    if (!node) return Error("ring", node.error());
    UniqueFd fd(open(node->c_str(), O_WRONLY | O_CLOEXEC));
    if (fd.get() < 0) return Error("ring", Errno("cannot open " + *node) + kModuleHint);
    const auto doorbell = static_cast<std::uint32_t>(*peer << 16 | *vector);
    if (write(fd.get(), &doorbell, sizeof(doorbell)) != sizeof(doorbell)) {
      return Error("ring", Errno("cannot write " + *node));
    }
    return 0;
  }

  // Prints "doorbell N" (N: the device's interrupt count) once an interrupt arrives after the
  // device node is opened; prints "timeout" and returns 1 after `seconds_text` seconds.
  int Wait(std::string_view seconds_text) const {
    auto seconds = ParseU64(seconds_text);
    constexpr std::uint64_t kMaxSeconds = std::numeric_limits<int>::max() / 1000;
    if (!seconds || *seconds > kMaxSeconds) {
      return Error("wait", "bad timeout '" + std::string(seconds_text) + "' (whole seconds)");
    }
    auto node = DeviceNode();
    if (!node) return Error("wait", node.error());
    UniqueFd fd(open(node->c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return Error("wait", Errno("cannot open " + *node) + kModuleHint);
    const std::int64_t deadline = NowMs() + static_cast<std::int64_t>(*seconds) * 1000;
    for (;;) {
      const std::int64_t left = std::max<std::int64_t>(deadline - NowMs(), 0);
      pollfd pfd{fd.get(), POLLIN, 0};
      const int ready = poll(&pfd, 1, static_cast<int>(left));
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) return Error("wait", Errno("poll " + *node));
      if (ready == 0) {
        std::puts("timeout");
        return 1;
      }
      // Readable, or an error (no MSI-X, device unplugged) that read() reports.
      std::uint64_t count = 0;
      const ssize_t got = read(fd.get(), &count, sizeof(count));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && errno == EOPNOTSUPP) {
        return Error("wait", *node + " has no interrupts (ivshmem-plain, or no MSI-X)");
      }
      if (got != sizeof(count)) return Error("wait", Errno("cannot read " + *node));
      std::printf("doorbell %llu\n", static_cast<unsigned long long>(count));
      return std::fflush(stdout) == 0 ? 0 : 1;
    }
  }

 private:
  static constexpr const char* kModuleHint = " (is the shype_ivshmem module loaded?)";

  static int Error(std::string_view command, const std::string& message) {
    std::fprintf(stderr, "shype-guest shm %.*s: %s\n", static_cast<int>(command.size()),
                 command.data(), message.c_str());
    return 1;
  }
  static std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }
  static std::int64_t NowMs() {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
  }

  // The shype_ivshmem module's node for the device: /dev/ivshmem-<PCI address>.
  [[nodiscard]] Result<std::string> DeviceNode() const {
    auto address = ResolveAddress(dev_);
    if (!address) return tl::unexpected(address.error());
    return "/dev/ivshmem-" + *address;
  }

  std::string dev_;
};

// shype-guest shm [--dev DEV] SUBCOMMAND [--dev DEV] ARGS...
int CmdShm(std::vector<std::string_view> args) {
  std::string dev = "auto";
  const auto take_dev = [&](std::size_t at) {
    if (args.size() > at + 1 && args[at] == "--dev") {
      dev = std::string(args[at + 1]);
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(at),
                 args.begin() + static_cast<std::ptrdiff_t>(at) + 2);
    }
  };
  take_dev(0);
  take_dev(1);
  if (args.empty()) return -1;
  const ShmCommand shm(dev);
  const std::string_view sub = args[0];
  if (sub == "write" && args.size() == 2) return shm.Write(args[1]);
  if (sub == "read" && args.size() == 1) return shm.Read();
  if (sub == "id" && args.size() == 1) return shm.Id();
  if (sub == "ring" && (args.size() == 2 || args.size() == 3)) {
    return shm.Ring(args[1], args.size() == 3 ? args[2] : "0");
  }
  if (sub == "wait" && args.size() <= 2) return shm.Wait(args.size() == 2 ? args[1] : "10");
  return -1;
}

// Opens the /dev/input/event* devices that can report KEY_POWER (the ACPI power button).
std::vector<std::unique_ptr<UniqueFd>> OpenPowerButtons() {
  std::vector<std::unique_ptr<UniqueFd>> buttons;
  DIR* dir = opendir("/dev/input");
  if (dir == nullptr) return buttons;
  while (const dirent* entry = readdir(dir)) {
    if (std::string_view(entry->d_name).substr(0, 5) != "event") continue;
    const std::string path = std::string("/dev/input/") + entry->d_name;
    auto fd = std::make_unique<UniqueFd>(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    unsigned char keys[KEY_MAX / 8 + 1] = {};
    if (fd->get() < 0 || ioctl(fd->get(), EVIOCGBIT(EV_KEY, sizeof(keys)), keys) < 0) continue;
    if ((keys[KEY_POWER / 8] & (1U << (KEY_POWER % 8))) != 0) buttons.push_back(std::move(fd));
  }
  closedir(dir);
  return buttons;
}

// Blocks until KEY_POWER is pressed on one of `fds`, then syncs and powers off (what
// `poweroff -f` does). Returns only on error.
int WatchPowerButtons(std::vector<pollfd> fds) {
  for (;;) {
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "shype-guest power-button: poll: %s\n", std::strerror(errno));
      return 1;
    }
    for (const pollfd& fd : fds) {
      input_event event{};
      if ((fd.revents & POLLIN) == 0 || read(fd.fd, &event, sizeof(event)) != sizeof(event)) {
        continue;
      }
      if (event.type != EV_KEY || event.code != KEY_POWER || event.value != 1) continue;
      std::fputs("shype-guest: ACPI power button pressed, powering off\n", stderr);
      sync();
      reboot(RB_POWER_OFF);
      std::fprintf(stderr, "shype-guest power-button: reboot: %s\n", std::strerror(errno));
      return 1;
    }
  }
}

// Opens the power-button devices, then forks the watcher into the background: when this
// returns 0 the button is being watched, so no press after it is lost.
int CmdPowerButton() {
  const auto buttons = OpenPowerButtons();
  if (buttons.empty()) {
    std::fputs(
        "shype-guest power-button: no /dev/input/event* reports KEY_POWER "
        "(are the evdev and button modules loaded?)\n",
        stderr);
    return 1;
  }
  std::vector<pollfd> fds;
  for (const auto& button : buttons) fds.push_back({button->get(), POLLIN, 0});
  const pid_t child = fork();
  if (child < 0) {
    std::fprintf(stderr, "shype-guest power-button: fork: %s\n", std::strerror(errno));
    return 1;
  }
  return child == 0 ? WatchPowerButtons(std::move(fds)) : 0;
}

// --- the vTPM through /dev/tpm0: TPM 2.0 commands marshaled by hand (a static guest tool has
// no tpm2-tss); each is written whole, its reply read whole (the kernel's TPM character device).
constexpr std::uint32_t kNvIndex = 0x01500001;  // the test's owner-defined NV index

void Put16(std::vector<std::uint8_t>& b, std::uint32_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void Put32(std::vector<std::uint8_t>& b, std::uint32_t v) {
  Put16(b, v >> 16);
  Put16(b, v & 0xffff);
}
std::uint32_t Get32(const std::vector<std::uint8_t>& b, std::size_t at) {
  return at + 4 <= b.size() ? (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
                                  (std::uint32_t{b[at + 2]} << 8) | b[at + 3]
                            : 0;
}
std::uint32_t Get16(const std::vector<std::uint8_t>& b, std::size_t at) {
  return at + 2 <= b.size() ? (std::uint32_t{b[at]} << 8) | b[at + 1] : 0;
}

// A command: tag, size (patched), code; `handles`; a password session when `auth`; `params`.
std::vector<std::uint8_t> TpmCommand(std::uint32_t code, const std::vector<std::uint32_t>& handles,
                                     bool auth, const std::vector<std::uint8_t>& params) {
  std::vector<std::uint8_t> b;
  Put16(b, auth ? 0x8002 : 0x8001);
  Put32(b, 0);
  Put32(b, code);
  for (std::uint32_t h : handles) Put32(b, h);
  if (auth) {
    Put32(b, 9);  // authorization area: TPM_RS_PW, empty nonce, attributes, empty hmac
    Put32(b, 0x40000009);
    Put16(b, 0);
    b.push_back(0);
    Put16(b, 0);
  }
  b.insert(b.end(), params.begin(), params.end());
  const auto size = static_cast<std::uint32_t>(b.size());
  for (int i = 0; i < 4; ++i)
    b[2 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(size >> (24 - 8 * i));
  return b;
}

// Sends one command; the reply, or an error naming the TPM's response code.
Result<std::vector<std::uint8_t>> TpmTransact(const std::vector<std::uint8_t>& command,
                                              std::string_view what) {
  const int fd = ::open("/dev/tpm0", O_RDWR | O_CLOEXEC);
  if (fd < 0) return tl::unexpected("/dev/tpm0: " + std::string(std::strerror(errno)));
  std::vector<std::uint8_t> reply(4096);
  const bool sent =
      ::write(fd, command.data(), command.size()) == static_cast<ssize_t>(command.size());
  const ssize_t n = sent ? ::read(fd, reply.data(), reply.size()) : -1;
  ::close(fd);
  if (n < 10) return tl::unexpected(std::string(what) + ": no reply from /dev/tpm0");
  reply.resize(static_cast<std::size_t>(n));
  if (const std::uint32_t rc = Get32(reply, 6); rc != 0) {
    char buf[96];
    std::snprintf(buf, sizeof(buf), "%.*s: TPM response code 0x%x", static_cast<int>(what.size()),
                  what.data(), rc);
    return tl::unexpected(std::string(buf));
  }
  return reply;
}

std::string HexOf(const std::uint8_t* p, std::size_t n) {
  std::string out;
  char two[3];
  for (std::size_t i = 0; i < n; ++i) {
    std::snprintf(two, sizeof(two), "%02x", p[i]);
    out += two;
  }
  return out;
}

// `tpm-pcrs`: "pcrN <sha256 hex>" for PCRs 7, 8 and 9 (shyped's launch measurements).
int CmdTpmPcrs() {
  const std::vector<std::uint8_t> select{0, 0, 0, 1, 0x00, 0x0b, 3, 0x80, 0x03, 0x00};
  auto reply = TpmTransact(TpmCommand(0x17e, {}, false, select), "TPM2_PCR_Read");
  if (!reply) {
    std::fprintf(stderr, "shype-guest: %s\n", reply.error().c_str());
    return 1;
  }
  std::size_t at = 14;  // after the header and pcrUpdateCounter: TPML_PCR_SELECTION
  const std::uint32_t selections = Get32(*reply, at);
  at += 4;
  for (std::uint32_t i = 0; i < selections && at + 3 <= reply->size(); ++i) {
    at += 2;                               // hash
    at += 1U + std::size_t{(*reply)[at]};  // sizeofSelect, select bytes
  }
  const std::uint32_t count = Get32(*reply, at);  // TPML_DIGEST
  at += 4;
  const int pcrs[] = {7, 8, 9};
  for (std::uint32_t i = 0; i < count && i < 3; ++i) {
    const std::uint32_t size = Get16(*reply, at);
    if (at + 2 + size > reply->size()) break;
    std::printf("pcr%d %s\n", pcrs[i], HexOf(reply->data() + at + 2, size).c_str());
    at += 2 + size;
  }
  return count == 3 ? 0 : 1;
}

// `tpm-nv-write HEX`: defines the owner NV index (once) and writes up to 32 bytes into it.
int CmdTpmNvWrite(std::string_view hex) {
  std::vector<std::uint8_t> data;
  for (std::size_t i = 0; i + 1 < hex.size() && data.size() < 32; i += 2) {
    data.push_back(
        static_cast<std::uint8_t>(std::stoul(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  std::vector<std::uint8_t> define;
  Put16(define, 0);  // TPM2B_AUTH: empty
  Put16(define, 14);
  Put32(define, kNvIndex);
  Put16(define, 0x000b);      // sha256
  Put32(define, 0x02020002);  // OWNERWRITE | OWNERREAD | NO_DA
  Put16(define, 0);           // no policy
  Put16(define, 32);
  auto defined = TpmTransact(TpmCommand(0x12a, {0x40000001}, true, define), "TPM2_NV_DefineSpace");
  if (!defined && defined.error().find("0x14c") == std::string::npos) {  // TPM_RC_NV_DEFINED
    std::fprintf(stderr, "shype-guest: %s\n", defined.error().c_str());
    return 1;
  }
  data.resize(32, 0);
  std::vector<std::uint8_t> write;
  Put16(write, 32);
  write.insert(write.end(), data.begin(), data.end());
  Put16(write, 0);
  auto written =
      TpmTransact(TpmCommand(0x137, {0x40000001, kNvIndex}, true, write), "TPM2_NV_Write");
  if (!written) {
    std::fprintf(stderr, "shype-guest: %s\n", written.error().c_str());
    return 1;
  }
  std::printf("nv written\n");
  return 0;
}

// `tpm-nv-read`: the NV index's 32 bytes, hex.
int CmdTpmNvRead() {
  std::vector<std::uint8_t> read;
  Put16(read, 32);
  Put16(read, 0);
  auto reply = TpmTransact(TpmCommand(0x14e, {0x40000001, kNvIndex}, true, read), "TPM2_NV_Read");
  if (!reply) {
    std::fprintf(stderr, "shype-guest: %s\n", reply.error().c_str());
    return 1;
  }
  const std::uint32_t size = Get16(*reply, 14);  // after the header and parameterSize
  if (18 + size > reply->size() + 2) return 1;
  std::printf("nv %s\n", HexOf(reply->data() + 16, size).c_str());
  return 0;
}

int Usage() {
  std::fputs(
      "usage: shype-guest info\n"
      "       shype-guest shm-find\n"
      "       shype-guest shm-read DEV OFFSET LEN      (raw bytes to stdout)\n"
      "       shype-guest shm-write DEV OFFSET STRING\n"
      "       shype-guest shm [--dev DEV] write TEXT    (TEXT + NUL at BAR2 offset 0)\n"
      "       shype-guest shm [--dev DEV] read          (the string at BAR2 offset 0)\n"
      "       shype-guest shm [--dev DEV] id            (IVPosition: this peer's ID)\n"
      "       shype-guest shm [--dev DEV] ring PEER [VECTOR]\n"
      "       shype-guest shm [--dev DEV] wait [SECONDS]   ('doorbell N'; 'timeout', exit 1)\n"
      "       shype-guest power-button   (forks a watcher: KEY_POWER -> sync + power off)\n"
      "       shype-guest tpm-pcrs       (PCRs 7-9, sha256, from /dev/tpm0)\n"
      "       shype-guest tpm-nv-write HEX | tpm-nv-read   (an owner NV index, 32 bytes)\n"
      "DEV: PCI address (0000:00:03.0), 'auto' (first ivshmem device, the default) or, for\n"
      "shm-read/shm-write, a resource2 path. OFFSET/LEN/PEER/VECTOR: decimal or 0x-hex.\n"
      "ring/wait/id need the shype_ivshmem module (/dev/ivshmem-<PCI address>).\n",
      stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.size() == 1 && args[0] == "info") return CmdInfo();
  if (args.size() == 1 && args[0] == "shm-find") return CmdShmFind();
  if (args.size() == 1 && args[0] == "power-button") return CmdPowerButton();
  if (args.size() == 4 && args[0] == "shm-read") return CmdShmRead(args[1], args[2], args[3]);
  if (args.size() == 4 && args[0] == "shm-write") return CmdShmWrite(args[1], args[2], args[3]);
  if (args.size() == 1 && args[0] == "tpm-pcrs") return CmdTpmPcrs();
  if (args.size() == 2 && args[0] == "tpm-nv-write") return CmdTpmNvWrite(args[1]);
  if (args.size() == 1 && args[0] == "tpm-nv-read") return CmdTpmNvRead();
  if (!args.empty() && args[0] == "shm") {
    const int rc = CmdShm({args.begin() + 1, args.end()});
    if (rc >= 0) return rc;
  }
  return Usage();
}
