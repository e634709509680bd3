// SPDX-License-Identifier: Apache-2.0
//
// Turns the JSON results of API operations into the text xm printed (spec-acm.md §6.6), so the
// CLI prints the same whether it talked to shyped or worked offline.
#pragma once

#include <string>

#include "shype/api/wire.h"

namespace shype::cli {

using api::Json;

std::string FormatGetPolicy(const Json& policy);
// policy.versions: one aligned row per stored version, `*` marking the active one.
std::string FormatPolicyVersions(const Json& reply);
std::string FormatLabels(const Json& labels);
std::string FormatResources(const Json& resources);
std::string FormatResourceLabel(const Json& label);  // ACM:P:L
std::string FormatDryRun(const Json& report);
std::string FormatDomainList(const Json& list, bool with_label);
std::string FormatDomainInfo(const Json& info);
std::string FormatRegionList(const Json& list);   // shype shm list
std::string FormatNetworkList(const Json& list);  // shype vnet list
std::string FormatNetwork(const Json& network);   // shype vnet show NAME: one line per port
// One audit record (a JSON object) as a readable line.
std::string FormatAuditRecord(const Json& record);

}  // namespace shype::cli
