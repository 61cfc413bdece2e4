// summary.h - distils a journal into the step summary (`stepseal show`).
//
// The summary is the contract users and attestations depend on; its fields are documented in
// docs/summary.md. Field names are stable: add, never rename.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "journal/journal.h"
#include "replay/step_record.h"
#include "journal/counters.h"
#include "model/model.h"
#include "util/time.h"
#include "policy/verdict.h"

namespace stepseal {

nlohmann::json summary_json(const StepRecord& r);
// A raw wait(2) status as a shell reports it: the exit status, or 128+N if killed by signal N;
// -1 for neither.
int exit_code_of(int wait_status);
std::string summary_text(const nlohmann::json& summary);

// A summary file entry (summary.md, files) the step replaced (overwrite, delete, rename onto)
// without having created it and without a before-digest: its content before the step is
// missing unless a pre-image is found for it.
bool lacks_preimage(const nlohmann::json& file);

// stepseal build: a RUN step's pre-images from the image's lower layers (build.json step
// "preimages": [{path, sha256_before}]). Each file of SUMMARY listed there with a SHA-256 gets
// "sha256_before" and "before_source": "lower_layers"; the preimage_unavailable gap then counts
// only the files still without one (or goes), and "complete" is recomputed. Returns how many
// files got a before-digest.
size_t apply_layer_preimages(nlohmann::json& summary, const nlohmann::json& preimages);

using journal::lost_events;  // journal/counters.h

}  // namespace stepseal
