// stepseal build --out DIR [--ring-mb N] [--digests on|off] [-v|-q] -- BUILDER [ARG...]
#include <spdlog/spdlog.h>

#include <memory>

#include "build/build_session.h"
#include "cli/commands.h"
#include "util/exit_codes.h"

namespace stepseal::cli {

namespace {

struct BuildArgs {
  build::BuildOptions o;
  std::string digests = "on";
  std::string ring_mb = "16";
  int verbose = 0;
  bool quiet = false;
};

int build_cmd(BuildArgs& a, std::vector<std::string> command) {
  auto ring = parse_ring_mb(a.ring_mb);
  if (!ring)
    return usage_error("build: --ring-mb wants a power of two from 1 to 1024, not '" + a.ring_mb + "'");
  a.o.ring_bytes = *ring;
  if (a.digests != "on" && a.digests != "off")
    return usage_error("build: --digests wants on or off, not '" + a.digests + "'");
  a.o.digests = a.digests == "on";
  if (a.o.out_dir.empty()) return usage_error("build: --out DIR is required");
  if (command.empty())
    return usage_error("build: no builder command given (stepseal build --out D -- buildah bud ...)");
  a.o.builder_argv = std::move(command);
  set_verbosity(a.quiet ? -1 : a.verbose);
  return build::run_build(a.o);
}

}  // namespace

CLI::App* add_build(CLI::App& app, int& rc, const std::vector<std::string>& after_dashes,
                    bool had_dashes) {
  auto a = std::make_shared<BuildArgs>();
  CLI::App* sub = app.add_subcommand(
      "build",
      "Run a container build (buildah bud / podman build) under one tracer: a journal per RUN.\n"
      "stepseal build --out DIR [OPTIONS] -- BUILDER [ARG...]");
  sub->add_option("--out", a->o.out_dir, "DIR: the build record (created; must be new or empty)")
      ->required()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_option("--ring-mb", a->ring_mb,
                  "kernel ring buffer size in MiB, a power of two up to 1024 (default 16)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_option("--digests", a->digests,
                  "on (default): SHA-256 of what each RUN executed, read and changed; off: the "
                  "trace only")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_flag("-v", a->verbose, "more logging on stderr (-vv: more still)");
  sub->add_flag("-q", a->quiet, "warnings and errors only");
  sub->prefix_command();
  sub->footer(
      "Writes DIR/build.json and DIR/steps/NN.journal (one per RUN; stepseal show reads them).\n"
      "Exit status: the builder's own (128+N if killed by signal N), or 120 (tracing could not\n"
      "be attached), 121 (the record could not be written), 122 (stepseal failed), 125 (bad\n"
      "arguments, or builder arguments that would defeat the tracing). See docs/build.md.");
  sub->callback([a, sub, &rc, after_dashes, had_dashes] {
    std::vector<std::string> command = sub->remaining();
    if (!command.empty() && !command[0].empty() && command[0][0] == '-') {
      rc = usage_error("build: unknown option '" + command[0] + "'");
      return;
    }
    if (had_dashes) {
      if (!command.empty()) command.push_back("--");
      command.insert(command.end(), after_dashes.begin(), after_dashes.end());
    }
    rc = build_cmd(*a, std::move(command));
  });
  return sub;
}

}  // namespace stepseal::cli
