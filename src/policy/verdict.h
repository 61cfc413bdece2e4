// verdict.h - judging a record against a policy: what was blocked, what broke a rule.
//
// The kernel enforces (src/harden); this names what it refused, and the rules nothing in the
// kernel can enforce (DNS over tcp, executables by digest, daemons). One definition serves the live
// supervisor (exit status, --fail-fast) and the summary of a replayed journal.
//
// verdict "blocked":   the call failed, refused by the sandbox (seccomp, cgroup program, mount)
// verdict "violation": it happened, or cannot be refused in the kernel, but the policy forbids it
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <string_view>

#include "capture/event.h"
#include "model/model.h"
#include "policy/policy.h"

namespace stepseal::policy {

struct Violation {
  std::string verdict;   // "blocked" or "violation"
  std::string rule;      // "seccomp.deny:ptrace", "network.allow", "network.dns.names", ...
  std::string category;  // "syscall", "socket", "network", "unix", "filesystem", "dns", "exec",
                         // "process"
  std::string detail;    // what was attempted, for people
  uint32_t pid = 0;
  uint64_t ts_ns = 0;
};

// What judging a step's events in order remembers: the addresses the DNS guard learned for
// allowed names (DNS_LEARNED events), which the step may then reach.
struct JudgeState {
  std::set<std::string> learned;
  // A RUN of a sterile build (STEP_START "build"): its read-only paths and noexec mounts are the
  // builder's, not the policy's, so EROFS and EACCES are not refusals of the policy's; and the
  // network namespace it had (abstract unix sockets are allowed in one of its own).
  bool container = false;
  std::optional<bool> own_netns;
};

// Judges one event of a hardened step. With `state`, DNS_LEARNED events are remembered and
// later connects to those addresses are allowed, as the kernel allowed them.
std::optional<Violation> judge_event(const Policy& p, std::string_view workspace, const Event& e,
                                     JudgeState* state = nullptr);

// What each exec rule's path named when the step started (${WORKSPACE} expanded, symlinks
// resolved), as recorded in STEP_START's "exec_paths"; a rule matches its path or this one.
using ExecPaths = std::map<std::string, std::string>;

// Judges a process once the record is complete: exec rules (by path and digest) and daemons.
// `implicit`: executables allowed whatever the exec rules say, by path and digest both (a
// sterile build's stepseal-seal, STEP_START "exec_implicit").
std::vector<Violation> judge_process(const Policy& p, const Process& proc,
                                     const ExecPaths& real = {},
                                     const std::vector<ExecRule>& implicit = {});

}  // namespace stepseal::policy
