#include "forensics/report.h"
#include "util/json.h"

#include <nlohmann/json.hpp>

#include "forensics/case_index.h"
#include "forensics/sqlite_db.h"

namespace stepseal::forensics {

using json = nlohmann::json;

namespace {

constexpr int kRows = 2000;  // per table section; the page says when there were more

// Rows of SQL as JSON objects, named by column; at most kRows (TRUNCATED set if there were more).
json rows(Db& db, const std::string& sql, bool& truncated) {
  Stmt s = db.prepare(sql + " LIMIT " + std::to_string(kRows + 1));
  json out = json::array();
  while (s.step()) {
    if (out.size() == kRows) {
      truncated = true;
      break;
    }
    json r = json::object();
    for (int c = 0; c < s.columns(); c++)
      r[s.column_name(c)] = s.is_null(c) ? json(nullptr) : json(s.text(c));
    out.push_back(r);
  }
  return out;
}

constexpr const char* kPage = R"HTML(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>stepseal report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1b1f23;background:#fff}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
.bad{background:#fde2e1;border:1px solid #e5534b;padding:8px}.good{background:#dcf5e3;border:1px solid #2da44e;padding:8px}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
code,.h{font-family:ui-monospace,monospace;font-size:12px}ul.tree{list-style:none;padding-left:16px}
.muted{color:#666}svg text{font:10px ui-monospace,monospace}
</style></head><body>
<h1>stepseal report</h1>
<div id="verdict"></div>
<p>Processes: <span id="process-count"></span> &middot; journals: <span id="journal-count"></span></p>
<h2>Completeness</h2><table id="journals"></table>
<h2>Process tree</h2><div id="tree"></div>
<h2>Timeline</h2><div id="timeline"></div>
<h2>Network</h2><table id="network"></table>
<h2>Overwritten and deleted</h2><table id="overwrites"></table>
<h2>Failures</h2><table id="failures"></table>
<h2>Executables</h2><table id="tools"></table>
<h2>Inputs</h2><table id="inputs"></table>
<h2>Outputs</h2><table id="outputs"></table>
<script id="data" type="application/json">@DATA@</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined && text !== null) e.textContent = String(text); if (cls) e.className = cls; return e; };
const short = h => h ? String(h).slice(0, 16) : "";
function table(id, cols, rows, more) {
  const t = document.getElementById(id);
  const head = el("tr"); cols.forEach(c => head.appendChild(el("th", c[1]))); t.appendChild(head);
  if (!rows.length) { const r = el("tr"); const td = el("td", "none", "muted"); td.colSpan = cols.length; r.appendChild(td); t.appendChild(r); }
  rows.forEach(row => { const r = el("tr"); cols.forEach(c => { const v = row[c[0]]; r.appendChild(el("td", c[2] ? c[2](v) : (v === null ? "" : v), c[2] ? "h" : "")); }); t.appendChild(r); });
  if (more) t.after(el("p", "(only the first rows: the index has more)", "muted"));
}
const v = document.getElementById("verdict");
v.appendChild(el("div", D.record.summary, D.record.conclusive ? "good" : "bad"));
document.getElementById("process-count").textContent = D.processes.length;
document.getElementById("journal-count").textContent = D.record.journals;
table("journals", [["path","journal"],["step","step"],["intact","intact"],["complete","complete"],["events","events"],["lost_events","lost"],["gaps","gaps"],["problem","problem"]], D.journals, D.more.journals);
const kids = new Map(); const roots = []; const ids = new Set(D.processes.map(p => p.id));
D.processes.forEach(p => { if (p.parent !== null && ids.has(p.parent)) { if (!kids.has(p.parent)) kids.set(p.parent, []); kids.get(p.parent).push(p); } else roots.push(p); });
function item(p) {
  const li = el("li"); li.appendChild(el("span", p.pid + " ")); li.appendChild(el("code", p.exe || "(no exec)"));
  li.appendChild(el("span", " " + (p.exe_sha256 ? "sha256 " + short(p.exe_sha256) : "no digest") + " exit " + (p.exit_code === null ? "?" : p.exit_code), "muted"));
  li.appendChild(el("div", p.argv, "muted h"));
  return li;
}
// iterative: a chain of thousands of processes must not exhaust the stack
const treeRoot = el("ul", undefined, "tree"); const stack = roots.slice().reverse().map(p => [p, treeRoot]);
while (stack.length) {
  const [p, parent] = stack.pop(); const li = item(p); parent.appendChild(li);
  const c = kids.get(p.id); if (c) { const ul = el("ul", undefined, "tree"); li.appendChild(ul); for (let i = c.length - 1; i >= 0; i--) stack.push([c[i], ul]); }
}
document.getElementById("tree").appendChild(treeRoot);
const NS = "http://www.w3.org/2000/svg";
const t0 = D.processes.reduce((m, p) => Math.min(m, +p.start_us), Infinity);
const t1 = D.processes.reduce((m, p) => Math.max(m, +p.end_us), t0 + 1);
const rowH = 14, W = 900, svg = document.createElementNS(NS, "svg");
svg.setAttribute("width", W + 260); svg.setAttribute("height", D.processes.length * rowH + 10);
D.processes.forEach((p, i) => {
  const x = 250 + (p.start_us - t0) / (t1 - t0) * W, w = Math.max(2, (p.end_us - p.start_us) / (t1 - t0) * W);
  const r = document.createElementNS(NS, "rect"); r.setAttribute("x", x); r.setAttribute("y", i * rowH + 2); r.setAttribute("width", w); r.setAttribute("height", rowH - 3);
  r.setAttribute("fill", p.exit_code === null || +p.exit_code === 0 ? "#4a86c5" : "#d9534f"); svg.appendChild(r);
  const tx = document.createElementNS(NS, "text"); tx.setAttribute("x", 2); tx.setAttribute("y", i * rowH + 11); tx.textContent = p.pid + " " + (p.exe || "").split("/").pop(); svg.appendChild(tx);
});
document.getElementById("timeline").appendChild(svg);
document.getElementById("timeline").appendChild(el("p", ((t1 - t0) / 1e6).toFixed(3) + " s from the first process to the last one's end", "muted"));
table("network", [["pid","pid"],["op","op"],["protocol","protocol"],["address","address"],["port","port"],["outcome","outcome"],["count","count"]], D.network, D.more.network);
table("overwrites", [["path","path"],["access","what"],["before_sha256","before",short],["after_sha256","after",short]], D.overwrites, D.more.overwrites);
table("failures", [["pid","pid"],["call","call"],["path","path"],["errno","errno"]], D.failures, D.more.failures);
table("tools", [["exe","executable"],["exe_sha256","sha256",short],["runs","runs"]], D.tools, D.more.tools);
table("inputs", [["path","path"],["sha256","sha256",short]], D.inputs, D.more.inputs);
table("outputs", [["path","path"],["sha256","sha256",short]], D.outputs, D.more.outputs);
document.body.setAttribute("data-rendered", "yes");
</script></body></html>
)HTML";

}  // namespace

