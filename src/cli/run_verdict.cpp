#include "cli/run_verdict.h"

#include <spdlog/spdlog.h>

#include <map>
#include <string>

#include "distill/summary.h"
#include "util/exit_codes.h"

namespace stepseal {

int hardened_exit_status(const RunOptions& opts, int command_status) {

  nlohmann::json sum;
  try {
    sum = summary_json(load_step(opts.trace_path));
  } catch (const std::exception& e) {
    spdlog::error("cannot read back the journal to judge the step: {}", e.what());
    return exit_code::kInternal;
  }
  const auto& v = sum["violations"];
  if (!v.empty()) {
    std::map<std::string, int> rules;
    for (const auto& x : v) rules[x["rule"].get<std::string>()]++;
    std::string list;
    for (const auto& [r, n] : rules) list += (list.empty() ? "" : ", ") + r + (n > 1 ? " x" + std::to_string(n) : "");
    spdlog::error("the policy was violated {} time(s): {} (the command itself exited {})",
                  v.size(), list, command_status);
    return exit_code::kPolicyViolated;
  }
  if (!sum.value("complete", false)) {
    if (opts.policy->completeness == policy::Completeness::kFail) {
      spdlog::error("the record is incomplete (lost events or gaps) and the policy requires a "
                    "complete one");
      return exit_code::kIncomplete;
    }
    spdlog::warn("the record is incomplete; the policy's completeness is \"warn\"");
  }
  return command_status;
}

}  // namespace stepseal
