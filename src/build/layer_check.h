// layer_check.h - every file of a RUN's layer against what the trace saw the step do, in both
// directions (docs/build.md, "Layers against the trace").
//
//   unexplained      an entry of the layer no traced call of the step made: no create, write,
//                    rename, link or metadata change of that path (a whiteout: no delete or
//                    rename away)
//   content_differs  a file whose content in the layer is not the step's after-digest
//   missing          a path the step changed (and did not remove again) that the layer lacks,
//                    unless it lies under one of the container's mounts (tmpfs, bind mounts)
//   stubs            entries the runtime makes, not the step (/etc/hosts, /etc/resolv.conf ...)
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace stepseal::build {

struct LayerEntry {
  std::string path;  // absolute, as in the image ("/data/out.txt")
  char type = 'f';   // 'f' file, 'd' directory, 'l' symlink, 'o' other (device, fifo)
  std::string sha256;  // files only
};

// Unpacks a layer blob (a tar, compressed or not) with tar(1) into `scratch` (created, then
// removed) and lists it. Throws std::runtime_error.
std::vector<LayerEntry> list_layer(const std::string& blob_path, const std::string& scratch);

// A COPY or ADD instruction's record, from its layer: every file it added (with its SHA-256),
// every file it replaced (with its content before, from the lower layers), every removal
// (whiteouts), and the build-context files each added file's content matches.
// `lower`: the blob paths of the layers below it, bottom first. `context`: the files of the
// build context by SHA-256 (path relative to the context). `scratch`: a directory to unpack in.
nlohmann::json copy_record(const std::vector<LayerEntry>& layer,
                           const std::vector<std::string>& lower,
                           const std::map<std::string, std::vector<std::string>>& context,
                           const std::string& scratch);

// What each of PATHS (absolute) held in the lower layers (blob paths, bottom first): SHA-256 for
// a regular file, kNotRegular for anything else; a path no lower layer has (or whose topmost
// mention is a whiteout) is not in the result.
inline constexpr const char* kNotRegular = "not a regular file";
std::map<std::string, std::string> lower_contents(const std::set<std::string>& paths,
                                                  const std::vector<std::string>& lower,
                                                  const std::string& scratch);

// A RUN step's pre-images from the image: for every file its summary shows replaced (overwrite,
// delete, rename onto) without having created it and without a traced before-digest, what the
// lower layers held there, i.e. its content when the step began: [{path, sha256_before}],
// sha256_before null when no lower layer has it (the runtime made it) or kNotRegular. Paths on
// one of MOUNTS (the container's mount destinations) are left out: the layers never held them.
nlohmann::json run_preimages(const nlohmann::json& summary, const std::vector<std::string>& lower,
                             const std::string& scratch, const std::vector<std::string>& mounts = {});

// The files of a build context by content: SHA-256 -> paths relative to `dir` (at most
// `max_files` regular files; symlinks not followed).
std::map<std::string, std::vector<std::string>> context_digests(const std::string& dir,
                                                                size_t max_files = 20000);

// Compares a layer with a step's summary (stepseal show --format json's "files").
// `mounts`: the container's mount destinations, under which changes never reach the layer.
nlohmann::json check_layer(const std::vector<LayerEntry>& layer, const nlohmann::json& summary,
                           const std::vector<std::string>& mounts);

}  // namespace stepseal::build
