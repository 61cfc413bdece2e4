#include "build/image_record.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <map>
#include <set>
#include <vector>

#include "attest/oci.h"
#include "build/image_map.h"
#include "build/layer_check.h"
#include "distill/summary.h"
#include "replay/step_record.h"

namespace stepseal::build {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::optional<std::string> record_image(const ImageRecordInput& req, json& manifest, json& steps) {
  try {
    attest::ImageRef ref = attest::resolve_image(req.dir + ":" + req.tag);
    if (ref.manifests.size() != 1) return "the exported layout holds " + std::to_string(ref.manifests.size()) + " images";
    attest::ImageContents c = attest::image_contents(ref, ref.manifests[0]);
    // the exported image is the one built: its config is the image id
    if (c.manifest["config"].value("digest", "") != "sha256:" + req.image_id)
      return "the exported image's config is " + c.manifest["config"].value("digest", "") +
             ", not the built image " + req.image_id;
    manifest["image"] = {{"layout", req.dir},
                            {"tag", req.tag},
                            {"image_id", req.image_id},
                            {"manifest_digest", ref.manifests[0].digest},
                            {"config_digest", c.manifest["config"].value("digest", "")}};
    manifest["instructions"] = map_steps(c.config, steps, req.started_ns);
    // every RUN's layer against its trace (docs/build.md, "Layers against the trace")
    const json diff_ids = c.config["rootfs"]["diff_ids"];
    const json layers = c.manifest.value("layers", json::array());
    // the layers this build did not make (its base image, cached steps): its dependencies
    std::set<std::string> made;
    for (const auto& in : manifest["instructions"])
      if (in.contains("layer") && in["layer"].is_string()) made.insert(in["layer"]);
    json base = json::array();
    for (const auto& d : diff_ids)
      if (d.is_string() && !made.count(d)) base.push_back(d);
    manifest["image"]["base_layers"] = base;
    auto blob_of = [&](size_t i) {
      return req.dir + "/blobs/sha256/" + layers[i].value("digest", "").substr(7);
    };
    // the position in the manifest of an instruction's layer, found by its history entry (not
    // by diff_id: the same layer can come twice, over different lower layers)
    auto layer_index = [&](const json& entry) -> std::optional<size_t> {
      if (!entry.is_object() || !entry.contains("history_index") || !entry["layer"].is_string())
        return std::nullopt;
      auto k = attest::history_layer_index(c.config, entry["history_index"].get<size_t>());
      if (!k || *k >= layers.size() || diff_ids[*k] != entry["layer"]) return std::nullopt;
      return k;
    };
    // the blobs of the layers below position K, bottom first
    auto lower_of = [&](size_t k) {
      std::vector<std::string> lower;
      for (size_t i = 0; i < k; i++) lower.push_back(blob_of(i));
      return lower;
    };
    for (auto& st : steps) {
      const json& in = st["instruction"];
      if (!in.is_object() || !in["layer"].is_string()) continue;
      auto k = layer_index(in);
      if (!k) continue;
      std::string blob = blob_of(*k);
      StepRecord rec = load_step((fs::path(req.out_dir) / st.value("journal", "")).string());
      json summary = summary_json(rec);
      std::vector<std::string> mounts;
      for (const auto& m : st.value("mounts", json::array())) mounts.push_back(m.get<std::string>());
      st["layer_check"] = check_layer(list_layer(blob, req.scratch), summary, mounts);
      // what the step replaced, as the layers below held it when the step began
      st["preimages"] = run_preimages(summary, lower_of(*k), req.scratch + ".lower", mounts);
      if (!st["layer_check"].value("reconciled", false))
        spdlog::warn("step {}: its layer and its trace disagree: {}", st.value("step", 0),
                     st["layer_check"].dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    // COPY and ADD run no process: their record is their layer (docs/build.md)
    std::map<std::string, std::vector<std::string>> context;
    std::error_code ec;
    bool context_read = false;
    for (auto& in : manifest["instructions"]) {
      if (in.value("kind", "") != "copy" || !in["layer"].is_string()) continue;
      if (!context_read && !req.context.empty() && fs::is_directory(req.context, ec))
        context = context_digests(req.context);
      context_read = true;
      auto k = layer_index(in);
      if (!k) continue;
      in["contents"] = copy_record(list_layer(blob_of(*k), req.scratch), lower_of(*k), context,
                                   req.scratch + ".lower");
    }
  } catch (const std::exception& e) {
    return std::string("the exported image cannot be read: ") + e.what();
  }
  for (const auto& st : steps)
    if (st["instruction"].is_null())
      spdlog::warn("step {}: not found in the image's history (an earlier stage of a multi-stage "
                   "build?)", st.value("step", 0));
  for (const auto& in : manifest["instructions"])
    if (in.value("traced", true) == false)
      spdlog::warn("instruction {} ran in this build but was not traced: {}",
                   in.value("history_index", 0), in.value("created_by", ""));
  return std::nullopt;
}

}  // namespace stepseal::build
