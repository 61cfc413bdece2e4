#include "forensics/graph.h"

#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include <nlohmann/json.hpp>

#include "forensics/case_index.h"
#include "forensics/sqlite_db.h"
#include "forensics/text.h"

namespace stepseal::forensics {

using json = nlohmann::json;

namespace {

class Builder {
 public:
  explicit Builder(const GraphOptions& o) : o_(o) {}

  std::string file(const std::string& path, const std::string& sha = "") {
    std::string shown = path;
    for (const auto& d : o_.collapse)
      if (path.size() > d.size() && path.compare(0, d.size(), d) == 0 && path[d.size()] == '/') {
        shown = d + "/*";
        break;
      }
    const std::string id = "f:" + shown;
    auto [it, fresh] = nodes_.emplace(id, json{{"id", id}, {"kind", "file"}, {"path", shown}});
    if (fresh && shown != path) it->second["collapsed"] = true;
    if (!sha.empty() && shown == path) it->second["sha256"] = sha;
    return id;
  }
  std::string process(int64_t id, int64_t pid, const std::string& exe, const std::string& sha) {
    const std::string nid = "p:" + std::to_string(id);
    nodes_.emplace(nid, json{{"id", nid}, {"kind", "process"}, {"process", id}, {"pid", pid},
                             {"exe", exe}, {"sha256", sha.empty() ? json(nullptr) : json(sha)}});
    return nid;
  }
  void edge(const std::string& from, const std::string& to, const std::string& op) {
    edges_.insert({from, to, op});
  }

  GraphStats write(std::ostream& out, const std::string& record) const {
    if (o_.format == Format::kJson) {
      json n = json::array(), e = json::array();
      for (const auto& [id, node] : nodes_) n.push_back(node);
      for (const auto& [f, t, op] : edges_) e.push_back({{"from", f}, {"to", t}, {"op", op}});
      out << json({{"record", record}, {"nodes", n}, {"edges", e}})
                 .dump(2, ' ', false, json::error_handler_t::replace)
          << "\n";
      return {nodes_.size(), edges_.size()};
    }
    auto q = [](const std::string& s) {
      std::string r = "\"";
      for (char c : s) {
        if (c == '"' || c == '\\') r += '\\';
        if (c == '\n') r += "\\n";  // DOT's line break in a label
        else r += c;
      }
      return r + "\"";
    };
    out << "// " << clean(record) << "\ndigraph stepseal {\n  rankdir=LR;\n  node [fontsize=10];\n";
    for (const auto& [id, node] : nodes_) {
      if (node["kind"] == "process") {
        std::string exe = node.value("exe", "");
        std::string label = std::to_string(node.value("pid", 0)) + " " + exe.substr(exe.rfind('/') + 1);
        if (node["sha256"].is_string()) label += "\n" + node["sha256"].get<std::string>().substr(0, 12);
        out << "  " << q(id) << " [shape=box, style=filled, fillcolor=\"#dde8f7\", label=" << q(label) << "];\n";
      } else {
        std::string label = node.value("path", "");
        if (node.contains("sha256")) label += "\n" + node["sha256"].get<std::string>().substr(0, 12);
        out << "  " << q(id) << " [shape=note" << (node.contains("collapsed") ? ", style=dashed" : "")
            << ", label=" << q(label) << "];\n";
      }
    }
    for (const auto& [f, t, op] : edges_) {
      const char* style = op == "exec" ? "bold" : op == "spawn" ? "dotted" : op == "delete" ? "dashed" : "solid";
      out << "  " << q(f) << " -> " << q(t) << " [label=" << q(op) << ", style=" << style << "];\n";
    }
    out << "}\n";
    return {nodes_.size(), edges_.size()};
  }

 private:
  const GraphOptions& o_;
  std::map<std::string, json> nodes_;
  std::set<std::tuple<std::string, std::string, std::string>> edges_;
};

// why's tree as edges: input -> maker -> made
void add_why(Builder& b, const json& node) {
  const std::string made = b.file(node.value("path", ""), node["sha256"].is_string() ? node["sha256"].get<std::string>() : "");
  for (const auto& w : node.value("made_by", json::array())) {
    const std::string p = b.process(w.value("process", int64_t{0}), w.value("pid", int64_t{0}),
                                    w.value("exe", ""), w["exe_sha256"].is_string() ? w["exe_sha256"].get<std::string>() : "");
    b.edge(p, made, w.value("op", "write"));
    if (!w["inputs"].is_array()) continue;
    for (const auto& in : w["inputs"]) {
      const std::string f = b.file(in.value("path", ""), in.contains("sha256") && in["sha256"].is_string() ? in["sha256"].get<std::string>() : "");
      b.edge(f, p, in.contains("renamed_to") ? "rename" : "read");
      if (!in.value("source", false)) add_why(b, in);
    }
  }
}

}  // namespace

GraphStats graph(Db& db, const GraphOptions& o, std::ostream& out) {
  Builder b(o);
  const std::string record = integrity_line(integrity(db));
  if (!o.focus.empty()) {
    std::ostringstream sink;
    WhyOptions wo;
    wo.depth = o.depth;
    wo.system = o.system;
    wo.format = Format::kJson;
    why(db, o.focus, wo, sink);
    json doc = json::parse(sink.str(), nullptr, false);
    if (doc.is_object()) add_why(b, doc["why"]);
    return b.write(out, record);
  }
  Stmt ps = db.prepare("SELECT id, pid, coalesce(exe, ''), coalesce(exe_sha256, ''), parent FROM process");
  std::map<int64_t, std::string> ids;
  while (ps.step()) ids[ps.integer(0)] = b.process(ps.integer(0), ps.integer(1), ps.text(2), ps.text(3));
  ps.reset();
  while (ps.step())
    if (!ps.is_null(4) && ids.count(ps.integer(4))) b.edge(ids[ps.integer(4)], ids[ps.integer(0)], "spawn");
  Stmt fs = db.prepare(
      "SELECT process, op, path, max(sha256) FROM file_op WHERE process IS NOT NULL AND "
      "op NOT IN ('path', 'failed', 'times') GROUP BY process, op, path");
  while (fs.step()) {
    const std::string path = fs.text(2), op = fs.text(1);
    if (!o.system && system_path(path)) continue;
    auto p = ids.find(fs.integer(0));
    if (p == ids.end()) continue;
    const std::string f = b.file(path, fs.is_null(3) ? "" : fs.text(3));
    if (op == "read" || op == "exec") b.edge(f, p->second, op);
    else b.edge(p->second, f, op);
  }
  return b.write(out, record);
}

}  // namespace stepseal::forensics
