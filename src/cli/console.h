// SPDX-License-Identifier: Apache-2.0
//
// AttachConsole relays the terminal to a domain's serial console socket until the user types
// Ctrl-] or the domain goes away. The terminal is put in raw mode and restored on return.
#pragma once

#include <string>

#include "shype/common/result.h"

namespace shype::cli {

[[nodiscard]] Result<void> AttachConsole(const std::string& socket_path);

}  // namespace shype::cli
