// commands.h - the subcommands, one file each (cmd_*.cpp), all parsed by CLI11 with the same
// option syntax (--opt VALUE and --opt=VALUE). Each add_*() registers its subcommand on the app;
// when the subcommand is given, its callback runs the command and stores the exit status in RC.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>
#include <functional>

#include "policy/policy.h"
#include <string>
#include <vector>

namespace stepseal::cli {

CLI::App* add_run(CLI::App& app, int& rc, const std::vector<std::string>& after_dashes,
                  bool had_dashes);
CLI::App* add_show(CLI::App& app, int& rc);
CLI::App* add_keygen(CLI::App& app, int& rc);
CLI::App* add_attest(CLI::App& app, int& rc);
CLI::App* add_verify(CLI::App& app, int& rc);
CLI::App* add_build(CLI::App& app, int& rc, const std::vector<std::string>& after_dashes,
                    bool had_dashes);
// Forensic replay: index, tree, events, who, why (cmd_replay.cpp).
void add_replay(CLI::App& app, int& rc);
// diff and baseline (cmd_diff.cpp).
void add_diff(CLI::App& app, int& rc);

// The options every tracing command shares (run, build): --ring-mb, --digests, -v, -q.
struct TraceOptionValues {
  std::string digests = "on";
  std::string ring_mb = "16";
  int verbose = 0;
  bool quiet = false;
};
void add_trace_options(CLI::App* sub, TraceOptionValues& v, const std::string& digests_help);

// The command a prefix-command subcommand (run, build) was given: what CLI11 left, joined with
// what followed a "--" (set apart before parsing). nullopt after a usage error (RC is set).
std::optional<std::vector<std::string>> command_after(CLI::App* sub, bool had_dashes,
                                                      const std::vector<std::string>& after_dashes,
                                                      int& rc);

// --ring-mb: a power of two from 1 to 1024, decimal only (CLI11 would also take 0x10 and 010,
// and wrap -1). The size in bytes, or nullopt.
std::optional<size_t> parse_ring_mb(const std::string& v);

// What `attest` signs (and `build --key` after a build): each journal as two statements bound
// to the image. `build`: per journal path, its build.json step (instruction and layer).
struct AttestRequest {
  std::string key, image, out, attach = "both";
  bool link = false;
  std::vector<std::string> traces;
  std::map<std::string, nlohmann::json> build;
  std::string event;       // the job's identity; empty: the CI's, else a generated urn:uuid
  std::string builder_id;  // SLSA builder.id; empty: this stepseal binary by its digest
  // when set, every envelope written is also listed here (for a caller that attaches them
  // itself, with attach "none")
  struct Made {
    std::string file, step, predicate_type, envelope;
  };
  std::vector<Made>* made = nullptr;
  // instead of an image: these files are the subject ({name, "sha256:<hex>"}), attach "none"
  // (stepseal build signs a failed build's journals so)
  std::vector<std::pair<std::string, std::string>> artifact_subjects;
};
int attest_journals(const AttestRequest& a);

// The job's identity: GIVEN, else the CI's (attest::ci_event), else a new urn:uuid.
std::string job_event(const std::string& given);

// The policy a command enforces (run --hardened, build --policy): parsed strictly, its network
// rules within the kernel's table, CHECK's own conditions (it throws policy::PolicyError), and
// REAL_PATH its file made absolute. nullopt after printing "invalid policy" (exit 125).
std::optional<policy::Policy> load_enforced_policy(
    const std::string& path, std::string* real_path,
    const std::function<void(const policy::Policy&)>& check = {});

// Prints "stepseal: MSG" and the usage hint on stderr; returns the usage exit status (125).
int usage_error(const std::string& msg);

// The log format and level for every subcommand: -q (-1), default (0), -v (1), -vv (2).
void set_verbosity(int level);

// The text `stepseal --help` prints: every command, its options and the exit statuses.
extern const char* const kUsage;

}  // namespace stepseal::cli
