// SPDX-License-Identifier: Apache-2.0
//
// dry-run: a domain configuration checked without starting anything (xm dry-run, plus the
// Chinese Wall against the running domains when shyped runs).
#include "shype/admin/admin.h"
#include "shype/admin/domain_plan.h"
#include "shype/admin/verdict_text.h"

namespace shype::admin {

Result<api::DryRunReply> Admin::DryRun(const std::string& text, const std::string& path) {
  auto config = config::DomainConfig::Parse(text, path);
  if (!config) return Fail(config.error());
  auto monitor = Monitor();
  if (!monitor) return Fail(monitor.error());
  auto plan =
      PlanDomain(*config, **monitor, store_, live_ != nullptr ? live_->BootImages() : nullptr);
  if (!plan) return Fail(plan.error());
  api::DryRunReply report;
  report.domain = {plan->name,    plan->label,     plan->policy,
                   plan->ssidref, plan->permitted, plan->reason};
  for (const auto& r : plan->resources) {
    report.resources.push_back(
        {r.resource, r.permitted, r.res_label, r.res_policy, r.res_policy_type, r.reason});
  }
  bool passed = plan->permitted && plan->resources_permitted();
  if (live_ == nullptr) {
    report.chinese_wall = {
        false, false, "shyped is not running; the Chinese Wall depends on the running domains"};
  } else if (plan->permitted) {
    // The monitor's query: it decides like the create hook but audits nothing.
    acm::Verdict wall = (*monitor)->QueryChineseWall(plan->ssidref);
    std::string why =
        wall.permitted() ? std::string()
                         : DescribeVerdict(wall, [this](DomainId id) { return live_->NameOf(id); });
    report.chinese_wall = {true, wall.permitted(), std::move(why)};
    passed = passed && wall.permitted();
  } else {
    report.chinese_wall = {false, false, "the domain's label was denied"};
  }
  report.passed = passed;
  return report;
}

}  // namespace shype::admin
