#include "forensics/export.h"
#include "util/json.h"

#include <algorithm>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "forensics/case_index.h"
#include "forensics/sqlite_db.h"
#include "util/time.h"

namespace stepseal::forensics {

using json = nlohmann::json;

namespace {

constexpr auto kReplace = json::error_handler_t::replace;  // paths are bytes; JSON wants UTF-8

// process.entity_id: the journal (head prefix), the pid and its start: the same process has the
// same id whichever index or journal it is exported from
std::string entity(const std::string& head, int64_t pid, int64_t start_ns) {
  return head.substr(0, 16) + "-" + std::to_string(pid) + "-" + std::to_string(start_ns);
}

json argv_of(const std::string& text) {
  json a = util::parse_bounded_json(text.empty() ? "[]" : text);
  return a.is_array() ? a : json::array();
}

// the ECS "event.category" of a file operation
const char* file_type(const std::string& op) {
  if (op == "read" || op == "path") return "access";
  if (op == "exec") return "access";
  if (op == "create") return "creation";
  if (op == "delete") return "deletion";
  return "change";
}

}  // namespace

uint64_t export_ecs(Db& db, std::ostream& out) {
  uint64_t n = 0;
  const bool conclusive = integrity(db).conclusive();
  auto emit = [&](json j) {
    j["stepseal"]["record_conclusive"] = conclusive;  // false: what is absent may have happened
    out << j.dump(-1, ' ', false, kReplace) << "\n";
    n++;
  };
  // processes: one "start" event each (its exec), with ECS's process fields
  Stmt ps = db.prepare(
      "SELECT p.id, j.head, j.step, p.pid, p.ppid, p.exe, p.exe_sha256, p.argv, p.cwd, "
      "coalesce(p.exec_ns, p.start_ns) + j.realtime_minus_monotonic_ns, p.exit_code, q.pid, "
      "p.start_ns, q.start_ns "
      "FROM process p JOIN journal j ON j.id = p.journal LEFT JOIN process q ON q.id = p.parent "
      "WHERE p.exe IS NOT NULL ORDER BY p.id");
  while (ps.step()) {
    json proc = {{"pid", ps.integer(3)},
                 {"entity_id", entity(ps.text(1), ps.integer(3), ps.integer(12))},
                 {"executable", ps.text(5)},
                 {"args", argv_of(ps.text(7))},
                 {"working_directory", ps.text(8)},
                 {"parent", {{"pid", ps.integer(4)}}}};
    if (!ps.is_null(11)) proc["parent"]["entity_id"] = entity(ps.text(1), ps.integer(11), ps.integer(13));
    if (!ps.is_null(6)) proc["hash"] = {{"sha256", ps.text(6)}};
    if (!ps.is_null(10)) proc["exit_code"] = ps.integer(10);
    emit({{"@timestamp", rfc3339(ps.integer(9))},
          {"event", {{"kind", "event"}, {"category", {"process"}}, {"type", {"start"}},
                     {"action", "exec"}, {"outcome", "success"}}},
          {"process", proc},
          {"stepseal", {{"journal", ps.text(1)}, {"step", ps.is_null(2) ? json(nullptr) : json(ps.integer(2))}}}});
  }
  auto process_of = [](const Stmt& s, int c) {
    json p = {{"pid", s.integer(c)}, {"executable", s.text(c + 1)},
              {"entity_id", entity(s.text(c + 3), s.integer(c), s.integer(c + 2))}};
    return p;
  };
  Stmt fs = db.prepare(
      "SELECT f.ts_ns + j.realtime_minus_monotonic_ns, f.op, f.path, f.errno, f.call, f.sha256, "
      "p.pid, p.exe, p.start_ns, j.head FROM file_op f JOIN journal j ON j.id = f.journal "
      "LEFT JOIN process p ON p.id = f.process WHERE f.op != 'path' ORDER BY f.journal, f.ts_ns");
  while (fs.step()) {
    const bool failed = fs.text(1) == "failed";
    json e = {{"@timestamp", rfc3339(fs.integer(0))},
              {"event", {{"kind", "event"}, {"category", {"file"}},
                         {"type", {failed ? "access" : file_type(fs.text(1))}},
                         {"action", failed ? fs.text(4) : fs.text(1)},
                         {"outcome", failed ? "failure" : "success"}}},
              {"file", {{"path", fs.text(2)}}},
              {"stepseal", {{"journal", fs.text(9)}}}};
    if (!fs.is_null(5)) e["file"]["hash"] = {{"sha256", fs.text(5)}};
    if (failed) e["error"] = {{"code", fs.text(3)}};
    if (!fs.is_null(6)) e["process"] = process_of(fs, 6);
    emit(e);
  }
  Stmt ns = db.prepare(
      "SELECT n.ts_ns + j.realtime_minus_monotonic_ns, n.op, n.protocol, n.address, n.port, n.errno, "
      "n.family, p.pid, p.exe, p.start_ns, j.head, n.count FROM network n JOIN journal j ON j.id = n.journal "
      "LEFT JOIN process p ON p.id = n.process ORDER BY n.journal, n.ts_ns");
  while (ns.step()) {
    json e = {{"@timestamp", rfc3339(ns.integer(0))},
              {"event", {{"kind", "event"}, {"category", {"network"}},
                         {"type", {ns.text(1) == "connect" ? "connection" : "info"}},
                         {"action", ns.text(1)},
                         {"outcome", ns.is_null(5) ? "success" : "failure"}}},
              {"network", {{"transport", ns.text(2)}, {"type", ns.text(6) == "inet6" ? "ipv6" : ns.text(6) == "inet" ? "ipv4" : ns.text(6)}}},
              {"stepseal", {{"journal", ns.text(10)}, {"count", ns.integer(11)}}}};
    if (!ns.text(3).empty()) {
      const char* side = ns.text(1) == "bind" || ns.text(1) == "listen" ? "source" : "destination";
      e[side] = {{"address", ns.text(3)}};
      if (ns.text(6) == "inet" || ns.text(6) == "inet6") e[side]["ip"] = ns.text(3);
      if (!ns.is_null(4)) e[side]["port"] = ns.integer(4);
    }
    if (!ns.is_null(5)) e["error"] = {{"code", ns.text(5)}};
    if (!ns.is_null(7)) e["process"] = process_of(ns, 7);
    emit(e);
  }
  Stmt ds = db.prepare(
      "SELECT d.ts_ns + j.realtime_minus_monotonic_ns, d.name, d.qtype, d.server, d.protocol, "
      "p.pid, p.exe, p.start_ns, j.head, d.count FROM dns d JOIN journal j ON j.id = d.journal "
      "LEFT JOIN process p ON p.id = d.process ORDER BY d.journal, d.ts_ns");
  while (ds.step()) {
    json e = {{"@timestamp", rfc3339(ds.integer(0))},
              {"event", {{"kind", "event"}, {"category", {"network"}}, {"type", {"protocol"}},
                         {"action", "dns-query"}, {"outcome", "unknown"}}},
              {"dns", {{"type", "query"}, {"question", {{"name", ds.text(1)}, {"type", ds.text(2)}}}}},
              {"network", {{"transport", ds.text(4)}, {"protocol", "dns"}}},
              {"stepseal", {{"journal", ds.text(8)}, {"count", ds.integer(9)}}}};
    if (!ds.text(3).empty()) e["destination"] = {{"ip", ds.text(3)}, {"port", 53}};
    if (!ds.is_null(5)) e["process"] = process_of(ds, 5);
    emit(e);
  }
  return n;
}

TimelineStats timeline(Db& db, std::ostream& out) {
  TimelineStats st;
  json events = json::array();
  // times in microseconds from the first thing recorded (wall clock: journals line up)
  Stmt t0s = db.prepare(
      "SELECT min(p.start_ns + j.realtime_minus_monotonic_ns) FROM process p JOIN journal j ON j.id = p.journal");
  int64_t t0 = t0s.step() && !t0s.is_null(0) ? t0s.integer(0) : 0;
  auto us = [&](int64_t wall_ns) { return static_cast<double>(wall_ns - t0) / 1000.0; };
  Stmt js = db.prepare("SELECT id, path, step, argv FROM journal ORDER BY id");
  while (js.step())
    events.push_back({{"ph", "M"}, {"name", "process_name"}, {"pid", js.integer(0)},
                      {"args", {{"name", js.text(1) + (js.is_null(2) ? "" : " (step " + std::to_string(js.integer(2)) + ")")}}}});
  // a track per process: one slice for its life
  Stmt ps = db.prepare(
      "SELECT p.id, p.journal, p.pid, p.exe, p.exe_sha256, p.argv, p.exit_code, "
      "p.start_ns + j.realtime_minus_monotonic_ns, "
      "coalesce(p.end_ns, (SELECT max(ts_ns) FROM file_op f WHERE f.process = p.id), p.start_ns) + "
      "j.realtime_minus_monotonic_ns, p.parent FROM process p JOIN journal j ON j.id = p.journal ORDER BY p.id");
  std::map<int64_t, std::pair<double, double>> life;  // process -> [start, end] in us
  std::map<int64_t, int64_t> journal_of;
  std::vector<std::pair<int64_t, int64_t>> spawns;  // (parent, child)
  while (ps.step()) {
    const int64_t id = ps.integer(0), jid = ps.integer(1);
    const double start = us(ps.integer(7));
    const double end = std::max(start, us(ps.integer(8)));
    life[id] = {start, end};
    journal_of[id] = jid;
    std::string exe = ps.text(3);
    std::string name = exe.empty() ? "(no exec)" : exe.substr(exe.rfind('/') + 1);
    events.push_back({{"ph", "M"}, {"name", "thread_name"}, {"pid", jid}, {"tid", id},
                      {"args", {{"name", std::to_string(ps.integer(2)) + " " + name}}}});
    json args = {{"pid", ps.integer(2)}, {"exe", exe}, {"argv", argv_of(ps.text(5))}};
    if (!ps.is_null(4)) args["sha256"] = ps.text(4);
    if (!ps.is_null(6)) args["exit_code"] = ps.integer(6);
    events.push_back({{"ph", "X"}, {"name", name}, {"cat", "process"}, {"pid", jid}, {"tid", id},
                      {"ts", start}, {"dur", end - start}, {"args", args}});
    st.processes++;
    if (!ps.is_null(9)) spawns.emplace_back(ps.integer(9), id);
  }
  // spawns: a flow from the parent's track to the child's, where the child starts
  for (auto [parent, child] : spawns) {
    auto p = life.find(parent), c = life.find(child);
    if (p == life.end() || c == life.end()) continue;
    // the flow starts inside the parent's slice (clamped: a child first seen after its
    // parent's end still binds)
    const double at = std::clamp(c->second.first, p->second.first, p->second.second);
    events.push_back({{"ph", "s"}, {"name", "spawn"}, {"cat", "spawn"}, {"id", child},
                      {"pid", journal_of[parent]}, {"tid", parent}, {"ts", at}});
    events.push_back({{"ph", "f"}, {"bp", "e"}, {"name", "spawn"}, {"cat", "spawn"}, {"id", child},
                      {"pid", journal_of[child]}, {"tid", child}, {"ts", c->second.first}});
    st.flows++;
  }
  // exec, file and network operations as instants on their process's track
  Stmt fs = db.prepare(
      "SELECT f.process, f.ts_ns + j.realtime_minus_monotonic_ns, f.op, f.path, f.errno, f.sha256 "
      "FROM file_op f JOIN journal j ON j.id = f.journal WHERE f.process IS NOT NULL AND f.op != 'path' "
      "ORDER BY f.process, f.ts_ns");
  while (fs.step()) {
    auto l = life.find(fs.integer(0));
    if (l == life.end()) continue;
    json args = {{"path", fs.text(3)}};
    if (!fs.is_null(4)) args["errno"] = fs.text(4);
    if (!fs.is_null(5)) args["sha256"] = fs.text(5);
    const double at = std::clamp(us(fs.integer(1)), l->second.first, l->second.second);
    events.push_back({{"ph", "i"}, {"s", "t"}, {"name", fs.text(2) + " " + fs.text(3)},
                      {"cat", fs.text(2) == "exec" ? "exec" : "file"}, {"pid", journal_of[fs.integer(0)]},
                      {"tid", fs.integer(0)}, {"ts", at}, {"args", args}});
    st.instants++;
  }
  Stmt ns = db.prepare(
      "SELECT n.process, n.ts_ns + j.realtime_minus_monotonic_ns, n.op, n.protocol, n.address, n.port, "
      "n.errno FROM network n JOIN journal j ON j.id = n.journal WHERE n.process IS NOT NULL");
  while (ns.step()) {
    auto l = life.find(ns.integer(0));
    if (l == life.end()) continue;
    const std::string dest = ns.text(4) + (ns.is_null(5) ? "" : ":" + std::to_string(ns.integer(5)));
    const double at = std::clamp(us(ns.integer(1)), l->second.first, l->second.second);
    events.push_back({{"ph", "i"}, {"s", "t"}, {"name", ns.text(2) + " " + ns.text(3) + " " + dest},
                      {"cat", "net"}, {"pid", journal_of[ns.integer(0)]}, {"tid", ns.integer(0)},
                      {"ts", at},
                      {"args", {{"destination", dest}, {"outcome", ns.is_null(6) ? "ok" : ns.text(6)}}}});
    st.instants++;
  }
  const Integrity in = integrity(db);
  out << json({{"traceEvents", events},
               {"displayTimeUnit", "ms"},
               {"otherData", {{"generator", "stepseal timeline"}, {"record", integrity_line(in)}}}})
             .dump(-1, ' ', false, kReplace)
      << "\n";
  return st;
}

}  // namespace stepseal::forensics
