// stepseal run --trace FILE [--ring-mb N] [--digests on|off] [-v|-q]
//              [--hardened --policy POLICY [--workspace DIR] [--fail-fast]] -- COMMAND [ARG...]
#include <limits.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/run_verdict.h"
#include "policy/policy.h"
#include "supervisor/supervisor.h"
#include "util/exit_codes.h"

namespace stepseal::cli {

namespace {

struct RunArgs : TraceOptionValues {
  RunOptions o;
  bool hardened = false;
  std::string policy_path;
};

int run(RunArgs& a, std::vector<std::string> command) {
  RunOptions& o = a.o;
  const bool hardened = a.hardened;
  const std::string& policy_path = a.policy_path;
  const int verbosity = a.quiet ? -1 : a.verbose;
  auto ring = parse_ring_mb(a.ring_mb);
  if (!ring)
    return usage_error("run: --ring-mb wants a power of two from 1 to 1024, not '" + a.ring_mb + "'");
  o.ring_bytes = *ring;
  if (a.digests != "on" && a.digests != "off")
    return usage_error("run: --digests wants on or off, not '" + a.digests + "'");
  o.digests = a.digests == "on";
  o.argv = std::move(command);
  if (o.trace_path.empty()) return usage_error("run: --trace FILE is required");
  if (o.argv.empty()) return usage_error("run: no command given (stepseal run --trace F -- CMD)");
  if (hardened && policy_path.empty())
    return usage_error("run: --hardened needs --policy FILE (see docs/policy.md)");
  if (!hardened && !policy_path.empty())
    return usage_error("run: --policy is only enforced with --hardened; add it");
  if (!hardened && (o.fail_fast || !o.workspace.empty()))
    return usage_error("run: --fail-fast and --workspace belong to --hardened");
  if (hardened) {
    o.policy = load_enforced_policy(policy_path, &o.policy_path, [&](const policy::Policy& p) {
      for (const auto& w : p.filesystem.writable)
        for (const char* k : {"/sys", "/proc"})
          if (w == k || w.starts_with(std::string(k) + "/"))
            throw policy::PolicyError(policy_path + ": /filesystem/writable: " + w +
                                      " cannot be writable in hardened mode (the step could "
                                      "leave its cgroup or change the kernel)");
    });
    if (!o.policy) return exit_code::kUsage;
    char cwd[PATH_MAX] = {};
    if (o.workspace.empty()) o.workspace = getcwd(cwd, sizeof cwd) ? cwd : "";
    char real[PATH_MAX] = {};
    if (!realpath(o.workspace.c_str(), real))
      return usage_error("run: the workspace " + o.workspace + " is not a directory: " +
                         strerror(errno));
    struct stat st{};
    if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
      return usage_error("run: the workspace " + o.workspace + " is not a directory");
    o.workspace = real;
    if (o.workspace == "/") return usage_error("run: the workspace cannot be /");
    // The step runs as privileges.uid (root by default) with only the policy's capabilities:
    // without CAP_DAC_OVERRIDE, root cannot write a tree another user owns (a tarball unpacked
    // as root keeps its uids; a CI checkout belongs to the runner). Refused now, not halfway.
    {
      const uint32_t uid = o.policy->privileges.uid.value_or(0);
      bool dac_override = false;
      for (const auto& c : o.policy->privileges.capabilities)
        dac_override = dac_override || policy::capability_number(c) == 1 /* CAP_DAC_OVERRIDE */;
      const bool can_write = dac_override || (st.st_mode & S_IWOTH) ||
                             (st.st_uid == uid && (st.st_mode & S_IWUSR)) ||
                             (st.st_gid == uid && (st.st_mode & S_IWGRP));
      if (!can_write)
        return usage_error(
            "run: the step cannot write its workspace " + o.workspace + ": it is owned by uid " +
            std::to_string(st.st_uid) + " (mode " + [&] {
              char m[8];
              snprintf(m, sizeof m, "%04o", st.st_mode & 07777);
              return std::string(m);
            }() + ") and the step runs as uid " + std::to_string(uid) +
            " without CAP_DAC_OVERRIDE. Set the policy's privileges.uid to " +
            std::to_string(st.st_uid) + ", or chown the workspace (docs/policy.md, \"The "
            "workspace's owner\")");
    }
    // the journal must be outside the step's reach; it is hidden from the step either way
    char tdir[PATH_MAX] = {};
    std::string tp = o.trace_path.find('/') == std::string::npos ? "./" + o.trace_path : o.trace_path;
    std::string parent = tp.substr(0, tp.rfind('/'));
    if (realpath(parent.empty() ? "/" : parent.c_str(), tdir))
      o.trace_path = std::string(tdir) + "/" + tp.substr(tp.rfind('/') + 1);
    // Where the step can write it could rename the directory and put another journal in the
    // journal's place before it is judged: the journal lives elsewhere.
    auto inside = [&](const std::string& given) {
      if (given.empty()) return false;
      char rd[PATH_MAX];  // compared as the kernel resolves it, as the journal's own path is
      std::string dir = realpath(given.c_str(), rd) ? std::string(rd) : given;
      return policy::path_within(o.trace_path, dir);
    };
    bool writable = inside(o.workspace);
    for (const auto& w : o.policy->filesystem.writable) {
      std::string d = policy::expand_path(w, o.workspace);
      // (on the step's private tmpfs directories a writable path is not the host's)
      if (!policy::on_private_dir(d)) writable = writable || inside(d);
    }
    // the step's /tmp, /run ... are fresh: it never sees the host's (the path is resolved)
    bool hidden_from_step = policy::on_private_dir(o.trace_path);
    if (writable || (!o.policy->filesystem.readonly_default && !hidden_from_step))
      return usage_error("run: --trace " + o.trace_path +
                         " is where the step can write (the workspace or a writable path" +
                         std::string(o.policy->filesystem.readonly_default ? "" : "; readonly_default is false") +
                         "): put the journal elsewhere");
  }
  set_verbosity(verbosity);
  const StepOutcome outcome = run_step(o);
  return outcome.judge_policy ? hardened_exit_status(o, outcome.status) : outcome.status;
}

}  // namespace

CLI::App* add_run(CLI::App& app, int& rc, const std::vector<std::string>& after_dashes,
                  bool had_dashes) {
  auto a = std::make_shared<RunArgs>();
  CLI::App* sub = app.add_subcommand(
      "run",
      "Run COMMAND under the probes and write what it did to a journal.\n"
      "stepseal run --trace FILE [OPTIONS] [--] COMMAND [ARG...]");
  sub->add_option("--trace", a->o.trace_path, "FILE: the journal to write (replaced if it exists)")
      ->required()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  add_trace_options(sub, *a,
                    "on (default): SHA-256 of everything executed, read and changed, with "
                    "pre-images; off: the trace only");
  sub->add_flag("--hardened", a->hardened, "enforce the policy (docs/policy.md; needs --policy)");
  sub->add_option("--policy", a->policy_path, "FILE: the policy (JSON; unknown keys are errors)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_option("--workspace", a->o.workspace,
                  "DIR: the step's writable tree and cwd (default: the current directory)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_flag("--fail-fast", a->o.fail_fast, "kill the step at the first violation");
  // The command is everything after "--", or from the first argument that is not an option:
  // CLI11 stops there and leaves the rest (prefix command).
  sub->prefix_command();
  sub->footer(
      "The command runs as the first process of a fresh pid namespace; if stepseal dies, the\n"
      "step dies with it. Exit status: the command's own (128+N if killed by signal N), or\n"
      "118/119 (--hardened: violated / incomplete), 120 (tracing could not be attached), 121\n"
      "(the journal could not be written), 122 (stepseal failed), 125 (bad arguments or an\n"
      "invalid policy), 126/127 (the command could not be executed / was not found).\n"
      "'stepseal --help' explains everything.");
  sub->callback([a, sub, &rc, after_dashes, had_dashes] {
    auto given = command_after(sub, had_dashes, after_dashes, rc);
    if (!given) return;
    std::vector<std::string> command = std::move(*given);
    if (command.empty()) {
      rc = usage_error("run: no command given (stepseal run --trace F -- CMD)");
      return;
    }
    rc = run(*a, std::move(command));
  });
  return sub;
}

}  // namespace stepseal::cli
