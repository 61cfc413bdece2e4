// sterile.h - a sterile build (`stepseal build --policy P`): every RUN under hardened mode's
// policy, as far as a container allows (docs/build.md "A sterile build").
//
//   seal_config()   before `runc create`: the RUN's config.json rewritten. Its argv behind
//                   stepseal-seal (seal_main.cpp: the seccomp deny-list as a second filter, then
//                   the RUN's argv), no_new_privs, the environment cut to the allowlist, the
//                   policy's capabilities and uid, the cgroup filesystem read-only.
//   SterileStep     after `runc create`, before the RUN's first instruction: a cgroup of
//                   stepseal's with the network guard (and device guard) attached, the
//                   container's waiting init moved into it.
//
// The builder's own confinement (its seccomp profile, masked paths, namespaces) stays: stepseal
// only adds. What a container makes meaningless (the policy's filesystem rules: a RUN writes its
// layer; exec rules by identity: each RUN has another root) is judged from the record only.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/policy.h"

namespace stepseal {
class BpfTracer;
class StepCgroup;
class NetGuard;
}  // namespace stepseal

namespace stepseal::build {

// The sealing helper, installed beside stepseal, and where each sterile RUN sees it.
inline constexpr const char* kSealName = "stepseal-seal";
inline constexpr const char* kSealInContainer = "/dev/.stepseal-seal";

struct SealedConfig {
  nlohmann::json config;                  // what runc is given
  nlohmann::json original_args;           // the RUN's own argv (the instruction)
  std::vector<std::string> env_dropped;   // names the allowlist removed, sorted
  std::vector<std::string> capabilities;  // what the RUN keeps
};

// The RUN's config.json for a sterile build. `seal_host_path` is stepseal-seal's file on the
// host (bind-mounted read-only at kSealInContainer). Throws std::runtime_error if the config is
// not a runnable OCI process (no args), or is sealed already.
SealedConfig seal_config(const nlohmann::json& config, const policy::Policy& p,
                         const std::string& seal_host_path);

// One sterile RUN's kernel-side confinement. Detached and removed when destroyed (what is left
// in the cgroup is killed first: the container's init is gone by then).
class SterileStep {
 public:
  // `workspace`: the RUN's working directory (the unix-socket guard's and the judge's);
  // `own_netns`: the container has a network namespace other than the host's.
  // Throws std::runtime_error.
  SterileStep(const policy::Policy& p, const std::string& workspace, bool own_netns,
              const BpfTracer& tracer);
  ~SterileStep();
  SterileStep(const SterileStep&) = delete;
  SterileStep& operator=(const SterileStep&) = delete;

  void adopt(pid_t init);  // throws
  const std::string& cgroup_path() const;

 private:
  std::unique_ptr<StepCgroup> cgroup_;
  std::unique_ptr<NetGuard> guard_;
};

}  // namespace stepseal::build
