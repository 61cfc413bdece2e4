// sandbox.h - hardened mode's sterile environment, in two halves.
//
//   enter_sandbox()   in the spawner (pid 1 of the step's pid namespace), before the command
//                     exists: mount, ipc, uts and (when the policy allows only loopback) net
//                     namespaces; lo up; the whole tree read-only except the writable paths;
//                     a fresh tmpfs on /tmp, /run, /var/run and /dev/shm (SS_PRIVATE_DIRS);
//                     hidden paths covered; a fresh /proc.
//   restrict_self()   in the command's process, just before exec: environment filtered by the
//                     allowlist, no_new_privs, capabilities dropped (bounding, ambient, sets),
//                     optionally another uid, and the seccomp deny-list.
//
// Both run after fork in a single-threaded process: no allocation-heavy work, errors returned as
// text for the status pipe.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace stepseal {

struct SandboxPlan {
  std::string workspace;               // absolute; the step's cwd
  std::vector<std::string> writable;   // absolute, ${WORKSPACE} expanded
  std::vector<std::string> hidden;     // absolute, ${WORKSPACE} expanded
  bool readonly_default = true;
  bool own_netns = true;               // a network namespace with only lo
  std::vector<std::string> env_allow;  // patterns
  std::vector<int> capabilities;       // kept; the rest are dropped
  std::optional<uint32_t> uid;
  bool deny_filter = true;             // the seccomp deny-list (tests of the sandbox may omit it)
  // An exec allowlist is enforced: whatever the step can write (the workspace, writable paths,
  // the private tmpfs directories) is mounted noexec, so no file it made can be executed or
  // mapped executable (LD_PRELOAD of its own library, say).
  bool noexec_writable = false;
};

// Returns "" or what failed.
std::string enter_sandbox(const SandboxPlan& plan);
std::string restrict_self(const SandboxPlan& plan);

}  // namespace stepseal
