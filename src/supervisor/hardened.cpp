#include "supervisor/hardened.h"

#include <limits.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>

#include "util/exit_codes.h"
#include "syscalls/denylist.h"

namespace stepseal {

namespace {

SandboxPlan sandbox_plan(const RunOptions& opts) {
  const policy::Policy& p = *opts.policy;
  SandboxPlan plan;
  plan.workspace = opts.workspace;
  // A writable path inside the workspace adds nothing (the workspace is writable) and is not
  // resolved at all: the workspace's content could make it lead anywhere through a symlink.
  for (const auto& w : p.filesystem.writable)
    if (auto x = policy::expand_path(w, opts.workspace);
        !x.empty() && !policy::path_within(x, opts.workspace))
      plan.writable.push_back(x);
  for (const auto& h : p.filesystem.hidden)
    if (auto x = policy::expand_path(h, opts.workspace); !x.empty()) plan.hidden.push_back(x);
  // the journal being written is the supervisor's, never the step's to read or change
  plan.hidden.push_back(opts.trace_path);
  plan.readonly_default = p.filesystem.readonly_default;
  plan.own_netns = policy::loopback_only(p);
  plan.env_allow = p.environment.allow;
  for (const auto& c : p.privileges.capabilities)
    plan.capabilities.push_back(policy::capability_number(c));
  plan.uid = p.privileges.uid;
  return plan;
}

// The policy's exec rules the kernel can enforce: those naming a path (and no digest), as file
// identities. Returns whether the allowlist can be enforced (every allow rule names a path).
bool exec_identities(const RunOptions& opts, std::vector<ss_exec_key>* deny,
                     std::vector<ss_exec_key>* allow, nlohmann::json* real_paths) {
  auto key = [&](const std::string& rule_path) -> std::optional<ss_exec_key> {
    std::string path = policy::expand_path(rule_path, opts.workspace);
    struct stat st{};
    char real[PATH_MAX] = {};
    int fd = -1;
    if (!path.empty() && rule_path.starts_with("${WORKSPACE}")) {
      // The workspace's content is the step's (a checkout): a symlink in it must not make a
      // rule name a file outside it. Resolved beneath the workspace, following no symlink.
      int ws = open(opts.workspace.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      open_how how{};
      how.flags = O_PATH | O_CLOEXEC;
      how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
      std::string rel = path.size() > opts.workspace.size() ? path.substr(opts.workspace.size() + 1) : ".";
      if (ws >= 0) fd = static_cast<int>(syscall(SYS_openat2, ws, rel.c_str(), &how, sizeof how));
      if (ws >= 0) close(ws);
    } else if (!path.empty()) {
      fd = open(path.c_str(), O_PATH | O_CLOEXEC);
    }
    if (fd < 0 || fstat(fd, &st) < 0) {
      spdlog::debug("exec rule {}: {}; judged from the record only", rule_path, strerror(errno));
      if (fd >= 0) close(fd);
      return std::nullopt;
    }
    ssize_t n = readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), real, sizeof real - 1);
    close(fd);
    if (n > 0) (*real_paths)[rule_path] = std::string(real, static_cast<size_t>(n));
    // the kernel's dev_t encoding, as i_sb->s_dev holds it
    return ss_exec_key{(uint64_t{major(st.st_dev)} << 20) | minor(st.st_dev), st.st_ino};
  };
  const auto& ex = opts.policy->exec;
  for (const auto& r : ex.deny)
    if (!r.path.empty() && r.sha256.empty())
      if (auto k = key(r.path)) deny->push_back(*k);
  // every path rule is resolved (the judge matches by what it named), but the kernel only
  // holds the allowlist when it can enforce it whole
  const bool enforced = policy::exec_allowlist_enforced(*opts.policy);
  for (const auto& r : ex.allow)
    if (!r.path.empty())
      if (auto k = key(r.path); k && enforced) allow->push_back(*k);
  return enforced;
}

}  // namespace

HardenedStep::HardenedStep(const RunOptions& opts) : opts_(opts) {
  // every call the filter may refuse with EPERM: a refused call never reaches sys_enter, so the
  // probes record it at sys_exit (and tell a refusal by the table's rules, ss_refused_with)
  denied_ = syscalls::refusal_numbers();
  exec_allowlist_ = exec_identities(opts, &exec_deny_, &exec_allow_, &exec_paths_);
  plan_ = sandbox_plan(opts);
  plan_.noexec_writable = exec_allowlist_;
}

void HardenedStep::setup(const BpfTracer& tracer) {
  cgroup_ = std::make_unique<StepCgroup>();  // with its janitor
  net_guard_ = std::make_unique<NetGuard>(*opts_.policy, opts_.workspace, plan_.own_netns,
                                          cgroup_->fd(), tracer);
  spdlog::debug("hardened: cgroup {}, {} network namespace", cgroup_->path(),
                plan_.own_netns ? "a fresh" : "the host's");
}

void HardenedStep::adopt(pid_t spawner, BpfTracer& tracer) {
  cgroup_->add(spawner);
  struct stat ns{};
  std::string nsp = "/proc/" + std::to_string(spawner) + "/ns/pid";
  if (stat(nsp.c_str(), &ns) < 0)
    throw std::runtime_error("cannot read the step's pid namespace: " + std::string(strerror(errno)));
  tracer.set_step_pidns(static_cast<uint32_t>(ns.st_ino));
}

nlohmann::json HardenedStep::start_fields() const {
  return {{"policy", policy::to_json(*opts_.policy)},
          {"policy_sha256", policy::policy_sha256(*opts_.policy)},
          {"policy_path", opts_.policy_path},
          {"workspace", opts_.workspace},
          {"fail_fast", opts_.fail_fast},
          {"network_namespace", plan_.own_netns ? "own" : "host"},
          {"cgroup", cgroup_ ? cgroup_->path() : ""},
          {"exec_paths", exec_paths_}};
}

}  // namespace stepseal
