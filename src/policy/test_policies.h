// SPDX-License-Identifier: Apache-2.0
//
// Hand-built reference policies for the tests: example.client_v1 and DEFAULT exactly as spec
// §3.10 lists their matrices and bytes, plus the small STE-only / CHWALL-only / NULL shapes.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "shype/policy/binary_policy.h"
#include "shype/policy/label_map.h"

namespace shype::policy::testing {

// Builds a matrix from rows of '0'/'1' characters, e.g. {"0001", "0100"}.
TypeMatrix MatrixFromRows(std::uint32_t cols, std::initializer_list<std::string_view> rows);
// Decodes "00 01 de bc ..." (whitespace ignored) into bytes.
std::vector<std::uint8_t> BytesFromHex(std::string_view hex);

BinaryPolicy ClientV1Policy();
std::vector<std::uint8_t> ClientV1Bytes();  // the 380 bytes of spec §3.10
BinaryPolicy DefaultPolicy();               // 148 bytes, spec §3.10 end
BinaryPolicy SteOnlyPolicy();
BinaryPolicy ChwallOnlyPolicy();
BinaryPolicy NullPolicy();

std::string ClientV1MapText();  // the `.map` file of spec §3.8 for client_v1, written by hand
LabelMap ClientV1Map();
LabelMap SteOnlyMap();  // names the rows of SteOnlyPolicy()
// Writes the LABEL->SSID and TYPE lines of spec §3.8 for `map` (what ParseMapFile reads).
std::string MapTextForTesting(const LabelMap& map);

}  // namespace shype::policy::testing
