// SPDX-License-Identifier: Apache-2.0
//
// The virtual networks as the API shows them (vnet.list, vnet.info): each port's domain, MAC,
// state, counters by drop reason, and the ports it may exchange frames with; and the hotplug
// requests' replies (network-, shm- and block-attach); the shared-memory regions (shm.list).
#include <map>

#include "daemon.h"
#include "shype/config/device_spec.h"
#include "shype/vswitch/forwarder.h"

namespace shype::daemon {

namespace {

api::Json PortJson(const vswitch::PortView& port,
                   const std::map<vswitch::PortId, std::string>& owner, const std::string& domain) {
  api::Json drops = api::Json::object();
  for (std::size_t i = 0; i < vswitch::kDropReasonCount; ++i) {
    drops[std::string(vswitch::DropReasonName(static_cast<vswitch::DropReason>(i)))] =
        port.counters.drops[i];
  }
  api::Json reaches = api::Json::array();
  for (vswitch::PortId other : port.reaches) {
    auto it = owner.find(other);
    reaches.push_back(api::Json{{"port", other.value()},
                                {"domain", it != owner.end() ? it->second : std::string()}});
  }
  return api::Json{{"port", port.id.value()},
                   {"domain", domain},
                   {"domain_id", port.domain.value()},
                   {"mac", port.mac.ToString()},
                   {"connected", port.connected},
                   {"closed_why", port.closed_why},
                   {"rx_frames", port.counters.rx_frames},
                   {"rx_bytes", port.counters.rx_bytes},
                   {"tx_frames", port.counters.tx_frames},
                   {"tx_bytes", port.counters.tx_bytes},
                   {"drops", std::move(drops)},
                   {"reaches", std::move(reaches)}};
}

}  // namespace

boost::asio::awaitable<Result<api::Json>> Daemon::AttachNic(const api::AttachNetwork& c) {
  auto attached = co_await domains_->AttachNetwork(c.name, c.vif);
  if (!attached) co_return Fail(attached.error());
  co_return api::Json{{"name", c.name}, {"device", attached->first}, {"mac", attached->second}};
}

boost::asio::awaitable<Result<api::Json>> Daemon::AttachShm(const api::AttachRegion& c) {
  auto attached = co_await domains_->AttachRegion(c.name, c.shm);
  if (!attached) co_return Fail(attached.error());
  co_return api::Json{{"name", c.name}, {"device", *attached}};
}

boost::asio::awaitable<Result<api::Json>> Daemon::AttachBlock(const api::AttachDisk& c) {
  // The API refused commas in the fields: this is exactly one disk entry of a config.
  auto disk = config::ParseDiskSpec(fmt::format("{},{},{}", c.resource, c.vdev, c.mode));
  if (!disk) co_return Fail(disk.error());
  auto attached = co_await domains_->AttachDisk(c.name, *disk);
  if (!attached) co_return Fail(attached.error());
  co_return api::Json{{"name", c.name}, {"vdev", c.vdev}, {"device", *attached}};
}

Result<api::Json> Daemon::Regions() const {
  std::map<DomainId, std::string> names;
  for (const auto& d : domains_->Domains()) names[DomainId{d.id}] = d.name;
  api::Json out = api::Json::array();
  for (const shm::RegionView& region : regions_->List()) {
    api::Json peers = api::Json::array();
    for (const shm::PeerView& peer : region.peers) {
      peers.push_back(api::Json{{"peer", peer.id.value()},
                                {"domain", names[peer.domain]},
                                {"domain_id", peer.domain.value()},
                                {"connected", peer.connected}});
    }
    out.push_back(api::Json{{"name", region.name},
                            {"resource", shm::Regions::ResourceOf(region.name)},
                            {"size", region.size},
                            {"peers", std::move(peers)}});
  }
  return api::Json{{"regions", std::move(out)}};
}

Result<api::Json> Daemon::Networks(const std::string* name) const {
  std::map<DomainId, std::string> names;
  for (const auto& d : domains_->Domains()) names[DomainId{d.id}] = d.name;
  api::Json out = api::Json::array();
  for (const vswitch::NetworkView& net : networks_->List()) {
    if (name != nullptr && net.name != *name) continue;
    std::map<vswitch::PortId, std::string> owner;
    for (const auto& port : net.ports) owner[port.id] = names[port.domain];
    api::Json ports = api::Json::array();
    for (const auto& port : net.ports) ports.push_back(PortJson(port, owner, owner[port.id]));
    out.push_back(api::Json{{"name", net.name},
                            {"resource", vswitch::VirtualNetworks::ResourceOf(net.name)},
                            {"ports", std::move(ports)}});
  }
  if (name == nullptr) return api::Json{{"networks", std::move(out)}};
  if (out.empty()) {
    return Fail(ErrorCode::kNotFound,
                "no virtual network '{}' is in use (a network exists while a domain is attached "
                "to it; 'shype vnet list' shows them)",
                *name);
  }
  return out[0];
}

}  // namespace shype::daemon
