#include "attest/build_statements.h"

#include <cstdio>

namespace stepseal::attest {

namespace {

using nlohmann::json;

// The instruction as a step attestation names it (build.json's entry without its contents).
json instruction_of(const json& in) {
  json out = json::object();
  for (const char* k : {"history_index", "created_by", "kind", "layer", "created"})
    if (in.contains(k)) out[k] = in[k];
  return out;
}

}  // namespace

std::string layer_step_name(int history_index) {
  char b[32];
  snprintf(b, sizeof b, "copy-%02d", history_index);
  return b;
}

json layer_statement(const std::vector<Subject>& subjects, const json& instruction,
                     const json& image, const std::string& event) {
  const json& c = instruction.value("contents", json::object());
  json predicate = {
      {"step", {{"name", layer_step_name(instruction.value("history_index", 0))}}},
      {"build", {{"instruction", instruction_of(instruction)}, {"image", image}, {"event", event}}},
      // read from the layer blob in the exported image, whose digest the manifest (the subject)
      // binds: nothing here is the builder's word
      {"source", "layer"},
      {"added", c.value("added", json::array())},
      {"replaced", c.value("replaced", json::array())},
      {"removed", c.value("removed", json::array())},
  };
  return make_statement(subjects, kLayerContents, std::move(predicate));
}

json build_provenance(const std::vector<Subject>& subjects, const BuildContext& b) {
  const json& r = b.record;
  const json& builder = r.value("builder", json::object());
  const json& image = r.value("image", json::object());
  json deps = json::array();
  for (const auto& d : image.value("base_layers", json::array()))
    if (d.is_string() && d.get<std::string>().rfind("sha256:", 0) == 0)
      deps.push_back({{"name", "base-layer"},
                      {"digest", {{"sha256", d.get<std::string>().substr(7)}}},
                      {"mediaType", "application/vnd.oci.image.layer.v1.tar"}});
  json byproducts = json::array();
  for (const auto& s : b.steps)
    byproducts.push_back({{"name", s.file},
                          {"digest", {{"sha256", s.sha256}}},
                          {"mediaType", "application/vnd.dsse.envelope.v1+json"},
                          {"annotations", {{"step", s.step},
                                           {"predicateType", s.predicate_type},
                                           {"history_index", s.history_index}}}});
  json instructions = json::array();
  for (const auto& in : r.value("instructions", json::array())) {
    json i = instruction_of(in);
    if (in.contains("step")) i["step"] = in["step"];
    if (in.contains("traced")) i["traced"] = in["traced"];
    instructions.push_back(i);
  }
  json steps = json::array();
  for (const auto& st : r.value("steps", json::array()))
    steps.push_back({{"step", st.value("step", 0)},
                     {"journal_sha256", st.value("journal_sha256", "")},
                     {"exit_code", st.value("exit_code", -1)},
                     {"lost_events", st.value("lost_events", 0)},
                     {"reconciled", st.value("layer_check", json::object()).value("reconciled", false)},
                     {"history_index", st.value("instruction", json()).is_object()
                                           ? st["instruction"].value("history_index", json())
                                           : json()}});
  json predicate = {
      {"buildDefinition",
       {{"buildType", kBuildType},
        {"externalParameters", {{"builder", builder.value("name", "")},
                                {"argv", builder.value("argv", json::array())}}},
        {"internalParameters", {{"executed", builder.value("executed", json::array())},
                                {"runtime", builder.value("runtime", "")},
                                {"instructions", instructions},
                                {"steps", steps},
                                {"exitCode", r.value("exit_code", -1)},
                                {"complete", r.value("complete", false)},
                                {"reconciled", r.value("reconciled", false)},
                                {"lostEvents", r.value("lost_events", 0)},
                                {"image", image},
                                {"push", b.push}}},
        {"resolvedDependencies", deps}}},
      {"runDetails",
       {{"builder", {{"id", !b.builder_id.empty() ? b.builder_id
                                                  : "urn:stepseal:binary:sha256:" + b.stepseal_sha256},
                     {"version", {{"stepseal", b.stepseal_version}}},
                     {"builderDependencies", b.builder_dependencies}}},
        {"metadata", {{"invocationId", b.event},
                      {"startedOn", r.value("started", "")},
                      {"finishedOn", r.value("finished", "")}}},
        {"byproducts", byproducts}}},
  };
  return make_statement(subjects, kSlsaProvenance, std::move(predicate));
}

std::vector<SignedStep> provenance_steps(const json& st) {
  std::vector<SignedStep> out;
  const json& p = st.value("predicate", json::object());
  if (p.value("buildDefinition", json::object()).value("buildType", "") != kBuildType) return out;
  for (const auto& bp : p.value("runDetails", json::object()).value("byproducts", json::array())) {
    if (!bp.is_object()) continue;
    SignedStep s;
    s.file = bp.value("name", "");
    s.sha256 = bp.value("digest", json::object()).value("sha256", "");
    const json& a = bp.value("annotations", json::object());
    s.step = a.value("step", "");
    s.predicate_type = a.value("predicateType", "");
    s.history_index = a.value("history_index", json());
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace stepseal::attest
