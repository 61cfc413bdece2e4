// step_record.h - the one consumer of a step's records: model, judge and digest reconciliation.
// Every command that looks at a recorded step (show, attest, verify, run's hardened verdict)
// replays its records through replay_step(), whatever their source.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "journal/journal.h"
#include "model/model.h"
#include "policy/verdict.h"
#include "replay/record_source.h"

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
  std::vector<policy::ExecRule> exec_implicit;  // STEP_START "exec_implicit"
  policy::JudgeState judge;
  std::vector<policy::Violation> violations;
};

// What a consumer beside the model sees of a replay (forensic replay's index): every record as
// it is read, and every file operation as the model applies it.
struct ReplayTaps {
  std::function<void(const journal::Record&)> record;
  std::function<void(const FileOp&)> file_op;
};

// Replays every record SOURCE gives into a model, judged against the recorded policy if the
// step ran hardened. Throws std::runtime_error only if the records are unusable (a recorded
// policy that does not parse).
StepRecord replay_step(RecordSource& source, const ReplayTaps& taps = {});

// replay_step() of a journal file. Throws std::runtime_error only if the file is unusable.
StepRecord load_step(const std::string& journal_path);

}  // namespace stepseal
