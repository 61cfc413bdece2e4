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
#include "journal/counters.h"
#include "model/model.h"
#include "util/time.h"
#include "policy/verdict.h"

namespace stepseal {

struct StepRecord {
  // the journal's JSON records; empty objects when the journal lacks them
  nlohmann::json header = nlohmann::json::object(), start = nlohmann::json::object(),
                 end = nlohmann::json::object();
  Model model;
  journal::ReadResult read;
  // hardened mode: the policy the step ran under (from STEP_START) and what broke it
  std::optional<policy::Policy> policy;
  std::string workspace;
  policy::ExecPaths exec_paths;
  policy::JudgeState judge;
  std::vector<policy::Violation> violations;
};

// Replays a journal into a model. Throws std::runtime_error only if the file is unusable.
StepRecord load_step(const std::string& journal_path);

nlohmann::json summary_json(const StepRecord& r);
std::string summary_text(const nlohmann::json& summary);

using journal::lost_events;  // journal/counters.h

}  // namespace stepseal
