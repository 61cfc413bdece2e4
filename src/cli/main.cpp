// stepseal - trace a build step from the kernel and seal what it saw.
//
// main() reads as the pipeline: `run` = capture -> journal; `show` = journal -> model -> distill.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/run_verdict.h"
#include "util/exit_codes.h"
#include "distill/summary.h"
#include "policy/policy.h"
#include "harden/net_guard.h"
#include "supervisor/supervisor.h"

namespace stepseal {
int usage_error(const std::string& msg) {
  std::cerr << "stepseal: " << msg << "\nRun 'stepseal --help' for usage.\n";
  return exit_code::kUsage;
}
}  // namespace stepseal

namespace {

using namespace stepseal;

const char* kUsage = R"(stepseal - trace a build step from the kernel and seal what it saw

Usage:
  stepseal run --trace FILE [--ring-mb N] [--digests on|off] [-v|-q] -- COMMAND [ARG...]
  stepseal run --hardened --policy POLICY [--workspace DIR] [--fail-fast] --trace FILE
               [...] -- COMMAND [ARG...]
  stepseal show FILE [--format text|json]
  stepseal keygen --out PREFIX [--type ecdsa|ed25519]
  stepseal attest --key KEY --image DIR[:TAG] --out DIR [--attach both|buildkit|referrers|none]
                  [--in-toto-link] TRACE...
  stepseal verify --pub PUB --image DIR[:TAG] [--trace TRACE]... [--format text|json]
                  [--attached] [--require-policy POLICY] [--require-complete] [ENVELOPE...]
  stepseal help | --help
  stepseal version

run    Runs COMMAND and every process it starts under eBPF probes (raw tracepoints) and
       writes what they did to FILE, an append-only, checksummed, hash-chained journal.
       Tracing is attached before COMMAND starts. If stepseal dies, the step dies with it.
       SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1/2 and SIGWINCH are passed to COMMAND.
       Needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN for the pid namespace).
         --trace FILE   journal to write (required; replaced if it exists)
         --ring-mb N    kernel ring buffer size in MiB, a power of two up to 1024
                        (default 16)
         --digests on|off
                        SHA-256 of everything executed, read and changed, with
                        pre-images through a seccomp filter (default on; off records
                        the trace only)
         -v, -q         more / less logging on stderr
       Hardened mode (docs/policy.md) runs the step sterile, under a policy it cannot change:
       fresh mount, pid, ipc, uts, cgroup and net namespaces (only lo, unless the policy
       allows other destinations) and its own cgroup; the tree read-only except the
       writable paths; fresh /tmp, /run, /var/run, /dev/shm; hidden paths covered; the environment filtered; no_new_privs; all
       capabilities dropped unless listed; a seccomp deny-list (io_uring, AIO, ptrace,
       bpf, mount, unshare, modules, keyrings, 32-bit calls ...); connect/sendmsg checked
       against the allowlist in the kernel; no raw, packet or outside unix sockets; DNS
       queries (udp) for names the policy does not list dropped, and the addresses a listed
       resolver answers for listed names allowed; exec rules naming a path enforced at exec.
       Everything refused is recorded, and the summary lists it under "violations".
         --hardened     enforce the policy (needs --policy)
         --policy FILE  the policy (JSON; unknown keys are errors)
         --workspace DIR
                        the step's writable working tree and cwd (default: the current
                        directory); ${WORKSPACE} in the policy
         --fail-fast    kill the step at the first violation instead of letting it finish

show   Reads a journal and prints the step summary: processes, files with their access
       kinds, failed attempts, network attempts, gaps and completeness.
         --format text  a readable summary (default)
         --format json  the summary as JSON (fields documented in docs/summary.md)

keygen Writes PREFIX.key (private, PEM, mode 0600) and PREFIX.pub. ECDSA P-256 by default.

