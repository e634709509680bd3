// SPDX-License-Identifier: Apache-2.0
//
// The measured-launch event log (docs/vtpm.md): what shyped extended into a domain's vTPM before
// its first instruction, as JSON, and its replay. The parser is strict and bounded (it reads
// logs a remote party sends): one shype record in PCR 7, then at most one command line (PCR 8),
// one kernel and one initrd (PCR 9), in that order; an event carrying data must hash to its digest.
// Pure; thread-compatible.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shype/common/result.h"

namespace shype::vtpm {

using Digest = std::array<std::uint8_t, 32>;  // SHA-256

inline constexpr std::uint32_t kRecordPcr = 7;   // the shype record: policy and label
inline constexpr std::uint32_t kCmdlinePcr = 8;  // the kernel command line
inline constexpr std::uint32_t kImagePcr = 9;    // the kernel, then the initrd
inline constexpr std::array<std::uint32_t, 3> kMeasuredPcrs{kRecordPcr, kCmdlinePcr, kImagePcr};
inline constexpr std::size_t kMaxEventLogBytes = 256 * 1024;

struct Event {
  std::uint32_t pcr = 0;
  std::string type;  // "shype-record", "cmdline", "kernel", "initrd"
  Digest digest{};
  std::optional<std::string> data;  // the bytes hashed, for shype-record and cmdline
};

// What the shype record says (its data is this as compact JSON, hashed as written).
struct LaunchRecord {
  std::string domain;
  std::string label;
  std::string policy;
  std::string policy_version;
  std::string policy_hash;  // hex SHA-256 of the binary policy the ACM enforced
  std::vector<std::string> ste_types;
  std::vector<std::string> chwall_types;
  std::string vtpm;  // the vTPM's uuid
};

struct EventLog {
  std::vector<Event> events;
};

std::string LaunchRecordJson(const LaunchRecord& record);
// The log of one launch: the record; the command line, kernel and initrd when there are any.
EventLog MakeLaunchLog(const LaunchRecord& record, const std::optional<std::string>& cmdline,
                       const std::optional<Digest>& kernel, const std::optional<Digest>& initrd);

std::string EventLogJson(const EventLog& log);
// Errors: kInvalidArgument naming the event and the field ("event 2 (kernel): digest: ...").
[[nodiscard]] Result<EventLog> ParseEventLog(std::string_view json);
[[nodiscard]] Result<LaunchRecord> ParseLaunchRecord(std::string_view json);

// The PCR values the log leads to from a TPM reset (zeros), for kMeasuredPcrs in order.
std::array<Digest, kMeasuredPcrs.size()> Replay(const EventLog& log);
// What TPM2_Quote signs over those PCRs: SHA-256 of the values concatenated.
Digest PcrDigest(const std::array<Digest, kMeasuredPcrs.size()>& values);

std::string Hex(std::span<const std::uint8_t> bytes);
[[nodiscard]] Result<std::vector<std::uint8_t>> ParseHex(std::string_view hex);

}  // namespace shype::vtpm
