#include "forensics/case_index.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "distill/summary.h"
#include "forensics/schema.h"
#include "forensics/text.h"
#include "journal/journal.h"
#include "model/model.h"
#include "replay/record_source.h"
#include "replay/step_record.h"
#include "util/file_io.h"
#include "util/json.h"

namespace stepseal::forensics {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string access_text(uint32_t a) {
  std::string s;
  for (int i = 0; i < kAccessKinds; i++)
    if (a & (1u << i)) s += (s.empty() ? "" : ",") + std::string(access_name(i));
  return s;
}

void bind_ino(Stmt& st, int first, const std::optional<Inode>& ino) {
  for (int k = 0; k < 5; k++) st.bind_null(first + k);
  if (!ino) return;
  st.bind(first, static_cast<int64_t>(ino->dev)).bind(first + 1, static_cast<int64_t>(ino->ino));
  st.bind(first + 2, ino->size).bind(first + 3, ino->mtime_ns).bind(first + 4, ino->ctime_ns);
}

std::optional<int> exit_of(const std::optional<int>& wait_status) {
  const int x = wait_status ? exit_code_of(*wait_status) : -1;
  return x >= 0 ? std::optional<int>(x) : std::nullopt;
}

class JournalIndexer {
 public:
  JournalIndexer(Db& db, const std::string& path, std::optional<int64_t> build,
                 std::optional<int> step, const Progress& progress)
      : db_(db), path_(path), build_(build), step_(step), progress_(progress),
        ins_op_(db.prepare("INSERT INTO file_access(journal, process, ts_ns, op, path, errno, call, "
                           "version) VALUES(?,?,?,?,?,?,?,?)")),
        ins_path_(db.prepare("INSERT OR IGNORE INTO path(name) VALUES(?)")),
        get_path_(db.prepare("SELECT id FROM path WHERE name = ?")),
        ins_version_(db.prepare("INSERT INTO file_version(journal, path, dev, ino, size, mtime_ns, "
                                "ctime_ns) VALUES(?,?,?,?,?,?,?)")),
        ins_digest_(db.prepare("INSERT INTO digest(journal, role, path, pid, ts_ns, status, sha256, "
                               "reason, dev, ino, size, mtime_ns, ctime_ns) "
                               "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)")) {}

  Indexed run();

 private:
  int64_t proc_id(size_t seq) const { return base_ + static_cast<int64_t>(seq); }
  void on_op(const FileOp& op);
  void on_record(const journal::Record& rec);
  void finish(const StepRecord& r);

  Db& db_;
  std::string path_;
  std::optional<int64_t> build_;
  std::optional<int> step_;
  const Progress& progress_;
  int64_t version_of(const std::string& path, const Inode& ino);

  int64_t path_id(const std::string& path);

