// subprocess.h - run a helper program (tar, skopeo, the builder's push) and wait for it.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace stepseal::util {

// Runs ARGV (argv[0] looked up in PATH) with every signal unblocked and its stdin on /dev/null,
// and waits. OUT non-null: the child's stdout is captured there (at most MAX_OUT bytes; more is
// an error, status -1); null: its stdout goes to our stderr. Its stderr is ours. Returns the
// exit status, 128+N if killed by signal N, 127 if it could not be executed, -1 if it could
// not be started.
// NAME looked up in PATH as execvp does (a NAME with a slash: itself, if executable); "" if not
// found.
std::string find_in_path(const std::string& name);

// QUIET: the child's stderr (and its stdout, when not captured) go to /dev/null.
int run_command(const std::vector<std::string>& argv, std::string* out = nullptr,
                size_t max_out = 64u << 20, bool quiet = false);

}  // namespace stepseal::util
