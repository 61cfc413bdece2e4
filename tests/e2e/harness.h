// harness.h - run a command under `stepseal run`, read back `stepseal show --format json`, and
// look things up in the summary.
//
//   class OpsTest : public e2e::E2ETest {};
//   TEST_F(OpsTest, Rename) {
//     e2e::TracedRun r = Trace({e2e::Prog("rename_ops"), work()});
//     ASSERT_TRUE(e2e::CleanRun(r));
//     EXPECT_TRUE(r.summary.HasAccess(work() + "/new", "rename_to"));
//   }
//
// The Has* lookups return testing::AssertionResult, so a failed expectation prints what the
// summary did contain nearby (the entry, or all entries of that section).
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <signal.h>
#include <fcntl.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "os_util.h"
#include "privilege.h"

#ifndef STEPSEAL_PROGS_DIR
#error "STEPSEAL_PROGS_DIR must be defined by the build"
#endif
#ifndef STEPSEAL_SOURCE_DIR
#error "STEPSEAL_SOURCE_DIR must be defined by the build"
#endif

namespace e2e {

using nlohmann::json;

// Canonical path of the helper program NAME (tests/progs/NAME.c).
inline std::string Prog(const std::string& name) {
  return Canonical(std::string(STEPSEAL_PROGS_DIR) + "/" + name);
}

// Path of a file in the source tree, e.g. Source("tests/workloads/hello.c").
inline std::string Source(const std::string& relative) {
  return std::string(STEPSEAL_SOURCE_DIR) + "/" + relative;
}

// At most LIMIT characters of J, for failure messages.
inline std::string Dump(const json& j, size_t limit = 6000) {
  std::string s = j.dump(1);
  return s.size() > limit ? s.substr(0, limit) + "\n... (" + std::to_string(s.size()) + " chars)"
                          : s;
}

// Whether every field of FIELDS is present in ENTRY with an equal value.
inline bool Matches(const json& entry, const json& fields) {
  for (const auto& [key, value] : fields.items())
    if (!entry.contains(key) || entry.at(key) != value) return false;
  return true;
}

inline bool Contains(const json& array, const json& value) {
  return array.is_array() && std::find(array.begin(), array.end(), value) != array.end();
}

// The JSON summary printed by `stepseal show --format json`.
class Summary {
 public:
  Summary() = default;
  explicit Summary(json j) : j_(std::move(j)) {}

  const json& raw() const { return j_; }
  const json& Section(const char* name) const {
    static const json kEmpty = json::array();
    return j_.is_object() && j_.contains(name) && j_.at(name).is_array() ? j_.at(name) : kEmpty;
  }
  const json& processes() const { return Section("processes"); }
  const json& files() const { return Section("files"); }
  const json& failed() const { return Section("failed"); }
  const json& network() const { return Section("network"); }
  const json& gaps() const { return Section("gaps"); }

  bool complete() const { return j_.value("complete", false); }
  long lost_events() const { return j_.value("lost_events", -1L); }
  json step() const { return j_.value("step", json::object()); }

  // --- files ---------------------------------------------------------------------------------

  const json* File(const std::string& path) const {
    for (const auto& f : files())
      if (f.value("path", "") == path) return &f;
    return nullptr;
  }

  testing::AssertionResult HasAccess(const std::string& path, const std::string& kind) const {
    const json* f = File(path);
    if (!f) return NoFile(path);
    if (Contains(f->value("access", json::array()), kind)) return testing::AssertionSuccess();
    return testing::AssertionFailure() << "file " << path << " lacks access \"" << kind
                                       << "\": " << f->dump();
  }

  // PATH has an entry, and KIND is not among its accesses. A missing entry is a failure: the
  // claim is about which access was recorded for a file that was recorded (use HasNoEntry where
  // the claim is that nothing touched the file).
  testing::AssertionResult LacksAccess(const std::string& path, const std::string& kind) const {
    const json* f = File(path);
    if (!f) return NoFile(path);
    if (Contains(f->value("access", json::array()), kind))
      return testing::AssertionFailure() << "file " << path << " has access \"" << kind
                                         << "\": " << f->dump();
    return testing::AssertionSuccess();
  }

