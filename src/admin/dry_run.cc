// SPDX-License-Identifier: Apache-2.0
//
// dry-run: a domain configuration checked without starting anything (xm dry-run, plus the
// Chinese Wall against the running domains when shyped runs, and everything else create would
// refuse: the configuration's own refusals, its boot images, the host's).
#include "shype/admin/admin.h"
#include "shype/admin/create_checks.h"
#include "shype/admin/domain_plan.h"
#include "shype/admin/verdict_text.h"

namespace shype::admin {

Result<api::DryRunReply> Admin::DryRun(const std::string& text, const std::string& path) {
  auto config = config::DomainConfig::Parse(text, path);
  if (!config) return Fail(config.error());
  auto monitor = Monitor();
  if (!monitor) return Fail(monitor.error());
  api::DryRunReply report;
  for (const Error& refusal : ConfigRefusals(*config, path))
    report.refusals.push_back(refusal.message);
  const enforce::BootImages* images = live_ != nullptr ? live_->BootImages() : nullptr;
  auto plan = PlanDomain(*config, **monitor, store_, images);
  if (!plan && images != nullptr) {
    // A boot image that is not there (or may not be opened) is one more refusal of create's;
    // the labels are still worth checking.
    report.refusals.push_back(plan.error().message);
    plan = PlanDomain(*config, **monitor, store_, nullptr);
  }
  if (!plan) return Fail(plan.error());
  if (live_ != nullptr) {
    for (Error& refusal : live_->HostRefusals(*config)) {
      report.refusals.push_back(std::move(refusal.message));
    }
  } else {
    report.unchecked.push_back(
        "the boot images, the accelerator and the running domains' names: shyped is not running");
  }
  report.domain = {plan->name,    plan->label,     plan->policy,
                   plan->ssidref, plan->permitted, plan->reason};
  for (const auto& r : plan->resources) {
    report.resources.push_back(
        {r.resource, r.permitted, r.res_label, r.res_policy, r.res_policy_type, r.reason});
  }
  bool passed = plan->permitted && plan->resources_permitted();
  if (live_ == nullptr) {
    report.chinese_wall = {
        false, false,
        "shyped is not running: the Chinese Wall depends on the running domains, so it could not "
        "be checked"};
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
  report.passed = passed && report.refusals.empty();
  return report;
}

}  // namespace shype::admin
