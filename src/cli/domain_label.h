// SPDX-License-Identifier: Apache-2.0
//
// Domain labels live in the domain's configuration file (xm's access_control line): addlabel,
// getlabel and rmlabel dom edit or read the file in place (atomically, keeping everything else).
// A running domain's label is shyped's: addlabel/getlabel mgt (or dom with a domain's name).
#pragma once

#include <string>

#include "commands.h"

namespace shype::cli {

void AddDomainLabel(Context& ctx, const std::string& label, const std::string& config,
                    const std::string& policy);
void GetDomainLabel(Context& ctx, const std::string& config);
void RemoveDomainLabel(Context& ctx, const std::string& config);

// `dom X` names a configuration file when X has a '/' or is a regular file; else a domain.
bool NamesConfigFile(const std::string& target);
// addlabel LABEL mgt|dom DOMAIN: a running or paused domain (a name or an id) or Domain-0,
// relabeled live by shyped (domain.relabel).
void RelabelRunningDomain(Context& ctx, const std::string& label, const std::string& domain,
                          std::string policy);
// getlabel mgt|dom DOMAIN: the live label of a running domain or of Domain-0.
void GetRunningDomainLabel(Context& ctx, const std::string& domain);

}  // namespace shype::cli
