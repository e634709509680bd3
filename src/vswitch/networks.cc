// SPDX-License-Identifier: Apache-2.0
//
// VirtualNetworks: attaching domains to switches as the ACM permits (networks.h).
#include "shype/vswitch/networks.h"

#include <algorithm>

#include "shype/common/log.h"

namespace shype::vswitch {

VirtualNetworks::VirtualNetworks(acm::Acm& acm, enforce::SharingRegistry& sharings)
    : acm_(acm), sharings_(sharings) {}

VirtualNetworks::~VirtualNetworks() = default;

Result<VirtualNetworks::Nic> VirtualNetworks::Attach(DomainId domain, const std::string& name,
                                                     MacAddress mac) {
  const std::string resource = ResourceOf(name);
  // SECURITY: a port only for a domain the monitor admitted to this network (its label was
  // checked against the network's there); the switch takes no label decision of its own.
  if (!enforce::FindResourceSharing(acm_, domain, acm::ResourceKind::kNetwork, resource)) {
    return Fail(ErrorCode::kPermissionDenied,
                "domain {} holds no admission to network '{}' ({}): attach it through create or "
                "network-attach, which check its label against the network's",
                domain.value(), name, resource);
  }
  auto it = networks_.find(name);
  if (it != networks_.end()) {
    const auto& ports = it->second.ports;
    const auto held = std::count_if(ports.begin(), ports.end(),
                                    [&](const PortEntry& p) { return p.domain == domain; });
    // SECURITY: an open network is shared by every coalition; no one domain may take its ports.
    if (static_cast<std::size_t>(held) >= kMaxPortsPerDomain) {
      return Fail(ErrorCode::kUnavailable,
                  "domain {} has {} ports on network '{}' already, the most one domain may hold",
                  domain.value(), kMaxPortsPerDomain, name);
    }
  }
  if (it == networks_.end()) {
    auto sw = Switch::Start(name);
    if (!sw) return Fail(sw.error());
    it = networks_.emplace(name, Network{std::move(*sw), {}, {}}).first;
  }
  Network& net = it->second;
  auto attached = net.sw->Attach(domain, mac);
  if (!attached) {
    if (net.ports.empty()) networks_.erase(it);
    return Fail(attached.error());
  }
  const PortEntry entry{attached->port, domain};
  const std::vector<PortEntry> others = net.ports;
  net.ports.push_back(entry);
  for (const PortEntry& other : others) Pair(name, net, entry, other);
  return Nic{name, attached->port, std::move(attached->peer)};
}

void VirtualNetworks::Pair(const std::string& name, Network& net, const PortEntry& a,
                           const PortEntry& b) {
  const std::pair<PortId, PortId> key = std::minmax(a.port, b.port);
  if (net.pairs.contains(key)) return;
  if (a.domain == b.domain) {  // one domain's own NICs
    net.sw->SetPermitted(a.port, b.port, true);
    return;
  }
  // SECURITY: the pair's decision is the ACM's (STE; a denial is audited there). Frames flow only
  // while the sharing it records lives: its teardown closes the pair.
  auto shared = acm_.RegisterSharing(a.domain, b.domain, acm::ShareKind::kNetwork);
  if (!shared) {
    if (shared.error().code != ErrorCode::kPermissionDenied) {
      log::Warn("network '{}': domains {} and {} stay apart: {}", name, a.domain.value(),
                b.domain.value(), shared.error().message);
    }
    return;
  }
  const acm::SharingId id = *shared;
  auto added = sharings_.Add(id, [this, name, key](const acm::Sharing&, std::string_view why) {
    auto n = networks_.find(name);
    if (n == networks_.end()) return;
    n->second.sw->SetPermitted(key.first, key.second, false);
    n->second.pairs.erase(key);
    log::Info("network '{}': ports {} and {} no longer exchange frames ({})", name,
              key.first.value(), key.second.value(), why);
  });
  if (!added) {
    (void)acm_.ReleaseSharing(id);
    log::Warn("network '{}': domains {} and {} stay apart: {}", name, a.domain.value(),
              b.domain.value(), added.error().message);
    return;
  }
  net.pairs.emplace(key, id);
  net.sw->SetPermitted(a.port, b.port, true);
}

void VirtualNetworks::DetachAll(DomainId domain, const std::string& name, std::string_view why) {
  auto it = networks_.find(name);
  if (it == networks_.end()) return;
  std::vector<PortId> gone;
  for (const PortEntry& p : it->second.ports) {
    if (p.domain == domain) gone.push_back(p.port);
  }
  DetachPorts(name, gone, why);
}

void VirtualNetworks::Detach(const std::string& name, PortId port, std::string_view why) {
  DetachPorts(name, {port}, why);
}

void VirtualNetworks::DetachPorts(const std::string& name, const std::vector<PortId>& gone,
                                  std::string_view why) {
  auto it = networks_.find(name);
  if (it == networks_.end()) return;
  Network& net = it->second;
  const auto is_gone = [&](PortId p) {
    return std::find(gone.begin(), gone.end(), p) != gone.end();
  };
  std::erase_if(net.ports, [&](const PortEntry& p) { return is_gone(p.port); });
  for (PortId port : gone) {
    net.sw->Detach(port);  // no frame crosses from here on
    std::vector<acm::SharingId> ended;
    for (const auto& [key, id] : net.pairs) {
      if (key.first == port || key.second == port) ended.push_back(id);
    }
    for (acm::SharingId id : ended) (void)sharings_.Release(id, why);
    log::Info("network '{}': port {} detached ({})", name, port.value(), why);
  }
  // Release's teardown erased the pairs it ended; the ACM may have dropped some already (the
  // domain's end), whose teardowns run after this one: drop what is left of the gone ports.
  std::erase_if(net.pairs, [&](const auto& entry) {
    return is_gone(entry.first.first) || is_gone(entry.first.second);
  });
  if (net.ports.empty()) networks_.erase(it);  // stops its data thread
}

void VirtualNetworks::FollowPolicy() {
  for (auto& [name, net] : networks_) {
    const std::vector<PortEntry> ports = net.ports;
    for (std::size_t i = 0; i < ports.size(); ++i) {
      for (std::size_t j = i + 1; j < ports.size(); ++j) Pair(name, net, ports[i], ports[j]);
    }
  }
}

std::vector<NetworkView> VirtualNetworks::List() const {
  std::vector<NetworkView> out;
  for (const auto& [name, net] : networks_) out.push_back(NetworkView{name, net.sw->Ports()});
  return out;
}

}  // namespace shype::vswitch
