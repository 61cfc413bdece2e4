// replay_test.cpp - forensic replay on real recorded builds: `why` on the example project's
// binary leads back through ld, as and cc1 to the sources, with their sha256sum; SQL over the
// index counts what the summary counts; `diff` of two runs of the same build is empty, and
// reports each change planted in a third (an overwritten source, a loopback connect, an extra
// binary, a read of an SSH key) with exit 1; damaged journals give marked answers, never a
// crash.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <sstream>

#include "harness.h"

namespace e2e {
namespace {

namespace fs = std::filesystem;

class ReplayTest : public E2ETest {
 protected:
  // The example project copied to DIR/NAME, built there under stepseal run with SCRIPT (sh -c).
  std::string RecordBuild(const std::string& name, const std::string& script) {
    const std::string src = dir() / name;
    fs::copy(Source("tools/example-project"), src, fs::copy_options::recursive);
    const std::string journal = dir() / (name + ".journal");
    CommandResult r = RunCommand({STEPSEAL_BIN, "run", "-q", "--trace", journal, "--", "/bin/sh",
                                  "-c", script},
                                 {src}, 300s);
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    return journal;
  }
  CommandResult Stepseal(std::vector<std::string> args) {
    args.insert(args.begin(), STEPSEAL_BIN);
    return RunCommand(args, {}, 120s);
  }
  // every node of a `why --format json` tree
  static void Walk(const json& node, const std::function<void(const json&)>& fn) {
    fn(node);
    for (const auto& w : node.value("made_by", json::array())) {
      fn(w);
      if (w["inputs"].is_array())
        for (const auto& in : w["inputs"]) Walk(in, fn);
    }
  }
};

TEST_F(ReplayTest, WhyLeadsFromTheBinaryToItsSourcesWithDigests) {
  const std::string j = RecordBuild("src", "make");
  const std::string bin = dir() / "src/greet";
  CommandResult r = Stepseal({"why", j, bin, "--format", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  json doc = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << r.out;
  EXPECT_TRUE(doc["record"].value("conclusive", false));
  const json& why = doc["why"];
  EXPECT_EQ(why.value("sha256", ""), Sha256Sum(bin));
  ASSERT_FALSE(why["made_by"].empty()) << Dump(why);
  EXPECT_NE(why["made_by"][0].value("exe", "").find("ld"), std::string::npos) << Dump(why["made_by"][0]);
  // the compiler runs that produced the objects, and the sources they read, with sha256sum's
  // digests of the true content
  std::map<std::string, std::string> read;  // source -> digest, as why reports it
  std::set<std::string> makers;
  Walk(why, [&](const json& n) {
    if (n.contains("path") && n.value("source", false) && n["sha256"].is_string())
      read[n["path"].get<std::string>()] = n["sha256"].get<std::string>();
    if (n.contains("exe")) makers.insert(fs::path(n["exe"].get<std::string>()).filename());
  });
  for (const char* s : {"main.c", "greet.c", "greet.h"}) {
    const std::string p = dir() / (std::string("src/") + s);
    ASSERT_TRUE(read.count(p)) << p << " not among the sources why lists: " << Dump(why, 3000);
    EXPECT_EQ(read[p], Sha256Sum(p)) << p;
  }
  EXPECT_TRUE(makers.count("cc1")) << "the compiler run that made the assembly";
  EXPECT_TRUE(makers.count("x86_64-linux-gnu-as")) << "the assembler runs that made the objects";

  // the index: SQL over it counts what the summary counts
  const std::string db = dir() / "case.db";
  CommandResult ix = Stepseal({"index", j, "-o", db});
  ASSERT_EQ(ix.exit_code, 0) << ix.Describe();
  CommandResult again = Stepseal({"index", j, "-o", db});  // idempotent: keyed by chain head
  ASSERT_EQ(again.exit_code, 0) << again.Describe();
  EXPECT_NE(again.out.find("already indexed"), std::string::npos) << again.out;
  Summary s(json::parse(Show(j).out, nullptr, false));
  auto count = [&](const std::string& sql) {
    CommandResult q = RunCommand({"/usr/bin/sqlite3", db, sql});
    EXPECT_EQ(q.exit_code, 0) << q.Describe();
    return std::atol(q.out.c_str());
  };
  EXPECT_EQ(count("SELECT count(*) FROM journal"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM process"), static_cast<long>(s.processes().size()));
  EXPECT_EQ(count("SELECT count(*) FROM file"), static_cast<long>(s.files().size()));
  EXPECT_EQ(count("SELECT count(*) FROM network"), static_cast<long>(s.network().size()));
  EXPECT_EQ(count("SELECT count(*) FROM process WHERE exe_sha256 IS NOT NULL"),
            static_cast<long>(std::count_if(s.processes().begin(), s.processes().end(), [](const json& p) {
              return p.value("exe_sha256", json()).is_string();
            })));
  EXPECT_EQ(count("SELECT count(*) FROM outputs WHERE path = '" + bin + "' AND sha256 = '" +
                  Sha256Sum(bin) + "'"), 1);
  // the queries answer from the index as from the journal
  CommandResult who = Stepseal({"who", db, dir() / "src/main.c"});
  EXPECT_EQ(who.exit_code, 0) << who.Describe();
  EXPECT_NE(who.out.find("cc1"), std::string::npos) << who.out;
  CommandResult tree = Stepseal({"tree", db});
  EXPECT_EQ(tree.exit_code, 0) << tree.Describe();
  EXPECT_NE(tree.out.find("/usr/bin/make"), std::string::npos) << tree.out;
}

// The Lua build (its Debian source package, tools/fetch-sources): why on the interpreter leads
// to lua.c with sha256sum's digest, and two runs of the same build compare equal.
TEST_F(ReplayTest, LuaBuildWhyAndDiffOfTwoRuns) {
  CommandResult fetched = RunCommand({Source("tools/fetch-sources"), "lua5.4"}, {}, 600s);
  if (fetched.exit_code != 0) {
    if (PrivilegeRequired()) FAIL() << "the Lua source could not be fetched: " << fetched.Describe();
    GTEST_SKIP() << "no Lua source: " << fetched.err;
  }
  std::string src = fetched.out.substr(0, fetched.out.find('\n'));
  std::vector<std::string> journals;
  for (const char* name : {"lua-a", "lua-b"}) {
    const std::string tree = dir() / name;
    fs::copy(src, tree, fs::copy_options::recursive);
    journals.push_back(dir() / (std::string(name) + ".journal"));
    CommandResult r = RunCommand({STEPSEAL_BIN, "run", "-q", "--trace", journals.back(), "--",
                                  "make", "-j2", "posix"}, {tree}, 600s);
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
  }
  const std::string lua = dir() / "lua-a/src/lua";
  CommandResult w = Stepseal({"why", journals[0], lua, "--format", "json"});
  ASSERT_EQ(w.exit_code, 0) << w.Describe();
  json doc = json::parse(w.out, nullptr, false);
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc["why"].value("sha256", ""), Sha256Sum(lua));
  std::map<std::string, std::string> read;
  Walk(doc["why"], [&](const json& n) {
    if (n.contains("path") && n.value("source", false) && n["sha256"].is_string())
      read[n["path"].get<std::string>()] = n["sha256"].get<std::string>();
  });
  for (const char* c : {"src/lua.c", "src/lapi.c", "src/lvm.c"}) {
    const std::string p = dir() / (std::string("lua-a/") + c);
    ASSERT_TRUE(read.count(p)) << p << " not among why's sources (" << read.size() << " sources)";
    EXPECT_EQ(read[p], Sha256Sum(p)) << p;
  }
  CommandResult d = Stepseal({"diff", journals[0], journals[1]});
  EXPECT_EQ(d.exit_code, 0) << d.Describe();
  EXPECT_NE(d.out.find("0 difference(s)"), std::string::npos) << d.out;
}

TEST_F(ReplayTest, DiffIsEmptyForTheSameBuildAndReportsEachPlantedChange) {
  const std::string a = RecordBuild("one", "make");
  const std::string b = RecordBuild("two", "make");
  CommandResult same = Stepseal({"diff", a, b});
  EXPECT_EQ(same.exit_code, 0) << same.Describe();
  EXPECT_NE(same.out.find("0 difference(s)"), std::string::npos) << same.out;

  // planted: a source overwritten during the build, a loopback connect, an extra binary, a read
  // of an SSH key (the test's own, not the host's)
  const std::string key = dir() / "home/.ssh/id_rsa";
  fs::create_directories(dir() / "home/.ssh");
  WriteFile(key, "not a real key\n");
  const std::string c = RecordBuild(
      "three", "cat greet.h > /tmp/stepseal-planted.h && cat /tmp/stepseal-planted.h > greet.h && "
               "make && (/bin/busybox nc -w 1 127.0.0.1 9 </dev/null || true) && cat " + key +
               " >/dev/null");
  // the same command in the base, without the planted parts, so that only they differ
  const std::string base = RecordBuild(
      "four", "cat greet.h > /tmp/stepseal-planted.h && make");
  CommandResult d = Stepseal({"diff", base, c, "--format", "json"});
  EXPECT_EQ(d.exit_code, 1) << d.Describe();
  json doc = json::parse(d.out, nullptr, false);
  ASSERT_TRUE(doc.is_object()) << d.out;
  std::multimap<std::string, std::string> got;
  for (const auto& x : doc["differences"]) got.emplace(x.value("category", ""), x.value("what", ""));
  auto has = [&](const std::string& cat, const std::string& part) {
    for (auto [it, end] = got.equal_range(cat); it != end; ++it)
      if (it->second.find(part) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has("source-overwritten", "overwrite ${BUILD}/greet.h")) << d.out;
  EXPECT_TRUE(has("new-endpoint", "127.0.0.1:9")) << d.out;
  EXPECT_TRUE(has("new-exe", "/bin/busybox")) << d.out;
  EXPECT_TRUE(has("sensitive-access", "/.ssh/id_rsa")) << d.out;
  // only what was asked for fails
  CommandResult only = Stepseal({"diff", base, c, "--fail-on", "new-dns"});
  EXPECT_EQ(only.exit_code, 0) << only.Describe();

  // a baseline of the two good builds: the same build against it is clean, the planted one not
  const std::string bl = dir() / "base.json";
  CommandResult mk = Stepseal({"baseline", a, b, "-o", bl});
  ASSERT_EQ(mk.exit_code, 0) << mk.Describe();
  EXPECT_EQ(Stepseal({"diff", bl, a}).exit_code, 0);
  EXPECT_EQ(Stepseal({"diff", bl, c, "--fail-on", "sensitive-access"}).exit_code, 1);
  std::remove("/tmp/stepseal-planted.h");
}

// The timeline against the trace-event format's rules (no trace processor is packaged for
// Debian or npm: these are the rules ui.perfetto.dev's JSON importer applies), and the ECS
// export line by line.
TEST_F(ReplayTest, TimelineAndExportAreWellFormed) {
  const std::string j =
      RecordBuild("src", "make && (/bin/busybox nc -w 1 127.0.0.1 9 </dev/null || true)");
  const std::string trace = dir() / "trace.json";
  CommandResult t = Stepseal({"timeline", j, "-o", trace});
  ASSERT_EQ(t.exit_code, 0) << t.Describe();
  json doc = json::parse(ReadFile(trace), nullptr, false);
  ASSERT_TRUE(doc.is_object() && doc["traceEvents"].is_array()) << ReadFile(trace).substr(0, 500);
  std::map<std::pair<int64_t, int64_t>, std::pair<double, double>> slice;  // (pid, tid) -> span
  std::set<std::pair<int64_t, int64_t>> named;
  std::map<int64_t, int> flow_starts, flow_ends;
  size_t execs = 0, nets = 0;
  for (const auto& e : doc["traceEvents"]) {
    const std::string ph = e.value("ph", "");
    ASSERT_TRUE(ph == "M" || ph == "X" || ph == "i" || ph == "s" || ph == "f") << e.dump();
    ASSERT_TRUE(e["pid"].is_number_integer()) << e.dump();
    if (ph == "M") {
      if (e.value("name", "") == "thread_name")
        named.insert({e["pid"].get<int64_t>(), e["tid"].get<int64_t>()});
      continue;
    }
    ASSERT_TRUE(e["tid"].is_number_integer() && e["ts"].is_number()) << e.dump();
    EXPECT_GE(e["ts"].get<double>(), 0) << e.dump();
    if (ph == "X") {
      ASSERT_TRUE(e["dur"].is_number() && e["dur"].get<double>() >= 0) << e.dump();
      auto key = std::make_pair(e["pid"].get<int64_t>(), e["tid"].get<int64_t>());
      EXPECT_FALSE(slice.count(key)) << "one slice per process track: nothing to mis-nest";
      slice[key] = {e["ts"].get<double>(), e["ts"].get<double>() + e["dur"].get<double>()};
    }
  }
  size_t instants = 0;
  for (const auto& e : doc["traceEvents"]) {
    const std::string ph = e.value("ph", "");
    if (ph == "M" || ph == "X") continue;
    auto key = std::make_pair(e["pid"].get<int64_t>(), e["tid"].get<int64_t>());
    ASSERT_TRUE(slice.count(key)) << "on a track with a slice: " << e.dump();
    const double ts = e["ts"].get<double>();
    EXPECT_TRUE(ts >= slice[key].first && ts <= slice[key].second) << "inside its slice: " << e.dump();
    if (ph == "i") {
      instants++;
      EXPECT_EQ(e.value("s", ""), "t") << e.dump();
      execs += e.value("cat", "") == "exec";
      nets += e.value("cat", "") == "net" && e.value("name", "").find("127.0.0.1:9") != std::string::npos;
    }
    if (ph == "s") flow_starts[e["id"].get<int64_t>()]++;
    if (ph == "f") {
      flow_ends[e["id"].get<int64_t>()]++;
      EXPECT_EQ(e.value("bp", ""), "e") << e.dump();
      EXPECT_EQ(ts, slice[key].first) << "a spawn arrives where the child starts";
    }
  }
  for (const auto& [k, span] : slice) EXPECT_TRUE(named.count(k)) << "every track is named";
  EXPECT_EQ(flow_starts, flow_ends) << "every spawn flow has both ends";
  Summary s(json::parse(Show(j).out, nullptr, false));
  EXPECT_EQ(slice.size(), s.processes().size()) << "a track per process";
  EXPECT_EQ(flow_starts.size(), s.processes().size() - 1) << "every process but the first was spawned";
  EXPECT_GT(execs, 0u);
  EXPECT_EQ(nets, 1u) << "the connect, on nc's track";

  // ECS: one object per line, the fields fleets query
  CommandResult x = Stepseal({"export", j, "--format", "jsonl"});
  ASSERT_EQ(x.exit_code, 0) << x.Describe();
  std::istringstream lines(x.out);
  size_t n = 0, procs = 0, hashed = 0, dest = 0;
  for (std::string line; std::getline(lines, line);) {
    json e = json::parse(line, nullptr, false);
    ASSERT_TRUE(e.is_object()) << line;
    n++;
    EXPECT_TRUE(e["@timestamp"].is_string() && e["event"]["action"].is_string() &&
                e["event"]["outcome"].is_string()) << line;
    if (e["event"]["category"][0] == "process") {
      procs++;
      EXPECT_TRUE(e["process"]["pid"].is_number_integer() && e["process"]["executable"].is_string() &&
                  e["process"]["parent"]["pid"].is_number_integer()) << line;
    }
    if (e["event"]["category"][0] == "file") {
      EXPECT_TRUE(e["file"]["path"].is_string()) << line;
      hashed += e["file"].contains("hash");
    }
    if (e.contains("destination") && e["destination"].value("ip", "") == "127.0.0.1" &&
        e["destination"].value("port", 0) == 9 && e["event"]["action"] == "connect")
      dest++;
  }
  EXPECT_EQ(procs, s.processes().size());
  EXPECT_GT(hashed, 0u) << "reads carry file.hash.sha256";
  EXPECT_EQ(dest, 1u);
  EXPECT_GT(n, procs);
}

// The graph, focused on the binary, as Graphviz reads it; and the report in a real headless
// Chromium: it runs its script to the end without an error, shows the process count the
// summary has, and its screenshot is not blank.
TEST_F(ReplayTest, GraphRendersAndTheReportLoadsInHeadlessChromium) {
  for (const char* tool : {"/usr/bin/dot", "/usr/bin/chromium"})
    if (access(tool, X_OK) != 0) {
      if (PrivilegeRequired()) FAIL() << tool << " is missing: tools/install-deps installs it";
      GTEST_SKIP() << tool << " is missing";
    }
  // the command line carries markup that would end the data block or open a comment in it
  const std::string j = RecordBuild("src", "echo '<!--<script></script>' >/dev/null && make");
  const std::string bin = dir() / "src/greet";
  const std::string dot = dir() / "g.dot";
  CommandResult g = Stepseal({"graph", j, "--focus", bin, "--collapse", "/usr", "-o", dot});
  ASSERT_EQ(g.exit_code, 0) << g.Describe();
  CommandResult svg = RunCommand({"/usr/bin/dot", "-Tsvg", "-o", dir() / "g.svg", dot});
  EXPECT_EQ(svg.exit_code, 0) << svg.Describe() << ReadFile(dot).substr(0, 2000);
  CommandResult gj = Stepseal({"graph", j, "--focus", bin, "--format", "json"});
  ASSERT_EQ(gj.exit_code, 0) << gj.Describe();
  json graph = json::parse(gj.out, nullptr, false);
  ASSERT_TRUE(graph.is_object()) << gj.out.substr(0, 500);
  std::set<std::string> files;
  bool ld_made_it = false;
  std::map<std::string, std::string> exe_of;
  for (const auto& n : graph["nodes"]) {
    if (n["kind"] == "file") files.insert(n.value("path", ""));
    else exe_of[n.value("id", "")] = n.value("exe", "");
  }
  for (const auto& e : graph["edges"])
    if (e["to"] == "f:" + bin && exe_of[e.value("from", "")].find("ld") != std::string::npos) ld_made_it = true;
  EXPECT_TRUE(ld_made_it) << Dump(graph, 3000);
  EXPECT_TRUE(files.count(dir() / "src/main.c")) << "the focus reaches the sources";

  const std::string html = dir() / "report.html";
  CommandResult r = Stepseal({"report", j, "-o", html});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  const std::string page = ReadFile(html);
  // nothing fetched from elsewhere: no external reference, and a policy that forbids any
  for (const char* ref : {"src=\"http", "href=\"http", "url(http", "@import", "<link"})
    EXPECT_EQ(page.find(ref), std::string::npos) << ref;
  EXPECT_NE(page.find("default-src 'none'"), std::string::npos);
  const std::vector<std::string> chrome = {"/usr/bin/chromium", "--headless=new", "--no-sandbox",
                                           "--disable-gpu", "--user-data-dir=" + (dir() / "chrome"),
                                           "--enable-logging=stderr", "--v=0"};
  std::vector<std::string> dom_argv = chrome;
  dom_argv.insert(dom_argv.end(), {"--dump-dom", "file://" + html});
  CommandResult dom = RunCommand(dom_argv, {}, 120s);
  ASSERT_EQ(dom.exit_code, 0) << dom.Describe();
  EXPECT_NE(dom.out.find("data-rendered=\"yes\""), std::string::npos) << "the script ran to its end";
  EXPECT_EQ(dom.err.find("Uncaught"), std::string::npos) << dom.err;
  Summary s(json::parse(Show(j).out, nullptr, false));
  EXPECT_NE(dom.out.find("id=\"process-count\">" + std::to_string(s.processes().size()) + "<"),
            std::string::npos) << "the process count the summary has";
  std::vector<std::string> shot_argv = chrome;
  const std::string png = dir() / "shot.png";
  shot_argv.insert(shot_argv.end(), {"--screenshot=" + png, "--window-size=1200,900", "file://" + html});
  CommandResult shot = RunCommand(shot_argv, {}, 120s);
  ASSERT_EQ(shot.exit_code, 0) << shot.Describe();
  // not blank: the decoded scanlines of a blank page hold a handful of byte values
  CommandResult px = RunCommand(
      {"/usr/bin/python3", "-c",
       "import sys,zlib,struct\n"
       "d=open(sys.argv[1],'rb').read(); assert d[:8]==b'\\x89PNG\\r\\n\\x1a\\n'\n"
       "i=8; idat=b''\n"
       "while i < len(d):\n"
       "  n=struct.unpack('>I',d[i:i+4])[0]; t=d[i+4:i+8]\n"
       "  if t==b'IDAT': idat+=d[i+8:i+8+n]\n"
       "  i+=12+n\n"
       "print(len(set(zlib.decompress(idat))))\n",
       png});
  ASSERT_EQ(px.exit_code, 0) << px.Describe();
  EXPECT_GT(std::atoi(px.out.c_str()), 50) << "distinct byte values in the screenshot: " << px.out;
}

// A build record is held to what its build.json says of itself: a record that says it is not
// complete, a step journal that is not the one build.json names (by chain head), a journal it
// does not list and a record with no journal at all each make every answer inconclusive; a
// build.json that names a file outside the record, a FIFO or a step of the wrong type is
// refused (exit 3), never followed.
TEST_F(ReplayTest, ABuildRecordIsHeldToItsBuildJson) {
  const std::string j = RecordBuild("src", "make");
  CommandResult show = Show(j);
  const std::string head = json::parse(show.out, nullptr, false)["journal"].value("sha256_head", "");
  ASSERT_EQ(head.size(), 64u) << show.out.substr(0, 300);
  auto record = [&](const std::string& name, const json& steps, bool complete,
                    const std::vector<std::string>& journals = {"01"}) {
    const std::string rec = dir() / name;
    fs::create_directories(rec + "/steps");
    for (const auto& n : journals) fs::copy_file(j, rec + "/steps/" + n + ".journal");
    WriteFile(rec + "/build.json", json({{"format", "stepseal-build"}, {"version", 1},
                                         {"steps", steps}, {"complete", complete}}).dump());
    return rec;
  };
  const json good = json::array({{{"step", 1}, {"journal", "steps/01.journal"}, {"journal_sha256", head}}});
  const std::string whole = record("whole", good, true);
  CommandResult ok = Stepseal({"tree", whole});
  EXPECT_EQ(ok.exit_code, 0) << ok.Describe();
  EXPECT_NE(ok.out.find("intact and complete"), std::string::npos) << ok.out;
  struct Case {
    std::string name;
    json steps;
    bool complete;
    std::vector<std::string> journals;
    std::string says;
  };
  json wrong = good;
  wrong[0]["journal_sha256"] = std::string(64, 'a');
  for (const Case& c : std::vector<Case>{
           {"incomplete", good, false, {"01"}, "not complete"},
           {"other-head", wrong, true, {"01"}, "not the journal build.json names"},
           {"unlisted", good, true, {"01", "02"}, "does not list"},
           {"empty", json::array(), true, {}, "no journal"}}) {
    SCOPED_TRACE(c.name);
    const std::string rec = record(c.name, c.steps, c.complete, c.journals);
    CommandResult r = Stepseal({"tree", rec});
    EXPECT_EQ(r.exit_code, 4) << r.Describe();
    EXPECT_NE(r.out.find("INCONCLUSIVE"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(c.says), std::string::npos) << r.out;
  }
  // refused: outside the record (by name, or through a symlink), a FIFO, a step of another type
  const std::string outside = record("outside", json::array({{{"step", 1}, {"journal", "../src.journal"}}}), true, {});
  const std::string linked = record("linked", json::array({{{"step", 1}, {"journal", "steps/01.journal"}}}), true, {});
  fs::create_symlink(j, linked + "/steps/01.journal");
  const std::string fifo = record("fifo", json::array({{{"step", 1}, {"journal", "steps/01.journal"}}}), true, {});
  ASSERT_EQ(mkfifo((fifo + "/steps/01.journal").c_str(), 0600), 0);
  const std::string typed = record("typed", json::array({{{"step", "1"}, {"journal", "steps/01.journal"}}}), true);
  for (const std::string& rec : {outside, linked, fifo, typed}) {
    CommandResult r = Stepseal({"tree", rec});
    EXPECT_EQ(r.exit_code, 3) << rec << ": " << r.Describe();
    EXPECT_NE(r.err.find(rec), std::string::npos) << "names the record: " << r.err;
  }
}

TEST_F(ReplayTest, DamagedJournalsGiveMarkedAnswersNeverACrash) {
  const std::string j = RecordBuild("src", "make");
  const std::string bin = dir() / "src/greet";
  // cut: the first half only; flipped: one byte in the middle changed
  std::string bytes = ReadFile(j);
  ASSERT_GT(bytes.size(), 4096u);
  const std::string cut = dir() / "cut.journal", flipped = dir() / "flipped.journal";
  WriteFile(cut, bytes.substr(0, bytes.size() / 2));
  bytes[bytes.size() / 2] ^= 0x5a;
  WriteFile(flipped, bytes);
  for (const std::string& bad : {cut, flipped}) {
    SCOPED_TRACE(bad);
    for (const std::vector<std::string>& cmd :
         std::vector<std::vector<std::string>>{{"tree", bad},
                                               {"events", bad, "--kind", "exec"},
                                               {"who", bad, dir() / "src/main.c"},
                                               {"why", bad, bin}}) {
      CommandResult r = Stepseal(cmd);
      EXPECT_EQ(r.exit_code, 4) << cmd[0] << ": " << r.Describe();
      EXPECT_NE(r.out.find("INCONCLUSIVE"), std::string::npos) << cmd[0] << ": " << r.out;
      EXPECT_NE(r.out.find("offset"), std::string::npos) << "names where the record breaks: " << r.out;
    }
    // a diff against the intact journal: whatever it finds, it is marked inconclusive
    CommandResult d = Stepseal({"diff", j, bad, "--fail-on", "none"});
    EXPECT_EQ(d.exit_code, 4) << d.Describe();
    EXPECT_NE(d.out.find("INCONCLUSIVE"), std::string::npos) << d.out;
  }
  // the same journal given twice, whole and with garbage after it: the damaged copy makes the
  // answer inconclusive, in either order
  const std::string garbage = dir() / "garbage.journal";
  WriteFile(garbage, ReadFile(j) + "garbage after the trailer");
  EXPECT_EQ(Stepseal({"who", j, garbage, dir() / "src/main.c"}).exit_code, 4);
  EXPECT_EQ(Stepseal({"who", garbage, j, dir() / "src/main.c"}).exit_code, 4);
  // not a journal at all: a clear error, exit 3
  WriteFile(dir() / "junk", "this is not a journal\n");
  CommandResult junk = Stepseal({"tree", dir() / "junk"});
  EXPECT_EQ(junk.exit_code, 3) << junk.Describe();
  EXPECT_NE(junk.err.find(dir() / "junk"), std::string::npos) << junk.err;
  CommandResult missing = Stepseal({"why", dir() / "nope.journal", bin});
  EXPECT_EQ(missing.exit_code, 3) << missing.Describe();
}

}  // namespace
}  // namespace e2e
