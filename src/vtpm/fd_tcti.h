// SPDX-License-Identifier: Apache-2.0
//
// A tpm2-tss TCTI over a connected stream socket (swtpm's data channel handed to shyped by
// SET_DATAFD has no path, so no stock TCTI reaches it): one command written whole, one reply
// read whole (bounded, with a timeout so a stuck swtpm cannot hold shyped's thread).
#pragma once

#include <tss2/tss2_tcti.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace shype::vtpm {

struct FdTcti {
  TSS2_TCTI_CONTEXT_COMMON_V2 common{};
  int fd = -1;
  std::vector<std::uint8_t> pending;  // a reply read to report its size, not yet taken
};

// Builds a TCTI context over `fd` (borrowed). The context's first member is the common part,
// so its address is the TSS2_TCTI_CONTEXT* tpm2-tss expects.
std::unique_ptr<FdTcti> MakeFdTcti(int fd);

inline TSS2_TCTI_CONTEXT* AsTcti(FdTcti& tcti) {
  return reinterpret_cast<TSS2_TCTI_CONTEXT*>(&tcti.common);
}

}  // namespace shype::vtpm