ReportStats report(Db& db, std::ostream& out) {
  ReportStats st;
  const Integrity in = integrity(db);
  json d;
  d["record"] = {{"summary", integrity_line(in)}, {"conclusive", in.conclusive()}, {"journals", in.journals}};
  json more = json::object();
  bool t = false;
  d["journals"] = rows(db, "SELECT i.path, i.step, CASE i.intact WHEN 1 THEN 'yes' ELSE 'NO' END AS intact, "
                           "CASE j.complete WHEN 1 THEN 'yes' ELSE 'NO' END AS complete, j.events, "
                           "j.lost_events, j.gaps, coalesce(i.problem || coalesce(' at offset ' || i.bad_offset, ''), '') "
                           "AS problem FROM journal_input i JOIN journal j ON j.id = i.journal ORDER BY i.rowid", t);
  more["journals"] = t;
  st.truncated = st.truncated || t;
  // processes: every one (the tree and the timeline need them all); times in microseconds
  {
    Stmt s = db.prepare(
        "SELECT p.id, p.parent, p.pid, p.exe, p.exe_sha256, p.argv, p.exit_code, "
        "(p.start_ns + j.realtime_minus_monotonic_ns) / 1000, "
        "(coalesce(p.end_ns, p.start_ns) + j.realtime_minus_monotonic_ns) / 1000 "
        "FROM process p JOIN journal j ON j.id = p.journal ORDER BY p.id");
    json ps = json::array();
    while (s.step()) {
      json argv = util::parse_bounded_json(s.text(5).empty() ? "[]" : s.text(5));
      std::string a;
      if (argv.is_array())
        for (const auto& x : argv)
          if (x.is_string()) a += (a.empty() ? "" : " ") + x.get<std::string>();
      ps.push_back({{"id", s.integer(0)}, {"parent", s.is_null(1) ? json(nullptr) : json(s.integer(1))},
                    {"pid", s.integer(2)}, {"exe", s.text(3)},
                    {"exe_sha256", s.is_null(4) ? json(nullptr) : json(s.text(4))},
                    {"argv", a.size() > 400 ? a.substr(0, 397) + "..." : a},
                    {"exit_code", s.is_null(6) ? json(nullptr) : json(s.integer(6))},
                    {"start_us", s.integer(7)}, {"end_us", s.integer(8)}});
    }
    st.processes = ps.size();
    d["processes"] = ps;
  }
  auto section = [&](const char* key, const std::string& sql) {
    bool tr = false;
    d[key] = rows(db, sql, tr);
    more[key] = tr;
    st.truncated = st.truncated || tr;
  };
  section("network", "SELECT p.pid, n.op, n.protocol, n.address, n.port, coalesce(n.errno, 'ok') AS outcome, "
                     "n.count FROM network n LEFT JOIN process p ON p.id = n.process ORDER BY n.journal, n.ts_ns");
  section("overwrites", "SELECT path, access, before_sha256, after_sha256 FROM overwritten_sources ORDER BY journal, path");
  section("failures", "SELECT p.pid, f.call, f.path, f.errno FROM file_op f LEFT JOIN process p ON p.id = f.process "
                      "WHERE f.op = 'failed' GROUP BY f.process, f.call, f.path, f.errno ORDER BY min(f.ts_ns)");
  section("tools", "SELECT exe, exe_sha256, runs FROM tools ORDER BY runs DESC, exe");
  section("inputs", "SELECT DISTINCT path, sha256 FROM inputs ORDER BY path");
  section("outputs", "SELECT DISTINCT path, sha256 FROM outputs ORDER BY path");
  d["more"] = more;
  std::string data = d.dump(-1, ' ', false, json::error_handler_t::replace);
  // inside <script>: no "<", ">" or "&" at all (JSON's \u escapes), so no "</script", "<!--"
  // or "<script" in a recorded path or argv can end the data block or change how it is parsed
  std::string safe;
  safe.reserve(data.size());
  for (char c : data) {
    if (c == '<') safe += "\\u003c";
    else if (c == '>') safe += "\\u003e";
    else if (c == '&') safe += "\\u0026";
    else safe += c;
  }
  data = std::move(safe);
  std::string page = kPage;
  page.replace(page.find("@DATA@"), 6, data);
  out << page;
  return st;
}

}  // namespace stepseal::forensics
