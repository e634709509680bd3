// SPDX-License-Identifier: Apache-2.0
//
// The QMP wire format without I/O: splitting the byte stream into lines, classifying each JSON
// object (greeting, reply, event) and encoding commands. Pure and bounded, so it can be fuzzed.
// Thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "shype/common/result.h"

namespace shype::vm {

// Largest QMP line accepted (query-qmp-schema is ~200 KiB); a longer line fails the connection.
inline constexpr std::size_t kMaxQmpLineBytes = 4 * 1024 * 1024;

struct QmpGreeting {
  int major = 0, minor = 0, micro = 0;
  std::string package;
};

struct QmpReply {
  std::optional<std::uint64_t> id;  // absent when QEMU could not parse the command
  Result<nlohmann::json> result;    // "return" value, or QEMU's error as a shype::Error
};

struct QmpEvent {
  std::string name;     // "SHUTDOWN", "STOP", "RESUME", "DEVICE_DELETED", ...
  nlohmann::json data;  // the "data" object ({} when absent)
  std::int64_t seconds = 0, microseconds = 0;
};

using QmpMessage = std::variant<QmpGreeting, QmpReply, QmpEvent>;

// Accumulates bytes and yields complete '\n'-terminated lines (without the '\n').
class QmpLineSplitter {
 public:
  // Appends `bytes`. Errors: kIo when a line grows beyond kMaxQmpLineBytes.
  [[nodiscard]] Result<void> Append(std::string_view bytes);
  // Returns the next complete line, if any.
  std::optional<std::string> NextLine();

 private:
  std::string buffer_;
  std::size_t scanned_ = 0;  // bytes of buffer_ known to contain no '\n'
};

// Parses one line. Errors: kIo for malformed JSON or an object that is none of the three kinds.
// An error reply is not a parse error: it becomes a QmpReply whose result holds the Error.
[[nodiscard]] Result<QmpMessage> ParseQmpMessage(std::string_view line);

// Turns QEMU's {"class": ..., "desc": ...} into an Error "QEMU <class>: <desc>".
// DeviceNotFound -> kNotFound, DeviceNotActive -> kConflict, KVMMissingCap -> kUnavailable,
// CommandNotFound/GenericError/others -> kInvalidArgument.
Error QmpErrorToError(const nlohmann::json& error);

// Encodes {"execute": command, "arguments": args, "id": id} plus '\n'. `args` null or an object.
std::string EncodeQmpCommand(std::string_view command, const nlohmann::json& args,
                             std::uint64_t id);

}  // namespace shype::vm