  Stmt ins_op_, ins_path_, get_path_, ins_version_, ins_digest_;
  std::unordered_map<std::string, int64_t> paths_;
  std::map<std::tuple<std::string, uint64_t, uint64_t, int64_t, int64_t, int64_t>, int64_t> versions_;
  int64_t journal_ = 0, base_ = 1;
  uint64_t digests_ = 0;
  uint64_t events_ = 0;
};

int64_t JournalIndexer::path_id(const std::string& path) {
  if (auto it = paths_.find(path); it != paths_.end()) return it->second;
  ins_path_.bind(1, path).run();
  get_path_.bind(1, path);
  if (!get_path_.step()) throw DbError("a path row vanished");
  const int64_t id = get_path_.integer(0);
  get_path_.reset();
  return paths_[path] = id;
}

int64_t JournalIndexer::version_of(const std::string& path, const Inode& ino) {
  auto key = std::make_tuple(path, ino.dev, ino.ino, ino.size, ino.mtime_ns, ino.ctime_ns);
  if (auto it = versions_.find(key); it != versions_.end()) return it->second;
  ins_version_.bind(1, journal_).bind(2, path);
  bind_ino(ins_version_, 3, ino);
  ins_version_.run();
  return versions_[key] = db_.last_rowid();
}

void JournalIndexer::on_op(const FileOp& op) {
  auto put = [&](const char* name) {
    ins_op_.bind(1, journal_);
    if (op.proc == Model::kNoProc) ins_op_.bind_null(2); else ins_op_.bind(2, proc_id(op.proc));
    ins_op_.bind(3, static_cast<int64_t>(op.ts_ns)).bind(4, name).bind(5, path_id(op.path));
    if (op.err) ins_op_.bind(6, errno_name(op.err)).bind(7, op.failed_op);
    else ins_op_.bind_null(6).bind_null(7);
    if (op.ino) ins_op_.bind(8, version_of(op.path, *op.ino));
    else ins_op_.bind_null(8);
    ins_op_.run();
  };
  if (op.access == 0) return put("failed");
  for (int i = 0; i < kAccessKinds; i++)
    if (op.access & (1u << i)) put(access_name(i));
}

void JournalIndexer::on_record(const journal::Record& rec) {
  if (rec.event && (++events_ % 200000) == 0 && progress_) progress_(path_, events_);
  if (rec.type != journal::RecordType::DIGEST || !rec.json.is_object()) return;
  DigestRecord d = decode_digest(rec.json);
  digests_++;
  ins_digest_.bind(1, journal_).bind(2, role_name(d.role)).bind(3, d.path);
  ins_digest_.bind(4, static_cast<int64_t>(d.pid)).bind(5, static_cast<int64_t>(d.ts_ns));
  ins_digest_.bind(6, status_name(d.status)).bind_opt(7, d.sha256).bind_opt(8, d.reason);
  bind_ino(ins_digest_, 9, d.id);
  ins_digest_.run();
}

void JournalIndexer::finish(const StepRecord& r) {
  const json sum = summary_json(r);
  const Model& m = r.model;
  // processes, with their parent: the last process of that pid before them
  Stmt ins_proc = db_.prepare(
      "INSERT INTO process(id, journal, pid, ppid, parent, root, exe, exe_sha256, exe_digest, "
      "exe_digest_reason, argv, cwd, start_ns, exec_ns, end_ns, exit_code, fileless) "
      "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  std::map<uint32_t, size_t> last;
  for (size_t i = 0; i < m.processes().size(); i++) {
    const Process& p = m.processes()[i];
    ins_proc.bind(1, proc_id(i)).bind(2, journal_).bind(3, p.pid).bind(4, p.ppid);
    if (auto it = last.find(p.ppid); p.ppid && it != last.end()) ins_proc.bind(5, proc_id(it->second));
    else ins_proc.bind_null(5);
    ins_proc.bind(6, p.root ? 1 : 0).bind_opt(7, p.exe).bind_opt(8, p.exe_sha256);
    ins_proc.bind_opt(9, p.exe_digest_status).bind_opt(10, p.exe_digest_reason);
    ins_proc.bind(11, json(p.argv).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)).bind_opt(12, p.cwd);
    ins_proc.bind(13, static_cast<int64_t>(p.start_ns));
    if (p.exec_ns) ins_proc.bind(14, static_cast<int64_t>(p.exec_ns)); else ins_proc.bind_null(14);
    if (p.end_ns) ins_proc.bind(15, static_cast<int64_t>(p.end_ns)); else ins_proc.bind_null(15);
    if (auto x = exit_of(p.wait_status)) ins_proc.bind(16, *x); else ins_proc.bind_null(16);
    ins_proc.bind(17, p.fileless ? 1 : 0);
    ins_proc.run();
    last[p.pid] = i;
  }
  Stmt ins_file = db_.prepare(
      "INSERT INTO file(journal, path, access, sha256, before_sha256, after_sha256, "
      "digest_status, digest_reason) VALUES(?,?,?,?,?,?,?,?)");
  for (const auto& [path, f] : m.files()) {
    ins_file.bind(1, journal_).bind(2, path).bind(3, access_text(f.access));
    ins_file.bind_opt(4, f.digest.sha256).bind_opt(5, f.digest.before).bind_opt(6, f.digest.after);
    ins_file.bind_opt(7, f.digest.status).bind_opt(8, f.digest.reason);
    ins_file.run();
  }
  auto proc_or_null = [&](Stmt& st, int i, size_t seq) {
    if (seq == Model::kNoProc) st.bind_null(i); else st.bind(i, proc_id(seq));
  };
  Stmt ins_net = db_.prepare(
      "INSERT INTO network(journal, process, ts_ns, op, family, protocol, address, port, errno, "
      "count) VALUES(?,?,?,?,?,?,?,?,?,?)");
  for (const auto& n : m.network()) {
    ins_net.bind(1, journal_);
    proc_or_null(ins_net, 2, n.proc);
    ins_net.bind(3, static_cast<int64_t>(n.ts_ns)).bind(4, n.op).bind_opt(5, n.family);
    ins_net.bind_opt(6, n.protocol).bind_opt(7, n.address);
    if (n.port) ins_net.bind(8, *n.port); else ins_net.bind_null(8);
    if (n.err) ins_net.bind(9, errno_name(n.err)); else ins_net.bind_null(9);
    ins_net.bind(10, n.count).run();
  }
  Stmt ins_dns = db_.prepare(
      "INSERT INTO dns(journal, process, ts_ns, name, qtype, server, protocol, count) "
      "VALUES(?,?,?,?,?,?,?,?)");
  for (const auto& q : m.dns()) {
    ins_dns.bind(1, journal_);
    proc_or_null(ins_dns, 2, q.proc);
    ins_dns.bind(3, static_cast<int64_t>(q.ts_ns)).bind_opt(4, q.name).bind_opt(5, q.qtype);
    ins_dns.bind_opt(6, q.server).bind_opt(7, q.protocol).bind(8, q.count).run();
  }
  Stmt ins_call = db_.prepare(
      "INSERT INTO syscall(journal, process, ts_ns, name, errno, denied, count) VALUES(?,?,?,?,?,?,?)");
  for (const auto& c : m.syscalls()) {
    ins_call.bind(1, journal_);
    proc_or_null(ins_call, 2, c.proc);
    ins_call.bind(3, static_cast<int64_t>(c.ts_ns)).bind(4, c.name);
    if (c.err) ins_call.bind(5, errno_name(c.err)); else ins_call.bind_null(5);
    ins_call.bind(6, c.denied ? 1 : 0).bind(7, c.count).run();
  }
  // the summary's gaps: the model's, and the journal's own (damaged, skipped, unfinished)
  Stmt ins_gap = db_.prepare("INSERT INTO gap(journal, kind, pid, detail, count) VALUES(?,?,?,?,?)");
  for (const auto& g : sum["gaps"])
    ins_gap.bind(1, journal_).bind(2, g.value("kind", "")).bind(3, g.value("pid", int64_t{0}))
        .bind(4, g.value("detail", "")).bind(5, g.value("count", int64_t{1})).run();
  Stmt ins_v = db_.prepare(
      "INSERT INTO violation(journal, verdict, rule, category, detail, pid, ts_ns) VALUES(?,?,?,?,?,?,?)");
  for (const auto& v : r.violations)
    ins_v.bind(1, journal_).bind(2, v.verdict).bind(3, v.rule).bind(4, v.category).bind(5, v.detail)
        .bind(6, v.pid).bind(7, static_cast<int64_t>(v.ts_ns)).run();
  // the digest of the very version each read and exec saw
  // (only when the exact digests of that identity agree: two contents under one identity, a
  // rewrite within one clock tick, prove neither)
  Stmt join = db_.prepare(
      "UPDATE file_version SET sha256 = m.sha256 FROM (SELECT d.path, d.dev, d.ino, d.size, "
      "d.mtime_ns, d.ctime_ns, min(d.sha256) AS sha256 FROM digest d WHERE d.journal = ?1 AND "
      "d.status = 'exact' AND d.role IN ('content', 'exec') GROUP BY d.path, d.dev, d.ino, d.size, "
      "d.mtime_ns, d.ctime_ns HAVING count(DISTINCT d.sha256) = 1) m WHERE file_version.journal = ?1 "
      "AND m.path = file_version.path AND m.dev = file_version.dev AND m.ino = file_version.ino "
      "AND m.size = file_version.size AND m.mtime_ns = file_version.mtime_ns AND "
      "m.ctime_ns = file_version.ctime_ns");
  if (digests_) join.bind(1, journal_).run();

  const json& step = sum["step"];
  Stmt up = db_.prepare(
      "UPDATE journal SET head=?, build=?, step=?, argv=?, cwd=?, started=?, finished=?, "
      "exit_code=?, mode=?, policy_sha256=?, intact=?, problem=?, bad_offset=?, unreadable_bytes=?, "
      "events=?, lost_events=?, gaps=?, complete=?, realtime_minus_monotonic_ns=? WHERE id=?");
  up.bind(1, journal::to_hex(r.read.head));
  if (build_) up.bind(2, *build_); else up.bind_null(2);
  if (step_) up.bind(3, *step_); else up.bind_null(3);
  up.bind(4, step.value("argv", json::array()).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)).bind_opt(5, step.value("cwd", ""));
  up.bind_opt(6, step.value("started", ""));
  if (step["finished"].is_string()) up.bind(7, step["finished"].get<std::string>()); else up.bind_null(7);
  if (step["exit_code"].is_number_integer()) up.bind(8, step["exit_code"].get<int64_t>()); else up.bind_null(8);
  up.bind(9, sum.value("mode", "observe"));
  up.bind_opt(10, r.start.value("policy_sha256", ""));
  up.bind(11, r.read.intact ? 1 : 0).bind_opt(12, r.read.problem);
  if (r.read.bad_offset) up.bind(13, static_cast<int64_t>(*r.read.bad_offset)); else up.bind_null(13);
  up.bind(14, static_cast<int64_t>(r.read.unreadable_bytes)).bind(15, static_cast<int64_t>(m.events()));
  up.bind(16, sum.value("lost_events", int64_t{0})).bind(17, static_cast<int64_t>(sum["gaps"].size()));
  up.bind(18, sum.value("complete", false) ? 1 : 0);
  up.bind(19, r.header.value("realtime_minus_monotonic_ns", int64_t{0})).bind(20, journal_);
  up.run();
}

