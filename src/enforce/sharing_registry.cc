// SPDX-License-Identifier: Apache-2.0
//
// The registry of live sharings and their teardown (sharing_registry.h).
#include "shype/enforce/sharing_registry.h"

#include <algorithm>
#include <optional>

namespace shype::enforce {

bool IsRecorded(const acm::Acm& acm, DomainId domain) {
  const std::vector<acm::DomainInfo> known = acm.domains();
  return std::any_of(known.begin(), known.end(),
                     [&](const acm::DomainInfo& i) { return i.id == domain; });
}

std::optional<acm::SharingId> FindResourceSharing(const acm::Acm& acm, DomainId domain,
                                                  acm::ResourceKind kind,
                                                  std::string_view resource) {
  for (const acm::Sharing& s : acm.sharings()) {
    if (s.subject == domain && !s.peer && s.resource_kind == kind && s.resource == resource) {
      return s.id;
    }
  }
  return std::nullopt;
}

Result<void> SharingRegistry::Add(acm::SharingId id, Teardown teardown) {
  if (teardowns_.contains(id)) {
    return Fail(ErrorCode::kConflict, "sharing {} is already registered", id);
  }
  if (std::optional<acm::Sharing> live = acm_.FindSharing(id)) {
    teardowns_.emplace(id, Entry{std::move(*live), std::move(teardown)});
    return {};
  }
  return Fail(ErrorCode::kNotFound,
              "sharing {} is not live in the reference monitor; nothing to register", id);
}

void SharingRegistry::TearDown(acm::SharingId id, const acm::Sharing& as_dropped,
                               std::string_view why) {
  auto it = teardowns_.find(id);
  if (it == teardowns_.end()) return;
  Entry entry = std::move(it->second);
  teardowns_.erase(it);
  if (entry.teardown) entry.teardown(as_dropped, why);
}

Result<std::vector<acm::Sharing>> SharingRegistry::EndDomain(DomainId domain,
                                                             std::string_view why) {
  auto dropped = acm_.DomainDestroy(domain);
  std::vector<acm::Sharing> ended;
  if (dropped) {
    ended = std::move(*dropped);
  } else if (dropped.error().code == ErrorCode::kPermissionDenied) {
    return Fail(dropped.error());
  } else {
    // Unknown to the ACM (a create refused before admission): still undo what was registered.
    for (const auto& [id, entry] : teardowns_) {
      if (entry.sharing.subject == domain || entry.sharing.peer == domain) {
        ended.push_back(entry.sharing);
      }
    }
  }
  std::sort(ended.begin(), ended.end(),
            [](const acm::Sharing& a, const acm::Sharing& b) { return a.id > b.id; });
  for (const acm::Sharing& sharing : ended) TearDown(sharing.id, sharing, why);
  if (!dropped) return Fail(dropped.error());
  return ended;
}

void SharingRegistry::Revoked(const std::vector<acm::Sharing>& revoked, std::string_view why) {
  for (const acm::Sharing& sharing : revoked) TearDown(sharing.id, sharing, why);
}

Result<void> SharingRegistry::Release(acm::SharingId id, std::string_view why) {
  auto it = teardowns_.find(id);
  const acm::Sharing sharing = it != teardowns_.end() ? it->second.sharing : acm::Sharing{};
  if (auto r = acm_.ReleaseSharing(id); !r) return r;
  TearDown(id, sharing, why);
  return {};
}

}  // namespace shype::enforce
