// image_map.h - which instruction of the built image each traced RUN step was, and its layer.
//
// The image config's history[] has one entry per instruction; the entries without empty_layer
// match rootfs.diff_ids[] one to one. An entry whose `created` time is not before the build
// started was made by this build; older ones were reused (the base image, or the builder's
// cache). A RUN entry's created_by ends with "/bin/sh -c TEXT", the traced step's argv.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "util/time.h"  // parse_rfc3339_ns: history times

namespace stepseal::build {

// Matches `steps` (build.json's, in create order; each gets "instruction") against `config`.
// Returns build.json's "instructions": every entry of this build, with its kind ("run", "copy",
// "other"), layer, and the step that traced it (null: a RUN that was not traced is listed with
// "traced": false). `build_started_ns`: realtime ns. Throws std::runtime_error when history and
// layers disagree.
nlohmann::json map_steps(const nlohmann::json& config, nlohmann::json& steps,
                         int64_t build_started_ns);

}  // namespace stepseal::build
