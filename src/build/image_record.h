// image_record.h - what the exported image says about the build (docs/build.md): each traced
// step matched to its instruction and layer, each RUN's layer checked against its trace and its
// pre-images read from the layers below, each COPY/ADD recorded from its layer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace stepseal::build {

struct ImageRecordInput {
  std::string dir, tag;    // the OCI layout the builder exported to, and the tag
  std::string image_id;    // the builder's image id (hex): the exported config must be it
  std::string out_dir;     // the build record (the steps' journals are relative to it)
  std::string context;     // the build context directory, or empty
  std::string scratch;     // a directory to unpack layers in (created and removed)
  int64_t started_ns = 0;  // the build's start, CLOCK_REALTIME
};

// Reads the layout (digests recomputed, attest/oci.h), sets MANIFEST's "image" and
// "instructions", and each of STEPS' "instruction", "layer_check" and "preimages". Returns why
// the image could not be read, or nullopt.
std::optional<std::string> record_image(const ImageRecordInput& in, nlohmann::json& manifest,
                                        nlohmann::json& steps);

}  // namespace stepseal::build
