#include "replay/step_record.h"

#include "journal/counters.h"

#include <algorithm>
#include <stdexcept>

namespace stepseal {

StepRecord replay_step(RecordSource& source, const ReplayTaps& taps) {
  StepRecord r;
  if (taps.file_op) r.model.set_op_sink(taps.file_op);
  auto apply = [&](const journal::Record& rec) {
    if (taps.record) taps.record(rec);
    switch (rec.type) {
      case journal::RecordType::HEADER:
        if (rec.json.is_object()) r.header = rec.json;
        break;
      case journal::RecordType::STEP_START:
        if (!rec.json.is_object()) break;
        r.start = rec.json;
        r.model.set_spawner(rec.json.value("spawner_pid", 0u));
        if (rec.json.value("mode", "") == "hardened" && rec.json.contains("policy")) {
          try {
            r.policy = policy::parse_policy(rec.json["policy"], "the journal's policy");
          } catch (const policy::PolicyError& e) {
            throw std::runtime_error(source.origin() + ": the recorded policy is invalid: " +
                                     e.what());
          }
          r.workspace = rec.json.value("workspace", "");
          if (rec.json.contains("exec_paths") && rec.json["exec_paths"].is_object())
            for (const auto& [k, v] : rec.json["exec_paths"].items())
              if (v.is_string()) r.exec_paths[k] = v.get<std::string>();
          // a RUN of a sterile build (build.md): its container's own mounts and namespace,
          // and the seal it started with
          if (rec.json.contains("build") && rec.json["build"].is_object()) {
            r.judge.container = true;
            const std::string ns = rec.json.value("network_namespace", "");
            if (ns == "own" || ns == "host") r.judge.own_netns = ns == "own";
          }
          for (const auto& x : rec.json.value("exec_implicit", nlohmann::json::array()))
            if (x.is_object() && x.value("path", nlohmann::json()).is_string() &&
                x.value("sha256", nlohmann::json()).is_string())
              r.exec_implicit.push_back({x["path"].get<std::string>(), x["sha256"].get<std::string>()});
        }
        break;
      case journal::RecordType::STEP_END:
        if (rec.json.is_object()) r.end = rec.json;
        break;
      case journal::RecordType::EVENT:
        r.model.apply(*rec.event);
        if (r.policy)
          if (auto v = policy::judge_event(*r.policy, r.workspace, *rec.event, &r.judge))
            r.violations.push_back(std::move(*v));
        break;
      case journal::RecordType::DIGEST:
        r.model.apply_digest(decode_digest(rec.json));
        break;
      default: break;
    }
  };
  while (auto rec = source.next()) apply(*rec);
  r.read = source.status();
  {
    // A digest is proven by "no writer" only from a record that saw every grant of write access:
    // not from a damaged, cut or skipped journal, nor from one whose probes lost events.
    nlohmann::json counters = r.end.value("counters", nlohmann::json::object());
    if (!counters.is_object()) counters = nlohmann::json::object();
    if (!r.read.intact || r.read.skipped_records || r.end.empty() ||
        journal::lost_events(counters) > 0)
      r.model.set_incomplete();
  }
  r.model.finish();
  // After --fail-fast, stepseal itself killed the whole tree: no process "outlived" the step.
  const bool stopped = r.end.contains("stopped_by") && r.end["stopped_by"].is_string();
  if (r.policy)
    for (const auto& p : r.model.processes())
      for (auto& v : policy::judge_process(*r.policy, p, r.exec_paths, r.exec_implicit))
        if (!(stopped && v.rule == "processes.daemon")) r.violations.push_back(std::move(v));
  r.model.set_op_sink(nullptr);  // the taps belong to this call
  std::stable_sort(r.violations.begin(), r.violations.end(),
                   [](const auto& a, const auto& b) { return a.ts_ns < b.ts_ns; });
  return r;
}

StepRecord load_step(const std::string& path) {
  JournalSource source(path);
  return replay_step(source);
}

}  // namespace stepseal
