// fidelity_test.cpp - stepseal against an independent observer of the very same run.
//
// The workload runs as `stepseal run -- strace -f -y ... -- WORKLOAD`, so strace (ptrace) and
// stepseal (eBPF) watch the same processes make the same system calls. From each side the test
// builds three sets and requires them to be equal:
//   opened    canonical paths of files opened successfully (open/openat/openat2/creat)
//   executed  canonical paths of programs executed successfully; for a #! script, the script
//   failed    "path errno" of failed opens
//
// How each side is read, decided once for both:
//   - paths are compared after Canonical() (symlinks resolved, also for paths that no longer
//     exist); only absolute paths count (strace prints pipes and sockets as "pipe:[...]" etc.);
//     paths containing " (deleted)" and paths under /proc/ (whose /proc/self means a different
//     process to the test than to the workload) are left out on both sides.
//   - strace: an open succeeded if it returned a descriptor; -y prints the descriptor's path after
//     it ("= 3</abs/path>"). A failed open's path is its argument, resolved against the dirfd
//     (-y prints AT_FDCWD and dirfds with their paths too). An exec succeeded if it returned 0;
//     its path is the first argument.
//   - stepseal: a file counts as opened if its access has read, write, overwrite or path
//     (O_PATH) and a
//     workload process is among its pids; executed are the processes' "script", or "exe" when
//     there is no script, leaving out a forked child that did not exec (same exe and argv as its
//     parent); failed opens are "failed" entries with op "open".
//   - strace itself is not the workload: processes running strace's binary (its main process and
//     the probe children it forks at startup) are left out. strace's child that execs the
//     workload is kept, since that exec is the workload's first.
#include <cstdlib>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "harness.h"

namespace e2e {
namespace {

using PathSet = std::set<std::string>;

struct Observed {
  PathSet opened, executed, failed;
};

const char* const kStraceCalls = "trace=execve,execveat,open,openat,openat2,creat";

// Keep PATH in a compared set? (See the header comment.)
bool Comparable(const std::string& path) {
  return !path.empty() && path[0] == '/' && path.find(" (deleted)") == std::string::npos &&
         path.rfind("/proc/", 0) != 0;
}

void AddIfComparable(PathSet& set, const std::string& path, const std::string& suffix = "") {
  if (!Comparable(path)) return;
  std::string canonical = Canonical(path);
  if (Comparable(canonical)) set.insert(canonical + suffix);
}

// Reads the C-style quoted string starting at S[POS] == '"'; returns its unescaped contents.
std::string Unquote(const std::string& s, size_t pos) {
  std::string out;
  for (size_t i = pos + 1; i < s.size() && s[i] != '"'; ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    char c = s[++i];
    if (c == 'x' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
    }
  }
  return out;
}

// The path -y printed inside <...> right after position POS, or "".
std::string AnnotatedPath(const std::string& s, size_t pos) {
  if (pos >= s.size() || s[pos] != '<') return "";
  size_t end = s.find('>', pos);
  return end == std::string::npos ? "" : s.substr(pos + 1, end - pos - 1);
}

// The sets strace saw, from its -f -y -qq output. Calls interrupted by another process's output
// appear as "PID call(args <unfinished ...>" and later "PID <... call resumed>rest"; they are
// joined back together first.
Observed ParseStrace(const std::string& text, std::vector<std::string>& problems) {
  static const std::regex kLine(R"(^(\d+)\s+(.*)$)");
  static const std::regex kResumed(R"(^<\.\.\. (\w+) resumed>(.*)$)");
  static const std::regex kCall(R"(^(\w+)\((.*)\)\s+= (.*)$)");
  static const std::regex kFd(R"(^(\d+)<(.*)>$)");
  static const std::regex kError(R"(^-1 (E[A-Z0-9]+) )");
  const std::string kUnfinished = " <unfinished ...>";

  Observed seen;
  std::map<std::string, std::string> pending;  // pid -> call text up to <unfinished ...>
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_match(line, m, kLine)) continue;
    std::string pid = m[1], call = m[2];
    if (std::regex_match(call, m, kResumed)) {
      call = pending[pid] + std::string(m[2]);
      pending.erase(pid);
    } else if (call.size() > kUnfinished.size() &&
               call.compare(call.size() - kUnfinished.size(), kUnfinished.size(), kUnfinished) ==
                   0) {
      pending[pid] = call.substr(0, call.size() - kUnfinished.size());
      continue;
    }
    if (!std::regex_match(call, m, kCall)) continue;  // signals, exits, ...
    const std::string name = m[1], args = m[2], result = m[3];
    const bool has_dirfd = name == "openat" || name == "openat2" || name == "execveat";
    size_t quote = args.find('"');
    if (quote == std::string::npos) continue;
    std::string arg = Unquote(args, quote);

