// SPDX-License-Identifier: Apache-2.0
//
// Domain labels live in the domain's configuration file (xm's access_control line): addlabel,
// getlabel and rmlabel dom edit or read the file in place (atomically, keeping everything else).
#pragma once

#include <string>

#include "commands.h"

namespace shype::cli {

void AddDomainLabel(Context& ctx, const std::string& label, const std::string& config,
                    const std::string& policy);
void GetDomainLabel(Context& ctx, const std::string& config);
void RemoveDomainLabel(Context& ctx, const std::string& config);

}  // namespace shype::cli
