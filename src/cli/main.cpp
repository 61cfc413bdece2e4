// stepseal - trace a build step from the kernel and seal what it saw.
//
// main() parses the command line with CLI11 and hands over to one subcommand (cmd_*.cpp):
// `run` = capture -> journal; `show` = journal -> model -> distill; keygen, attest, verify.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "util/exit_codes.h"

namespace stepseal::cli {

const char* const kUsage = R"(stepseal - trace a build step from the kernel and seal what it saw

Usage:
  stepseal run --trace FILE [--ring-mb N] [--digests on|off] [-v|-q] -- COMMAND [ARG...]
  stepseal run --hardened --policy POLICY [--workspace DIR] [--fail-fast] --trace FILE
               [...] -- COMMAND [ARG...]
  stepseal build --out DIR [--image-out DIR[:TAG] [--key KEY [--push docker://REF]]]
               [--push-tls-verify on|off] [--ring-mb N] [--digests on|off] [-v|-q]
               -- buildah bud --layers [...] CONTEXT | podman build [...] CONTEXT
  stepseal show FILE [--format text|json]
  stepseal keygen --out PREFIX [--type ecdsa|ed25519]
  stepseal attest --key KEY --image DIR[:TAG] --out DIR [--attach both|buildkit|referrers|none]
                  [--in-toto-link] TRACE...
  stepseal verify --pub PUB --image DIR[:TAG] [--trace TRACE]... [--format text|json]
                  [--attached] [--require-policy POLICY] [--require-complete]
                  [--require-reconciled] [ENVELOPE...]
  stepseal index T|BUILD... -o CASE.db
  stepseal tree T|BUILD|DB [--files] [--net] [--failed] [--format text|json]
  stepseal events T|BUILD|DB [--pid P] [--path GLOB] [--kind K,...] [--since T] [--until T]
                  [--format text|jsonl]
  stepseal who T|BUILD|DB PATH [--format text|json]
  stepseal why T|BUILD|DB PATH [--depth N] [--system] [--format text|json]
  stepseal diff BASE NEW [--fail-on CATEGORY,...|all|none] [--format text|json]
  stepseal baseline T|BUILD|DB... -o BASE.json
  stepseal export T|BUILD|DB [--format jsonl] [-o FILE]
  stepseal timeline T|BUILD|DB -o TRACE.json
  stepseal graph T|BUILD|DB [--format dot|json] [--focus PATH] [--collapse DIR]... [-o FILE]
  stepseal report T|BUILD|DB -o REPORT.html
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

build  Runs a container build (buildah bud, podman build) under one tracer and writes a build
       record to DIR: build.json (the builder, and every RUN step with its instruction, exit
       status and journal) and steps/NN.journal, one journal per RUN, readable with show.
       Each RUN's container is followed from before its command starts: stepseal is the
       builder's OCI runtime (a transparent shim around runc) and follows the container's
       init when it is created. The container's files are hashed inside its root, and the
       step's journal is finished before the builder commits the layer. The builder dies
       with stepseal. Refused, with what to change: --isolation chroot or rootless (no OCI
       runtime to hook), buildah without --layers, --squash, --omit-history. COPY and ADD
       run no process and get no journal; a cached step ran before and is not traced
       (docs/build.md). Needs root, runc, and buildah or podman.
         --out DIR      the build record (created; must be new or empty)
         --image-out DIR[:TAG]
                        export the built image to this OCI layout; match each step to its
                        instruction and layer (build.json "image", "instructions")
         --key KEY      sign each traced RUN (runtime trace + SLSA provenance) with the
                        exported image's manifest digest as subject: DIR/attestations
         --ring-mb N, --digests on|off, -v, -q
                        as for run

show   Reads a journal and prints the step summary: processes, files with their access
       kinds, failed attempts, network attempts, gaps and completeness.
         --format text  a readable summary (default)
         --format json  the summary as JSON (fields documented in docs/summary.md)

keygen Writes PREFIX.key (private, PEM, mode 0600) and PREFIX.pub. ECDSA P-256 by default.

attest Signs, for each journal, two in-toto Statements as DSSE envelopes: the runtime trace
       (https://in-toto.io/attestation/runtime-trace/v0.2) and SLSA provenance v1, both with
       the image manifest digest(s) computed from the OCI layout as subject. Writes them to
       --out as STEP.runtime-trace.intoto.json and STEP.slsa.intoto.json, and attaches them
       to the layout. --in-toto-link also writes STEP.KEYID8.link for in-toto-verify.

verify Checks each envelope: its signature over PAE with --pub, its payloadType, that its
       subject is the image's manifest digest, that the predicate type is known, and with
       --trace, that the envelopes of that step (named after the trace file) attest that
       journal's chain head. --attached checks every envelope attached to the image in the
       layout. --require-policy POLICY also requires that the step ran --hardened under
       exactly that policy (by canonical digest) and that the policy held (no violations);
       --require-complete that the record is complete. For a build's attestations it also
       re-hashes every layer blob, checks each step attestation's instruction and layer
       against the image's history, and that the build provenance lists exactly the step
       envelopes given; --require-reconciled that every RUN's layer matches its trace.
       --format json prints the verdicts.

Forensic replay (docs/replay.md): T is a journal, BUILD a build record, DB an index.
index    Puts journals and build records into one SQLite index (schema in docs/replay.md),
         keyed by each journal's chain head: indexing it again changes nothing.
tree     The process tree: argv, executable and digest, exit, duration (--files, --net,
         --failed: each process's operations).
events   Every file, network and DNS operation in time order, filtered.
who      Every process that read, wrote, executed or removed PATH, with digests.
why      Who made PATH and from which inputs, recursively through what the record made.
diff     What NEW did that BASE (or a baseline) did not, normalised: executables, inputs and
         outputs by digest, endpoints, DNS names, replaced files, sensitive paths, commands.
baseline Folds several good builds into one profile for diff.
export   Every event as one JSON line with Elastic Common Schema names.
timeline A Chrome/Perfetto trace (ui.perfetto.dev): a track per process.
graph    The provenance graph in DOT or JSON; --focus PATH, --collapse DIR.
report   One self-contained HTML page: tree, timeline, network, overwrites, digests.
         Each checks the journals first; an answer from a damaged or incomplete record
         starts with INCONCLUSIVE.

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
  build  the builder's exit status (128+N if killed by signal N), or 119 (a RUN of the build
           was not traced, with --image-out), 120, 121 (the record could not be written), 122
           (also: the image could not be exported), 123 (--push failed, or the registry
           serves another digest than the attested one), 125 (bad arguments, or builder
           arguments that would defeat the tracing), as for run
  keygen, attest, verify:  3  a key, image layout, journal or envelope could not be read
  tree, events, who, why, export, timeline, graph, report:  0 answered from an intact, complete record;
           4 answered, but a journal is damaged or incomplete; 3 an input is unusable
  diff     0 no difference matching --fail-on; 1 differences matching it; 4 none, but a
           record is damaged or incomplete; 3 an input is unusable
  index    0 indexed; 3 an input is unusable; 122 the index could not be written
  show     0  the journal is intact and complete in itself
           3  the file is missing, unreadable or not a stepseal journal
           4  the journal is damaged or unfinished: the summary shown covers the valid
              prefix only and says "complete": false
         125  bad arguments
)";


int usage_error(const std::string& msg) {
  std::cerr << "stepseal: " << msg << "\nRun 'stepseal --help' for usage.\n";
  return exit_code::kUsage;
}

void set_verbosity(int v) {
  if (spdlog::get("stepseal")) return;  // set once per process
  auto logger = spdlog::stderr_color_mt("stepseal");  // digest workers log too
  logger->set_pattern("stepseal: %^%l%$: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(v < 0 ? spdlog::level::warn : v == 0 ? spdlog::level::info
                          : v == 1 ? spdlog::level::debug : spdlog::level::trace);
}

void add_trace_options(CLI::App* sub, TraceOptionValues& v, const std::string& digests_help) {
  sub->add_option("--ring-mb", v.ring_mb,
                  "kernel ring buffer size in MiB, a power of two up to 1024 (default 16)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_option("--digests", v.digests, digests_help)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_flag("-v", v.verbose, "more logging on stderr (-vv: more still)");
  sub->add_flag("-q", v.quiet, "warnings and errors only");
}

std::optional<std::vector<std::string>> command_after(CLI::App* sub, bool had_dashes,
                                                      const std::vector<std::string>& after_dashes,
                                                      int& rc) {
  std::vector<std::string> command = sub->remaining();
  if (!command.empty() && !command[0].empty() && command[0][0] == '-') {
    rc = usage_error(sub->get_name() + ": unknown option '" + command[0] + "'");
    return std::nullopt;
  }
  // "run --trace T make -- -x": the "--" after the command's name is the command's own
  if (had_dashes) {
    if (!command.empty()) command.push_back("--");
    command.insert(command.end(), after_dashes.begin(), after_dashes.end());
  }
  return command;
}

std::optional<size_t> parse_ring_mb(const std::string& v) {
  char* end = nullptr;
  errno = 0;
  const unsigned long mb = v.empty() || !isdigit(static_cast<unsigned char>(v[0]))
                               ? 0
                               : strtoul(v.c_str(), &end, 10);
  if (mb == 0 || errno || (end && *end) || mb > 1024 || (mb & (mb - 1)) ||
      (v.size() > 1 && v[0] == '0'))
    return std::nullopt;
  return size_t{mb} << 20;
}

namespace {

// CLI11's parse errors in stepseal's words: what is wrong, with which option.
std::string describe(const CLI::ParseError& e) {
  const std::string what = e.what();
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&e)) {
    // "--trace: 1 required TEXT missing" -> "--trace needs a value"
    if (auto colon = what.find(':'); colon != std::string::npos && what.find("missing") != std::string::npos)
      return what.substr(0, colon) + " needs a value";
  }
  if (dynamic_cast<const CLI::ExtrasError*>(&e)) {
    // "The following arguments were not expected: --x" -> unknown option / unexpected argument
    const std::string prefix = "The following argument was not expected: ";
    const std::string prefix2 = "The following arguments were not expected: ";
    for (const auto& p : {prefix, prefix2})
      if (what.rfind(p, 0) == 0) {
        std::string rest = what.substr(p.size());
        return (rest.rfind("-", 0) == 0 ? "unknown option '" : "unexpected argument '") +
               rest.substr(0, rest.find(' ')) + "'";
      }
  }
  if (dynamic_cast<const CLI::ConversionError*>(&e)) {
    // "Could not convert: --ring-mb = abc"
    if (auto p = what.find(": "); p != std::string::npos) {
      std::string rest = what.substr(p + 2);
      if (auto eq = rest.find(" = "); eq != std::string::npos)
        return rest.substr(0, eq) + " does not take '" + rest.substr(eq + 3) + "'";
    }
  }
  return what;
}

}  // namespace

}  // namespace stepseal::cli

int main(int argc, char** argv) {
  using namespace stepseal;
  using namespace stepseal::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return usage_error("no command given");

  // `run`'s command follows "--": it is set apart before parsing, so that nothing in it is ever
  // taken for one of stepseal's options.
  std::vector<std::string> command;
  bool had_dashes = false;
  if (args[0] == "run" || args[0] == "build")
    if (auto it = std::find(args.begin(), args.end(), "--"); it != args.end()) {
      command.assign(it + 1, args.end());
      args.erase(it, args.end());
      had_dashes = true;
    }

  CLI::App app{"stepseal - trace a build step from the kernel and seal what it saw", "stepseal"};
  app.set_help_flag();  // --help prints kUsage (below); each subcommand has its own -h/--help
  app.require_subcommand(1);
  int rc = exit_code::kOk;
  bool help = false, version = false;
  app.add_flag("-h,--help", help, "print the full usage and exit statuses");
  app.add_flag("--version", version, "print the version");
  add_run(app, rc, command, had_dashes);
  add_show(app, rc);
  add_keygen(app, rc);
  add_attest(app, rc);
  add_verify(app, rc);
  add_build(app, rc, command, had_dashes);
  add_replay(app, rc);
  add_diff(app, rc);
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    sub->set_help_flag("-h,--help", "this subcommand's options (stepseal --help: everything)");
  app.add_subcommand("help", "print the full usage and exit statuses")->callback([&] { help = true; });
  app.add_subcommand("version", "print the version")->callback([&] { version = true; });

  if (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    std::cout << kUsage;
    return exit_code::kOk;
  }
  if (args[0] == "--version" || args[0] == "version") {
    std::cout << "stepseal " << STEPSEAL_VERSION << "\n";
    return exit_code::kOk;
  }
  // "--opt=" with nothing after "=": CLI11 would take the next argument as the value (a
  // script's "--trace=$UNSET" would then overwrite whatever came next). Refused, for every
  // option the command knows, up to where run's command starts.
  CLI::App* named = nullptr;
  for (CLI::App* sub : app.get_subcommands([&](CLI::App* a) { return a->get_name() == args[0]; }))
    named = sub;
  if (CLI::App* sub = named) {
    for (size_t i = 1; i < args.size(); i++) {
      const std::string& a = args[i];
      if (a.rfind("--", 0) == 0 && a.size() > 3 && a.back() == '=' &&
          a.find('=') == a.size() - 1 && sub->get_option_no_throw(a.substr(0, a.size() - 1)))
        return usage_error(args[0] + ": " + a.substr(0, a.size() - 1) + " needs a value");
      if (a.empty() || a[0] != '-') {
        if (args[0] == "run" || args[0] == "build") break;  // the command's own arguments
        continue;
      }
      // an option that takes a value in the next argument: skip that value
      if (a.find('=') == std::string::npos)
        if (const CLI::Option* o = sub->get_option_no_throw(a); o && o->get_expected_min() > 0)
          i++;
    }
  }
  const std::string first = args[0];
  std::reverse(args.begin(), args.end());  // CLI11 takes them last-first, and consumes them
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    // a subcommand's -h/--help: its own options, then a pointer to the whole story
    for (const CLI::App* sub : app.get_subcommands())
      std::cout << sub->help();
    return exit_code::kOk;
  } catch (const CLI::ParseError& e) {
    const auto subs = app.get_subcommands();
    const std::string where = subs.empty() ? "" : subs.front()->get_name() + ": ";
    if (subs.empty()) return usage_error("unknown command '" + first + "'");
    return usage_error(where + describe(e));
  }
  return rc;
}
