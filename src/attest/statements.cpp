#include "attest/statements.h"

#include "attest/build_statements.h"

#include <cstdlib>

#include <algorithm>
#include <map>

namespace stepseal::attest {

namespace {

using nlohmann::json;

json subjects_json(const std::vector<Subject>& subjects) {
  json out = json::array();
  for (const auto& s : subjects) {
    auto colon = s.digest.find(':');
    out.push_back({{"name", s.name},
                   {"digest", {{s.digest.substr(0, colon), s.digest.substr(colon + 1)}}}});
  }
  return out;
}


bool has(const json& access, const char* kind) {
  return std::find(access.begin(), access.end(), kind) != access.end();
}

// A file access as an in-toto ResourceDescriptor: the digest is of the content the step read
// or ran when there is one, else of the content it left; the rest goes into annotations.
json file_descriptor(const json& f) {
  const std::string path = f.value("path", "");
  json rd = {{"name", path}, {"uri", "file://" + path}};
  std::string digest = f.value("sha256", f.value("sha256_after", ""));
  if (!digest.empty()) rd["digest"] = {{"sha256", digest}};
  json ann = {{"access", f.value("access", json::array())}, {"pids", f.value("pids", json::array())}};
  for (const char* k : {"sha256_before", "before_source", "sha256_after", "sha256_versions",
                        "digest_status", "digest_reason"})
    if (f.contains(k)) ann[k] = f[k];
  rd["annotations"] = ann;
  return rd;
}

// Hardened mode: the policy the step ran under (by digest) and everything it refused or flagged.
// Observe mode says so, so a verifier never mistakes an observed step for an enforced one.
json enforcement(const StepContext& s) {
  const json& sum = s.summary;
  json e = {{"mode", sum.value("mode", "observe")}};
  if (sum.contains("policy") && sum["policy"].is_object()) {
    const json& p = sum["policy"];
    e["policy"] = {{"name", p.value("path", "")},
                   {"digest", {{"sha256", p.value("sha256", "")}}},
                   {"workspace", p.value("workspace", "")},
                   {"failFast", p.value("fail_fast", false)}};
    const json& v = sum.value("violations", json::array());
    e["verdict"] = v.empty() ? "held" : "violated";
    e["violations"] = v;
  }
  return e;
}

json completeness(const StepContext& s) {
  const json& sum = s.summary;
  return {{"complete", sum.value("complete", false)},
          {"lost_events", sum.value("lost_events", 0)},
          {"gaps", sum.value("gaps", json::array())},
          {"journal", sum.value("journal", json::object())}};
}

// The builder: what the operator set, else the very binary that made the recording, named by
// its digest (a URN: no made-up location a policy could key on).
std::string builder_id(const StepContext& s) {
  if (!s.builder_id.empty()) return s.builder_id;
  return "urn:stepseal:binary:sha256:" + s.header.value("stepseal_sha256", "unknown");
}

// runtime-trace v0.2's network entry (ip, hostname, port, protocol, invokingProcess) beside
// stepseal's own fields (summary.md, network). hostname: a name the step's DNS answers gave
// for the address (dns_learned), when stepseal recorded one.
json network_entries(const json& sum) {
  std::map<std::string, std::string> names;
  for (const auto& d : sum.value("dns_learned", json::array()))
    if (!d.value("address", "").empty() && !d.value("name", "").empty())
      names.emplace(d["address"], d["name"]);
  std::map<int64_t, json> procs;  // pid -> the first process with it
  for (const auto& p : sum.value("processes", json::array()))
    if (p.contains("pid") && p["pid"].is_number_integer()) procs.emplace(p["pid"].get<int64_t>(), p);
  json out = json::array();
  for (const auto& n : sum.value("network", json::array())) {
    json e = n;
    const std::string family = n.value("family", "");
    if (family == "inet" || family == "inet6") {
      e["ip"] = n.value("address", "");
      if (auto it = names.find(n.value("address", "")); it != names.end()) e["hostname"] = it->second;
    }
    json inv = {{"pid", n.value("pid", json())}};
    if (n.contains("pid") && n["pid"].is_number_integer())
      if (auto it = procs.find(n["pid"].get<int64_t>()); it != procs.end()) {
        inv["exe"] = it->second.value("exe", "");
        if (it->second.contains("exe_sha256")) inv["digest"] = {{"sha256", it->second["exe_sha256"]}};
      }
    e["invokingProcess"] = inv;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

json make_statement(const std::vector<Subject>& subjects, const char* type, json predicate) {
  return {{"_type", kStatementType},
          {"subject", subjects_json(subjects)},
          {"predicateType", type},
          {"predicate", std::move(predicate)}};
}

std::string ci_event() {
  auto env = [](const char* k) {
    const char* v = std::getenv(k);
    return std::string(v ? v : "");
  };
  if (!env("GITHUB_RUN_ID").empty() && !env("GITHUB_REPOSITORY").empty()) {
    std::string server = env("GITHUB_SERVER_URL").empty() ? "https://github.com" : env("GITHUB_SERVER_URL");
    return server + "/" + env("GITHUB_REPOSITORY") + "/actions/runs/" + env("GITHUB_RUN_ID") +
           "/attempts/" + (env("GITHUB_RUN_ATTEMPT").empty() ? "1" : env("GITHUB_RUN_ATTEMPT"));
  }
  if (!env("CI_JOB_URL").empty()) return env("CI_JOB_URL");
  return "";
}

bool known_predicate(const std::string& type) {
  return type == kRuntimeTrace || type == kRuntimeTraceV01 || type == kSlsaProvenance ||
         type == kLayerContents;
}

json runtime_trace_statement(const std::vector<Subject>& subjects, const StepContext& s) {
  const json& sum = s.summary;
  const json& step = sum.value("step", json::object());
  json files = json::array();
  for (const auto& f : sum.value("files", json::array())) files.push_back(file_descriptor(f));
  json predicate = {
      {"monitor",
       {{"type", "urn:stepseal:monitor:ebpf-raw-tracepoints:v1"},
        {"configSource", {{"uri", builder_id(s)},
                          {"digest", {{"sha256", s.header.value("stepseal_sha256", "")}}}}},
        {"tracePolicy", {{"digests", s.header.value("digests", true)},
                         // a RUN of stepseal build: its container is not under the filter
                         {"preimages", s.header.value("digests", true) && s.build.is_null()}}}}},
      // runtime-trace v0.1: hostID is a URI, event a string (here: the step's name)
      {"monitoredProcess",
       {{"hostID", "urn:stepseal:host:" + s.header.value("host", "") + ":boot:" +
                       s.header.value("boot_id", "")},
        {"type", "urn:stepseal:step:v1"},
        {"event", s.event.empty() ? s.step_name : s.event}}},
      {"step", {{"name", s.step_name}, {"argv", step.value("argv", json::array())},
                {"cwd", step.value("cwd", "")}, {"exit_code", step.value("exit_code", json())}}},
      {"build", s.build},
      {"monitorLog",
       {{"process", sum.value("processes", json::array())},
        {"network", network_entries(sum)},
        {"fileAccess", files},
        {"failed", sum.value("failed", json::array())},
        {"dns", sum.value("dns", json::array())},
        {"sensitiveCalls", sum.value("syscalls", json::array())}}},
      {"enforcement", enforcement(s)},
      {"metadata",
       {{"buildStartedOn", step.value("started", "")},
        {"buildFinishedOn", step.value("finished", json())}}},
      {"completeness", completeness(s)},
  };
  return make_statement(subjects, kRuntimeTrace, std::move(predicate));
}

json slsa_statement(const std::vector<Subject>& subjects, const StepContext& s) {
  const json& sum = s.summary;
  const json& step = sum.value("step", json::object());
  json deps = json::array();
  for (const auto& f : sum.value("files", json::array())) {
    const json& a = f.value("access", json::array());
    bool input = (has(a, "read") || has(a, "exec")) && f.contains("sha256");
    // what the step made itself is an output, not a dependency
    if (input && !has(a, "create")) deps.push_back(file_descriptor(f));
  }
  const std::string head = sum.value("journal", json::object()).value("sha256_head", "");
  json predicate = {
      {"buildDefinition",
       {{"buildType", "urn:stepseal:buildtype:traced-step:v1"},
        {"externalParameters", {{"argv", step.value("argv", json::array())},
                                {"cwd", step.value("cwd", "")}}},
        {"internalParameters", {{"step", s.step_name},
                                {"host", s.header.value("host", "")},
                                {"kernel", s.header.value("kernel", "")},
                                {"enforcement", enforcement(s)}}},
        {"resolvedDependencies", deps}}},
      {"runDetails",
       {{"builder", {{"id", builder_id(s)},
                     {"version", {{"stepseal", s.header.value("stepseal_version", "")}}},
                     {"builderDependencies",
                      json::array({{{"name", "stepseal"},
                                    {"digest", {{"sha256", s.header.value("stepseal_sha256", "")}}}}})}}},
        {"metadata", {{"invocationId", "journal:sha256:" + head},
                      {"startedOn", step.value("started", "")},
                      {"finishedOn", step.value("finished", json())}}},
        {"byproducts", json::array({{{"name", "journal"},
                                     {"digest", {{"sha256", head}}},
                                     {"annotations", completeness(s)}}})}}},
  };
  return make_statement(subjects, kSlsaProvenance, std::move(predicate));
}

AttestedStep attested_step(const json& st) {
  AttestedStep a;
  const std::string type = st.value("predicateType", "");
  const json& p = st.value("predicate", json::object());
  if (type == kRuntimeTrace || type == kRuntimeTraceV01) {
    a.step = p.value("step", json::object()).value("name", "");
    const json& c = p.value("completeness", json::object());
    a.journal_head = c.value("journal", json::object()).value("sha256_head", "");
    if (c.contains("complete") && c["complete"].is_boolean()) a.complete = c["complete"].get<bool>();
    a.enforcement = p.value("enforcement", json());
  } else if (type == kLayerContents) {
    a.step = p.value("step", json::object()).value("name", "");
    a.complete = true;  // read whole from the layer
  } else if (type == kSlsaProvenance &&
             p.value("buildDefinition", json::object()).value("buildType", "") == kBuildType) {
    const json& ip = p["buildDefinition"].value("internalParameters", json::object());
    a.step = "build";
    if (ip.contains("complete") && ip["complete"].is_boolean()) a.complete = ip["complete"].get<bool>();
  } else if (type == kSlsaProvenance) {
    const json& bd = p.value("buildDefinition", json::object());
    a.step = bd.value("internalParameters", json::object()).value("step", "");
    const json& bp = p.value("runDetails", json::object()).value("byproducts", json::array());
    if (!bp.empty()) {
      a.journal_head = bp[0].value("digest", json::object()).value("sha256", "");
      const json& ann = bp[0].value("annotations", json::object());
      if (ann.contains("complete") && ann["complete"].is_boolean()) a.complete = ann["complete"].get<bool>();
    }
    a.enforcement = bd.value("internalParameters", json::object()).value("enforcement", json());
  }
  return a;
}

json intoto_link(const StepContext& s, const Key& key) {
  const json& sum = s.summary;
  json materials = json::object(), products = json::object();
  for (const auto& f : sum.value("files", json::array())) {
    const json& a = f.value("access", json::array());
    const std::string path = f.value("path", "");
    if ((has(a, "read") || has(a, "exec")) && f.contains("sha256") && !has(a, "create"))
      materials[path] = {{"sha256", f["sha256"]}};
    if (f.contains("sha256_after")) products[path] = {{"sha256", f["sha256_after"]}};
  }
  const json& step = sum.value("step", json::object());
  json signed_part = {
      {"_type", "link"},
      {"name", s.step_name},
      {"materials", materials},
      {"products", products},
      {"byproducts", {{"return-value", step.contains("exit_code") && step["exit_code"].is_number_integer()
                                           ? step["exit_code"].get<int>() : -1},
                      {"stdout", ""}, {"stderr", ""}}},
      {"command", step.value("argv", json::array())},
      {"environment", json::object()},
  };
  std::string sig = key.sign(canonical_json(signed_part));
  return {{"signatures", json::array({{{"keyid", key.keyid()}, {"sig", hex_encode(sig)}}})},
          {"signed", signed_part}};
}

}  // namespace stepseal::attest
