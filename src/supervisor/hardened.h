// hardened.h - what `run --hardened` adds to a step, in the order the supervisor needs it:
//
//   HardenedStep(opts)   the deny-list and the exec rules the probes enforce (file identities)
//   setup()              the step's cgroup (and its janitor), the network guard on it, the
//                        sandbox plan the spawner and the command apply to themselves
//   adopt(spawner)       the spawner into the cgroup; the step's pid namespace to the probes
//   start_fields()       what STEP_START records: the policy, its digest, the workspace, ...
//
// The verdict (118, 119) is judged from the finished journal by the CLI (cli/run_verdict.h),
// with the same code `show` uses.
//
// The kernel-facing parts live in src/harden; this is only their assembly for one step.
#pragma once

#include <sys/types.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "capture/bpf_tracer.h"
#include "harden/cgroup.h"
#include "harden/net_guard.h"
#include "harden/sandbox.h"
#include "supervisor/supervisor.h"

namespace stepseal {

class HardenedStep {
 public:
  explicit HardenedStep(const RunOptions& opts);  // opts.policy must be set

  const std::vector<int>& denied_calls() const { return denied_; }
  bool exec_allowlist() const { return exec_allowlist_; }
  const std::vector<ss_exec_key>& exec_deny() const { return exec_deny_; }
  const std::vector<ss_exec_key>& exec_allow() const { return exec_allow_; }

  void setup(const BpfTracer& tracer);  // throws std::runtime_error
  void adopt(pid_t spawner, BpfTracer& tracer);  // throws
  const SandboxPlan& plan() const { return plan_; }
  StepCgroup& cgroup() { return *cgroup_; }
  nlohmann::json start_fields() const;

 private:
  const RunOptions& opts_;
  std::vector<int> denied_;
  std::vector<ss_exec_key> exec_deny_, exec_allow_;
  bool exec_allowlist_ = false;
  nlohmann::json exec_paths_ = nlohmann::json::object();
  SandboxPlan plan_;
  std::unique_ptr<StepCgroup> cgroup_;
  std::unique_ptr<NetGuard> net_guard_;
};

}  // namespace stepseal
