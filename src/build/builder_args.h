// builder_args.h - the builder command `stepseal build` runs, and what it must change in it.
//
// Every RUN must go through stepseal's OCI runtime shim (runtime_shim.h), and every instruction
// must keep a layer and a history entry of its own, or steps could not be matched to layers.
// plan_builder() checks the builder's arguments, refuses what would defeat either, and returns
// the command to run: the same, with the shim inserted as the runtime.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace stepseal::build {

class BuilderArgsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct BuilderPlan {
  std::string builder;            // "buildah" or "podman"
  std::vector<std::string> argv;  // what to run: the shim inserted as --runtime
  std::string user_runtime;       // a --runtime the user gave: the shim runs it (else runc)
  std::vector<std::string> global_args;  // the builder's options before its subcommand
                                         // (storage: --root, --storage-driver ...)
  std::string iidfile;  // where the builder writes the built image's id (--iidfile)
  std::string context;  // the build context directory (the last positional argument), or ""
  bool no_cache = false;  // --no-cache: every instruction runs (none is taken from the cache)
};

// `argv`: the builder command as the user gave it (buildah bud ... / podman build ...).
// `shim`: the path of the runtime shim. `iidfile`: where the builder is to write the image id,
// unless the user gave --iidfile (then theirs). Throws BuilderArgsError with a message that says
// what to change.
BuilderPlan plan_builder(const std::vector<std::string>& argv, const std::string& shim,
                         const std::string& iidfile = "");

}  // namespace stepseal::build
