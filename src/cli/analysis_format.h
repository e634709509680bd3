// SPDX-License-Identifier: Apache-2.0
//
// The text of `shype policy analyze` and `shype policy diff`: the replies of policy.analyze and
// policy.diff (docs/api.md) as aligned tables, label names as a matrix's row and column headers.
#pragma once

#include <string>
#include <vector>

#include "shype/api/wire.h"

namespace shype::cli {

// Rows of cells as a table: each column as wide as its widest cell (in code points), two spaces
// between columns, no trailing blanks; every line ends in "\n".
std::string FormatTable(const std::vector<std::vector<std::string>>& rows);

std::string FormatPolicyAnalysis(const api::Json& analysis);
std::string FormatPolicyDiff(const api::Json& diff);

}  // namespace shype::cli
