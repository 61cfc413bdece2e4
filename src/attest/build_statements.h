// build_statements.h - the Statements of `stepseal build` besides each RUN's runtime trace and
// provenance (those are statements.h's, with the step's build object):
//
//   layer_statement     a COPY or ADD instruction, from its layer: every file added with its
//                       SHA-256, every file replaced with its content before (lower layers) and
//                       after, every removal, and the build-context files each came from
//   build_provenance    SLSA v1 provenance of the whole build: the builder's command, the
//                       builder (buildah/podman, runc, the shim, stepseal) by digest, the base
//                       layers as dependencies, every step attestation by the digest of its
//                       envelope, and where the image was pushed (the registry's digest)
//
// Field-by-field documentation: docs/build.md ("Attestations").
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "attest/statements.h"

namespace stepseal::attest {

inline constexpr const char* kLayerContents = "urn:stepseal:predicate:layer-contents:v1";
inline constexpr const char* kBuildType = "urn:stepseal:buildtype:container-build:v1";

// The step name of a COPY/ADD instruction's attestation: "copy-NN" (NN its history index).
std::string layer_step_name(int history_index);

// INSTRUCTION: build.json's entry ({history_index, created_by, kind, layer, contents}); IMAGE:
// build.json's "image".
nlohmann::json layer_statement(const std::vector<Subject>& subjects, const nlohmann::json& instruction,
                               const nlohmann::json& image, const std::string& event);

// One signed step attestation, as the build provenance lists it.
struct SignedStep {
  std::string file;            // its file name in the record's attestations/ directory
  std::string step;            // the step it attests ("01", "copy-03")
  std::string predicate_type;
  std::string sha256;          // of the envelope's exact bytes (the file)
  nlohmann::json history_index;  // the instruction it belongs to, or null
};

struct BuildContext {
  nlohmann::json record;        // build.json
  std::vector<SignedStep> steps;
  nlohmann::json builder_dependencies = nlohmann::json::array();  // [{name, uri, digest}]
  std::string event, builder_id, stepseal_sha256, stepseal_version;
  nlohmann::json push = nullptr;  // {reference, manifest_digest, ...} once verified
};
nlohmann::json build_provenance(const std::vector<Subject>& subjects, const BuildContext& b);

// What a verifier reads back from a build provenance: the steps it lists.
std::vector<SignedStep> provenance_steps(const nlohmann::json& statement);

}  // namespace stepseal::attest
