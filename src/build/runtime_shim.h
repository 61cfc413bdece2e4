// runtime_shim.h - the OCI runtime `stepseal build` gives the builder (--runtime).
//
// The builder calls it as it would call runc: `create --bundle B --pid-file F ID`, `start ID`,
// `state ID`, `delete ID` (and others). It is transparent: the real runtime
// ($STEPSEAL_REAL_RUNTIME, runc) does the work, with the same arguments, output, exit status and
// state JSON; the shim never becomes a subreaper and never waits on the container's processes.
// It adds two handshakes with the supervisor, over $STEPSEAL_SHIM_SOCKET:
//
//   prepare before the real runtime creates the container: the supervisor may rewrite the
//           bundle's config.json (a sterile build seals it, sterile.h); any answer but "ok"
//           fails the create with nothing made.
//   create  after the real runtime has created the container, whose init now waits to exec the
//           step's command: the shim reports its pid and bundle, and returns only once the
//           supervisor follows that process. If the supervisor does not, the shim deletes the
//           container and fails: nothing of the RUN executes untraced.
//   delete  before the real runtime deletes the container: the supervisor replies once the
//           step's journal is finished, its final digests taken from the container's root, so
//           the builder commits the layer only after stepseal has seen it.
//
// Without $STEPSEAL_SHIM_SOCKET the shim refuses to run: it exists only under stepseal build.
#pragma once

#include <string>
#include <vector>

namespace stepseal::build {

// The name the stepseal binary is run under to act as the shim (main() dispatches on argv[0]).
inline constexpr const char* kShimName = "stepseal-runtime";

int shim_main(int argc, char** argv);

// The runtime's subcommand and the arguments the handshakes need, from a runc command line.
struct RuntimeCall {
  std::string command;  // "create", "start", "state", "delete", ... ("" if none)
  std::string id;       // the container id (the last positional argument)
  std::string bundle;   // create: --bundle / -b (default: the current directory)
  std::string pid_file;  // create: --pid-file
};
RuntimeCall parse_runtime_call(const std::vector<std::string>& args);  // args without argv[0]

}  // namespace stepseal::build
