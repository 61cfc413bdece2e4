// supervisor.h - runs one build step under the probes and writes its journal.
//
//   load + attach probes  ->  fork the spawner into a new pid namespace  ->  register it
//   ->  let it fork the command  ->  drain the ring into the journal until the step ends
//   ->  drain the rest, write the step end and trailer.
//
// The spawner is pid 1 of a fresh pid namespace and dies with the supervisor (PDEATHSIG), so
// when stepseal dies every process of the step dies too: nothing continues untraced. When the
// command exits the spawner exits, and the kernel kills whatever the step left running.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace stepseal {

struct RunOptions {
  std::vector<std::string> argv;
  std::string trace_path;
  size_t ring_bytes = 16u << 20;
  bool digests = true;  // content digests and pre-images (the seccomp filter)
  // Hardened mode (docs/policy.md): the step runs sandboxed under this policy.
  std::optional<policy::Policy> policy;
  std::string policy_path;
  std::string workspace;   // absolute; the step's cwd (default: stepseal's cwd)
  bool fail_fast = false;  // kill the step at the first violation
};

// What run_step gives back. `status` is stepseal run's exit status (util/exit_codes.h): the
// command's own, or one of stepseal's. In hardened mode the policy's verdict is still to be
// judged from the finished journal, by the same code `show` uses (a later stage: the CLI does
// it); `judge_policy` says so.
struct StepOutcome {
  StepOutcome(int s, bool judge = false) : status(s), judge_policy(judge) {}  // NOLINT: from a status
  int status = 0;
  bool judge_policy = false;
};

StepOutcome run_step(const RunOptions& opts);

}  // namespace stepseal