    if (name == "execve" || name == "execveat") {
      if (result != "0") continue;
      if (name == "execveat" || arg.empty() || arg[0] != '/')
        problems.push_back("cannot resolve exec: " + line);
      else
        AddIfComparable(seen.executed, arg);
      continue;
    }
    std::smatch r;
    if (std::regex_match(result, r, kFd)) {
      AddIfComparable(seen.opened, r[2]);
    } else if (std::regex_search(result, r, kError)) {
      std::string path = arg;
      if (path.empty() || path[0] != '/') {
        // relative: resolve against the annotated dirfd, e.g. openat(AT_FDCWD</tmp/w>, "x", ...)
        std::string dir = has_dirfd ? AnnotatedPath(args, args.find('<')) : "";
        if (dir.empty() || args.find('<') > quote) {
          problems.push_back("cannot resolve failed open: " + line);
          continue;
        }
        path = dir + "/" + path;
      }
      AddIfComparable(seen.failed, path, " " + std::string(r[1]));
    }
  }
  for (const auto& [pid, call] : pending) problems.push_back("never resumed: " + pid + " " + call);
  return seen;
}

// The same sets from stepseal's summary, leaving out the processes running STRACE_EXE.
Observed FromSummary(const Summary& s, const std::string& strace_exe) {
  // pids whose every entry runs strace: strace's main process and its probe children
  std::map<int, bool> only_strace;
  for (const auto& p : s.processes()) {
    int pid = p.value("pid", -1);
    bool is_strace = p.value("exe", "") == strace_exe;
    only_strace[pid] = only_strace.count(pid) ? only_strace[pid] && is_strace : is_strace;
  }
  auto workload = [&](int pid) { return !only_strace.count(pid) || !only_strace[pid]; };
  auto any_workload_pid = [&](const json& entry) {
    for (const auto& pid : entry.value("pids", json::array()))
      if (workload(pid.get<int>())) return true;
    return false;
  };

  Observed seen;
  for (const auto& f : s.files()) {
    const json access = f.value("access", json::array());
    bool opened = false;
    for (const char* kind : {"read", "write", "overwrite", "path"}) opened |= Contains(access, kind);
    if (opened && any_workload_pid(f)) AddIfComparable(seen.opened, f.value("path", ""));
  }
  for (const auto& p : s.processes()) {
    int pid = p.value("pid", -1);
    if (!workload(pid)) continue;
    bool forked_only = false;  // same image as its parent: a fork that did not exec
    for (const json* parent : s.ProcessesWhere({{"pid", p.value("ppid", -1)}}))
      forked_only |= parent->value("exe", "") == p.value("exe", "") &&
                     parent->value("argv", json()) == p.value("argv", json());
    if (forked_only) continue;
    std::string script = p.value("script", "");
    AddIfComparable(seen.executed, script.empty() ? p.value("exe", "") : script);
  }
  for (const auto& f : s.failed())
    if (f.value("op", "") == "open" && any_workload_pid(f))
      AddIfComparable(seen.failed, f.value("path", ""), " " + f.value("errno", ""));
  return seen;
}

testing::AssertionResult SameSets(const char* what, const PathSet& strace, const PathSet& ours) {
  std::vector<std::string> only_strace, only_ours;
  std::set_difference(strace.begin(), strace.end(), ours.begin(), ours.end(),
                      std::back_inserter(only_strace));
  std::set_difference(ours.begin(), ours.end(), strace.begin(), strace.end(),
                      std::back_inserter(only_ours));
  if (only_strace.empty() && only_ours.empty())
    return testing::AssertionSuccess() << what << ": " << ours.size() << " equal entries";
  testing::AssertionResult f = testing::AssertionFailure();
  f << what << " differ (" << strace.size() << " by strace, " << ours.size() << " by stepseal)";
  f << "\n  only strace saw:";
  for (const auto& p : only_strace) f << "\n    " << p;
  f << "\n  only stepseal saw:";
  for (const auto& p : only_ours) f << "\n    " << p;
  return f;
}

// Absolute path of PROGRAM found on PATH, or "".
std::string FindOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':'))
    if (!dir.empty() && access((dir + "/" + program).c_str(), X_OK) == 0)
      return Canonical(dir + "/" + program);
  return "";
}