attest Signs, for each journal, two in-toto Statements as DSSE envelopes: the runtime trace
       (https://in-toto.io/attestation/runtime-trace/v0.1) and SLSA provenance v1, both with
       the image manifest digest(s) computed from the OCI layout as subject. Writes them to
       --out as STEP.runtime-trace.intoto.json and STEP.slsa.intoto.json, and attaches them
       to the layout. --in-toto-link also writes STEP.KEYID8.link for in-toto-verify.

verify Checks each envelope: its signature over PAE with --pub, its payloadType, that its
       subject is the image's manifest digest, that the predicate type is known, and with
       --trace, that the envelopes of that step (named after the trace file) attest that
       journal's chain head. --attached checks every envelope attached to the image in the
       layout. --require-policy POLICY also requires that the step ran --hardened under
       exactly that policy (by canonical digest) and that the policy held (no violations);
       --require-complete that the record is complete. --format json prints the verdicts.

Exit status:
  run    the command's own exit status, or 128+N if it was killed by signal N; else
           118  (--hardened) the policy was violated: something was blocked or a rule broken,
                whatever the command's own status (see "violations" in the summary)
           119  (--hardened) the record is incomplete and the policy's completeness is "fail"
           120  tracing (or hardened mode's cgroup and programs) could not be attached
           121  the journal could not be written
           122  stepseal could not start or supervise the step
           125  bad arguments, or an invalid policy (the message names the key)
           126  the command was found but could not be executed
           127  the command was not found
  attest   4  a journal is damaged: it is not attested
  verify   0  every envelope passed;  5  some check failed (each failure is printed);
           4  a journal given with --trace is damaged
  keygen, attest, verify:  3  a key, image layout, journal or envelope could not be read
  show     0  the journal is intact and complete in itself
           3  the file is missing, unreadable or not a stepseal journal
           4  the journal is damaged or unfinished: the summary shown covers the valid
              prefix only and says "complete": false
         125  bad arguments
)";

void set_verbosity(int v) {
  auto logger = spdlog::stderr_color_mt("stepseal");  // digest workers log too
  logger->set_pattern("stepseal: %^%l%$: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(v < 0 ? spdlog::level::warn : v == 0 ? spdlog::level::info
                          : v == 1 ? spdlog::level::debug : spdlog::level::trace);
}

int cmd_run(const std::vector<std::string>& args) {
  RunOptions o;
  int verbosity = 0;
  bool hardened = false;
  std::string policy_path;
  size_t i = 0;
  for (; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a == "--") {
      i++;
      break;
    } else if (a == "--trace" && i + 1 < args.size()) {
      o.trace_path = args[++i];
    } else if (a.rfind("--trace=", 0) == 0) {
      o.trace_path = a.substr(8);
    } else if (a == "--ring-mb" && i + 1 < args.size()) {
      const std::string& v = args[++i];
      char* end = nullptr;
      unsigned long mb = strtoul(v.c_str(), &end, 10);
      if (v.empty() || *end || mb == 0 || mb > 1024 || (mb & (mb - 1)))
        return usage_error("--ring-mb wants a power of two from 1 to 1024, not '" + v + "'");
      o.ring_bytes = mb << 20;
    } else if ((a == "--digests" && i + 1 < args.size()) || a.rfind("--digests=", 0) == 0) {
      std::string v = a == "--digests" ? args[++i] : a.substr(10);
      if (v != "on" && v != "off") return usage_error("--digests wants on or off, not '" + v + "'");
      o.digests = v == "on";
    } else if (a == "--hardened") {
      hardened = true;
    } else if (a == "--fail-fast") {
      o.fail_fast = true;
    } else if (a == "--policy" && i + 1 < args.size()) {
      policy_path = args[++i];
    } else if (a.rfind("--policy=", 0) == 0) {
      policy_path = a.substr(9);
    } else if (a == "--workspace" && i + 1 < args.size()) {
      o.workspace = args[++i];
    } else if (a.rfind("--workspace=", 0) == 0) {
      o.workspace = a.substr(12);
    } else if (a == "-v") {
      verbosity++;
    } else if (a == "-q") {
      verbosity = -1;
    } else if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      return usage_error("run: unknown option '" + a + "'");
    } else {
      break;  // the command starts here (no "--")
    }
  }
  o.argv.assign(args.begin() + static_cast<long>(i), args.end());
  if (o.trace_path.empty()) return usage_error("run: --trace FILE is required");
  if (o.argv.empty()) return usage_error("run: no command given (stepseal run --trace F -- CMD)");
  if (hardened && policy_path.empty())
    return usage_error("run: --hardened needs --policy FILE (see docs/policy.md)");
  if (!hardened && !policy_path.empty())
    return usage_error("run: --policy is only enforced with --hardened; add it");
  if (!hardened && (o.fail_fast || !o.workspace.empty()))
    return usage_error("run: --fail-fast and --workspace belong to --hardened");
  if (hardened) {
    try {
      o.policy = policy::load_policy(policy_path);
      kernel_net_rules(*o.policy);  // what the kernel table can hold is part of validity
      for (const auto& w : o.policy->filesystem.writable)
        for (const char* k : {"/sys", "/proc"})
          if (w == k || w.starts_with(std::string(k) + "/"))
            throw policy::PolicyError(policy_path + ": /filesystem/writable: " + w +
                                      " cannot be writable in hardened mode (the step could "
                                      "leave its cgroup or change the kernel)");
    } catch (const policy::PolicyError& e) {
      std::cerr << "stepseal: invalid policy: " << e.what() << "\n";
      return exit_code::kUsage;
    }
    char preal[PATH_MAX] = {};
    o.policy_path = realpath(policy_path.c_str(), preal) ? preal : policy_path;
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

int cmd_show(const std::vector<std::string>& args) {
  std::string file, format = "text";
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a == "--format" && i + 1 < args.size()) {
      format = args[++i];
    } else if (a.rfind("--format=", 0) == 0) {
      format = a.substr(9);
    } else if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return 0;
    } else if (!a.empty() && a[0] == '-') {
      return usage_error("show: unknown option '" + a + "'");
    } else if (file.empty()) {
      file = a;
    } else {
      return usage_error("show: more than one journal given");
    }
  }
  if (file.empty()) return usage_error("show: no journal given");
  if (format != "text" && format != "json")
    return usage_error("show: --format must be text or json, not '" + format + "'");
  set_verbosity(0);
  StepRecord rec;
  try {
    rec = load_step(file);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return exit_code::kInputUnreadable;
  }
  nlohmann::json s = summary_json(rec);
  if (format == "json")
    // Paths and argv are bytes; JSON wants UTF-8. Invalid sequences become U+FFFD here, and
    // the journal keeps the exact bytes.
    std::cout << s.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  else
    std::cout << summary_text(s);
  if (!rec.read.intact) {
    spdlog::error("journal {} is damaged: {}{}; {} of {} bytes readable, {} records recovered",
                  file, rec.read.problem,
                  rec.read.bad_offset ? " at offset " + std::to_string(*rec.read.bad_offset) : "",
                  rec.read.valid_bytes, rec.read.file_bytes, rec.read.records);
    return exit_code::kJournalDamaged;
  }
  return exit_code::kOk;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage_error("no command given");
  std::string cmd = args[0];
  args.erase(args.begin());
  if (cmd == "run") return cmd_run(args);
  if (cmd == "show") return cmd_show(args);
  if (cmd == "keygen" || cmd == "attest" || cmd == "verify") {
    for (const auto& a : args)
      if (a == "-h" || a == "--help") {
        std::cout << kUsage;
        return 0;
      }
    set_verbosity(0);
    if (cmd == "keygen") return cmd_keygen(args);
    if (cmd == "attest") return cmd_attest(args);
    return cmd_verify(args);
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::cout << kUsage;
    return 0;
  }
  if (cmd == "version" || cmd == "--version") {
    std::cout << "stepseal " << STEPSEAL_VERSION << "\n";
    return 0;
  }
  return usage_error("unknown command '" + cmd + "'");
}
