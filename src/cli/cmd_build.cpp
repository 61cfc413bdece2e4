// stepseal build --out DIR [--ring-mb N] [--digests on|off] [-v|-q] -- BUILDER [ARG...]
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "build/build_session.h"
#include "build/registry_push.h"
#include "cli/build_attest.h"
#include "cli/commands.h"
#include "util/exit_codes.h"
#include "util/file_io.h"

namespace stepseal::cli {

namespace {

struct BuildArgs : TraceOptionValues {
  build::BuildOptions o;
  std::string key, event, builder_id, push, push_tls_verify = "on", policy;
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
  if (!a.push.empty() && a.key.empty())
    return usage_error("build: --push sends the image with its attestations: add --key");
  if (a.push_tls_verify != "on" && a.push_tls_verify != "off")
    return usage_error("build: --push-tls-verify wants on or off, not '" + a.push_tls_verify + "'");
  if (!a.push.empty()) {  // a bad reference is refused before the build, not after it
    std::string why;
    if (!build::parse_push_target(a.push, &why)) return usage_error("build: " + why);
  }
  if (!a.key.empty() && a.o.image_out.empty())
    return usage_error("build: --key signs attestations bound to the image: add --image-out DIR:TAG");
  if (!a.policy.empty()) {  // a sterile build (docs/build.md)
    a.o.policy = load_enforced_policy(a.policy, &a.o.policy_path);
    if (!a.o.policy) return exit_code::kUsage;
  }
  a.o.builder_argv = std::move(command);
  set_verbosity(a.quiet ? -1 : a.verbose);
  if (a.o.policy) {
    const auto& fsp = a.o.policy->filesystem;
    if (!fsp.writable.empty() || !fsp.hidden.empty() || !fsp.readonly_default)
      spdlog::warn("the policy's filesystem rules do not apply to a build: each RUN sees only its "
                   "image and the builder's mounts, and writes its own layer");
    if (!a.o.policy->exec.allow.empty() || !a.o.policy->exec.deny.empty())
      spdlog::warn("the policy's exec rules are judged from each RUN's record (by path and "
                   "digest inside the image), not enforced in the kernel");
  }
  if (!a.key.empty() && access(a.key.c_str(), R_OK) != 0) {  // before the build, not after it
    spdlog::error("cannot read the key {}: {}", a.key, strerror(errno));
    return exit_code::kInputUnreadable;
  }
  int rc = build::run_build(a.o);
  namespace fs = std::filesystem;
  std::error_code ec;
  if (a.key.empty() || !fs::exists(fs::path(a.o.out_dir) / "build.json", ec)) return rc;
  // every instruction signed, bound to the exported image, attached (and pushed)
  // (a failed build too: its journals are the subject then)
  // only a build that succeeded, every RUN traced, is pushed
  if (rc != 0 && !a.push.empty())
    spdlog::warn("the build did not succeed (exit {}): nothing is pushed", rc);
  BuildAttestOptions b{a.o.out_dir, a.key, a.event, a.builder_id, rc == 0 ? a.push : "",
                       a.push_tls_verify == "on"};
  int signed_rc = attest_build(b);
  return rc != 0 ? rc : signed_rc;
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
  add_trace_options(sub, *a,
                    "on (default): SHA-256 of what each RUN executed, read and changed; off: "
                    "the trace only");
  sub->add_option("--image-out", a->o.image_out,
                  "DIR[:TAG]: export the built image to this OCI layout and match each step to "
                  "its instruction and layer")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_option("--key", a->key,
                  "KEY: sign every RUN and COPY/ADD, and the whole build, as in-toto attestations "
                  "bound to the exported image (needs --image-out; written to DIR/attestations "
                  "and attached)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_option("--push", a->push,
                  "docker://HOST/NAME[:TAG]: push the image and its attestations with skopeo (needs "
                  "--key), then read the registry's manifest back: it must be the attested image")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_option("--push-tls-verify", a->push_tls_verify,
                  "on (default) or off: off for a registry on plain http (loopback)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_option("--policy", a->policy,
                  "POLICY: a sterile build: every RUN under this hardened-mode policy "
                  "(docs/policy.md) as far as a container allows: the seccomp deny-list, the "
                  "network guard on its cgroup, the environment allowlist, its capabilities and "
                  "uid; each RUN's journal and attestation carry its verdict")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_option("--event", a->event, "with --key: the job's unique identity (as for attest)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_option("--builder-id", a->builder_id, "with --key: SLSA builder.id (as for attest)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->prefix_command();
  sub->footer(
      "Writes DIR/build.json and DIR/steps/NN.journal (one per RUN; stepseal show reads them).\n"
      "Exit status: the builder's own (128+N if killed by signal N), or 120 (tracing could not\n"
      "be attached), 121 (the record could not be written), 122 (stepseal failed), 123 (--push\n"
      "failed, or the registry serves another digest), 125 (bad arguments, or builder\n"
      "arguments that would defeat the tracing). With --policy, a build that succeeded:\n"
      "118 (a RUN broke the policy: something was blocked, or a rule broken; nothing is\n"
      "pushed), 119 (a RUN's record is incomplete and the policy says \"fail\").\n"
      "See docs/build.md.");
  sub->callback([a, sub, &rc, after_dashes, had_dashes] {
    auto command = command_after(sub, had_dashes, after_dashes, rc);
    if (command) rc = build_cmd(*a, std::move(*command));
  });
  return sub;
}

}  // namespace stepseal::cli