  // Nothing about PATH is recorded: no files entry.
  testing::AssertionResult HasNoEntry(const std::string& path) const {
    if (const json* f = File(path))
      return testing::AssertionFailure() << "file " << path << " has an entry: " << f->dump();
    return testing::AssertionSuccess();
  }

  // Whether PID is among the pids recorded for PATH.
  testing::AssertionResult FileTouchedBy(const std::string& path, int pid) const {
    const json* f = File(path);
    if (!f) return NoFile(path);
    if (Contains(f->value("pids", json::array()), pid)) return testing::AssertionSuccess();
    return testing::AssertionFailure() << "file " << path << " does not list pid " << pid << ": "
                                       << f->dump();
  }

  // --- processes -----------------------------------------------------------------------------

  std::vector<const json*> ProcessesWhere(const json& fields) const {
    std::vector<const json*> found;
    for (const auto& p : processes())
      if (Matches(p, fields)) found.push_back(&p);
    return found;
  }

  std::vector<const json*> ProcessesByExe(const std::string& exe) const {
    return ProcessesWhere({{"exe", exe}});
  }

  std::vector<const json*> ChildrenOf(int pid) const { return ProcessesWhere({{"ppid", pid}}); }

  std::set<int> Pids() const {
    std::set<int> pids;
    for (const auto& p : processes()) pids.insert(p.value("pid", -1));
    return pids;
  }

  // The process stepseal started: the one whose parent is not traced. If several entries qualify
  // (e.g. an orphan recorded with its new parent) the one running ROOT_EXE is preferred.
  int RootPid(const std::string& root_exe = "") const {
    std::set<int> pids = Pids(), roots;
    for (const auto& p : processes()) {
      if (pids.count(p.value("ppid", -1))) continue;
      if (!root_exe.empty() && p.value("exe", "") == root_exe) return p.value("pid", -1);
      roots.insert(p.value("pid", -1));
    }
    return roots.size() == 1 ? *roots.begin() : -1;
  }

  testing::AssertionResult HasProcess(const json& fields) const {
    if (!ProcessesWhere(fields).empty()) return testing::AssertionSuccess();
    return testing::AssertionFailure() << "no process matches " << fields.dump()
                                       << "; processes: " << Dump(processes());
  }

  // --- network, failed, gaps -----------------------------------------------------------------

  testing::AssertionResult HasNetwork(const json& fields) const {
    return HasEntry("network", fields);
  }

  testing::AssertionResult HasFailed(const std::string& path, const std::string& op,
                                     const std::string& err) const {
    return HasEntry("failed", {{"path", path}, {"op", op}, {"errno", err}});
  }

  testing::AssertionResult HasGap(const json& fields) const { return HasEntry("gaps", fields); }

  testing::AssertionResult HasEntry(const char* section, const json& fields) const {
    for (const auto& e : Section(section))
      if (Matches(e, fields)) return testing::AssertionSuccess();
    return testing::AssertionFailure() << "no \"" << section << "\" entry matches "
                                       << fields.dump() << "; " << section << ": "
                                       << Dump(Section(section));
  }

 private:
  testing::AssertionResult NoFile(const std::string& path) const {
    // Entries with the same file name help to spot a path resolved against the wrong directory.
    std::string name = path.substr(path.rfind('/') + 1);
    json similar = json::array();
    for (const auto& f : files()) {
      std::string p = f.value("path", "");
      if (p.size() >= name.size() && p.compare(p.size() - name.size(), name.size(), name) == 0)
        similar.push_back(f);
    }
    return testing::AssertionFailure() << "no file entry for " << path
                                       << "; entries ending in \"" << name
                                       << "\": " << Dump(similar);
  }

  json j_;
};

// sha256sum(1)'s digest of a file: the independent reference for stepseal's digests.
inline std::string Sha256Sum(const std::string& path) {
  CommandResult r = RunCommand({"/usr/bin/sha256sum", "--", path});
  return r.exit_code == 0 && r.out.size() >= 64 ? r.out.substr(0, 64) : "sha256sum failed";
}

// sha256sum(1)'s digest of some bytes.
inline std::string Sha256Of(const std::string& bytes) {
  TempDir tmp;
  const std::string path = tmp / "bytes";
  WriteFile(path, bytes);
  return Sha256Sum(path);
}

// One command run under `stepseal run`, and the summary of its journal.
struct TracedRun {
  std::vector<std::string> command;
  std::string journal;
  CommandResult run;   // stepseal run: its exit code is the command's
  CommandResult show;  // stepseal show --format json
  bool parsed = false;
  Summary summary;

