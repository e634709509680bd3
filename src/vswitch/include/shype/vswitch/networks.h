// SPDX-License-Identifier: Apache-2.0
//
// VirtualNetworks holds shyped's virtual networks (a Switch each, started at first use) and is
// where the reference monitor governs them. A port is attached only for a domain the ACM holds a
// sharing of the network's resource `vnet:NAME` for (its admission, or a hotplug's check); two
// ports exchange frames only while the ACM holds a network sharing between their domains (STE,
// asked once per pair at attach and after each policy change), and stop the moment it ends (the
// domain's end, a revocation). The ports of one domain reach each other. Not thread-safe:
// shyped's io thread only. Borrows the Acm and the SharingRegistry (which must outlive it).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "shype/acm/acm.h"
#include "shype/common/unique_fd.h"
#include "shype/enforce/sharing_registry.h"
#include "shype/vswitch/mac.h"
#include "shype/vswitch/switch.h"

namespace shype::vswitch {

// The ports one domain may hold on one network.
inline constexpr std::size_t kMaxPortsPerDomain = 8;

struct NetworkView {
  std::string name;
  std::vector<PortView> ports;
};

class VirtualNetworks {
 public:
  VirtualNetworks(acm::Acm& acm, enforce::SharingRegistry& sharings);
  VirtualNetworks(const VirtualNetworks&) = delete;
  VirtualNetworks& operator=(const VirtualNetworks&) = delete;
  ~VirtualNetworks();

  // The resource name of network `name`: "vnet:<name>".
  static std::string ResourceOf(const std::string& name) { return "vnet:" + name; }

  struct Nic {
    std::string network;
    PortId port{0};
    UniqueFd peer;  // QEMU's end
  };
  // Attaches `domain` to network `name` with `mac`, then asks the ACM, for each domain already
  // there, whether the two may share (RegisterSharing, kNetwork; a denial is audited) and lets
  // frames flow between the permitted ones only. Errors: kPermissionDenied (the ACM holds no
  // sharing of vnet:<name> for the domain), the Switch's (MAC in use, too many ports), kIo.
  [[nodiscard]] Result<Nic> Attach(DomainId domain, const std::string& name, MacAddress mac);
  // Detaches every port `domain` has on `name` and ends their pair sharings: the teardown of
  // the domain's vnet:<name> sharing.
  void DetachAll(DomainId domain, const std::string& name, std::string_view why);
  // Detaches one port of network `name` and ends its pair sharings (a failed hotplug).
  void Detach(const std::string& name, PortId port, std::string_view why);
  // After a committed policy update: ports whose domains may share now and did not before get
  // their sharing (the update revoked, or refused, the pairs it forbids).
  void FollowPolicy();

  std::vector<NetworkView> List() const;

 private:
  struct PortEntry {
    PortId port{0};
    DomainId domain{0};
  };
  struct Network {
    std::unique_ptr<Switch> sw;
    std::vector<PortEntry> ports;
    std::map<std::pair<PortId, PortId>, acm::SharingId> pairs;  // (lower, higher) port id
  };
  void DetachPorts(const std::string& name, const std::vector<PortId>& ports, std::string_view why);
  // Asks the ACM whether the ports' domains may share and, if so, opens the pair.
  void Pair(const std::string& name, Network& net, const PortEntry& a, const PortEntry& b);

  acm::Acm& acm_;
  enforce::SharingRegistry& sharings_;
  std::map<std::string, Network> networks_;
};

}  // namespace shype::vswitch
