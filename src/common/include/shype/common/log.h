// SPDX-License-Identifier: Apache-2.0
//
// The logging facade: diagnostics go through these functions (spdlog underneath, fmt syntax).
// Libraries never print to stdout/stderr directly. Audit records are not logs (see acm/).
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace shype::log {

template <class... Args>
void Debug(spdlog::format_string_t<Args...> format, Args&&... args) {
  spdlog::debug(format, std::forward<Args>(args)...);
}
template <class... Args>
void Info(spdlog::format_string_t<Args...> format, Args&&... args) {
  spdlog::info(format, std::forward<Args>(args)...);
}
template <class... Args>
void Warn(spdlog::format_string_t<Args...> format, Args&&... args) {
  spdlog::warn(format, std::forward<Args>(args)...);
}
template <class... Args>
void Error(spdlog::format_string_t<Args...> format, Args&&... args) {
  spdlog::error(format, std::forward<Args>(args)...);
}

// Sends logs to stderr at `level` ("debug", "info", "warn", "error", "off"); for main() only.
void SetupForProcess(std::string_view level, bool json_lines);

}  // namespace shype::log
