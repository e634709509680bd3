// SPDX-License-Identifier: Apache-2.0
//
// The one JSON encoding of each typed reply (api/replies.h), as docs/api.md gives it: shyped's
// dispatch and the CLI's offline backend both reply through these, so the two print the same
// bytes. Pure; thread-safe.
#pragma once

#include <type_traits>

#include "shype/api/replies.h"
#include "shype/api/wire.h"

namespace shype::api {

Json ToJson(const LabelsReply& reply);
Json ToJson(const ResourceLabelReply& reply);
Json ToJson(const ResourcesReply& reply);
Json ToJson(const DryRunReply& reply);
Json ToJson(const PolicyReply& reply);
Json ToJson(const PolicyChangeReply& reply);
Json ToJson(const PolicyDumpReply& reply);
Json ToJson(const PolicySaveReply& reply);
Json ToJson(const PolicyVersionsReply& reply);
Json ToJson(const StoredPolicyVersion& reply);  // with its XML (policy.version.get)
Json ToJson(const PolicyAnalysisReply& reply);
Json ToJson(const PolicyDiffReply& reply);

// A service's result as the API's reply: the value encoded, an operation without a value as {},
// an error passed on.
template <class T>
Result<Json> EncodeReply(const Result<T>& result) {
  if (!result) return tl::unexpected(result.error());
  if constexpr (std::is_void_v<T>) {
    return Json::object();
  } else {
    return ToJson(*result);
  }
}

}  // namespace shype::api
