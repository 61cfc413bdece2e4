// run_verdict.h - `run --hardened`'s exit status, judged from the finished journal by the same
// code `show` uses (the journal is read back, replayed into the model and judged).
#pragma once

#include "supervisor/supervisor.h"

namespace stepseal {

// 118 if the journal lists violations, 119 if it is incomplete and the policy says "fail",
// 122 if the journal cannot be read back, else COMMAND_STATUS.
int hardened_exit_status(const RunOptions& opts, int command_status);

}  // namespace stepseal