Indexed JournalIndexer::run() {
  std::unique_ptr<JournalSource> src;
  struct stat st{};
  if (stat(path_.c_str(), &st) < 0) throw InputError(path_ + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw InputError(path_ + ": not a regular file");
  try {
    src = std::make_unique<JournalSource>(path_);
  } catch (const std::exception& e) {
    throw InputError(e.what());
  }
  db_.exec("SAVEPOINT journal_index");
  try {
    Stmt base = db_.prepare("SELECT coalesce(max(id), 0) + 1 FROM process");
    base_ = base.step() ? base.integer(0) : 1;
    // a placeholder key until the chain head is known (at the end of the journal)
    Stmt ins = db_.prepare("INSERT INTO journal(head, path, intact, complete) VALUES(?, ?, 0, 0)");
    ins.bind(1, "pending:" + path_).bind(2, fs::absolute(path_).string()).run();
    journal_ = db_.last_rowid();
    ReplayTaps taps;
    taps.record = [this](const journal::Record& rec) { on_record(rec); };
    taps.file_op = [this](const FileOp& op) { on_op(op); };
    StepRecord r = replay_step(*src, taps);
    Indexed out{journal_, path_, journal::to_hex(r.read.head), false, r.model.events()};
    Stmt seen = db_.prepare("SELECT id FROM journal WHERE head = ?");
    seen.bind(1, out.head);
    if (seen.step()) {  // the same journal, indexed before: its rows stay as they are
      out.journal_id = seen.integer(0);
      out.already = true;
      db_.exec("ROLLBACK TO journal_index");
    } else {
      finish(r);
    }
    // ... but this input of it is recorded, whole or not
    Stmt in = db_.prepare(
        "INSERT OR REPLACE INTO journal_input(journal, path, build, step, intact, problem, "
        "bad_offset) VALUES(?,?,?,?,?,?,?)");
    in.bind(1, out.journal_id).bind(2, fs::absolute(path_).lexically_normal().string());
    if (build_) in.bind(3, *build_); else in.bind_null(3);
    if (step_) in.bind(4, *step_); else in.bind_null(4);
    in.bind(5, r.read.intact ? 1 : 0).bind_opt(6, r.read.problem);
    if (r.read.bad_offset) in.bind(7, static_cast<int64_t>(*r.read.bad_offset)); else in.bind_null(7);
    in.run();
    db_.exec("RELEASE journal_index");
    return out;
  } catch (...) {
    db_.exec("ROLLBACK TO journal_index; RELEASE journal_index");
    throw;
  }
}

std::optional<int64_t> index_build(Db& db, const std::string& dir, std::vector<Indexed>& out,
                                   const Progress& progress) {
  json m;
  try {
    m = util::parse_bounded_json(util::read_file((fs::path(dir) / "build.json").string(), 64u << 20));
  } catch (const std::exception& e) {
    throw InputError(dir + ": not a stepseal build record (build.json: " + e.what() + ")");
  }
  if (!m.is_object() || m.value("format", json()) != json("stepseal-build") || !m.contains("steps") ||
      !m["steps"].is_array())
    throw InputError(dir + "/build.json: not a stepseal build record (format \"stepseal-build\")");
  std::error_code ec;
  const fs::path root = fs::canonical(dir, ec);
  if (ec) throw InputError(dir + ": " + ec.message());
  // what the record says of itself: each is a reason its answers cannot be conclusive
  json problems = json::array();
  auto num = [&](const char* key) {
    const json& v = m.value(key, json(0));
    return v.is_number_unsigned() ? v.get<uint64_t>() : v.is_number_integer() && v.get<int64_t>() > 0 ? 1u : 0u;
  };
  if (m.value("complete", json(false)) != json(true))
    problems.push_back(dir + "/build.json says the build record is not complete");
  if (num("lost_events")) problems.push_back(dir + "/build.json: events were lost");
  if (num("unrouted_events")) problems.push_back(dir + "/build.json: events of no step were recorded");
  const json image = m.value("image", json::object());
  Stmt ins = db.prepare(
      "INSERT OR IGNORE INTO build(record, manifest_digest, exit_code, complete, started) VALUES(?,?,?,?,?)");
  const std::string record = root.string();
  ins.bind(1, record);
  if (image.is_object() && image.value("manifest_digest", json()).is_string())
    ins.bind(2, image["manifest_digest"].get<std::string>());
  else ins.bind_null(2);
  if (m.value("exit_code", json()).is_number_integer()) ins.bind(3, m["exit_code"].get<int64_t>());
  else ins.bind_null(3);
  ins.bind(4, m.value("complete", json(false)) == json(true) ? 1 : 0);
  if (m.value("started", json()).is_string()) ins.bind(5, m["started"].get<std::string>());
  else ins.bind_null(5);
  ins.run();
  Stmt id = db.prepare("SELECT id FROM build WHERE record = ?");
  id.bind(1, record);
  if (!id.step()) throw DbError("the build row vanished");
  const int64_t build = id.integer(0);
  std::set<std::string> listed;
  for (const auto& st : m["steps"]) {
    if (!st.is_object() || !st.value("journal", json()).is_string())
      throw InputError(dir + "/build.json: a step without a journal");
    const json step = st.value("step", json());
    if (!step.is_number_integer())
      throw InputError(dir + "/build.json: a step whose \"step\" is not a number");
    const std::string rel = st["journal"];
    // inside the record, symlinks resolved: build.json may name no file elsewhere
    const fs::path real = fs::weakly_canonical(root / rel, ec);
    if (rel.empty() || rel[0] == '/' || ec ||
        real.lexically_relative(root).empty() || *real.lexically_relative(root).begin() == "..")
      throw InputError(dir + "/build.json: a step journal outside the record: " + rel);
    listed.insert(real.string());
    JournalIndexer ji(db, real.string(), build, static_cast<int>(step.get<int64_t>()), progress);
    Indexed got = ji.run();
    // the journal build.json names by its chain head must be this one
    const json want = st.value("journal_sha256", json());
    if (want.is_string() && want.get<std::string>() != got.head) {
      const std::string why = "not the journal build.json names (head " + got.head.substr(0, 16) +
                              ", build.json: " + want.get<std::string>().substr(0, 16) + ")";
      Stmt bad = db.prepare("UPDATE journal_input SET intact = 0, problem = ? WHERE path = ? AND build = ?");
      bad.bind(1, why).bind(2, real.string()).bind(3, build).run();
    }
    out.push_back(got);
  }
  // a journal in the record that build.json does not list was not accounted for
  for (const auto& e : fs::directory_iterator(root / "steps", ec))
    if (e.path().extension() == ".journal" && !listed.count(fs::weakly_canonical(e.path()).string()))
      problems.push_back(e.path().string() + " is in the record but build.json does not list it");
  Stmt up = db.prepare("UPDATE build SET problems = ? WHERE id = ?");
  up.bind(1, problems.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)).bind(2, build).run();
  return build;
}

}  // namespace

