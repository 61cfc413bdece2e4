// verify_build.h - what `stepseal verify` checks on top of each envelope when the attestations
// are a build's (stepseal build): that the image is still what was attested, layer by layer, and
// that the step attestations are the build's own, each in its place.
//
//   layers        every layer blob of the image re-hashed: a layer changed after the build
//   instructions  each step attestation's instruction (history index, created_by, layer) is the
//                 image's: an attestation moved to another step or image
//   provenance    the build provenance lists every step attestation by the digest of its
//                 envelope, and each listed one is there: an attestation swapped, dropped or
//                 added
//   reconciled    (--require-reconciled) every RUN's layer is explained by its trace
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "attest/oci.h"

namespace stepseal::attest {

struct CheckedEnvelope {
  std::string where;         // the file, or "attached #N"
  std::string sha256;        // of the envelope's bytes
  nlohmann::json statement;  // its Statement (the signature held)
};

// True when a Statement is one of a build's (it has a build instruction, or is a build
// provenance).
bool is_build_statement(const nlohmann::json& statement);

// The failures, each a sentence naming what differs; empty when the build checks out.
std::vector<std::string> check_build(const ImageRef& image, const ImageManifest& manifest,
                                     const std::vector<CheckedEnvelope>& envelopes,
                                     bool require_reconciled);

}  // namespace stepseal::attest
