// SPDX-License-Identifier: Apache-2.0
//
// Unit tests of QMP line splitting, message classification and command encoding.
#include "shype/vm/qmp_message.h"

#include <gtest/gtest.h>

namespace shype::vm {
namespace {

TEST(QmpLineSplitterTest, ReassemblesLinesSplitAcrossReads) {
  QmpLineSplitter lines;
  ASSERT_TRUE(lines.Append("{\"a\":"));
  EXPECT_FALSE(lines.NextLine());
  ASSERT_TRUE(lines.Append("1}\r\n{\"b\":2}\n{\"c\""));
  EXPECT_EQ(lines.NextLine().value(), "{\"a\":1}");
  EXPECT_EQ(lines.NextLine().value(), "{\"b\":2}");
  EXPECT_FALSE(lines.NextLine());
  ASSERT_TRUE(lines.Append(":3}\n"));
  EXPECT_EQ(lines.NextLine().value(), "{\"c\":3}");
}

TEST(QmpLineSplitterTest, RejectsALineLongerThanTheLimit) {
  QmpLineSplitter lines;
  const std::string chunk(1024 * 1024, 'x');
  Result<void> appended;
  for (int i = 0; i < 5 && appended; ++i) appended = lines.Append(chunk);
  ASSERT_FALSE(appended);
  EXPECT_EQ(appended.error().code, ErrorCode::kIo);
}

TEST(QmpMessageTest, ParsesTheGreetingVersion) {
  auto message = ParseQmpMessage(
      R"({"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian"},)"
      R"( "capabilities": ["oob"]}})");
  ASSERT_TRUE(message) << message.error().message;
  const auto& greeting = std::get<QmpGreeting>(*message);
  EXPECT_EQ(greeting.major, 7);
  EXPECT_EQ(greeting.minor, 2);
  EXPECT_EQ(greeting.micro, 22);
  EXPECT_EQ(greeting.package, "Debian");
}

TEST(QmpMessageTest, ParsesReplyWithIdAndReturnValue) {
  auto message = ParseQmpMessage(R"({"return": {"status": "running"}, "id": 42})");
  ASSERT_TRUE(message);
  const auto& reply = std::get<QmpReply>(*message);
  EXPECT_EQ(reply.id.value(), 42U);
  ASSERT_TRUE(reply.result);
  EXPECT_EQ((*reply.result)["status"], "running");
}

TEST(QmpMessageTest, TurnsErrorReplyIntoErrorWithClassAndDesc) {
  auto message = ParseQmpMessage(
      R"({"error": {"class": "DeviceNotFound", "desc": "Device 'vd9' not found"}, "id": 3})");
  ASSERT_TRUE(message);
  const auto& reply = std::get<QmpReply>(*message);
  ASSERT_FALSE(reply.result);
  EXPECT_EQ(reply.result.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(reply.result.error().message, "QEMU DeviceNotFound: Device 'vd9' not found");
}

TEST(QmpMessageTest, ParsesEventNameDataAndTimestamp) {
  auto message = ParseQmpMessage(
      R"({"timestamp": {"seconds": 1700000000, "microseconds": 12}, "event": "SHUTDOWN",)"
      R"( "data": {"guest": false, "reason": "host-qmp-quit"}})");
  ASSERT_TRUE(message);
  const auto& event = std::get<QmpEvent>(*message);
  EXPECT_EQ(event.name, "SHUTDOWN");
  EXPECT_EQ(event.data["reason"], "host-qmp-quit");
  EXPECT_EQ(event.seconds, 1700000000);
  EXPECT_EQ(event.microseconds, 12);
}

TEST(QmpMessageTest, RejectsMalformedJsonAndUnknownObjects) {
  for (const char* line : {"{\"return\": ", "garbage\x01", "[1,2]", "{\"foo\": 1}", "\"str\""}) {
    auto message = ParseQmpMessage(line);
    ASSERT_FALSE(message) << line;
    EXPECT_EQ(message.error().code, ErrorCode::kIo);
  }
}

TEST(QmpMessageTest, EncodesCommandWithArgumentsAndId) {
  const std::string line = EncodeQmpCommand("device_del", {{"id", "vd2"}}, 7);
  ASSERT_EQ(line.back(), '\n');
  const auto parsed = nlohmann::json::parse(line, nullptr, false);
  EXPECT_EQ(parsed["execute"], "device_del");
  EXPECT_EQ(parsed["arguments"]["id"], "vd2");
  EXPECT_EQ(parsed["id"], 7);
  EXPECT_FALSE(nlohmann::json::parse(EncodeQmpCommand("cont", nullptr, 1)).contains("arguments"));
}

TEST(QmpMessageTest, EncodingInvalidUtf8DoesNotThrow) {
  const std::string line = EncodeQmpCommand("x", {{"s", std::string("\xff\xfe")}}, 1);
  EXPECT_FALSE(nlohmann::json::parse(line, nullptr, false).is_discarded());
}

}  // namespace
}  // namespace shype::vm