std::vector<Indexed> index_inputs(Db& db, const std::vector<std::string>& inputs,
                                  const Progress& progress) {
  ensure_schema(db);
  std::vector<Indexed> out;
  db.exec("BEGIN");
  try {
    for (const auto& in : inputs) {
      struct stat st{};
      if (stat(in.c_str(), &st) < 0)
        throw InputError(in + ": " + std::strerror(errno));
      if (S_ISDIR(st.st_mode)) {
        index_build(db, in, out, progress);
      } else if (is_sqlite_file(in)) {
        throw InputError(in + " is an index: give journals or build records to index (an index "
                              "is queried as it is)");
      } else {
        JournalIndexer ji(db, in, std::nullopt, std::nullopt, progress);
        out.push_back(ji.run());
      }
    }
    ensure_indexes(db);
    db.exec("COMMIT");
  } catch (...) {
    db.exec("ROLLBACK");
    throw;
  }
  return out;
}

std::unique_ptr<Db> open_case(const std::vector<std::string>& inputs, const Progress& progress) {
  if (inputs.empty()) throw InputError("no journal, build record or index given");
  if (inputs.size() == 1 && is_sqlite_file(inputs[0])) {
    auto db = std::make_unique<Db>(inputs[0], false, true);
    // an index given to read may come from anyone: its views and triggers run no side effects
    db->exec("PRAGMA trusted_schema = OFF");
    Stmt v = db->prepare("PRAGMA user_version");
    int version = v.step() ? static_cast<int>(v.integer(0)) : 0;
    Stmt t = db->prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'journal'");
    if (version < 1 || !t.step() || t.integer(0) == 0)
      throw InputError(inputs[0] + ": an SQLite database, but not a stepseal index");
    if (version > kSchemaVersion)
      throw InputError(inputs[0] + " is an index of schema version " + std::to_string(version) +
                       "; this stepseal reads versions up to " + std::to_string(kSchemaVersion));
    return db;
  }
  auto db = std::make_unique<Db>(":memory:", true);
  index_inputs(*db, inputs, progress);
  return db;
}