  int root_pid() const { return summary.RootPid(command.empty() ? "" : Canonical(command[0])); }

  std::string Describe() const {
    return "command: " + Join(command) + "\n[stepseal run] " + run.Describe() +
           "\n[stepseal show] " + show.Describe();
  }
};

inline CommandResult Show(const std::string& journal) {
  return RunCommand({STEPSEAL_BIN, "show", journal, "--format", "json"}, {}, 120s);
}

// Runs COMMAND under `stepseal run --trace DIR/step.journal`, then reads the summary back.
inline TracedRun Trace(const TempDir& dir, const std::vector<std::string>& command,
                       const SpawnOptions& opts = {},
                       std::chrono::milliseconds timeout = 300s) {
  TracedRun r;
  r.command = command;
  r.journal = dir / "step.journal";
  std::vector<std::string> argv = {STEPSEAL_BIN, "run", "--trace", r.journal, "--"};
  argv.insert(argv.end(), command.begin(), command.end());
  r.run = RunCommand(argv, opts, timeout);
  r.show = Show(r.journal);
  json j = json::parse(r.show.out, nullptr, /*allow_exceptions=*/false);
  r.parsed = !j.is_discarded() && j.is_object();
  if (r.parsed) r.summary = Summary(std::move(j));
  return r;
}

// The command exited 0, the journal is intact and the summary is complete, with nothing lost
// and no gaps: what every run of an ordinary operation must give.
inline testing::AssertionResult CleanRun(const TracedRun& r) {
  auto fail = [&](const std::string& what) {
    return testing::AssertionFailure() << what << "\n" << r.Describe();
  };
  if (r.run.exit_code != 0) return fail("the traced command did not exit 0");
  if (r.show.exit_code != 0) return fail("stepseal show did not exit 0");
  if (!r.parsed) return fail("stepseal show did not print a JSON object");
  if (!r.summary.complete()) return fail("the summary is not complete");
  if (r.summary.lost_events() != 0) return fail("the summary reports lost events");
  if (!r.summary.gaps().empty()) return fail("the summary reports gaps");
  return testing::AssertionSuccess();
}

// Fixture for every e2e test: skips (or fails) without privileges, and gives each test a fresh
// temp dir with an empty "work" subdirectory for the traced command to use.
class E2ETest : public testing::Test {
 protected:
  void SetUp() override {
    RequirePrivilegeOrSkip();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(dir_.ok()) << "mkdtemp failed";
    ASSERT_EQ(mkdir(work().c_str(), 0755), 0) << strerror(errno);
  }

  const TempDir& dir() const { return dir_; }
  std::string work() const { return dir_ / "work"; }
  std::string work(const std::string& name) const { return work() + "/" + name; }

  TracedRun Trace(const std::vector<std::string>& command, const SpawnOptions& opts = {}) {
    return e2e::Trace(dir_, command, opts);
  }

  // Opens the fifo PATH for reading without blocking (so no writer is needed yet) and returns
  // the descriptor; poll() on it reports readable once a writer has written. Closed at TearDown.
  int OpenFifoReader(const std::string& path) {
    if (mkfifo(path.c_str(), 0600) != 0) return -1;
    int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) fifos_.push_back(fd);
    return fd;
  }

  // Reads what a writer put into the fifo FD, waiting at most TIMEOUT for it.
  static std::string AwaitFifo(int fd, std::chrono::milliseconds timeout) {
    if (!WaitReadable(fd, Clock::now() + timeout)) return "";
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }

  void TearDown() override {
    for (int fd : fifos_) close(fd);
    // Anything this test started that is still alive (its command line names the test's unique
    // temp dir: stepseal's --trace, say) is killed, so that a failure leaks nothing into the
    // next test.
    if (dir_.ok())
      for (pid_t pid : LiveProcessesMentioning(dir_.path())) kill(pid, SIGKILL);
  }

 private:
  TempDir dir_;
  std::vector<int> fifos_;
};

}  // namespace e2e
