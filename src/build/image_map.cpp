#include "build/image_map.h"

#include <cstdio>
#include <stdexcept>
#include <string>

namespace stepseal::build {

using json = nlohmann::json;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// By the entry's form, not by a search of its text: "[|N ARG=v ... ]/bin/sh -c TEXT" for a RUN,
// "/bin/sh -c #(nop) INSTRUCTION ..." for the others (a RUN whose text contains "#(nop) COPY"
// is still a RUN).
std::string kind_of(const std::string& created_by) {
  size_t at = created_by.find("/bin/sh -c ");
  if (at == std::string::npos) return "other";
  if (at > 0 && created_by[0] != '|') return "other";
  const std::string rest = created_by.substr(at + 11);
  if (rest.rfind("#(nop) COPY ", 0) == 0 || rest.rfind("#(nop) ADD ", 0) == 0) return "copy";
  if (rest.rfind("#(nop) ", 0) == 0) return "other";
  return "run";
}

// Whether history entry BY (a RUN) records a container that ran ARGV: the shell form
// "[|N ARG=v ... ]/bin/sh -c TEXT" for ["/bin/sh", "-c", TEXT], the exec form
// "[|N ARG=v ... ]/bin/sh -c [\"/bin/touch\", \"/f\"]" (the Dockerfile's JSON array as
// written) for that array.
bool records(const std::string& by, const json& argv) {
  if (!argv.is_array() || argv.empty()) return false;
  if (argv.size() == 3 && argv[0] == "/bin/sh" && argv[1] == "-c" && argv[2].is_string() &&
      ends_with(by, "/bin/sh -c " + argv[2].get<std::string>()))
    return true;
  size_t at = by.find("/bin/sh -c [");
  if (at == std::string::npos) return false;
  json form = json::parse(by.substr(at + 11), nullptr, false);
  return form.is_array() && form == argv;
}

}  // namespace

json map_steps(const json& config, json& steps, int64_t build_started_ns) {
  const json history = config.value("history", json::array());
  const json rootfs = config.value("rootfs", json::object());
  const json diff_ids = rootfs.is_object() ? rootfs.value("diff_ids", json::array()) : json::array();
  if (!history.is_array() || !diff_ids.is_array())
    throw std::runtime_error("the image config has no history or no rootfs.diff_ids");
  // the layer of every history entry
  std::vector<json> layer_of(history.size(), nullptr);
  size_t layer = 0;
  for (size_t i = 0; i < history.size(); i++) {
    if (!history[i].is_object()) throw std::runtime_error("a history entry is not an object");
    if (history[i].value("empty_layer", false)) continue;
    if (layer >= diff_ids.size())
      throw std::runtime_error("the image's history has more layers than rootfs.diff_ids (" +
                               std::to_string(diff_ids.size()) + ")");
    layer_of[i] = diff_ids[layer++];
  }
  if (layer != diff_ids.size())
    throw std::runtime_error("the image's history names " + std::to_string(layer) +
                             " layers, rootfs.diff_ids " + std::to_string(diff_ids.size()) +
                             ": built with --squash or without --layers?");
  // each traced step, last first, to the latest RUN entry before the previous match
  std::vector<int> step_of(history.size(), -1);
  size_t limit = history.size();
  for (size_t k = steps.size(); k-- > 0;) {
    json& st = steps[k];
    const json argv = st.value("argv", json::array());
    st["instruction"] = nullptr;
    for (size_t i = limit; i-- > 0;) {
      const std::string by = history[i].value("created_by", "");
      if (kind_of(by) == "run" && records(by, argv)) {
        step_of[i] = static_cast<int>(k);
        st["instruction"] = {{"history_index", i},
                             {"created_by", by},
                             {"layer", layer_of[i]},
                             {"empty_layer", history[i].value("empty_layer", false)}};
        limit = i;
        break;
      }
    }
  }
  json out = json::array();
  for (size_t i = 0; i < history.size(); i++) {
    const std::string created = history[i].value("created", "");
    const int64_t t = parse_rfc3339_ns(created);
    // this build's entries: made at or after the second the build started in (buildah's history
    // times can be earlier than the instruction by the fraction of a second it truncates)
    const bool this_build = t >= 0 && t >= build_started_ns - build_started_ns % 1000000000;
    if (!this_build && step_of[i] < 0) continue;
    const std::string by = history[i].value("created_by", "");
    json e = {{"history_index", i},
              {"created_by", by},
              {"created", created},
              {"kind", kind_of(by)},
              {"layer", layer_of[i]},
              {"step", step_of[i] >= 0 ? json(steps[static_cast<size_t>(step_of[i])].value("step", 0))
                                       : json(nullptr)}};
    if (e["kind"] == "run") e["traced"] = step_of[i] >= 0;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace stepseal::build