Integrity integrity(Db& db) {
  Integrity i;
  Stmt s = db.prepare(
      "SELECT count(*), coalesce(sum(complete = 0), 0), coalesce(sum(lost_events), 0), "
      "coalesce(sum(gaps), 0) FROM journal");
  if (s.step()) {
    i.journals = static_cast<int>(s.integer(0));
    i.incomplete = static_cast<int>(s.integer(1));
    i.lost_events = static_cast<uint64_t>(s.integer(2));
    i.gaps = static_cast<uint64_t>(s.integer(3));
  }
  // every input of every journal: a damaged copy is damage, even if a whole one was read too
  Stmt p = db.prepare(
      "SELECT path, bad_offset, problem FROM journal_input WHERE intact = 0 ORDER BY rowid");
  while (p.step()) {
    i.damaged++;
    i.problems.push_back(p.text(0) + ": " + (p.text(2).empty() ? "damaged" : p.text(2)) +
                         (p.is_null(1) ? "" : " at offset " + std::to_string(p.integer(1))));
  }
  Stmt b = db.prepare("SELECT problems FROM build WHERE problems IS NOT NULL AND problems != '[]'");
  while (b.step()) {
    json list = util::parse_bounded_json(b.text(0));
    if (!list.is_array()) continue;
    for (const auto& x : list)
      if (x.is_string()) {
        i.damaged++;
        i.problems.push_back(x.get<std::string>());
      }
  }
  if (i.journals == 0) i.problems.push_back("no journal at all");
  return i;
}

std::string integrity_line(const Integrity& i) {
  const std::string n = std::to_string(i.journals) + " journal" + (i.journals == 1 ? "" : "s");
  if (i.conclusive()) return "record: " + n + ", intact and complete";
  std::string s = "INCONCLUSIVE (" + n + "): ";
  std::string parts;
  auto add = [&](const std::string& p) { parts += (parts.empty() ? "" : "; ") + p; };
  for (const auto& p : i.problems) add(p);
  if (i.lost_events) add(std::to_string(i.lost_events) + " events lost");
  if (i.gaps) add(std::to_string(i.gaps) + " gap" + (i.gaps == 1 ? "" : "s") + " (what the record cannot show)");
  if (parts.empty()) add(std::to_string(i.incomplete) + " incomplete");
  return clean(s + parts + ": an absence in this answer proves nothing");
}

}  // namespace stepseal::forensics