class FidelityTest : public E2ETest {
 protected:
  void SetUp() override {
    E2ETest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    strace_ = FindOnPath("strace");
    if (strace_.empty()) {
      if (PrivilegeRequired()) FAIL() << "strace is not installed";
      GTEST_SKIP() << "strace is not installed";
    }
  }

  // Runs WORKLOAD (in CWD, by default DIR/work) under strace under stepseal and compares what
  // both saw.
  void CompareWithStrace(const std::vector<std::string>& workload, std::string cwd = "") {
    if (cwd.empty()) cwd = work();
    const std::string strace_out = dir() / "strace.txt";
    std::vector<std::string> command = {strace_, "-f", "-y", "-qq", "-o", strace_out,
                                        "-e", kStraceCalls, "--"};
    command.insert(command.end(), workload.begin(), workload.end());
    TracedRun r = Trace(command, {.cwd = cwd, .extra_env = {"TMPDIR=" + work()}});
    ASSERT_TRUE(CleanRun(r));

    std::vector<std::string> problems;
    Observed by_strace = ParseStrace(ReadFile(strace_out), problems);
    for (const auto& p : problems) ADD_FAILURE() << "strace output: " << p;
    ASSERT_FALSE(by_strace.opened.empty()) << "strace saw no open at all; is " << strace_out
                                           << " empty?";
    ASSERT_FALSE(by_strace.executed.empty());

    Observed by_stepseal = FromSummary(r.summary, strace_);
    std::cout << "[ fidelity ] strace / stepseal: opened " << by_strace.opened.size() << " / "
              << by_stepseal.opened.size() << ", executed " << by_strace.executed.size() << " / "
              << by_stepseal.executed.size() << ", failed opens " << by_strace.failed.size()
              << " / " << by_stepseal.failed.size() << "\n";
    EXPECT_TRUE(SameSets("opened files", by_strace.opened, by_stepseal.opened));
    EXPECT_TRUE(SameSets("executed programs", by_strace.executed, by_stepseal.executed));
    EXPECT_TRUE(SameSets("failed opens", by_strace.failed, by_stepseal.failed));
  }

  std::string strace_;
};

TEST_F(FidelityTest, ShellScriptWithDaemon) {
  // A private copy, so the script's own path (which the summary reports as "script") is known
  // and certainly executable.
  const std::string script = dir() / "fidelity_script.sh";
  WriteFile(script, ReadFile(Source("tests/workloads/fidelity_script.sh")));
  ASSERT_EQ(chmod(script.c_str(), 0755), 0);
  CommandResult setup = RunCommand({"/bin/sh", script, "setup", work()});
  ASSERT_EQ(setup.exit_code, 0) << setup.Describe();

  CompareWithStrace({script, "run", work(), Canonical(STEPSEAL_PROGS_DIR)});
  EXPECT_EQ(ReadFile(work("out/via_dirfd.txt")), "alpha\nbeta\ngamma\n");
  EXPECT_EQ(ReadFile(work("out/from_daemon.txt")), "alpha\nbeta\ngamma\ndelta\n");
}

TEST_F(FidelityTest, GccCompile) {
  if (FindOnPath("gcc").empty()) {
    if (PrivilegeRequired()) FAIL() << "gcc is not installed";
    GTEST_SKIP() << "gcc is not installed";
  }
  WriteFile(work("hello.c"), ReadFile(Source("tests/workloads/hello.c")));
  CompareWithStrace({"gcc", "-O2", "-o", work("hello"), "hello.c"});  // strace finds gcc on PATH
  CommandResult hello = RunCommand({work("hello")});
  EXPECT_EQ(hello.out, "hello, world\n") << hello.Describe();
}

#ifdef STEPSEAL_FIDELITY_TOOL
// Any workload: STEPSEAL_FIDELITY_CMD (run with /bin/sh -c) in STEPSEAL_FIDELITY_DIR. Built
// only into stepseal_fidelity_check, which tools/fidelity-check runs on Lua 5.4 and zlib.
TEST_F(FidelityTest, ExternalWorkload) {
  const char* cmd = std::getenv("STEPSEAL_FIDELITY_CMD");
  const char* cwd = std::getenv("STEPSEAL_FIDELITY_DIR");
  if (!cmd || !cwd) GTEST_SKIP() << "set STEPSEAL_FIDELITY_CMD and STEPSEAL_FIDELITY_DIR";
  CompareWithStrace({"/bin/sh", "-c", cmd}, cwd);
}
#endif

}  // namespace
}  // namespace e2e
