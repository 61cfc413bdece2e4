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
std::string summary_text(const nlohmann::json& summary);

using journal::lost_events;  // journal/counters.h

}  // namespace stepseal
