// SPDX-License-Identifier: Apache-2.0
//
// Switch is one virtual network: a Forwarder driven by its own data thread, one port per virtual
// NIC. Each port is a socketpair: the switch keeps one end, QEMU gets the other as an fd
// (`-netdev stream,addr.type=fd`), so no path is ever involved. The data thread reads many frames
// per read, writes each receiver's frames with one gathering sendmsg, and queues at most
// kMaxQueuedBytes for a slow receiver (the rest is dropped and counted): one network's flood never
// touches the API's thread or another network's. Thread-safe: the control calls run on the data
// thread and return when done (after Detach or SetPermitted(false) returns, no further frame
// crosses).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "shype/common/id.h"
#include "shype/common/result.h"
#include "shype/common/unique_fd.h"
#include "shype/vswitch/forwarder.h"
#include "shype/vswitch/mac.h"

namespace shype::vswitch {

using PortId = Id<struct PortIdTag, std::uint64_t>;  // never reused within a Switch

inline constexpr std::size_t kMaxQueuedBytes = 512 * 1024;  // per receiving port

struct PortView {
  PortId id{0};
  DomainId domain{0};
  MacAddress mac;
  bool connected = false;  // false once its QEMU closed the socket or lost the framing
  std::string closed_why;  // why the switch stopped serving it
  PortCounters counters;
  std::vector<PortId> reaches;  // the ports it may exchange frames with
};

class Switch {
 public:
  // Starts the data thread. Errors: kIo (the thread could not start).
  [[nodiscard]] static Result<std::unique_ptr<Switch>> Start(std::string name);
  ~Switch();  // stops the data thread and closes every port
  Switch(const Switch&) = delete;
  Switch& operator=(const Switch&) = delete;

  const std::string& name() const;

  struct Attached {
    PortId port{0};
    UniqueFd peer;  // QEMU's end of the port (SOCK_STREAM, blocking, close-on-exec)
  };
  // A new port for `domain` sending from `mac`, reaching no other port yet. Errors: as
  // Forwarder::AddPort, kIo (socketpair).
  [[nodiscard]] Result<Attached> Attach(DomainId domain, MacAddress mac);
  // Closes the port; unknown ids are ignored (a teardown may run after the port went).
  void Detach(PortId port);
  // Whether two ports may exchange frames. Unknown ids are ignored.
  void SetPermitted(PortId a, PortId b, bool permitted);
  std::vector<PortView> Ports() const;

 private:
  struct Impl;
  explicit Switch(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace shype::vswitch
