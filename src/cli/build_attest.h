// build_attest.h - `stepseal build --key`: the build record signed and attached to the image.
//
//   1. each traced RUN: runtime trace + SLSA provenance (as `attest` makes them), with its
//      instruction, its layer check and its pre-images from the lower layers
//   2. each COPY/ADD: its layer's contents (attest/build_statements.h)
//   3. with --push: the image pushed with skopeo and read back; the registry's digest must be
//      the attested subject
//   4. the whole build: SLSA provenance listing 1 and 2 by envelope digest, and 3
//   5. everything attached to the layout (BuildKit style, OCI referrers, cosign .att tag), and
//      with --push, pushed (the tag's index and the .att tag) and read back again
// The record's build.json gets "attestations" and "push".
#pragma once

#include <string>

namespace stepseal::cli {

struct BuildAttestOptions {
  std::string out_dir, key, event, builder_id;
  std::string push;         // docker://HOST/NAME[:TAG], or empty
  bool push_tls_verify = true;
};

// Returns 0, or an exit status: 3 the key or the record cannot be read, 123 the push failed or
// the registry serves another digest.
int attest_build(const BuildAttestOptions& o);

}  // namespace stepseal::cli
