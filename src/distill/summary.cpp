#include "distill/summary.h"

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <sstream>

namespace stepseal {


int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

namespace {

nlohmann::json access_list(uint32_t a) {
  auto out = nlohmann::json::array();
  for (int i = 0; i < kAccessKinds; i++)
    if (a & (1u << i)) out.push_back(access_name(i));
  return out;
}

}  // namespace


nlohmann::json summary_json(const StepRecord& r) {
  using nlohmann::json;
  const Model& m = r.model;
  int64_t mono_to_real = r.header.value("realtime_minus_monotonic_ns", int64_t{0});
  auto when = [&](uint64_t mono) { return mono ? json(rfc3339(static_cast<int64_t>(mono) + mono_to_real)) : json(nullptr); };

  json j;
  json step;
  step["argv"] = r.start.value("argv", json::array());
  step["cwd"] = r.start.value("cwd", "");
  step["exit_code"] = r.end.contains("exit_code") ? r.end["exit_code"] : json(nullptr);
  step["started"] = r.start.value("started", "");
  step["finished"] = r.end.contains("finished") ? r.end["finished"] : json(nullptr);
  if (r.end.contains("stopped_by") && r.end["stopped_by"].is_string())
    step["stopped_by"] = r.end["stopped_by"];
  j["step"] = step;
  j["mode"] = r.policy ? "hardened" : "observe";
  if (r.policy)
    j["policy"] = {{"sha256", r.start.value("policy_sha256", "")},
                   {"path", r.start.value("policy_path", "")},
                   {"workspace", r.workspace},
                   {"fail_fast", r.start.value("fail_fast", false)}};
  else
    j["policy"] = nullptr;
  auto violations = json::array();
  for (const auto& v : r.violations)
    violations.push_back({{"verdict", v.verdict}, {"rule", v.rule}, {"category", v.category},
                          {"detail", v.detail}, {"pid", v.pid}, {"time", when(v.ts_ns)}});
  j["violations"] = violations;

  json counters = r.end.value("counters", json::object());
  if (!counters.is_object()) counters = json::object();  // input of the wrong shape: nothing
  uint64_t lost = lost_events(counters);

  auto gaps = json::array();
  for (const auto& g : m.gaps())
    gaps.push_back({{"kind", g.kind}, {"pid", g.pid}, {"detail", g.detail}, {"count", g.count}});
  if (!r.read.intact) {
    gaps.push_back({{"kind", "journal_damaged"},
                    {"pid", 0},
                    {"detail", r.read.problem + (r.read.bad_offset ? " at offset " +
                                                 std::to_string(*r.read.bad_offset) : "") +
                                   "; " + std::to_string(r.read.unreadable_bytes) +
                                   " bytes unreadable"},
                    {"count", 1}});
  }
  if (r.read.skipped_records > 0 || r.read.skipped_trailing_bytes > 0) {
    // a newer stepseal wrote records (or fields) this reader cannot interpret: it cannot vouch
    // for what they say
    std::string what;
    for (const auto& w : r.read.skipped_what) what += (what.empty() ? "" : ", ") + w;
    std::string detail;
    if (r.read.skipped_records > 0)
      detail = std::to_string(r.read.skipped_records) +
               " record(s) this stepseal does not know were skipped (" + what + ")";
    if (r.read.skipped_trailing_bytes > 0)
      detail += (detail.empty() ? "" : "; ") + std::to_string(r.read.skipped_trailing_bytes) +
                " bytes of event fields this stepseal does not know were skipped";
    gaps.push_back({{"kind", "journal_skipped"},
                    {"pid", 0},
                    {"detail", detail + ": a newer stepseal wrote them"},
                    {"count", std::max<uint64_t>(r.read.skipped_records, 1)}});
  }
  // A recording that could not take pre-images (a RUN step of stepseal build: the container's
  // processes are not under stepseal's seccomp filter) has no before-content for what the step
  // overwrote or removed: each such file is a gap, never a silent absence.
  if (r.start.is_object() && r.start.contains("preimages") && r.start["preimages"] == false) {
    uint64_t missing = 0;
    std::string first;
    constexpr uint32_t kReplaced = kOverwrite | kDelete | kRenameTo;
    for (const auto& [path, f] : m.files())
      if ((f.access & kReplaced) && !(f.access & kCreate) && f.digest.before.empty()) {
        if (!missing++) first = path;
      }
    if (missing)
      gaps.push_back({{"kind", "preimage_unavailable"},
                      {"pid", 0},
                      {"detail", "no pre-images in this recording: the content before the step "
                                 "replaced or removed " + first +
                                 (missing > 1 ? " and " + std::to_string(missing - 1) + " more" : "") +
                                 " is unknown"},
                      {"count", missing}});
  }
  if (r.end.empty())
    gaps.push_back({{"kind", "unfinished"}, {"pid", 0},
                    {"detail", "the recording has no step end: the supervisor did not finish"},
                    {"count", 1}});
  j["complete"] = lost == 0 && gaps.empty();
  j["lost_events"] = lost;
  j["gaps"] = gaps;

  json jr = {{"sha256_head", journal::to_hex(r.read.head)},
             {"records", r.read.records},
             {"intact", r.read.intact},
             {"format_version", r.read.format_version}};
  if (r.read.skipped_records > 0) {
    jr["skipped_records"] = r.read.skipped_records;
    jr["skipped"] = r.read.skipped_what;
  }
  if (r.read.skipped_trailing_bytes > 0) jr["skipped_trailing_bytes"] = r.read.skipped_trailing_bytes;
  if (!r.read.intact) {
    jr["problem"] = r.read.problem;
    jr["valid_bytes"] = r.read.valid_bytes;
    jr["unreadable_bytes"] = r.read.unreadable_bytes;
    if (r.read.bad_offset) jr["bad_offset"] = *r.read.bad_offset;
  }
  j["journal"] = jr;

  auto procs = json::array();
  for (const auto& p : m.processes()) {
    json jp = {{"pid", p.pid}, {"ppid", p.ppid}, {"argv", p.argv}, {"exe", p.exe}, {"cwd", p.cwd},
               {"exit_code", p.wait_status ? json(exit_code_of(*p.wait_status)) : json(nullptr)},
               {"started", when(p.start_ns)}, {"finished", when(p.end_ns)}};
    if (!p.script.empty()) jp["script"] = p.script;
    if (!p.interp.empty()) jp["interpreter"] = p.interp;
    if (!p.execed) jp["execed"] = false;
    if (p.argv_truncated) jp["argv_truncated"] = true;
    if (p.compat_syscalls) jp["compat_syscalls"] = p.compat_syscalls;
    if (p.killed_at_step_end) jp["killed_at_step_end"] = true;
    if (p.exec_blocked) jp["exec_blocked"] = true;
    if (!p.exe_sha256.empty()) jp["exe_sha256"] = p.exe_sha256;
    if (!p.program.empty()) jp["program"] = p.program;
    if (!p.exe_digest_status.empty()) jp["exe_digest_status"] = p.exe_digest_status;
    if (!p.exe_digest_reason.empty()) jp["exe_digest_reason"] = p.exe_digest_reason;
    if (p.fileless) jp["fileless"] = true;
    procs.push_back(std::move(jp));
  }
  j["processes"] = procs;

  auto files = json::array();
  for (const auto& [path, f] : m.files()) {
    json jf = {{"path", path}, {"access", access_list(f.access)}, {"pids", f.pids}};
    const DigestSummary& d = f.digest;
    if (!d.sha256.empty()) jf["sha256"] = d.sha256;
    if (!d.versions.empty()) jf["sha256_versions"] = d.versions;
    if (!d.before.empty()) jf["sha256_before"] = d.before;
    if (!d.after.empty()) jf["sha256_after"] = d.after;
    if (!d.removed.empty()) jf["sha256_removed"] = d.removed;
    if (!f.xattrs_set.empty()) jf["xattrs_set"] = f.xattrs_set;
    if (!d.status.empty()) jf["digest_status"] = d.status;
    if (!d.reason.empty()) jf["digest_reason"] = d.reason;
    if (f.mode_set) {
      char mode[8];
      snprintf(mode, sizeof mode, "%04o", *f.mode_set);
      jf["mode_set"] = mode;
    }
    if (f.uid_set) jf["uid_set"] = *f.uid_set;
    if (f.gid_set) jf["gid_set"] = *f.gid_set;
    files.push_back(std::move(jf));
  }
  j["files"] = files;

  auto failed = json::array();
  for (const auto& f : m.failed())
    failed.push_back({{"path", f.path}, {"op", f.op}, {"errno", errno_name(f.err)}, {"pids", f.pids}});
  j["failed"] = failed;

  auto net = json::array();
  for (const auto& n : m.network()) {
    json jn = {{"pid", n.pid}, {"family", n.family}, {"protocol", n.protocol},
               {"address", n.address}, {"op", n.op}, {"result", errno_name(n.err)}};
    jn["port"] = n.port ? json(*n.port) : json(nullptr);
    if (n.count > 1) jn["count"] = n.count;
    net.push_back(std::move(jn));
  }
  j["network"] = net;

  auto dns = json::array();
  for (const auto& q : m.dns()) {
    json jq = {{"pid", q.pid}, {"name", q.name}, {"qtype", q.qtype}, {"server", q.server},
               {"port", q.port}, {"protocol", q.protocol}};
    if (q.name.empty()) jq["unparsed"] = true;
    if (q.count > 1) jq["count"] = q.count;
    dns.push_back(std::move(jq));
  }
  j["dns"] = dns;
  auto learned = json::array();
  for (const auto& l : m.dns_learned())
    learned.push_back({{"name", l.name}, {"address", l.address}, {"qtype", l.qtype},
                       {"time", when(l.ts_ns)}});
  j["dns_learned"] = learned;

  auto calls = json::array();
  for (const auto& c : m.syscalls()) {
    json jc = {{"pid", c.pid}, {"name", c.name}, {"result", c.err ? errno_name(c.err) : "ok"}};
    if (c.denied) jc["denied"] = true;
    if (c.count > 1) jc["count"] = c.count;
    calls.push_back(std::move(jc));
  }
  j["syscalls"] = calls;

  json stats = {{"events", m.events()},
                {"journal_records", r.read.records},
                {"truncated_events", m.truncated_events()}};
  for (const char* k : {"digest_requests", "digest_cache_hits", "unique_files_hashed",
                        "bytes_hashed", "seccomp_notifications"})
    if (counters.contains(k)) stats[k] = counters[k];
  if (counters.contains("digest_requests") && counters["digest_requests"].is_number() &&
      counters.contains("digest_cache_hits") && counters["digest_cache_hits"].is_number() &&
      counters["digest_requests"].get<double>() > 0)
    stats["cache_hit_rate"] = counters["digest_cache_hits"].get<double>() /
                              counters["digest_requests"].get<double>();
  for (const char* k : {"duration_s", "ring_bytes", "lost_ringbuf", "lost_nested", "lost_inflight",
                        "lost_track", "lost_args", "lost_decode", "read_failures",
                        "kernel_events"})
    if (counters.contains(k)) stats[k] = counters[k];
  if (r.end.contains("duration_s")) stats["duration_s"] = r.end["duration_s"];
  j["stats"] = stats;
  return j;
}

std::string summary_text(const nlohmann::json& s) {
  std::ostringstream o;
  const auto& step = s["step"];
  o << "step:      ";
  for (const auto& a : step["argv"]) o << a.get<std::string>() << ' ';
  o << "\n  cwd:     " << step["cwd"].get<std::string>() << "\n  exit:    " << step["exit_code"]
    << "\n  started: " << step["started"].get<std::string>() << "\n  finished: "
    << (step["finished"].is_string() ? step["finished"].get<std::string>() : "(unknown)") << "\n";
  o << "mode:      " << s.value("mode", "observe");
  if (s.contains("policy") && s["policy"].is_object())
    o << " (policy " << s["policy"].value("path", "") << ", sha256 "
      << s["policy"].value("sha256", "").substr(0, 12) << ")";
  o << "\n";
  if (s.contains("violations")) {
    o << "violations: " << s["violations"].size() << "\n";
    for (const auto& v : s["violations"])
      o << "  " << v["verdict"].get<std::string>() << " [" << v["rule"].get<std::string>()
        << "] pid " << v["pid"] << ": " << v["detail"].get<std::string>() << "\n";
  }
  o << "complete:  " << (s["complete"].get<bool>() ? "yes" : "NO") << "  (lost events: "
    << s["lost_events"] << ", gaps: " << s["gaps"].size() << ")\n";
  for (const auto& g : s["gaps"])
    o << "  gap: " << g["kind"].get<std::string>() << " pid " << g["pid"] << ": "
      << g["detail"].get<std::string>() << "\n";
  o << "journal:   sha256 " << s["journal"]["sha256_head"].get<std::string>() << ", "
    << s["journal"]["records"] << " records" << (s["journal"]["intact"].get<bool>() ? "" : " (DAMAGED)")
    << "\n";
  o << "processes: " << s["processes"].size() << "\n";
  for (const auto& p : s["processes"]) {
    o << "  " << p["pid"] << " <- " << p["ppid"] << "  " << p["exe"].get<std::string>();
    if (p.contains("script")) o << " (script " << p["script"].get<std::string>() << ")";
    if (p.contains("exe_sha256")) o << "  sha256 " << p["exe_sha256"].get<std::string>().substr(0, 12);
    if (p.value("fileless", false)) o << " (fileless)";
    o << "  exit " << p["exit_code"] << "\n";
  }
  size_t nread = 0, nwritten = 0, nexec = 0;
  for (const auto& f : s["files"]) {
    auto has = [&](const char* a) {
      return std::find(f["access"].begin(), f["access"].end(), a) != f["access"].end();
    };
    nread += has("read");
    nexec += has("exec");
    nwritten += has("write") || has("create") || has("delete") || has("rename_to") || has("link") ||
                has("mmap_write");
  }
  o << "files:     " << s["files"].size() << " (" << nexec << " executed, " << nread << " read, "
    << nwritten << " changed)\n";
  for (const auto& f : s["files"]) {
    bool boring = f["access"].size() == 1 && (f["access"][0] == "read" || f["access"][0] == "path");
    if (boring) continue;
    o << "  ";
    for (const auto& a : f["access"]) o << a.get<std::string>() << ' ';
    o << f["path"].get<std::string>();
    auto short_hash = [&](const char* k) { return f.value(k, std::string()).substr(0, 12); };
    if (f.contains("sha256")) o << "  sha256 " << short_hash("sha256");
    if (f.contains("sha256_before")) o << "  before " << short_hash("sha256_before");
    if (f.contains("sha256_after")) o << "  after " << short_hash("sha256_after");
    if (f.value("digest_status", "exact") != "exact")
      o << "  [" << f.value("digest_status", "") << ": " << f.value("digest_reason", "") << "]";
    o << "\n";
  }
  std::map<std::string, int> by_status;
  for (const auto& f : s["files"])
    if (f.contains("digest_status")) by_status[f["digest_status"].get<std::string>()]++;
  o << "digests:  ";
  for (const auto& [k, n] : by_status) o << " " << n << " " << k;
  if (s["stats"].contains("bytes_hashed"))
    o << "  (" << s["stats"]["bytes_hashed"] << " bytes hashed, "
      << s["stats"].value("seccomp_notifications", 0) << " pre-image pauses)";
  o << "\n";
  o << "failed:    " << s["failed"].size() << "\n";
  o << "network:   " << s["network"].size() << "\n";
  for (const auto& n : s["network"]) {
    o << "  " << n["op"].get<std::string>() << ' ' << n["family"].get<std::string>() << '/'
      << n["protocol"].get<std::string>() << ' ' << n["address"].get<std::string>();
    if (!n["port"].is_null()) o << " port " << n["port"];
    o << " -> " << n["result"].get<std::string>() << " (pid " << n["pid"] << ")\n";
  }
  if (s.contains("dns") && !s["dns"].empty()) {
    o << "dns:       " << s["dns"].size() << "\n";
    for (const auto& q : s["dns"])
      o << "  " << q["qtype"].get<std::string>() << ' ' << q["name"].get<std::string>() << " via "
        << (q["server"].get<std::string>().empty() ? "(connected socket)" : q["server"].get<std::string>())
        << ' ' << q["protocol"].get<std::string>() << " (pid " << q["pid"] << ")\n";
  }
  if (s.contains("syscalls") && !s["syscalls"].empty()) {
    o << "sensitive calls: " << s["syscalls"].size() << "\n";
    for (const auto& c : s["syscalls"])
      o << "  " << c["name"].get<std::string>() << " -> " << c["result"].get<std::string>()
        << (c.value("denied", false) ? " (denied)" : "") << " (pid " << c["pid"] << ")\n";
  }
  return o.str();
}

bool lacks_preimage(const nlohmann::json& f) {
  if (!f.is_object() || f.contains("sha256_before")) return false;
  bool replaced = false, created = false;
  for (const auto& a : f.value("access", nlohmann::json::array())) {
    replaced |= a == "overwrite" || a == "delete" || a == "rename_to";
    created |= a == "create";
  }
  return replaced && !created;
}

size_t apply_layer_preimages(nlohmann::json& summary, const nlohmann::json& preimages) {
  using nlohmann::json;
  std::map<std::string, std::string> before;
  for (const auto& p : preimages)
    if (p.is_object() && p.value("path", json()).is_string() && p.value("sha256_before", json()).is_string()) {
      std::string h = p["sha256_before"];
      if (h.size() == 64 && h.find_first_not_of("0123456789abcdef") == std::string::npos)
        before[p["path"]] = h;
    }
  size_t applied = 0, missing = 0;
  std::string first;
  for (auto& f : summary["files"]) {
    if (!lacks_preimage(f)) continue;
    const std::string path = f.value("path", "");
    if (auto b = before.find(path); b != before.end()) {
      f["sha256_before"] = b->second;
      f["before_source"] = "lower_layers";
      applied++;
    } else if (!missing++) {
      first = path;
    }
  }
  json gaps = json::array();
  for (auto& g : summary["gaps"]) {
    if (g.value("kind", "") != "preimage_unavailable") {
      gaps.push_back(g);
    } else if (missing) {
      g["detail"] = "no pre-images in this recording, and none in the image's lower layers: the "
                    "content before the step replaced or removed " + first +
                    (missing > 1 ? " and " + std::to_string(missing - 1) + " more" : "") +
                    " is unknown";
      g["count"] = missing;
      gaps.push_back(g);
    }
  }
  summary["gaps"] = gaps;
  summary["complete"] = summary.value("lost_events", uint64_t{0}) == 0 && gaps.empty();
  return applied;
}

}  // namespace stepseal
