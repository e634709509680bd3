// SPDX-License-Identifier: Apache-2.0
//
// QMP line splitting, message classification and command encoding. Never throws: JSON is parsed
// with exceptions disabled and every field is type-checked before it is read.
#include "shype/vm/qmp_message.h"

#include <algorithm>

namespace shype::vm {
namespace {

using nlohmann::json;

const json* Field(const json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string StringField(const json& object, const char* key) {
  const json* value = Field(object, key);
  return value != nullptr && value->is_string() ? value->get<std::string>() : std::string();
}

std::int64_t IntField(const json& object, const char* key) {
  const json* value = Field(object, key);
  return value != nullptr && value->is_number_integer() ? value->get<std::int64_t>() : 0;
}

std::string Snippet(std::string_view line) {
  std::string out(line.substr(0, 80));
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c < 0x20 || c > 0x7e; }, '?');
  return out;
}

QmpGreeting ParseGreeting(const json& qmp) {
  QmpGreeting greeting;
  const json* version = Field(qmp, "version");
  if (version == nullptr || !version->is_object()) return greeting;
  if (const json* qemu = Field(*version, "qemu"); qemu != nullptr && qemu->is_object()) {
    greeting.major = static_cast<int>(IntField(*qemu, "major"));
    greeting.minor = static_cast<int>(IntField(*qemu, "minor"));
    greeting.micro = static_cast<int>(IntField(*qemu, "micro"));
  }
  greeting.package = StringField(*version, "package");
  return greeting;
}

QmpReply ParseReply(const json& object) {
  QmpReply reply;
  if (const json* id = Field(object, "id"); id != nullptr && id->is_number_unsigned()) {
    reply.id = id->get<std::uint64_t>();
  }
  if (const json* error = Field(object, "error"); error != nullptr) {
    reply.result = tl::unexpected(QmpErrorToError(*error));
  } else {
    reply.result = *Field(object, "return");
  }
  return reply;
}

QmpEvent ParseEvent(const json& object) {
  QmpEvent event;
  event.name = StringField(object, "event");
  if (const json* data = Field(object, "data"); data != nullptr && data->is_object()) {
    event.data = *data;
  } else {
    event.data = json::object();
  }
  if (const json* stamp = Field(object, "timestamp"); stamp != nullptr && stamp->is_object()) {
    event.seconds = IntField(*stamp, "seconds");
    event.microseconds = IntField(*stamp, "microseconds");
  }
  return event;
}

}  // namespace

Result<void> QmpLineSplitter::Append(std::string_view bytes) {
  buffer_.append(bytes);
  if (buffer_.size() > kMaxQmpLineBytes && buffer_.find('\n', scanned_) == std::string::npos) {
    return Fail(ErrorCode::kIo, "QMP line longer than {} bytes; peer is not a sane QMP server",
                kMaxQmpLineBytes);
  }
  return {};
}

std::optional<std::string> QmpLineSplitter::NextLine() {
  const auto newline = buffer_.find('\n', scanned_);
  if (newline == std::string::npos) {
    scanned_ = buffer_.size();
    return std::nullopt;
  }
  std::string line = buffer_.substr(0, newline);
  buffer_.erase(0, newline + 1);
  scanned_ = 0;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Result<QmpMessage> ParseQmpMessage(std::string_view line) {
  const json object = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded() || !object.is_object()) {
    return Fail(ErrorCode::kIo, "malformed QMP message (not a JSON object): '{}'", Snippet(line));
  }
  if (const json* qmp = Field(object, "QMP"); qmp != nullptr && qmp->is_object()) {
    return QmpMessage{ParseGreeting(*qmp)};
  }
  if (const json* event = Field(object, "event"); event != nullptr && event->is_string()) {
    return QmpMessage{ParseEvent(object)};
  }
  if (Field(object, "return") != nullptr || Field(object, "error") != nullptr) {
    return QmpMessage{ParseReply(object)};
  }
  return Fail(ErrorCode::kIo, "QMP message is neither greeting, reply nor event: '{}'",
              Snippet(line));
}

Error QmpErrorToError(const json& error) {
  if (!error.is_object()) {
    return Error{ErrorCode::kInternal, "QEMU returned an error that is not an object"};
  }
  const std::string error_class = StringField(error, "class");
  const std::string desc = StringField(error, "desc");
  ErrorCode code = ErrorCode::kInvalidArgument;
  if (error_class == "DeviceNotFound") code = ErrorCode::kNotFound;
  if (error_class == "DeviceNotActive") code = ErrorCode::kConflict;
  if (error_class == "KVMMissingCap") code = ErrorCode::kUnavailable;
  return Error{code, "QEMU " + error_class + ": " + desc};
}

std::string EncodeQmpCommand(std::string_view command, const json& args, std::uint64_t id) {
  json message = json::object();
  message["execute"] = std::string(command);
  if (args.is_object()) message["arguments"] = args;
  message["id"] = id;
  // replace: invalid UTF-8 from a caller must not throw.
  return message.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace shype::vm
