#include "forensics/queries.h"
#include "util/json.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

#include "forensics/case_index.h"
#include "forensics/text.h"
#include "policy/policy.h"
#include "util/time.h"

namespace stepseal::forensics {

using json = nlohmann::json;

namespace {

std::string short_hash(const std::string& h) { return h.size() > 12 ? h.substr(0, 12) : h; }

json integrity_json(const Integrity& i) {
  return {{"conclusive", i.conclusive()}, {"journals", i.journals}, {"damaged", i.damaged},
          {"incomplete", i.incomplete},   {"lost_events", i.lost_events}, {"gaps", i.gaps},
          {"problems", i.problems},       {"summary", integrity_line(i)}};
}

std::string argv_text(const std::string& argv_json) {
  json a = util::parse_bounded_json(argv_json);
  if (!a.is_array()) return "";
  std::string s;
  for (const auto& x : a)
    if (x.is_string()) s += (s.empty() ? "" : " ") + x.get<std::string>();
  return clean(s.size() > 160 ? s.substr(0, 157) + "..." : s);
}

struct ProcRow {
  int64_t id = 0, journal = 0, pid = 0;
  std::optional<int64_t> parent, exit_code, start_ns, end_ns;
  std::string exe, exe_sha256, exe_digest, argv, cwd;
};

const char* kProcCols =
    "p.id, p.journal, p.pid, p.parent, p.exe, p.exe_sha256, p.exe_digest, p.argv, p.cwd, "
    "p.start_ns, p.end_ns, p.exit_code";

ProcRow proc_row(const Stmt& s, int c = 0) {
  ProcRow r;
  r.id = s.integer(c);
  r.journal = s.integer(c + 1);
  r.pid = s.integer(c + 2);
  if (!s.is_null(c + 3)) r.parent = s.integer(c + 3);
  r.exe = s.text(c + 4);
  r.exe_sha256 = s.text(c + 5);
  r.exe_digest = s.text(c + 6);
  r.argv = s.text(c + 7);
  r.cwd = s.text(c + 8);
  if (!s.is_null(c + 9)) r.start_ns = s.integer(c + 9);
  if (!s.is_null(c + 10)) r.end_ns = s.integer(c + 10);
  if (!s.is_null(c + 11)) r.exit_code = s.integer(c + 11);
  return r;
}

std::string exe_digest_text(const ProcRow& p) {
  if (!p.exe_sha256.empty()) return "sha256 " + short_hash(p.exe_sha256);
  return p.exe_digest.empty() ? "no digest" : p.exe_digest;
}

json proc_json(const ProcRow& p) {
  json j = {{"process", p.id}, {"journal", p.journal}, {"pid", p.pid}, {"exe", p.exe},
            {"exe_sha256", p.exe_sha256.empty() ? json(nullptr) : json(p.exe_sha256)},
            {"argv", util::parse_bounded_json(p.argv.empty() ? "[]" : p.argv)}, {"cwd", p.cwd}};
  if (!p.exe_digest.empty() && p.exe_sha256.empty()) j["exe_digest"] = p.exe_digest;
  j["exit_code"] = p.exit_code ? json(*p.exit_code) : json(nullptr);
  j["duration_s"] = p.start_ns && p.end_ns && *p.end_ns >= *p.start_ns
                        ? json(static_cast<double>(*p.end_ns - *p.start_ns) / 1e9)
                        : json(nullptr);
  return j;
}

std::string proc_line(const ProcRow& p) {
  if (p.id == 0) return "? (a process the record did not see start or exec)";
  char dur[32] = "";
  if (p.start_ns && p.end_ns && *p.end_ns >= *p.start_ns)
    snprintf(dur, sizeof dur, ", %.3f s", static_cast<double>(*p.end_ns - *p.start_ns) / 1e9);
  return std::to_string(p.pid) + " " + (p.exe.empty() ? "(no exec)" : clean(p.exe)) + " [" +
         exe_digest_text(p) + "] exit " + (p.exit_code ? std::to_string(*p.exit_code) : "?") + dur +
         (p.argv.empty() ? "" : ": " + argv_text(p.argv));
}

}  // namespace

// ---- tree -----------------------------------------------------------------------------------

void tree(Db& db, const TreeOptions& o, std::ostream& out) {
  const Integrity in = integrity(db);
  json doc = {{"record", integrity_json(in)}, {"journals", json::array()}};
  if (o.format == Format::kText) out << integrity_line(in) << "\n";
  Stmt js = db.prepare("SELECT id, path, step, argv, exit_code, intact, complete FROM journal ORDER BY build, step, id");
  Stmt ps = db.prepare(std::string("SELECT ") + kProcCols + " FROM process p WHERE p.journal = ? ORDER BY p.id");
  Stmt fs = db.prepare(
      "SELECT op, path, sha256, errno FROM file_op WHERE process = ? AND (?2 OR op != 'failed') AND "
      "(?3 OR op = 'failed') GROUP BY op, path ORDER BY min(ts_ns)");
  Stmt ns = db.prepare(
      "SELECT op, protocol, address, port, errno, count FROM network WHERE process = ? ORDER BY ts_ns");
  while (js.step()) {
    const int64_t jid = js.integer(0);
    json jj = {{"journal", jid}, {"path", js.text(1)},
               {"step", js.is_null(2) ? json(nullptr) : json(js.integer(2))},
               {"argv", util::parse_bounded_json(js.text(3).empty() ? "[]" : js.text(3))},
               {"intact", js.integer(5) != 0}, {"complete", js.integer(6) != 0}};
    if (o.format == Format::kText)
      out << "journal " << clean(js.text(1)) << (js.is_null(2) ? "" : " (step " + std::to_string(js.integer(2)) + ")")
          << (js.integer(5) ? "" : " DAMAGED") << (js.integer(6) ? "" : " incomplete") << "\n";
    std::vector<ProcRow> procs;
    ps.bind(1, jid);
    while (ps.step()) procs.push_back(proc_row(ps));
    ps.reset();
    std::map<int64_t, std::vector<size_t>> kids;
    std::vector<size_t> roots;
    std::map<int64_t, size_t> by_id;
    for (size_t i = 0; i < procs.size(); i++) by_id[procs[i].id] = i;
    for (size_t i = 0; i < procs.size(); i++) {
      if (procs[i].parent && by_id.count(*procs[i].parent)) kids[*procs[i].parent].push_back(i);
      else roots.push_back(i);
    }
    // depth first, iteratively (a chain of thousands of processes must not exhaust the stack);
    // JSON lists the processes flat, in that order, each with its parent and depth
    json flat = json::array();
    std::vector<std::pair<size_t, int>> stack;
    for (size_t r = roots.size(); r-- > 0;) stack.emplace_back(roots[r], 0);
    while (!stack.empty()) {
      auto [i, depth] = stack.back();
      stack.pop_back();
      const ProcRow& p = procs[i];
      json pj = proc_json(p);
      pj["parent"] = p.parent && by_id.count(*p.parent) ? json(*p.parent) : json(nullptr);
      pj["depth"] = depth;
      if (o.format == Format::kText) out << std::string(2 + 2 * std::min(depth, 40), ' ') << proc_line(p) << "\n";
      const std::string pad(4 + 2 * std::min(depth, 40), ' ');
      if (o.files || o.failed) {
        json files = json::array();
        fs.bind(1, p.id).bind(2, o.files ? 1 : 0).bind(3, o.failed ? 1 : 0);
        while (fs.step()) {
          files.push_back({{"op", fs.text(0)}, {"path", fs.text(1)},
                           {"sha256", fs.is_null(2) ? json(nullptr) : json(fs.text(2))},
                           {"errno", fs.is_null(3) ? json(nullptr) : json(fs.text(3))}});
          if (o.format == Format::kText)
            out << pad << fs.text(0) << " " << clean(fs.text(1))
                << (fs.is_null(2) ? "" : "  sha256 " + short_hash(fs.text(2)))
                << (fs.is_null(3) ? "" : "  " + fs.text(3)) << "\n";
        }
        fs.reset();
        pj["files"] = files;
      }
      if (o.net) {
        json net = json::array();
        ns.bind(1, p.id);
        while (ns.step()) {
          net.push_back({{"op", ns.text(0)}, {"protocol", ns.text(1)}, {"address", ns.text(2)},
                         {"port", ns.is_null(3) ? json(nullptr) : json(ns.integer(3))},
                         {"errno", ns.is_null(4) ? json(nullptr) : json(ns.text(4))},
                         {"count", ns.integer(5)}});
          if (o.format == Format::kText)
            out << pad << "net " << ns.text(0) << " " << ns.text(1) << " " << clean(ns.text(2))
                << (ns.is_null(3) ? "" : ":" + std::to_string(ns.integer(3))) << " -> "
                << (ns.is_null(4) ? "ok" : ns.text(4)) << "\n";
        }
        ns.reset();
        pj["network"] = net;
      }
      if (o.format == Format::kJson) flat.push_back(std::move(pj));
      const auto& c = kids[p.id];
      for (size_t k = c.size(); k-- > 0;) stack.emplace_back(c[k], depth + 1);
    }
    json roots_j = std::move(flat);
    jj["processes"] = roots_j;
    doc["journals"].push_back(jj);
  }
  if (o.format == Format::kJson) out << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

// ---- events ---------------------------------------------------------------------------------

const std::set<std::string>& event_kinds() {
  static const std::set<std::string> k = {"exec",   "read", "write", "overwrite", "delete",
                                          "rename", "net",  "dns",   "failed"};
  return k;
}

uint64_t events(Db& db, const EventFilter& f, std::ostream& out) {
  for (const auto& k : f.kinds)
    if (!event_kinds().count(k)) throw std::invalid_argument("unknown event kind '" + k + "'");
  auto want = [&](const char* k) { return f.kinds.empty() || f.kinds.count(k); };
  std::vector<std::string> ops;
  if (want("exec")) ops.push_back("exec");
  if (want("read")) ops.insert(ops.end(), {"read", "path"});
  if (want("write")) ops.insert(ops.end(), {"create", "write", "mmap_write", "link", "chmod", "chown", "times"});
  if (want("overwrite")) ops.push_back("overwrite");
  if (want("delete")) ops.push_back("delete");
  if (want("rename")) ops.insert(ops.end(), {"rename_from", "rename_to"});
  if (want("failed")) ops.push_back("failed");
  std::string in;
  for (const auto& o : ops) in += (in.empty() ? "'" : ",'") + o + "'";
  // ?1 pid, ?2 path glob, ?3 since, ?4 until (wall clock ns)
  const std::string common =
      " AND (?1 IS NULL OR p.pid = ?1) AND (?3 IS NULL OR t >= ?3) AND (?4 IS NULL OR t <= ?4)";
  std::vector<std::string> parts;
  if (!in.empty())
    parts.push_back(
        "SELECT f.ts_ns + j.realtime_minus_monotonic_ns AS t, j.path AS journal, p.pid AS pid, "
        "p.exe AS exe, f.op AS kind, f.path AS what, f.errno AS errno, f.sha256 AS sha256 "
        "FROM file_op f JOIN journal j ON j.id = f.journal LEFT JOIN process p ON p.id = f.process "
        "WHERE f.op IN (" + in + ") AND (?2 IS NULL OR f.path GLOB ?2)" + common);
  const bool net_failed = want("failed") && !want("net");
  if (want("net") || net_failed)
    parts.push_back(
        "SELECT n.ts_ns + j.realtime_minus_monotonic_ns AS t, j.path, p.pid, p.exe, "
        "'net:' || n.op, coalesce(n.protocol, '') || ' ' || coalesce(n.address, '') || "
        "coalesce(':' || n.port, ''), n.errno, NULL FROM network n JOIN journal j ON j.id = n.journal "
        "LEFT JOIN process p ON p.id = n.process WHERE ?2 IS NULL" +
        std::string(net_failed ? " AND n.errno IS NOT NULL" : "") + common);
  if (want("dns"))
    parts.push_back(
        "SELECT d.ts_ns + j.realtime_minus_monotonic_ns AS t, j.path, p.pid, p.exe, 'dns', "
        "coalesce(d.qtype, '?') || ' ' || coalesce(d.name, '(unreadable)') || ' via ' || "
        "coalesce(nullif(d.server, ''), 'connected socket'), NULL, NULL FROM dns d "
        "JOIN journal j ON j.id = d.journal LEFT JOIN process p ON p.id = d.process "
        "WHERE ?2 IS NULL" + common);
  const Integrity integ = integrity(db);
  if (f.format == Format::kText) out << integrity_line(integ) << "\n";
  else out << json({{"record", integrity_json(integ)}}).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  if (parts.empty()) return 0;
  std::string sql;
  for (const auto& p : parts) sql += (sql.empty() ? "" : " UNION ALL ") + p;
  sql += " ORDER BY 1";
  Stmt s = db.prepare(sql);
  if (f.pid) s.bind(1, *f.pid); else s.bind_null(1);
  if (!f.path_glob.empty()) s.bind(2, f.path_glob); else s.bind_null(2);
  if (f.since_ns) s.bind(3, *f.since_ns); else s.bind_null(3);
  if (f.until_ns) s.bind(4, *f.until_ns); else s.bind_null(4);
  uint64_t n = 0;
  while (s.step()) {
    n++;
    const std::string when = rfc3339(s.integer(0));
    if (f.format == Format::kJson) {
      out << json({{"time", when}, {"journal", s.text(1)},
                   {"pid", s.is_null(2) ? json(nullptr) : json(s.integer(2))},
                   {"exe", s.text(3)}, {"kind", s.text(4)}, {"what", s.text(5)},
                   {"errno", s.is_null(6) ? json(nullptr) : json(s.text(6))},
                   {"sha256", s.is_null(7) ? json(nullptr) : json(s.text(7))}})
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
          << "\n";
    } else {
      out << when << " " << (s.is_null(2) ? std::string("?") : std::to_string(s.integer(2))) << " "
          << s.text(4) << " " << clean(s.text(5)) << (s.is_null(6) ? "" : "  -> " + s.text(6))
          << (s.is_null(7) ? "" : "  sha256 " + short_hash(s.text(7))) << "\n";
    }
  }
  return n;
}

// ---- who ------------------------------------------------------------------------------------

uint64_t who(Db& db, const std::string& path, Format format, std::ostream& out) {
  const Integrity integ = integrity(db);
  Stmt s = db.prepare(std::string("SELECT ") + kProcCols +
                      ", f.op, f.sha256, f.errno, min(f.ts_ns) + j.realtime_minus_monotonic_ns, j.path "
                      "FROM file_op f LEFT JOIN process p ON p.id = f.process JOIN journal j ON "
                      "j.id = f.journal WHERE f.path = ? GROUP BY f.journal, p.id, f.op, f.sha256, f.errno "
                      "ORDER BY min(f.ts_ns), min(f.seq)");
  s.bind(1, path);
  struct Seen {
    ProcRow p;
    std::string journal;
    int64_t first = 0;
    json ops = json::array();
  };
  std::vector<Seen> procs;
  std::map<int64_t, size_t> at;
  while (s.step()) {
    ProcRow p = proc_row(s);
    auto [it, fresh] = at.emplace(p.id, procs.size());
    if (fresh) procs.push_back({p, s.text(16), s.integer(15)});
    json op = {{"op", s.text(12)}};
    if (!s.is_null(13)) op["sha256"] = s.text(13);
    if (!s.is_null(14)) op["errno"] = s.text(14);
    json& ops = procs[it->second].ops;
    if (std::find(ops.begin(), ops.end(), op) == ops.end()) ops.push_back(op);
  }
  // and what the step's file table says of the path at the end (digests before, after)
  Stmt fsum = db.prepare("SELECT j.path, f.access, f.sha256, f.before_sha256, f.after_sha256 FROM file f "
                         "JOIN journal j ON j.id = f.journal WHERE f.path = ? ORDER BY j.id");
  fsum.bind(1, path);
  if (format == Format::kJson) {
    json doc = {{"record", integrity_json(integ)}, {"path", path}, {"processes", json::array()},
                {"files", json::array()}};
    for (auto& x : procs) {
      json pj = proc_json(x.p);
      pj["time"] = rfc3339(x.first);
      pj["ops"] = x.ops;
      doc["processes"].push_back(pj);
    }
    while (fsum.step())
      doc["files"].push_back({{"journal", fsum.text(0)}, {"access", fsum.text(1)},
                              {"sha256", fsum.is_null(2) ? json(nullptr) : json(fsum.text(2))},
                              {"sha256_before", fsum.is_null(3) ? json(nullptr) : json(fsum.text(3))},
                              {"sha256_after", fsum.is_null(4) ? json(nullptr) : json(fsum.text(4))}});
    out << doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return procs.size();
  }
  out << integrity_line(integ) << "\n";
  if (procs.empty())
    out << clean(path) << ": no process of the record touched it"
        << (integ.conclusive() ? "" : " (as far as the record shows)") << "\n";
  for (auto& x : procs) {
    std::string ops;
    for (const auto& o : x.ops)
      ops += (ops.empty() ? "" : ", ") + o["op"].get<std::string>() +
             (o.contains("sha256") ? " sha256 " + short_hash(o["sha256"]) : "") +
             (o.contains("errno") ? " " + o["errno"].get<std::string>() : "");
    out << rfc3339(x.first) << "  " << proc_line(x.p) << "\n    " << ops << "\n";
  }
  while (fsum.step())
    out << "file in " << clean(fsum.text(0)) << ": " << fsum.text(1)
        << (fsum.is_null(3) ? "" : "; before sha256 " + short_hash(fsum.text(3)))
        << (fsum.is_null(4) ? "" : "; after sha256 " + short_hash(fsum.text(4))) << "\n";
  return procs.size();
}

// ---- why ------------------------------------------------------------------------------------

bool system_path(const std::string& p) {
  return policy::path_within(p, "/proc") || policy::path_within(p, "/sys") ||
         policy::path_within(p, "/dev");
}

namespace {

// f.journal is an earlier step of a build journal ?2 belongs to
constexpr const char* kEarlierStep =
    "f.journal IN (SELECT e.journal FROM journal_input e JOIN journal_input c ON c.build = e.build "
    "WHERE c.journal = ?2 AND e.step < c.step)";
// how many makers of one path are listed (the rest are counted)
constexpr size_t kMaxMakers = 64;

class WhyWalker {
 public:
  WhyWalker(Db& db, const WhyOptions& o)
      : o_(o),
        // every process that made PATH before the read in question: earlier in the same
        // journal, or in an earlier step of the same build; newest first (wall clock)
        writers_(db.prepare(std::string("SELECT ") + kProcCols + ", f.op, f.ts_ns FROM file_op f "
                            "JOIN process p ON p.id = f.process JOIN journal j ON j.id = f.journal "
                            "WHERE f.path = ?1 AND "
                            "f.op IN ('create','write','overwrite','rename_to','link','mmap_write') "
                            "AND (?2 IS NULL OR (f.journal = ?2 AND f.ts_ns <= ?3) OR " + kEarlierStep + ") "
                            "GROUP BY p.id ORDER BY max(f.ts_ns + j.realtime_minus_monotonic_ns) DESC")),
        renamed_(db.prepare("SELECT path FROM file_op WHERE process = ? AND op = 'rename_from' "
                            "AND ts_ns = ? LIMIT 1")),
        // what it read, and what it executed (a planted compiler or script is an input too)
        inputs_(db.prepare("SELECT path, max(sha256), min(ts_ns), max(op = 'exec') FROM file_op "
                           "WHERE process = ? AND op IN ('read', 'exec') GROUP BY path ORDER BY min(ts_ns)")),
        made_(db.prepare(std::string("SELECT 1 FROM file_op f WHERE f.path = ?1 AND ((f.journal = ?2 "
                         "AND f.ts_ns <= ?3) OR ") + kEarlierStep + ") AND "
                         "f.op IN ('create','write','overwrite','rename_to','link','mmap_write') LIMIT 1")),
        after_(db.prepare("SELECT after_sha256, sha256 FROM file WHERE path = ? ORDER BY journal DESC LIMIT 1")) {}

  // Who made PATH (before TS in journal J, when given).
  json explain(const std::string& path, std::optional<int64_t> journal, int64_t ts, int depth) {
    json node = {{"path", path}, {"made_by", json::array()}};
    writers_.bind(1, path);
    if (journal) writers_.bind(2, *journal).bind(3, ts); else writers_.bind_null(2).bind_null(3);
    std::vector<std::tuple<ProcRow, std::string, int64_t>> ws;
    size_t more = 0;
    while (writers_.step()) {
      if (ws.size() < kMaxMakers) ws.emplace_back(proc_row(writers_), writers_.text(12), writers_.integer(13));
      else more++;
    }
    writers_.reset();
    if (more) node["makers_not_listed"] = more;
    for (auto& [p, op, when] : ws) {
      json w = proc_json(p);
      w["op"] = op;
      if (visited_.count(p.id) || depth >= o_.depth) {
        w["inputs"] = visited_.count(p.id) ? json("see above") : json("depth limit");
        node["made_by"].push_back(w);
        continue;
      }
      visited_.insert(p.id);
      json inputs = json::array();
      if (op == "rename_to") {  // made elsewhere and moved here: follow the old name
        renamed_.bind(1, p.id).bind(2, when);
        if (renamed_.step()) {
          const std::string from = renamed_.text(0);
          renamed_.reset();
          json sub = explain(from, p.journal, when, depth + 1);
          sub["renamed_to"] = path;
          inputs.push_back(sub);
        } else {
          renamed_.reset();
        }
      }
      inputs_.bind(1, p.id);
      std::vector<std::tuple<std::string, std::string, int64_t, bool>> reads;
      while (inputs_.step())
        reads.emplace_back(inputs_.text(0), inputs_.text(1), inputs_.integer(2), inputs_.integer(3) != 0);
      inputs_.reset();
      for (auto& [in, sha, at, executed] : reads) {
        if (in == path || (!o_.system && system_path(in))) continue;
        made_.bind(1, in).bind(2, p.journal).bind(3, at);
        const bool made_here = made_.step();
        made_.reset();
        json sub = made_here ? explain(in, p.journal, at, depth + 1) : json{{"path", in}, {"source", true}};
        sub["sha256"] = sha.empty() ? json(nullptr) : json(sha);
        if (executed) sub["executed"] = true;
        inputs.push_back(sub);
      }
      w["inputs"] = inputs;
      node["made_by"].push_back(w);
    }
    return node;
  }

  void print(const json& node, int depth, std::ostream& out) const {
    const std::string pad(2 * depth, ' ');
    if (node.contains("makers_not_listed"))
      out << pad << "  (" << node["makers_not_listed"].get<size_t>() << " more processes made it: see who)\n";
    for (const auto& w : node["made_by"]) {
      out << pad << "  " << w.value("op", "") << " by " << w.value("pid", 0) << " "
          << clean(w.value("exe", "")) << " ["
          << (w["exe_sha256"].is_string() ? "sha256 " + short_hash(w["exe_sha256"]) : std::string("no digest"))
          << "]";
      std::string args;
      for (const auto& a : w["argv"]) args += (args.empty() ? "" : " ") + a.get<std::string>();
      out << ": " << clean(args.size() > 140 ? args.substr(0, 137) + "..." : args) << "\n";
      if (w["inputs"].is_string()) {
        out << pad << "    (" << w["inputs"].get<std::string>() << ")\n";
        continue;
      }
      for (const auto& in : w["inputs"]) {
        const std::string sha = in.contains("sha256") && in["sha256"].is_string()
                                    ? "  sha256 " + short_hash(in["sha256"]) : "  (no digest)";
        const char* verb = in.contains("renamed_to") ? "renamed from " : in.value("executed", false) ? "exec " : "read ";
        out << pad << "    " << verb << clean(in.value("path", "")) << (in.contains("renamed_to") ? "" : sha) << "\n";
        if (!in.value("source", false)) print(in, depth + 2, out);
      }
    }
  }

  std::string final_digest(const std::string& path) {
    after_.bind(1, path);
    std::string h;
    if (after_.step()) h = !after_.is_null(0) ? after_.text(0) : after_.text(1);
    after_.reset();
    return h;
  }

 private:
  const WhyOptions& o_;
  Stmt writers_, renamed_, inputs_, made_, after_;
  std::set<int64_t> visited_;
};

}  // namespace

bool why(Db& db, const std::string& path, const WhyOptions& o, std::ostream& out) {
  const Integrity integ = integrity(db);
  WhyWalker w(db, o);
  json node = w.explain(path, std::nullopt, 0, 0);
  const std::string sha = w.final_digest(path);
  node["sha256"] = sha.empty() ? json(nullptr) : json(sha);
  const bool found = !node["made_by"].empty();
  if (o.format == Format::kJson) {
    out << json({{"record", integrity_json(integ)}, {"why", node}}).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return found;
  }
  out << integrity_line(integ) << "\n";
  out << clean(path) << (sha.empty() ? "" : "  sha256 " + short_hash(sha)) << "\n";
  if (!found) out << "  no process of the record made it" << (integ.conclusive() ? "" : " (as far as the record shows)") << "\n";
  w.print(node, 0, out);
  if (found) out << "(inputs that came through pipes, sockets or the network are not files: not shown)\n";
  return found;
}

}  // namespace stepseal::forensics
