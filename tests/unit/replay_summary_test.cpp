// replay_step() and summary_json() on synthetic records: the consumer every command shares, and
// the summary it distils, without root or a journal file.
#include <gtest/gtest.h>
#include <fcntl.h>

#include <nlohmann/json.hpp>

#include "distill/summary.h"
#include "replay/record_source.h"
#include "replay/step_record.h"

namespace stepseal {
namespace {

using nlohmann::json;
using journal::Record;
using journal::RecordType;

constexpr uint32_t kSpawner = 10, kRoot = 100;

Record json_record(RecordType t, json j) { return Record{t, 0, std::move(j), std::nullopt}; }

Record event_record(Event e) { return Record{RecordType::EVENT, 0, json(), std::move(e)}; }

Event ev(Kind k, uint32_t pid, uint64_t ts, int64_t ret = 0) {
  Event e;
  e.kind = k;
  e.pid = e.tid = pid;
  e.ret = ret;
  e.ts_ns = ts;
  return e;
}

// A small step: the spawner forks the root, which execs /bin/cat, reads /w/in, fails to open
// /w/missing, writes /w/out and exits 0. With COUNTERS as STEP_END's counters.
std::vector<Record> Step(json counters = json::object(), json start_extra = json::object()) {
  std::vector<Record> r;
  r.push_back(json_record(RecordType::HEADER, {{"format", 1}, {"realtime_minus_monotonic_ns", 0}}));
  json start = {{"argv", {"/bin/cat", "in"}}, {"cwd", "/w"}, {"spawner_pid", kSpawner},
                {"started", "2026-12-05T00:00:00.000000000Z"}};
  start.update(start_extra);
  r.push_back(json_record(RecordType::STEP_START, start));
  Event fork = ev(Kind::FORK, kSpawner, 1000);
  fork.args[0] = fork.args[1] = kRoot;
  r.push_back(event_record(fork));
  Event exec = ev(Kind::EXEC, kRoot, 1001);
  exec.obj = "/bin/cat";
  exec.cwd = "/w";
  exec.argv = {"/bin/cat", "in"};
  r.push_back(event_record(exec));
  Event read = ev(Kind::OPEN, kRoot, 1002, 3);
  read.obj = "/w/in";
  read.args[2] = O_RDONLY;
  r.push_back(event_record(read));
  Event missing = ev(Kind::OPEN, kRoot, 1003, -ENOENT);
  missing.path = "/w/missing";
  missing.args[2] = O_RDONLY;
  r.push_back(event_record(missing));
  Event write = ev(Kind::OPEN, kRoot, 1004, 4);
  write.obj = "/w/out";
  write.args[2] = O_WRONLY | O_CREAT | O_TRUNC;
  r.push_back(event_record(write));
  r.push_back(event_record(ev(Kind::EXIT, kRoot, 1005, 0)));
  r.push_back(json_record(RecordType::STEP_END, {{"exit_code", 0}, {"wait_status", 0},
                                                 {"finished", "2026-12-05T00:00:01.000000000Z"},
                                                 {"counters", counters}}));
  return r;
}

const json* FileEntry(const json& s, const std::string& path) {
  for (const auto& f : s["files"])
    if (f.value("path", "") == path) return &f;
  return nullptr;
}

TEST(ReplaySummary, AStepReadsBackAsItsSummary) {
  SyntheticSource src(Step());
  StepRecord r = replay_step(src);
  const json s = summary_json(r);
  EXPECT_TRUE(s["complete"].get<bool>()) << s.dump(1);
  EXPECT_EQ(s["lost_events"], 0);
  EXPECT_EQ(s["mode"], "observe");
  EXPECT_EQ(s["step"]["exit_code"], 0);
  ASSERT_EQ(s["processes"].size(), 1u) << s["processes"].dump(1);
  EXPECT_EQ(s["processes"][0]["exe"], "/bin/cat");
  EXPECT_EQ(s["processes"][0]["pid"], kRoot);
  const json* in = FileEntry(s, "/w/in");
  ASSERT_NE(in, nullptr) << s["files"].dump(1);
  EXPECT_EQ((*in)["access"], json({"read"}));
  const json* out = FileEntry(s, "/w/out");
  ASSERT_NE(out, nullptr) << s["files"].dump(1);
  EXPECT_NE(std::find((*out)["access"].begin(), (*out)["access"].end(), "write"),
            (*out)["access"].end())
      << out->dump();
  bool failed = false;
  for (const auto& f : s["failed"])
    failed |= f.value("path", "") == "/w/missing" && f.value("errno", "") == "ENOENT";
  EXPECT_TRUE(failed) << s["failed"].dump(1);
  EXPECT_EQ(s["violations"], json::array());
}

TEST(ReplaySummary, LostEventsMakeTheSummaryIncomplete) {
  SyntheticSource src(Step({{"lost_ringbuf", {2, 1}}}));
  const json s = summary_json(replay_step(src));
  EXPECT_EQ(s["lost_events"], 3);
  EXPECT_FALSE(s["complete"].get<bool>());
}

TEST(ReplaySummary, ADamagedSourceIsNeverComplete) {
  SyntheticSource src(Step());
  src.set_damaged("checksum mismatch");
  const json s = summary_json(replay_step(src));
  EXPECT_FALSE(s["complete"].get<bool>());
  EXPECT_EQ(s["journal"]["intact"], false);
  EXPECT_EQ(s["journal"]["problem"], "checksum mismatch");
}

TEST(ReplaySummary, AnInvalidRecordedPolicyIsAnError) {
  SyntheticSource src(Step(json::object(), {{"mode", "hardened"}, {"policy", {{"version", 99}}}}));
  EXPECT_THROW(replay_step(src), std::runtime_error);
}

TEST(ReplaySummary, AHardenedStepIsJudgedAgainstItsRecordedPolicy) {
  // the policy allows exec of nothing but /bin/sh: /bin/cat breaks exec.allow
  const json policy = {{"version", 1}, {"exec", {{"allow", {{{"path", "/bin/sh"}}}}}}};
  SyntheticSource src(Step(json::object(), {{"mode", "hardened"}, {"policy", policy}, {"workspace", "/w"},
                                {"exec_paths", {{"/bin/sh", "/usr/bin/dash"}}}}));
  StepRecord r;
  try {
    r = replay_step(src);
  } catch (const std::exception& e) {
    FAIL() << "replay_step: " << e.what();
  }
  json s;
  try {
    s = summary_json(r);
  } catch (const std::exception& e) {
    FAIL() << "summary_json: " << e.what();
  }
  EXPECT_EQ(s["mode"], "hardened");
  bool broke = false;
  for (const auto& v : s["violations"]) broke |= v.value("rule", "").rfind("exec.", 0) == 0;
  EXPECT_TRUE(broke) << s["violations"].dump(1);
}

// A journal is input: STEP_END counters of the wrong shape must not crash the summary.
TEST(ReplaySummary, MalformedCountersAreNotACrash) {
  for (const json& bad : {json(nullptr), json("x"), json({{"lost_ringbuf", "many"}}),
                          json({{"lost_ringbuf", {-1, "x"}}, {"lost_decode", "y"}})}) {
    SyntheticSource src(Step(bad));
    json s;
    EXPECT_NO_THROW(s = summary_json(replay_step(src))) << bad.dump();
    EXPECT_EQ(s.value("lost_events", -1), 0) << bad.dump();
  }
}

TEST(ReplaySummary, TheSameRecordsGiveTheSameSummary) {
  SyntheticSource a(Step()), b(Step());
  EXPECT_EQ(summary_json(replay_step(a)), summary_json(replay_step(b)));
}

TEST(ReplaySummary, TextSummaryNamesTheProcessAndFiles) {
  SyntheticSource src(Step());
  const std::string text = summary_text(summary_json(replay_step(src)));
  EXPECT_NE(text.find("/bin/cat"), std::string::npos) << text;
  EXPECT_NE(text.find("/w/out"), std::string::npos) << text;
  EXPECT_NE(text.find("complete:  yes"), std::string::npos) << text;
}

}  // namespace
}  // namespace stepseal
