// SPDX-License-Identifier: Apache-2.0
//
// Process-wide log setup; called once from each main().
#include "shype/common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <string>

namespace shype::log {

void SetupForProcess(std::string_view level, bool json_lines) {
  auto logger = spdlog::stderr_color_mt("shype");
  if (json_lines) {
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","msg":"%v"})");
  } else {
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
  }
  logger->set_level(spdlog::level::from_str(std::string(level)));
  spdlog::set_default_logger(logger);
}

}  // namespace shype::log
