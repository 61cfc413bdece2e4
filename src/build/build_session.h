// build_session.h - `stepseal build`: a whole container build under one tracer, a journal per
// RUN step.
//
//   attach   the probes (one TracerHost for the build), the shim's socket, the output directory
//   spawn    the builder, with stepseal's runtime shim as its OCI runtime; it dies with stepseal
//   pump     the ring into every open step; the shim's handshakes: a `create` opens a step and
//            follows the container's init before its command runs; the init's exit (its pidfd)
//            ends the step, whose journal is finished (final digests read through the
//            container's root) before the shim's `delete` may proceed
//   finish   the image exported to an OCI layout and each step matched to its instruction and
//            layer (with image_out); the build record, build.json (docs/build.md); the
//            builder's exit status
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace stepseal::build {

struct BuildOptions {
  std::vector<std::string> builder_argv;  // buildah bud ... / podman build ...
  std::string out_dir;                    // the build record; created, must not exist or be empty
  size_t ring_bytes = 16u << 20;
  bool digests = true;
  // DIR[:TAG] ("oci:" prefix allowed; TAG default "latest"): after a successful build the image
  // is exported there as an OCI layout, its manifest digest computed from the layout's bytes,
  // and every traced step matched to its instruction and layer (build.json "image",
  // "instructions"). Empty: no export.
  std::string image_out;
  // A sterile build (sterile.h): every RUN under this policy (loaded from policy_path), its
  // verdict in its journal. Empty: the RUNs run as the builder made them, observed only.
  std::optional<policy::Policy> policy;
  std::string policy_path;
};

// Runs the build. Returns the builder's exit status (128+N if killed by signal N), or one of
// stepseal's (util/exit_codes.h): 120 the probes could not be attached, 121 the record could not
// be written, 122 stepseal could not run the builder, 125 the builder's arguments defeat the
// tracing (the message says what to change). A sterile build that succeeded: 118 if a RUN broke
// the policy (something was blocked, or a rule broken), 119 if a RUN's record is incomplete and
// the policy's completeness is "fail".
int run_build(const BuildOptions& opts);

}  // namespace stepseal::build
