// SPDX-License-Identifier: Apache-2.0
//
// Fuzzes the parsing of API request bodies (any local root client may send anything): the JSON
// body parser and the typed field accessors must give a value or an error, never crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "shype/api/endpoints.h"
#include "shype/api/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto body = shype::api::ParseJsonBody(text);
  if (!body) return 0;
  for (const char* field : {"config", "path", "xml", "name", "resource", "label", "policy"}) {
    (void)shype::api::RequireString(*body, field);
  }
  (void)shype::api::OptionalBool(*body, "check_only", false);
  for (const auto& endpoint : shype::api::Endpoints()) {
    (void)shype::api::BuildTarget(endpoint, *body);
  }
  return 0;
}
