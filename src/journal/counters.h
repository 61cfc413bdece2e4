// counters.h - what STEP_END's counters mean (docs/journal.md).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

namespace stepseal::journal {

// Events lost, from STEP_END's counters: the per-CPU kernel loss counters plus records the
// supervisor could not decode. The one definition `run` (its log, the trailer) and `show` share.
uint64_t lost_events(const nlohmann::json& counters);

}  // namespace stepseal::journal
