// SPDX-License-Identifier: Apache-2.0
//
// For the vTPM tests: a fake QEMU that speaks the control protocol on its end the way QEMU 7.2's
// tpm-emulator does (SET_DATAFD, GET_CAPABILITY, STOP, INIT, ...), and ESAPI over its data end.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "ctrl_channel.h"
#include "shype/vtpm/instance.h"

namespace shype::vtpm::testing {

inline bool HaveSwtpm() { return std::system("command -v swtpm >/dev/null 2>&1") == 0; }

struct FakeQemu {
  UniqueFd ctrl;
  UniqueFd data;  // QEMU's end of its data socketpair
  std::unique_ptr<Tpm> tpm;

  explicit FakeQemu(UniqueFd ctrl_end) : ctrl(std::move(ctrl_end)) {}

  Result<std::vector<std::uint8_t>> Call(CtrlCommand code, std::vector<std::uint8_t> payload,
                                         std::size_t reply, int fd = -1) {
    return CtrlCall(ctrl.get(), code, payload, reply, fd);
  }
  static std::uint32_t Rc(const Result<std::vector<std::uint8_t>>& r) {
    return r && r->size() >= 4 ? LoadBe32(r->data()) : 0xffffffff;
  }
  // What QEMU does at start-up and at its machine reset, ending with INIT's result.
  std::uint32_t Boot() {
    int fds[2];
    if (!data.valid()) {
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return 0xffffffff;
      data.Reset(fds[0]);
      if (Rc(Call(CtrlCommand::kSetDataFd, {}, 4, fds[1])) != 0) return 0xfffffffe;
      ::close(fds[1]);
      auto t = Tpm::Open(data.get());
      if (!t) return 0xfffffffd;
      tpm = std::move(*t);
    }
    (void)Call(CtrlCommand::kGetCapability, {}, 8);
    (void)Call(CtrlCommand::kStop, {}, 4);
    (void)Call(CtrlCommand::kSetBufferSize, {0, 0, 0x0f, 0x80}, 16);
    return Rc(Call(CtrlCommand::kInit, {0, 0, 0, 0}, 4));
  }
};

inline std::filesystem::path MakeTempDir(const std::string& tag) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / ("shype-vtpm-" + tag + "-XXXXXX")).string();
  char* made = ::mkdtemp(tmpl.data());
  return made ? std::filesystem::path(made) : std::filesystem::path();
}

}  // namespace shype::vtpm::testing
