// replay_io.h - what the forensic replay commands (cmd_replay.cpp, cmd_diff.cpp) share: their
// output files and how their failures become exit statuses.
#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>

namespace stepseal::cli {

// Writes what FN prints to PATH (atomically: a temporary file renamed), or to stdout for "-"
// or "". Returns false (the error logged) if it could not be written.
bool write_output(const std::string& path, const std::function<void(std::ostream&)>& fn);

// Runs FN; an unusable input (forensics::InputError) is logged and gives 3, any other failure
// 122. nullopt when FN succeeded.
std::optional<int> replay_failure(const std::function<void()>& fn);

}  // namespace stepseal::cli
