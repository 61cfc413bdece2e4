// hardened_test.cpp - the escape suite for `stepseal run --hardened` (issue 5), and what observe
// mode records of the same attempts.
//
// A HardenedTest writes a policy into its temp dir, runs a hostile helper program (tests/progs) as
// the step, and checks three things: stepseal exits 118 (a violation), the summary names the
// rule that was broken, and the attempt had no effect: the program's own report of what the call
// returned (its stdout, "WHAT RESULT" lines), and the host's state where that can be checked.
// An ObserveTest runs the same programs without --hardened: each attempt works and is recorded,
// there is no policy and no violation, and the exit status is the command's.
//
// Hardened mode mounts a fresh tmpfs on /tmp. The test's temp dir is under /tmp, so inside the
// step only its workspace (work()) is visible of it; paths that stand for "the host, outside the
// workspace" are made under /var/tmp instead (HostDir). The journal and the policy file stay in
// the temp dir, outside the workspace, where only stepseal itself reads or writes them.
//
// Network: a hardened step whose policy allows only loopback runs in a fresh network namespace,
// so fixed loopback ports are safe there. Observe steps, and a hardened step under a policy with
// "default": "allow", run in the host's: they only use loopback, a DNS query's destination is
// bound by the step itself first (so the query reaches no one else), and never at 127.0.0.53,
// where systemd-resolved may listen.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <memory>
#include <map>
#include <sstream>

#include "harness.h"
#include "int80.h"
#include "preconditions.h"

namespace e2e {
namespace {

// stepseal run's own exit codes in hardened mode (the CLI contract of issue 5).
constexpr int kExitViolation = 118;   // something was blocked or a rule was broken
constexpr int kExitIncomplete = 119;  // incomplete record with "completeness": "fail"
constexpr int kExitUsage = 125;

// The unprivileged ports of net_ports: A is allowed by the policy, B is not.
constexpr int kAllowedPort = 18080, kDeniedPort = 18081;

// ---------------------------------------------------------------------------------------------
// What the helper programs print, and what the summary says

// The helper programs' "WHAT RESULT" lines (WHAT may contain spaces), as WHAT -> RESULT.
std::map<std::string, std::string> ReportOf(const std::string& out) {
  std::map<std::string, std::string> report;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    auto space = line.rfind(' ');
    if (space != std::string::npos && space > 0)
      report[line.substr(0, space)] = line.substr(space + 1);
  }
  return report;
}

// The RESULT the step's program printed for WHAT, or "(not printed)".
std::string Result(const TracedRun& r, const std::string& what) {
  auto report = ReportOf(r.run.out);
  auto it = report.find(what);
  return it == report.end() ? "(not printed)" : it->second;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// J[KEY] if it is a string, else "" (json::value would throw on another type, null included).
std::string StringField(const json& j, const char* key) {
  return j.is_object() && j.contains(key) && j.at(key).is_string() ? j.at(key).get<std::string>()
                                                                   : "";
}

// J[KEY] if it is an integer, else FALLBACK.
long IntField(const json& j, const char* key, long fallback = -1) {
  return j.is_object() && j.contains(key) && j.at(key).is_number_integer() ? j.at(key).get<long>()
                                                                           : fallback;
}

bool IsSha256Hex(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(),
                                       [](char c) { return isdigit(c) || (c >= 'a' && c <= 'f'); });
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

const json& Violations(const TracedRun& r) { return r.summary.Section("violations"); }

// stepseal run exited with CODE.
testing::AssertionResult ExitedWith(const TracedRun& r, int code) {
  if (r.run.exit_code == code) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "stepseal run exited " << r.run.exit_code << ", expected "
                                     << code << "\nviolations: " << Dump(Violations(r)) << "\n"
                                     << r.Describe();
}

// A summary of a hardened run: mode "hardened", the policy's digest, a violations array.
testing::AssertionResult Hardened(const TracedRun& r) {
  if (!r.parsed) return testing::AssertionFailure() << "no summary\n" << r.Describe();
  const json& s = r.summary.raw();
  if (StringField(s, "mode") != "hardened")
    return testing::AssertionFailure()
           << "mode is " << s.value("mode", json()).dump() << ", expected \"hardened\"\n"
           << r.Describe();
  const json policy = s.value("policy", json());
  if (!policy.is_object() || !IsSha256Hex(StringField(policy, "sha256")))
    return testing::AssertionFailure()
           << "policy is not {\"sha256\": <64 hex>, ...}: " << policy.dump();
  if (!s.contains("violations") || !s.at("violations").is_array())
    return testing::AssertionFailure() << "no \"violations\" array";
  return testing::AssertionSuccess();
}

// A summary of an observe run: mode "observe", no policy, no violations.
testing::AssertionResult Observed(const TracedRun& r) {
  if (!r.parsed) return testing::AssertionFailure() << "no summary\n" << r.Describe();
  const json& s = r.summary.raw();
  if (StringField(s, "mode") != "observe")
    return testing::AssertionFailure()
           << "mode is " << s.value("mode", json()).dump() << ", expected \"observe\"";
  if (!s.contains("policy") || !s.at("policy").is_null())
    return testing::AssertionFailure()
           << "policy is " << s.value("policy", json()).dump() << ", expected null";
  if (!s.contains("violations") || s.at("violations") != json::array())
    return testing::AssertionFailure()
           << "violations in observe mode: " << s.value("violations", json()).dump();
  return testing::AssertionSuccess();
}

// A violation with RULE, CATEGORY and VERDICT whose detail contains DETAIL_PART, attributed to a
// process of the step (its pid is one of the summary's processes).
testing::AssertionResult HasViolation(const TracedRun& r, const std::string& rule,
                                      const std::string& category,
                                      const std::string& verdict = "blocked",
                                      const std::string& detail_part = "") {
  const std::set<int> pids = r.summary.Pids();
  for (const auto& v : Violations(r)) {
    if (!Matches(v, {{"rule", rule}, {"category", category}, {"verdict", verdict}})) continue;
    if (StringField(v, "detail").find(detail_part) == std::string::npos) continue;
    if (!v.contains("pid") || !v.at("pid").is_number_integer())
      return testing::AssertionFailure() << "violation without an integer pid: " << v.dump();
    if (!pids.count(v.at("pid").get<int>()))
      return testing::AssertionFailure()
             << "violation " << v.dump()
             << " names no process of the step; processes: " << Dump(r.summary.processes());
    return testing::AssertionSuccess();
  }
  return testing::AssertionFailure() << "no violation {rule " << rule << ", category " << category
                                     << ", verdict " << verdict << "} with a detail containing \""
                                     << detail_part << "\"; violations: " << Dump(Violations(r));
}

// No violation with RULE (any rule if empty) has a detail containing DETAIL_PART.
testing::AssertionResult NoViolation(const TracedRun& r, const std::string& rule = "",
                                     const std::string& detail_part = "") {
  for (const auto& v : Violations(r))
    if ((rule.empty() || StringField(v, "rule") == rule) &&
        StringField(v, "detail").find(detail_part) != std::string::npos)
      return testing::AssertionFailure() << "unexpected violation " << v.dump();
  return testing::AssertionSuccess();
}

// The step's command (the root process) made the sensitive call NAME with RESULT ("ok" or an
// errno name); DENIED: the entry carries "denied": true, otherwise it must not.
testing::AssertionResult HasSyscall(const TracedRun& r, const std::string& name,
                                    const std::string& result, bool denied) {
  const json fields = {{"pid", r.root_pid()}, {"name", name}, {"result", result}};
  for (const auto& e : r.summary.Section("syscalls"))
    if (Matches(e, fields) && (e.value("denied", json(false)) == json(true)) == denied)
      return testing::AssertionSuccess();
  return testing::AssertionFailure() << "no \"syscalls\" entry " << fields.dump()
                                     << (denied ? " with \"denied\": true" : " without \"denied\"")
                                     << "; syscalls: " << Dump(r.summary.Section("syscalls"));
}

// ---------------------------------------------------------------------------------------------
// Host-side fixtures

// A fresh directory under /var/tmp (not /tmp, see the top of the file), removed with what is in
// it when the object goes away, unless STEPSEAL_E2E_KEEP=1.
class HostDir {
 public:
  HostDir() {
    char tmpl[] = "/var/tmp/stepseal-e2e-XXXXXX";
    if (mkdtemp(tmpl)) path_ = Canonical(tmpl);
  }
  HostDir(const HostDir&) = delete;
  HostDir& operator=(const HostDir&) = delete;
  ~HostDir() {
    const char* keep = getenv("STEPSEAL_E2E_KEEP");
    std::error_code ignored;
    if (!path_.empty() && !(keep && std::string(keep) == "1"))
      std::filesystem::remove_all(path_, ignored);
  }
  bool ok() const { return !path_.empty(); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A file descriptor closed when the object goes away.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

// A non-blocking unix stream listener on PATH, or -1.
int ListenUnix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return -1;
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 8) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// ---------------------------------------------------------------------------------------------
// The fixtures

struct RunOptions {
  std::string name = "step";  // journal dir()/NAME.journal; policy dir()/NAME.policy.json
  bool fail_fast = false;
  std::vector<std::string> env{};  // NAME=VALUE added to stepseal's environment
  std::chrono::milliseconds timeout = 120s;
};

class EscapeTest : public E2ETest {
 protected:
  // A helper program, as the step sees it. Hardened steps get a fresh /tmp, so a build tree
  // under /tmp (a CI checkout, say) is not visible to them: the program is copied into the
  // workspace (work()/.progs), which is. Shadows e2e::Prog in the tests of this file.
  // A helper program in a read-only place outside the workspace (a copy under /var/tmp): where
  // an exec allowlist makes everything the step can write noexec, programs must live elsewhere.
  std::string HostProg(const std::string& name) {
    if (!host_progs_) host_progs_ = std::make_unique<HostDir>();
    const std::string copy = *host_progs_ / name;
    if (access(copy.c_str(), X_OK) != 0) {
      std::filesystem::copy_file(e2e::Prog(name), copy,
                                 std::filesystem::copy_options::overwrite_existing);
      chmod(copy.c_str(), 0755);
    }
    return copy;
  }
  std::unique_ptr<HostDir> host_progs_;

  std::string Prog(const std::string& name) const {
    const std::string dir = work(".progs"), copy = dir + "/" + name;
    if (access(copy.c_str(), X_OK) != 0) {
      mkdir(dir.c_str(), 0755);
      std::filesystem::copy_file(e2e::Prog(name), copy,
                                 std::filesystem::copy_options::overwrite_existing);
      chmod(copy.c_str(), 0755);
    }
    return copy;
  }


  // The starting point of every policy: only the workspace is writable, only PATH is passed
  // through, the network (default "deny"), exec, completeness ("fail") and privileges (every
  // capability dropped) keep their strict defaults.
  static json BasePolicy() {
    return {{"version", 1},
            {"filesystem", {{"writable", {"${WORKSPACE}"}}}},
            {"environment", {{"allow", {"PATH"}}}}};
  }

  // Writes POLICY to dir()/NAME.policy.json (outside the workspace) and returns the path.
  std::string WritePolicy(const json& policy, const std::string& name = "step") {
    const std::string path = dir() / (name + ".policy.json");
    WriteFile(path, policy.dump(2));
    return path;
  }

  std::vector<std::string> HardenedArgv(const std::string& policy_file,
                                        const std::vector<std::string>& command,
                                        const RunOptions& o) const {
    std::vector<std::string> argv = {STEPSEAL_BIN, "run",         "--hardened", "--policy",
                                     policy_file,  "--workspace", work()};
    if (o.fail_fast) argv.push_back("--fail-fast");
    argv.insert(argv.end(), {"--trace", Journal(o), "--"});
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
  }

  // COMMAND under `stepseal run --hardened --policy POLICY_FILE --workspace work()`. stepseal is
  // started in the temp dir, not in the workspace: the step's cwd must come from --workspace.
  TracedRun RunHardenedWith(const std::string& policy_file, const std::vector<std::string>& command,
                            const RunOptions& o = {}) {
    return RunAndShow(HardenedArgv(policy_file, command, o), command, o,
                      {.cwd = dir().path(), .extra_env = o.env});
  }

  TracedRun RunHardened(const json& policy, const std::vector<std::string>& command,
                        const RunOptions& o = {}) {
    return RunHardenedWith(WritePolicy(policy, o.name), command, o);
  }

  // COMMAND under plain `stepseal run` (observe mode), from the workspace.
  TracedRun RunObserved(const std::vector<std::string>& command, const RunOptions& o = {}) {
    std::vector<std::string> argv = {STEPSEAL_BIN, "run", "--trace", Journal(o), "--"};
    argv.insert(argv.end(), command.begin(), command.end());
    return RunAndShow(argv, command, o, {.cwd = work(), .extra_env = o.env});
  }


 private:
  std::string Journal(const RunOptions& o) const { return dir() / (o.name + ".journal"); }

  TracedRun RunAndShow(const std::vector<std::string>& argv,
                       const std::vector<std::string>& command, const RunOptions& o,
                       const SpawnOptions& spawn) {
    TracedRun r;
    r.command = command;
    r.journal = Journal(o);
    r.run = RunCommand(argv, spawn, o.timeout);
    r.show = Show(r.journal);
    json j = json::parse(r.show.out, nullptr, /*allow_exceptions=*/false);
    r.parsed = !j.is_discarded() && j.is_object();
    if (r.parsed) r.summary = Summary(std::move(j));
    return r;
  }
};

class HardenedTest : public EscapeTest {};
class ObserveTest : public EscapeTest {};

// =============================================================================================
// Hardened mode: the escape attempts

TEST_F(HardenedTest, PtraceOfAProcessOutsideTheStepIsBlocked) {
  Child target({"/bin/sleep", "600"});  // started by the test: outside the step
  ASSERT_TRUE(target.started()) << target.error();

  TracedRun r = RunHardened(BasePolicy(), {Prog("ptrace_attach"), std::to_string(target.pid())});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, kExitViolation));
  // In the step's pid namespace the target's pid names no process, so an attach that got past
  // seccomp would fail with ESRCH: EPERM is the deny-list's answer.
  EXPECT_EQ(Result(r, "attach"), "EPERM") << r.Describe();
  EXPECT_TRUE(HasViolation(r, "seccomp.deny:ptrace", "syscall"));
  EXPECT_TRUE(HasSyscall(r, "ptrace", "EPERM", /*denied=*/true));
  EXPECT_TRUE(IsAlive(target.pid()));
}

// ICMP "ping" sockets are neither raw nor UDP: the network guard's checks would not see an echo
// request's destination. Refused when the socket is made.
TEST_F(HardenedTest, PingSocketsAreRefused) {
  TracedRun r = RunHardened(BasePolicy(), {Prog("attacks"), "ping_socket"});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, kExitViolation));
  EXPECT_EQ(Result(r, "ping"), "EPERM") << r.Describe();
  EXPECT_TRUE(HasViolation(r, "socket.icmp", "socket"));
}

// A workspace the step's uid cannot write (a tree unpacked as root keeps its owner's uid) is
// refused before the step starts, with the cause and the policy setting that fixes it.
TEST_F(HardenedTest, AWorkspaceTheStepCannotWriteIsRefusedAtStart) {
  ASSERT_EQ(chown(work().c_str(), 1026, 1026), 0) << strerror(errno);
  ASSERT_EQ(chmod(work().c_str(), 0755), 0);
  TracedRun refused = RunHardened(BasePolicy(), {"/bin/sh", "-c", "echo x > out"});
  EXPECT_EQ(refused.run.exit_code, 125) << refused.Describe();  // refused: bad arguments
  EXPECT_NE(refused.run.err.find("owned by uid 1026"), std::string::npos) << refused.Describe();
  EXPECT_NE(refused.run.err.find("privileges.uid"), std::string::npos) << refused.Describe();
  EXPECT_NE(access(work("out").c_str(), F_OK), 0);
  // as the owner, the same step writes its workspace
  json as_owner = BasePolicy();
  as_owner["privileges"] = {{"uid", 1026}};
  TracedRun ok = RunHardened(as_owner, {"/bin/sh", "-c", "echo x > out"}, {.name = "owner"});
  EXPECT_EQ(ok.run.exit_code, 0) << ok.Describe();
  EXPECT_EQ(ReadFile(work("out")), "x\n");
}

TEST_F(HardenedTest, IoUringIsBlocked) {
  const std::string secret =
      "uring-secret-" + std::filesystem::path(dir().path()).filename().string();
  WriteFile(work("secret.txt"), secret + "\n");  // readable by the step: only io_uring is denied

  TracedRun r = RunHardened(BasePolicy(), {Prog("uring_cat"), work("secret.txt")});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, kExitViolation));
  EXPECT_EQ(Result(r, "io_uring_setup"), "EPERM") << r.Describe();
  EXPECT_EQ(r.run.out.find(secret), std::string::npos) << "read through io_uring:\n" << r.run.out;
  EXPECT_TRUE(HasViolation(r, "seccomp.deny:io_uring_setup", "syscall"));
  EXPECT_TRUE(HasSyscall(r, "io_uring_setup", "EPERM", /*denied=*/true));
}

// Where `int $0x80` executes, the deny-list's architecture rule refuses every i386 call. Where
// the kernel's gate is shut (tests/common/int80.h), the instruction faults before seccomp runs:
// the command dies of SIGSEGV, no violation is invented, and run exits with the command's status.
TEST_F(HardenedTest, Int80SyscallsAreBlocked) {
  const int80::Probe& kernel = int80::Probed();
  ASSERT_NE(kernel.outcome, int80::Outcome::kUnknown) << kernel.detail;
  WriteFile(work("compat.txt"), "read through int 0x80\n");
  TracedRun r =
      RunHardened(BasePolicy(), {Prog("int80_open"), work("compat.txt"), work("missing")});
  ASSERT_TRUE(Hardened(r));
  if (kernel.outcome == int80::Outcome::kFaults) {
    EXPECT_TRUE(ExitedWith(r, 128 + SIGSEGV)) << kernel.detail;
    EXPECT_TRUE(NoViolation(r));
    EXPECT_TRUE(int80::DeathRecorded(r.summary.raw(), r.root_pid(), work("compat.txt"),
                                     work("missing")))
        << kernel.detail;
    return;
  }
  EXPECT_TRUE(ExitedWith(r, kExitViolation));
  // int80_open stops at its first check: the compat open returned -EPERM (-1), not an fd.
  EXPECT_NE(r.run.err.find("compat open(" + work("compat.txt") + ") = -1"), std::string::npos)
      << r.Describe();
  EXPECT_TRUE(HasViolation(r, "seccomp.deny:i386", "syscall"));
  EXPECT_TRUE(r.summary.HasNoEntry(work("compat.txt"))) << "the refused open opened nothing";
}

TEST_F(HardenedTest, RawAndPacketSocketsAreBlocked) {
  TracedRun r = RunHardened(BasePolicy(), {Prog("raw_sockets")});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, kExitViolation));
  EXPECT_EQ(Result(r, "raw"), "EPERM") << r.Describe();
  EXPECT_EQ(Result(r, "packet"), "EPERM") << r.Describe();
  EXPECT_TRUE(HasViolation(r, "socket.raw", "socket"));
  EXPECT_TRUE(HasViolation(r, "socket.packet", "socket"));
  const int pid = r.root_pid();
  EXPECT_TRUE(r.summary.HasNetwork({{"pid", pid},
                                    {"op", "socket"},
                                    {"family", "inet"},
                                    {"protocol", "raw"},
                                    {"result", "EPERM"}}));
  EXPECT_TRUE(r.summary.HasNetwork({{"pid", pid},
                                    {"op", "socket"},
                                    {"family", "packet"},
                                    {"protocol", "raw"},
                                    {"result", "EPERM"}}));
}

TEST_F(HardenedTest, UnixSocketOutsideWorkspaceIsBlocked) {
  HostDir outside;
  ASSERT_TRUE(outside.ok()) << strerror(errno);
  const std::string engine = outside / "engine.sock";  // stands in for a container engine's
  Fd listener(ListenUnix(engine));
  ASSERT_GE(listener.fd, 0) << engine << ": " << strerror(errno);

  TracedRun r = RunHardened(BasePolicy(), {Prog("unix_connect"), engine, work()});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, kExitViolation));
  EXPECT_EQ(Result(r, "outside"), "EPERM") << r.Describe();
  EXPECT_TRUE(HasViolation(r, "unix.outside_workspace", "unix", "blocked", engine));
  Fd accepted(accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC));
  const int accept_errno = errno;
  EXPECT_EQ(accepted.fd, -1) << "the listener outside the workspace was connected to";
  if (accepted.fd < 0) {
    EXPECT_EQ(accept_errno, EAGAIN) << strerror(accept_errno);
  }

  // A unix socket inside the workspace still works, and breaks no rule.
  EXPECT_EQ(Result(r, "inside"), "ok") << r.Describe();
  EXPECT_TRUE(NoViolation(r, "unix.outside_workspace", work("inside.sock")));
}

// The cgroup guard compares socket paths as text; a symlink in the workspace pointing at the
// engine's socket gets past it. The probes then find the listener outside the step's pid
// namespace when connect returns, and kill the caller before it can send a byte.
TEST_F(HardenedTest, UnixSocketReachedThroughASymlinkIsKilled) {
  HostDir outside;
  ASSERT_TRUE(outside.ok()) << strerror(errno);
  const std::string engine = outside / "engine.sock";
  Fd listener(ListenUnix(engine));
  ASSERT_GE(listener.fd, 0) << engine << ": " << strerror(errno);
  ASSERT_EQ(symlink(engine.c_str(), work("link.sock").c_str()), 0) << strerror(errno);

  TracedRun r = RunHardened(
      BasePolicy(), {"/bin/sh", "-c", "\"$1\" \"$2\" \"$3\"; echo status=$?", "sh",
                     Prog("unix_connect"), work("link.sock"), work()});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, kExitViolation));
  EXPECT_NE(r.run.out.find("status=137"), std::string::npos) << r.Describe();
  EXPECT_TRUE(HasViolation(r, "unix.outside_workspace", "unix", "blocked", "outside the step"));
  // the connection was made in the kernel, but the caller died before using it
  Fd accepted(accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
  if (accepted.fd >= 0) {
    char c;
    EXPECT_EQ(read(accepted.fd, &c, 1), 0) << "the step sent data to the foreign listener";
  }
}

TEST_F(HardenedTest, UnshareAndMountAreBlocked) {
  ASSERT_EQ(mkdir(work("mnt").c_str(), 0755), 0) << strerror(errno);
  TracedRun r = RunHardened(BasePolicy(), {Prog("ns_escape"), work("mnt")});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, kExitViolation));
  EXPECT_EQ(Result(r, "unshare"), "EPERM") << r.Describe();
  EXPECT_EQ(Result(r, "mount"), "EPERM") << r.Describe();
  EXPECT_TRUE(HasViolation(r, "seccomp.deny:unshare", "syscall"));
  EXPECT_TRUE(HasViolation(r, "seccomp.deny:mount", "syscall"));
  EXPECT_TRUE(HasSyscall(r, "unshare", "EPERM", /*denied=*/true));
  EXPECT_TRUE(HasSyscall(r, "mount", "EPERM", /*denied=*/true));
}

TEST_F(HardenedTest, BpfProgramLoadIsBlocked) {
  TracedRun r = RunHardened(BasePolicy(), {Prog("bpf_load")});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, kExitViolation));
  EXPECT_EQ(Result(r, "prog_load"), "EPERM") << r.Describe();
  EXPECT_TRUE(HasViolation(r, "seccomp.deny:bpf", "syscall"));
  EXPECT_TRUE(HasSyscall(r, "bpf", "EPERM", /*denied=*/true));
}

TEST_F(HardenedTest, RestOfTheDenyListIsBlocked) {
  TracedRun r = RunHardened(BasePolicy(), {Prog("denied_syscalls")});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, kExitViolation));
  // Each is called with arguments that make it fail harmlessly (or do nothing) if it is not
  // blocked. A dropped capability alone would make some of them fail with EPERM too: the
  // violation is what shows that the deny-list refused them.
  for (const char* name :
       {"perf_event_open", "process_vm_readv", "process_vm_writev", "keyctl", "add_key",
        "request_key", "userfaultfd", "setns", "pivot_root", "umount2", "init_module",
        "finit_module", "delete_module", "kexec_load", "kexec_file_load", "io_setup", "clone"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(Result(r, name), "EPERM") << r.run.out;
    EXPECT_TRUE(HasViolation(r, std::string("seccomp.deny:") + name, "syscall"));
  }
}

TEST_F(HardenedTest, WritesOutsideWritablePathsAreBlocked) {
  HostDir outside;
  ASSERT_TRUE(outside.ok()) << strerror(errno);
  const std::string escape = outside / "escape.txt";
  // A name in the host's /tmp that no one else uses; the step's /tmp is a fresh tmpfs.
  const std::string host_tmp = dir().path() + "-tmp-probe.txt";
  struct Cleanup {
    std::string path;
    ~Cleanup() { unlink(path.c_str()); }
  } cleanup{host_tmp};

  json policy = BasePolicy();
  policy["filesystem"]["writable"] = {"${WORKSPACE}", "/tmp"};
  TracedRun r = RunHardened(
      policy, {Prog("write_probe"), escape, work("inside.txt"), "relative.txt", host_tmp});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, kExitViolation));
  const std::string content = "written by write_probe\n";

  // Outside the writable paths: refused, and nothing on the host.
  EXPECT_NE(Result(r, escape), "ok") << r.Describe();
  EXPECT_FALSE(Exists(escape)) << escape << " was created on the host";
  EXPECT_TRUE(HasViolation(r, "filesystem.readonly", "filesystem", "blocked", escape));

  // Inside the workspace: written, and there on the host. The relative path lands in the
  // workspace because the step's cwd is the workspace (stepseal itself ran in the temp dir).
  EXPECT_EQ(Result(r, work("inside.txt")), "ok") << r.Describe();
  EXPECT_EQ(ReadFile(work("inside.txt")), content);
  EXPECT_EQ(Result(r, "relative.txt"), "ok") << r.Describe();
  EXPECT_EQ(ReadFile(work("relative.txt")), content);
  EXPECT_TRUE(NoViolation(r, "filesystem.readonly", work()));

  // /tmp is writable for the step, but it is the step's own tmpfs, not the host's /tmp.
  EXPECT_EQ(Result(r, host_tmp), "ok") << r.Describe();
  EXPECT_FALSE(Exists(host_tmp)) << host_tmp << " written inside the step is in the host's /tmp";
  EXPECT_TRUE(NoViolation(r, "filesystem.readonly", host_tmp));
}

TEST_F(HardenedTest, DaemonOutlivingTheStepIsKilledAndAViolation) {
  TracedRun r = RunHardened(BasePolicy(), {Prog("linger_daemon"), work()});
  ASSERT_TRUE(Hardened(r));
  ASSERT_EQ(Result(r, "daemon"), "ready") << r.Describe();
  EXPECT_FALSE(ReadFile(work("daemon.pid")).empty()) << "the daemon never ran";
  EXPECT_TRUE(ExitedWith(r, kExitViolation)) << "the command itself exited 0";

  const auto killed = r.summary.ProcessesWhere({{"killed_at_step_end", true}});
  ASSERT_EQ(killed.size(), 1u) << Dump(r.summary.processes());
  const json& daemon = *killed[0];
  EXPECT_EQ(StringField(daemon, "exe"), Prog("linger_daemon")) << daemon.dump();
  EXPECT_TRUE(HasViolation(r, "processes.daemon", "process", "violation"));
  EXPECT_TRUE(r.summary.HasEntry("violations",
                                 {{"rule", "processes.daemon"}, {"pid", IntField(daemon, "pid")}}));

  // The daemon never exec'd: its command line is linger_daemon's, which names the workspace.
  EXPECT_TRUE(LiveProcessesMentioning(work()).empty())
      << "still running after stepseal returned: "
      << testing::PrintToString(LiveProcessesMentioning(work()));
}

TEST_F(HardenedTest, DnsQueryForAllowedNameIsNoViolation) {
  json policy = BasePolicy();
  policy["network"] = {{"dns", {{"resolvers", {"127.0.0.53"}}, {"names", {"allowed.example"}}}}};
  TracedRun r = RunHardened(policy, {Prog("dns_query"), "allowed.example", "127.0.0.53", "udp"});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, 0));
  EXPECT_EQ(Result(r, "sendto"), "ok") << r.Describe();
  EXPECT_TRUE(NoViolation(r));
  EXPECT_TRUE(r.summary.HasEntry("dns", {{"pid", r.root_pid()},
                                         {"name", "allowed.example"},
                                         {"qtype", "A"},
                                         {"server", "127.0.0.53"},
                                         {"port", 53},
                                         {"protocol", "udp"}}));
}

// Over udp the DNS guard reads the question as the query leaves, and drops it for a name the
// policy does not allow: the send fails, though the resolver itself is allowed.
TEST_F(HardenedTest, DnsQueryForOtherNameIsDropped) {
  json policy = BasePolicy();
  policy["network"] = {{"dns", {{"resolvers", {"127.0.0.53"}}, {"names", {"allowed.example"}}}}};
  TracedRun r = RunHardened(policy, {Prog("dns_query"), "evil.example", "127.0.0.53", "udp"});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, kExitViolation));
  EXPECT_EQ(Result(r, "sendto"), "EPERM") << r.Describe();
  EXPECT_TRUE(HasViolation(r, "network.dns.names", "dns", "blocked", "evil.example"));
  EXPECT_TRUE(r.summary.HasEntry("dns", {{"pid", r.root_pid()},
                                         {"name", "evil.example"},
                                         {"qtype", "A"},
                                         {"server", "127.0.0.53"},
                                         {"port", 53},
                                         {"protocol", "udp"}}));
}

// An allowed name's answer from a policy resolver teaches the guard its address: the step may
// then connect there although no address rule allows it. The step runs the resolver itself
// (127.0.0.53:53) and answers every query with 127.0.0.2, where it also listens.
TEST_F(HardenedTest, AddressesAnsweredForAllowedNamesBecomeReachable) {
  json policy = BasePolicy();
  policy["network"] = {
      {"allow", {{{"cidr", "127.0.0.1/32"}, {"protocol", "udp"}}}},  // the resolver's reply
      {"dns", {{"resolvers", {"127.0.0.53"}}, {"names", {"allowed.example", "*.corp.internal"}}}}};
  policy["privileges"] = {{"capabilities", {"CAP_NET_BIND_SERVICE"}}};
  // the control: with nothing learned, no rule allows 127.0.0.2:8443
  TracedRun control = RunHardened(policy, {Prog("dns_roundtrip"), "-", "127.0.0.2", "8443"});
  ASSERT_TRUE(Hardened(control));
  EXPECT_EQ(Result(control, "connect"), "EPERM") << control.Describe();
  EXPECT_TRUE(HasViolation(control, "network.allow", "network", "blocked", "127.0.0.2:8443"));
  for (const char* name : {"allowed.example", "a.b.corp.internal"}) {
    TracedRun r = RunHardened(policy, {Prog("dns_roundtrip"), name, "127.0.0.2", "8443"});
    ASSERT_TRUE(Hardened(r));
    EXPECT_TRUE(ExitedWith(r, 0)) << name;
    EXPECT_EQ(Result(r, "answer"), "ok") << r.Describe();
    EXPECT_EQ(Result(r, "connect"), "ok") << r.Describe();
    EXPECT_TRUE(NoViolation(r));
    EXPECT_TRUE(r.summary.HasEntry("dns_learned", {{"name", name}, {"address", "127.0.0.2"}}));
  }
  // the suffix itself is not below it, and other names learn nothing: the query never leaves
  for (const char* name : {"corp.internal", "evil.example"}) {
    TracedRun r = RunHardened(policy, {Prog("dns_roundtrip"), name, "127.0.0.2", "8443"});
    ASSERT_TRUE(Hardened(r));
    EXPECT_TRUE(ExitedWith(r, kExitViolation)) << name;
    EXPECT_EQ(Result(r, "query"), "EPERM") << r.Describe();
    EXPECT_TRUE(HasViolation(r, "network.dns.names", "dns", "blocked", name));
    EXPECT_TRUE(r.summary.Section("dns_learned").empty()) << Dump(r.summary.raw());
  }
}

// The DNS guard reads udp datagrams, not tcp streams: while names are enforced, DNS over tcp
// is refused at connect, even to a listed resolver.
TEST_F(HardenedTest, DnsOverTcpIsRefusedWhileNamesAreEnforced) {
  json policy = BasePolicy();
  policy["network"] = {{"dns", {{"resolvers", {"127.0.0.53"}}, {"names", {"allowed.example"}}}}};
  // The step listens on 127.0.0.53:53 itself (a TCP query needs a peer), hence the capability.
  policy["privileges"] = {{"capabilities", {"CAP_NET_BIND_SERVICE"}}};
  TracedRun r =
      RunHardened(policy, {Prog("dns_query"), "allowed.example", "127.0.0.53", "tcp", "listen"});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, kExitViolation));
  ASSERT_EQ(Result(r, "bind"), "ok") << r.Describe();
  EXPECT_EQ(Result(r, "connect"), "EPERM") << r.Describe();
  EXPECT_TRUE(HasViolation(r, "network.dns.names", "dns", "blocked", "DNS over tcp"));
}

// With every destination allowed and no names listed, the guard is off: DNS over tcp goes
// through, and its question is still recorded (the 2-byte length and the query, as sent).
TEST_F(HardenedTest, DnsOverTcpIsRecordedWhenNamesAreNotEnforced) {
  // The host's network namespace (default allow): not 127.0.0.53, where systemd-resolved
  // listens, but an address of loopback's /8 that nothing else uses.
  const std::string kTcpServer = "127.53.84.53";
  json policy = BasePolicy();
  policy["network"] = {{"default", "allow"}};
  policy["privileges"] = {{"capabilities", {"CAP_NET_BIND_SERVICE"}}};
  TracedRun r =
      RunHardened(policy, {Prog("dns_query"), "Evil.Example", kTcpServer, "tcp", "listen"});
  ASSERT_NE(Result(r, "bind"), "EADDRINUSE")
      << "precondition: something on this host listens on tcp port 53 of every address (a "
         "wildcard DNS server); this test needs port 53 of "
      << kTcpServer << " free\n"
      << r.Describe();
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, 0));
  EXPECT_EQ(Result(r, "connect"), "ok") << r.Describe();
  EXPECT_EQ(Result(r, "send"), "ok") << r.Describe();
  EXPECT_TRUE(NoViolation(r));
  EXPECT_TRUE(r.summary.HasEntry("dns", {{"pid", r.root_pid()},
                                         {"name", "evil.example"},
                                         {"qtype", "A"},
                                         {"server", kTcpServer},
                                         {"port", 53},
                                         {"protocol", "tcp"}}));
}

TEST_F(HardenedTest, LoopbackPortsNotAllowedAreBlocked) {
  json policy = BasePolicy();
  policy["network"] = {
      {"default", "deny"},
      {"allow",
       {{{"cidr", "127.0.0.1/32"}, {"ports", {kAllowedPort}}, {"protocol", "tcp"}},
        {{"cidr", "127.0.0.1/32"}, {"ports", {kAllowedPort}}, {"protocol", "udp"}}}}};
  const std::string a = std::to_string(kAllowedPort), b = std::to_string(kDeniedPort);
  TracedRun r = RunHardened(policy, {Prog("net_ports"), a, b});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, kExitViolation));

  // Both ports have a listener and a receiver in the step: only the policy tells them apart.
  EXPECT_EQ(Result(r, "connect " + a), "ok") << r.Describe();
  EXPECT_EQ(Result(r, "accept " + a), "ok") << r.Describe();
  EXPECT_EQ(Result(r, "sendto " + a), "ok") << r.Describe();
  EXPECT_EQ(Result(r, "recv " + a), "ok") << r.Describe();
  EXPECT_EQ(Result(r, "connect " + b), "EPERM") << r.Describe();
  EXPECT_EQ(Result(r, "accept " + b), "EAGAIN") << "the denied connection arrived\n"
                                                << r.Describe();
  EXPECT_EQ(Result(r, "sendto " + b), "EPERM") << r.Describe();
  EXPECT_EQ(Result(r, "recv " + b), "EAGAIN") << "the denied datagram arrived\n" << r.Describe();

  EXPECT_TRUE(HasViolation(r, "network.allow", "network", "blocked", "connect tcp 127.0.0.1:" + b));
  EXPECT_TRUE(HasViolation(r, "network.allow", "network", "blocked", "sendto udp 127.0.0.1:" + b));
  EXPECT_TRUE(NoViolation(r, "network.allow", "127.0.0.1:" + a));

  const int pid = r.root_pid();
  auto entry = [&](const char* protocol, const char* op, int port, const char* result) {
    return json{{"pid", pid},      {"family", "inet"},       {"protocol", protocol},
                {"op", op},        {"address", "127.0.0.1"}, {"port", port},
                {"result", result}};
  };
  EXPECT_TRUE(r.summary.HasNetwork(entry("tcp", "connect", kAllowedPort, "ok")));
  EXPECT_TRUE(r.summary.HasNetwork(entry("tcp", "connect", kDeniedPort, "EPERM")));
  EXPECT_TRUE(r.summary.HasNetwork(entry("udp", "sendto", kAllowedPort, "ok")));
  EXPECT_TRUE(r.summary.HasNetwork(entry("udp", "sendto", kDeniedPort, "EPERM")));
}

TEST_F(HardenedTest, KillingTheSupervisorKillsTheStep) {
  int ready = OpenFifoReader(work("ready"));
  ASSERT_GE(ready, 0) << strerror(errno);
  const std::vector<std::string> command = {Prog("daemonize"), work(), "linger"};
  Child supervisor(HardenedArgv(WritePolicy(BasePolicy()), command, {}), {.cwd = dir().path()});
  ASSERT_TRUE(supervisor.started()) << supervisor.error();
  ASSERT_EQ(AwaitFifo(ready, 60s), "r") << supervisor.Wait(1s).Describe();

  // The daemon wrote its pid as it sees it, in the step's pid namespace.
  const pid_t daemon = PidSeenFromHere(std::stoi(ReadFile(work("daemon.pid"))), work());
  ASSERT_GT(daemon, 0) << "no live process with pid " << ReadFile(work("daemon.pid"))
                       << " in its namespace mentions " << work();
  std::vector<pid_t> tree = LiveProcessesMentioning(work());  // stepseal, command, daemon
  ASSERT_GE(tree.size(), 3u) << testing::PrintToString(tree);

  ASSERT_EQ(kill(supervisor.pid(), SIGKILL), 0);
  EXPECT_EQ(supervisor.Wait(30s).exit_code, 128 + SIGKILL);
  std::vector<pid_t> survivors = WaitForExit(tree, 5s);
  EXPECT_TRUE(survivors.empty()) << "still alive 5s after the supervisor was killed: "
                                 << testing::PrintToString(survivors);
  EXPECT_FALSE(IsAlive(daemon)) << "the setsid daemon " << daemon << " survived";
}

TEST_F(HardenedTest, EnvironmentOutsideAllowlistIsDropped) {
  json policy = BasePolicy();
  policy["environment"]["allow"] = {"PATH", "CI_*"};
  TracedRun r = RunHardened(policy, {"/usr/bin/env"},
                            {.env = {"SECRET_TOKEN=stepseal-e2e-secret-value", "CI_JOB=1"}});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, 0));
  EXPECT_TRUE(NoViolation(r));
  const auto env = Lines(r.run.out);
  EXPECT_TRUE(Contains(json(env), "CI_JOB=1")) << r.run.out;
  EXPECT_TRUE(std::any_of(env.begin(), env.end(), [](const std::string& l) {
    return l.rfind("PATH=", 0) == 0;
  })) << r.run.out;
  EXPECT_FALSE(std::any_of(env.begin(), env.end(), [](const std::string& l) {
    return l.rfind("SECRET_TOKEN=", 0) == 0;
  })) << r.run.out;
  EXPECT_EQ(r.run.out.find("stepseal-e2e-secret-value"), std::string::npos) << r.run.out;
}

// An exec rule naming a path is enforced in the kernel: the process is killed at exec, before
// its first instruction (sh reports 137 for it and goes on to print the status).
TEST_F(HardenedTest, DeniedExecutableIsKilledAtExec) {
  json policy = BasePolicy();
  policy["exec"] = {{"deny", {{{"path", Prog("exit_with")}}}}};
  TracedRun r =
      RunHardened(policy, {"/bin/sh", "-c", "\"$1\" 0; echo status=$?", "sh", Prog("exit_with")});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, kExitViolation));
  EXPECT_TRUE(HasViolation(r, "exec.deny", "exec", "blocked"));
  EXPECT_NE(r.run.out.find("status=137"), std::string::npos) << r.run.out;
  auto blocked = r.summary.ProcessesWhere({{"exe", Prog("exit_with")}, {"exec_blocked", true}});
  EXPECT_EQ(blocked.size(), 1u) << Dump(r.summary.processes());
}

// Running a denied executable through the dynamic loader execs ld.so, not the file: the file is
// then mapped for execution, and that mapping is what the probes refuse.
TEST_F(HardenedTest, DeniedExecutableRunThroughTheLoaderIsKilled) {
  json policy = BasePolicy();
  policy["exec"] = {{"deny", {{{"path", Prog("exit_with")}}}}};
  TracedRun r = RunHardened(policy, {"/bin/sh", "-c", "/lib64/ld-linux-x86-64.so.2 \"$1\" 0; echo status=$?",
                                     "sh", Prog("exit_with")});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, kExitViolation));
  EXPECT_TRUE(HasViolation(r, "exec.deny", "exec", "blocked", Prog("exit_with")));
  EXPECT_NE(r.run.out.find("status=137"), std::string::npos) << r.run.out;
}

// A rule with a digest only cannot be enforced at exec (the digest is known after hashing): the
// exec is judged from the record and still fails the step.
TEST_F(HardenedTest, DeniedDigestIsAViolationAfterTheFact) {
  json policy = BasePolicy();
  policy["exec"] = {{"deny", {{{"sha256", Sha256Sum(Prog("exit_with"))}}}}};
  TracedRun r = RunHardened(policy, {"/bin/sh", "-c", "\"$1\" 0; echo status=$?", "sh", Prog("exit_with")});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, kExitViolation));
  EXPECT_TRUE(HasViolation(r, "exec.deny", "exec", "violation"));
  EXPECT_NE(r.run.out.find("status=0"), std::string::npos) << r.run.out;
}

// privileges: every capability is dropped unless listed; with a uid the step runs as that user
// and keeps the listed ones (as ambient capabilities across exec).
TEST_F(HardenedTest, CapabilitiesDroppedAndUidChanged) {
  const char* show = "id -u; id -g; grep -E '^Cap(Eff|Bnd)' /proc/self/status";
  TracedRun root = RunHardened(BasePolicy(), {"/bin/sh", "-c", show});
  ASSERT_TRUE(Hardened(root));
  EXPECT_TRUE(ExitedWith(root, 0));
  EXPECT_NE(root.run.out.find("CapEff:\t0000000000000000"), std::string::npos) << root.run.out;
  EXPECT_NE(root.run.out.find("CapBnd:\t0000000000000000"), std::string::npos) << root.run.out;

  ASSERT_EQ(chmod(work().c_str(), 0777), 0) << strerror(errno);
  json policy = BasePolicy();
  policy["privileges"] = {{"uid", 65534}, {"capabilities", {"CAP_NET_BIND_SERVICE"}}};
  TracedRun r = RunHardened(policy, {"/bin/sh", "-c", std::string(show) + "; echo x > owned"});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, 0));
  EXPECT_EQ(Lines(r.run.out).at(0), "65534") << r.run.out;
  EXPECT_EQ(Lines(r.run.out).at(1), "65534") << r.run.out;
  // bit 10 is CAP_NET_BIND_SERVICE
  EXPECT_NE(r.run.out.find("CapEff:\t0000000000000400"), std::string::npos) << r.run.out;
  struct stat st{};
  ASSERT_EQ(stat(work("owned").c_str(), &st), 0) << strerror(errno);
  EXPECT_EQ(st.st_uid, 65534u);
}

// Root without capabilities could still write most of /proc/sys (core_pattern runs a program
// as root on the host) and open devices such as loop-control: both are off limits, while the
// devices a build uses keep working.
TEST_F(HardenedTest, DevicesAndKernelSettingsAreOffLimits) {
  TracedRun r = RunHardened(
      BasePolicy(), {"/bin/sh", "-c",
                     "cat /dev/loop-control; echo 1 > /proc/sys/kernel/core_uses_pid; "
                     "head -c 1 /dev/urandom > /dev/null && echo x > /dev/null && echo devices ok"});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, kExitViolation));
  EXPECT_TRUE(HasViolation(r, "filesystem.device", "filesystem", "blocked", "/dev/loop-control"));
  EXPECT_TRUE(HasViolation(r, "filesystem.readonly", "filesystem", "blocked",
                           "/proc/sys/kernel/core_uses_pid"));
  EXPECT_NE(r.run.out.find("devices ok"), std::string::npos) << r.Describe();
}

// Source routing would deliver packets elsewhere than the address the network guard checked.
TEST_F(HardenedTest, SourceRoutingIsRefused) {
  ASSERT_NO_PRECONDITION_FAILURE(precondition::Ipv6LoopbackUsable());
  TracedRun r = RunHardened(BasePolicy(), {Prog("source_route")});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, kExitViolation));
  EXPECT_EQ(Result(r, "rthdr"), "EPERM") << r.Describe();
  EXPECT_EQ(Result(r, "ipopt"), "EPERM") << r.Describe();
  EXPECT_TRUE(HasViolation(r, "network.source_route", "network", "blocked", "IPv6 routing header"));
  EXPECT_TRUE(HasViolation(r, "network.source_route", "network", "blocked", "IP_OPTIONS"));
}

// The step runs as root and owns what it makes: a setuid file left in the workspace would give
// root to whoever runs it on the host later. Setting such a mode is refused.
TEST_F(HardenedTest, SetuidFilesAreRefused) {
  TracedRun r = RunHardened(BasePolicy(),
                            {"/bin/sh", "-c", "cp /usr/bin/true t && chmod 4755 t; chmod g+s t"});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, kExitViolation));
  EXPECT_TRUE(HasViolation(r, "filesystem.setuid", "filesystem", "blocked"));
  struct stat st{};
  ASSERT_EQ(stat(work("t").c_str(), &st), 0) << strerror(errno);
  EXPECT_EQ(st.st_mode & (S_ISUID | S_ISGID), 0u) << std::oct << st.st_mode;
}

// The step's init is out of its reach, though both run as root: not in its /proc, and with
// credentials that do not all match (prlimit() on it is refused). The step has no controlling
// terminal (no TIOCSTI into the caller's shell), and none of stepseal's caller's descriptors.
TEST_F(HardenedTest, InitTerminalAndDescriptorsAreOutOfReach) {
  // a descriptor stepseal inherits (no O_CLOEXEC): a directory fd would lead past every mount
  Fd leak(open(dir().path().c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_GE(leak.fd, 0) << strerror(errno);
  TracedRun r = RunHardened(
      BasePolicy(),
      {"/bin/sh", "-c",
       "ls /proc | grep -qx 1 && echo init-visible; echo 1000 > /proc/1/oom_score_adj 2>/dev/null"
       " && echo oom-written; prlimit --pid 1 --cpu=1:1 2>/dev/null && echo prlimit-ok;"
       " cat /dev/tty < /dev/null 2>/dev/null; echo tty=$?; ls /proc/self/fd | tr '\n' ' '"});
  ASSERT_TRUE(Hardened(r));
  EXPECT_EQ(r.run.out.find("init-visible"), std::string::npos) << r.run.out;
  EXPECT_EQ(r.run.out.find("oom-written"), std::string::npos) << r.run.out;
  EXPECT_EQ(r.run.out.find("prlimit-ok"), std::string::npos) << r.run.out;
  EXPECT_NE(r.run.out.find("tty=1"), std::string::npos) << r.run.out;  // ENXIO: no terminal
  // ls itself holds 0, 1, 2 and the directory it reads (3): nothing inherited beyond
  const std::string fds = "\n0 1 2 3 ";
  EXPECT_TRUE(r.run.out.size() >= fds.size() &&
              r.run.out.compare(r.run.out.size() - fds.size(), fds.size(), fds) == 0)
      << r.run.out << "(stepseal's caller had fd " << leak.fd << " open)";
}

// A journal where the step can write could be swapped for another before it is judged.
TEST_F(HardenedTest, JournalInsideTheWorkspaceIsRefused) {
  CommandResult c = RunCommand({STEPSEAL_BIN, "run", "--hardened", "--policy",
                                WritePolicy(BasePolicy()), "--workspace", work(), "--trace",
                                work("t.trace"), "--", "/bin/true"},
                               {}, std::chrono::seconds(60));
  EXPECT_EQ(c.exit_code, 125) << c.Describe();
  EXPECT_NE(c.err.find("where the step can write"), std::string::npos) << c.Describe();
  EXPECT_FALSE(Exists(work("t.trace")));
}

// Families other than unix, inet, inet6 and netlink (vsock to the hypervisor, say) pass by the
// network guard: they are refused at socket().
TEST_F(HardenedTest, OtherSocketFamiliesAreRefused) {
  TracedRun r = RunHardened(BasePolicy(), {Prog("odd_sockets")});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, kExitViolation));
  for (const char* what : {"vsock", "tipc", "key"}) {
    SCOPED_TRACE(what);
    EXPECT_EQ(Result(r, what), "EPERM") << r.Describe();
  }
  EXPECT_TRUE(HasViolation(r, "socket.family", "socket", "blocked"));
}

// Name resolution through glibc opens a netlink SOCK_RAW socket: that is no raw IP socket.
TEST_F(HardenedTest, NetlinkSocketOfGetaddrinfoIsNoViolation) {
  TracedRun r = RunHardened(BasePolicy(), {"/usr/bin/getent", "ahosts", "localhost"});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, 0));
  EXPECT_TRUE(NoViolation(r));
  EXPECT_NE(r.run.out.find("127.0.0.1"), std::string::npos) << r.Describe();
}

// With an exec allowlist, nothing the step can write may be mapped executable: a library it put
// in the workspace cannot be preloaded into an allowed program.
TEST_F(HardenedTest, ExecAllowlistMakesWritablePlacesNoexec) {
  ASSERT_EQ(system(("cp /lib/x86_64-linux-gnu/libm.so.6 " + work("libx.so")).c_str()), 0);
  json policy = BasePolicy();
  policy["exec"] = {{"allow", {{{"path", "/bin/sh"}}, {{"path", "/usr/bin/true"}}}}};
  TracedRun r = RunHardened(policy, {"/bin/sh", "-c", "LD_PRELOAD=\"$1\" /usr/bin/true", "sh",
                                     work("libx.so")});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, 0));
  EXPECT_NE(r.run.err.find("cannot be preloaded"), std::string::npos) << r.Describe();
  // and a program it put there cannot be run at all
  TracedRun x = RunHardened(policy, {"/bin/sh", "-c", "\"$1\" 0; echo status=$?", "sh",
                                     Prog("exit_with")});
  ASSERT_TRUE(Hardened(x));
  EXPECT_TRUE(ExitedWith(x, kExitViolation));
  EXPECT_NE(x.run.out.find("status=126"), std::string::npos) << x.Describe();
  EXPECT_TRUE(HasViolation(x, "exec.allow", "exec", "blocked", "noexec"));
}

// A rule may name a symlink (/bin/sh): it allows the file the link names, in the kernel and in
// the verdict alike.
TEST_F(HardenedTest, ExecAllowRuleThroughASymlink) {
  json policy = BasePolicy();
  policy["exec"] = {{"allow", {{{"path", "/bin/sh"}}, {{"path", HostProg("exit_with")}}}}};
  TracedRun r = RunHardened(policy, {"/bin/sh", "-c", "\"$1\" 0; echo status=$?", "sh", HostProg("exit_with")});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, 0));
  EXPECT_TRUE(NoViolation(r));
  EXPECT_NE(r.run.out.find("status=0"), std::string::npos) << r.run.out;
}

// With an allowlist of paths, anything else is killed at exec.
TEST_F(HardenedTest, ExecAllowlistKillsOthers) {
  json policy = BasePolicy();
  policy["exec"] = {{"allow", {{{"path", "/usr/bin/dash"}}}}};
  TracedRun r = RunHardened(policy, {"/bin/sh", "-c", "\"$1\" 0; echo status=$?", "sh", HostProg("exit_with")});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, kExitViolation));
  EXPECT_TRUE(HasViolation(r, "exec.allow", "exec", "blocked"));
  EXPECT_NE(r.run.out.find("status=137"), std::string::npos) << r.run.out;
}

// --fail-fast, with and without: the step makes a violation (a ptrace attach), then waits to be
// let go through the fifo work()/go, then creates work()/marker.
std::vector<std::string> PtraceThenMarker(const std::string& ptrace_attach, pid_t target,
                                          const std::string& go, const std::string& marker) {
  return {"/bin/sh",
          "-c",
          R"("$1" "$2"; read line <"$3"; echo done >"$4")",
          "sh",
          ptrace_attach,
          std::to_string(target),
          go,
          marker};
}

TEST_F(HardenedTest, FailFastKillsTheStepAtTheFirstViolation) {
  Child target({"/bin/sleep", "600"});
  ASSERT_TRUE(target.started()) << target.error();
  ASSERT_EQ(mkfifo(work("go").c_str(), 0600), 0) << strerror(errno);
  // No one ever writes to the fifo: only being killed ends the step.
  TracedRun r =
      RunHardened(BasePolicy(), PtraceThenMarker(Prog("ptrace_attach"), target.pid(), work("go"), work("marker")),
                  {.fail_fast = true, .timeout = 60s});
  ASSERT_FALSE(r.run.timed_out) << "with --fail-fast the step ran on after its violation\n"
                                << r.Describe();
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, kExitViolation));
  EXPECT_FALSE(Exists(work("marker")));
  EXPECT_TRUE(HasViolation(r, "seccomp.deny:ptrace", "syscall"));
  const auto root = r.summary.ProcessesWhere({{"pid", r.root_pid()}});
  ASSERT_FALSE(root.empty()) << Dump(r.summary.processes());
  EXPECT_GT(IntField(*root.back(), "exit_code"), 128)
      << "the step was not killed by a signal: " << root.back()->dump();
}

TEST_F(HardenedTest, WithoutFailFastTheStepRunsOnAndStillFails) {
  Child target({"/bin/sleep", "600"});
  ASSERT_TRUE(target.started()) << target.error();
  ASSERT_EQ(mkfifo(work("go").c_str(), 0600), 0) << strerror(errno);
  // Held open for reading and writing, the fifo keeps what is written until the step reads it.
  Fd go(open(work("go").c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  ASSERT_GE(go.fd, 0) << strerror(errno);
  ASSERT_EQ(write(go.fd, "go\n", 3), 3) << strerror(errno);

  TracedRun r = RunHardened(
      BasePolicy(), PtraceThenMarker(Prog("ptrace_attach"), target.pid(), work("go"), work("marker")), {.timeout = 60s});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, kExitViolation)) << "the command itself exited 0";
  EXPECT_EQ(Result(r, "attach"), "EPERM") << r.Describe();
  EXPECT_EQ(ReadFile(work("marker")), "done\n");
  EXPECT_TRUE(HasViolation(r, "seccomp.deny:ptrace", "syscall"));
}

// =============================================================================================
// Hardened mode: exit status, policy errors, the policy's digest

TEST_F(HardenedTest, CleanStepExitsWithItsOwnStatus) {
  TracedRun r = RunHardened(BasePolicy(), {Prog("exit_with"), "3"});
  ASSERT_TRUE(Hardened(r));
  EXPECT_TRUE(ExitedWith(r, 3));
  EXPECT_TRUE(NoViolation(r));
  EXPECT_TRUE(r.summary.complete()) << Dump(r.summary.gaps());
  EXPECT_TRUE(
      r.summary.HasProcess({{"exe", Prog("exit_with")}, {"exit_code", 3}, {"cwd", work()}}));
}

TEST_F(HardenedTest, IncompleteRecordIs119WhenCompletenessFails) {
  json policy = BasePolicy();
  policy["completeness"] = "fail";
  TracedRun r = RunHardened(policy, {Prog("bad_path_open")});
  ASSERT_TRUE(Hardened(r));
  EXPECT_EQ(Result(r, "open"), "EFAULT") << r.Describe();
  EXPECT_FALSE(r.summary.complete());
  EXPECT_TRUE(r.summary.HasGap({{"kind", "unreadable_argument"}, {"pid", r.root_pid()}}));
  EXPECT_TRUE(NoViolation(r));
  EXPECT_TRUE(ExitedWith(r, kExitIncomplete));
}

TEST_F(HardenedTest, IncompleteRecordKeepsTheStatusWhenCompletenessWarns) {
  json policy = BasePolicy();
  policy["completeness"] = "warn";
  TracedRun r = RunHardened(policy, {Prog("bad_path_open")});
  ASSERT_TRUE(Hardened(r));
  EXPECT_FALSE(r.summary.complete());
  EXPECT_TRUE(NoViolation(r));
  EXPECT_TRUE(ExitedWith(r, 0));
}

TEST_F(HardenedTest, UnknownPolicyKeyIsAUsageErrorNamingIt) {
  const std::vector<std::string> command = {"/bin/sh", "-c", R"(echo ran >"$1")", "sh",
                                            work("ran")};
  TracedRun top =
      RunHardened({{"version", 1}, {"netwrok", json::object()}}, command, {.name = "top"});
  EXPECT_EQ(top.run.exit_code, kExitUsage) << top.Describe();
  EXPECT_NE(top.run.err.find("netwrok"), std::string::npos) << top.run.err;

  TracedRun nested = RunHardened({{"version", 1}, {"network", {{"default", "maybe"}}}}, command,
                                 {.name = "nested"});
  EXPECT_EQ(nested.run.exit_code, kExitUsage) << nested.Describe();
  EXPECT_NE(nested.run.err.find("/network/default"), std::string::npos) << nested.run.err;

  EXPECT_FALSE(Exists(work("ran"))) << "the step ran under an invalid policy";
}

TEST_F(HardenedTest, InvalidInvocationsAreUsageErrors) {
  const std::string policy = WritePolicy(BasePolicy());
  const std::string broken = dir() / "broken.policy.json";
  WriteFile(broken, R"({"version": 1, "filesystem": )");
  const std::string journal = dir() / "a.journal";
  const std::vector<std::string> command = {"/bin/sh", "-c", R"(echo ran >"$1")", "sh",
                                            work("ran")};
  const std::vector<std::vector<std::string>> bad = {
      {"run", "--hardened", "--workspace", work(), "--trace", journal, "--"},  // no --policy
      {"run", "--policy", policy, "--trace", journal, "--"},                   // no --hardened
      {"run", "--hardened", "--policy", broken, "--workspace", work(), "--trace", journal, "--"},
  };
  for (auto argv : bad) {
    argv.insert(argv.begin(), STEPSEAL_BIN);
    argv.insert(argv.end(), command.begin(), command.end());
    CommandResult r = RunCommand(argv, {.cwd = dir().path()}, 120s);
    EXPECT_EQ(r.exit_code, kExitUsage) << Join(argv) << "\n" << r.Describe();
    EXPECT_FALSE(r.err.empty()) << Join(argv);
  }
  EXPECT_FALSE(Exists(work("ran"))) << "a step ran after a usage error";
}

TEST_F(HardenedTest, PolicyDigestIgnoresKeyOrderAndWhitespace) {
  const std::string compact = dir() / "compact.policy.json";
  const std::string spaced = dir() / "spaced.policy.json";
  const std::string other = dir() / "other.policy.json";
  WriteFile(compact, BasePolicy().dump());  // keys sorted: environment, filesystem, version
  WriteFile(spaced, R"(
{
  "version"    : 1,
  "filesystem" : { "writable" : [ "${WORKSPACE}" ] },
  "environment": { "allow": [ "PATH" ] }
}
)");
  json changed = BasePolicy();
  changed["environment"]["allow"].push_back("HOME");
  WriteFile(other, changed.dump());

  TracedRun a = RunHardenedWith(compact, {"/bin/true"}, {.name = "compact"});
  TracedRun b = RunHardenedWith(spaced, {"/bin/true"}, {.name = "spaced"});
  TracedRun c = RunHardenedWith(other, {"/bin/true"}, {.name = "other"});
  for (const TracedRun* r : {&a, &b, &c}) {
    ASSERT_TRUE(Hardened(*r));
    EXPECT_TRUE(ExitedWith(*r, 0));
  }
  auto policy_of = [](const TracedRun& r) { return r.summary.raw().at("policy"); };
  EXPECT_EQ(StringField(policy_of(a), "sha256"), StringField(policy_of(b), "sha256"));
  EXPECT_NE(StringField(policy_of(a), "sha256"), StringField(policy_of(c), "sha256"))
      << "a different policy has the same digest";
  EXPECT_EQ(StringField(policy_of(a), "path"), compact) << policy_of(a).dump();
  EXPECT_EQ(StringField(policy_of(b), "path"), spaced) << policy_of(b).dump();
  EXPECT_EQ(StringField(policy_of(a), "workspace"), work()) << policy_of(a).dump();
}

// =============================================================================================
// Observe mode: the same attempts work, and are recorded

TEST_F(ObserveTest, PtraceIsRecorded) {
  TracedRun r = RunObserved({Prog("ptrace_attach"), "child"});
  ASSERT_TRUE(Observed(r)) << r.Describe();
  EXPECT_TRUE(ExitedWith(r, 0));
  EXPECT_EQ(Result(r, "attach"), "ok") << r.Describe();
  EXPECT_TRUE(HasSyscall(r, "ptrace", "ok", /*denied=*/false));
}

TEST_F(ObserveTest, IoUringIsRecorded) {
  ASSERT_NO_PRECONDITION_FAILURE(precondition::IoUringUsable());
  const std::string secret =
      "uring-secret-" + std::filesystem::path(dir().path()).filename().string();
  WriteFile(work("secret.txt"), secret + "\n");
  TracedRun r = RunObserved({Prog("uring_cat"), work("secret.txt")});
  ASSERT_TRUE(Observed(r)) << r.Describe();
  EXPECT_TRUE(ExitedWith(r, 0));
  EXPECT_EQ(Result(r, "io_uring_setup"), "ok") << r.Describe();
  EXPECT_NE(r.run.out.find(secret), std::string::npos) << r.Describe();
  EXPECT_TRUE(HasSyscall(r, "io_uring_setup", "ok", /*denied=*/false));
  EXPECT_TRUE(r.summary.HasGap(
      {{"kind", "io_uring"}, {"detail", "io_uring_setup"}, {"pid", r.root_pid()}}));
  EXPECT_FALSE(r.summary.complete());
}

TEST_F(ObserveTest, Int80IsRecorded) {
  const int80::Probe& kernel = int80::Probed();
  ASSERT_NE(kernel.outcome, int80::Outcome::kUnknown) << kernel.detail;
  WriteFile(work("compat.txt"), "read through int 0x80\n");
  TracedRun r = RunObserved({Prog("int80_open"), work("compat.txt"), work("missing")});
  ASSERT_TRUE(Observed(r)) << r.Describe();
  if (kernel.outcome == int80::Outcome::kFaults) {
    EXPECT_TRUE(ExitedWith(r, 128 + SIGSEGV)) << kernel.detail;
    EXPECT_TRUE(int80::DeathRecorded(r.summary.raw(), r.root_pid(), work("compat.txt"),
                                     work("missing")))
        << kernel.detail;
    return;
  }
  EXPECT_TRUE(ExitedWith(r, 0));
  EXPECT_TRUE(r.summary.HasAccess(work("compat.txt"), "read"));
  EXPECT_TRUE(r.summary.HasFailed(work("missing"), "open", "ENOENT"));
  const auto root = r.summary.ProcessesWhere({{"pid", r.root_pid()}});
  ASSERT_FALSE(root.empty()) << Dump(r.summary.processes());
  EXPECT_GE(IntField(*root.back(), "compat_syscalls"), 2) << root.back()->dump();
}

TEST_F(ObserveTest, RawAndPacketSocketsAreRecorded) {
  TracedRun r = RunObserved({Prog("raw_sockets")});
  ASSERT_TRUE(Observed(r)) << r.Describe();
  EXPECT_TRUE(ExitedWith(r, 0));
  EXPECT_EQ(Result(r, "raw"), "ok") << r.Describe();
  EXPECT_EQ(Result(r, "packet"), "ok") << r.Describe();
  const int pid = r.root_pid();
  EXPECT_TRUE(r.summary.HasNetwork(
      {{"pid", pid}, {"op", "socket"}, {"family", "inet"}, {"protocol", "raw"}, {"result", "ok"}}));
  EXPECT_TRUE(r.summary.HasNetwork({{"pid", pid},
                                    {"op", "socket"},
                                    {"family", "packet"},
                                    {"protocol", "raw"},
                                    {"result", "ok"}}));
}

TEST_F(ObserveTest, UnshareAndMountAreRecorded) {
  ASSERT_EQ(mkdir(work("mnt").c_str(), 0755), 0) << strerror(errno);
  TracedRun r = RunObserved({Prog("ns_escape"), work("mnt")});
  ASSERT_TRUE(Observed(r)) << r.Describe();
  EXPECT_TRUE(ExitedWith(r, 0));
  EXPECT_EQ(Result(r, "unshare"), "ok") << r.Describe();
  EXPECT_EQ(Result(r, "mount"), "ok") << r.Describe();
  EXPECT_TRUE(HasSyscall(r, "unshare", "ok", /*denied=*/false));
  EXPECT_TRUE(HasSyscall(r, "mount", "ok", /*denied=*/false));
}

TEST_F(ObserveTest, BpfProgramLoadIsRecorded) {
  TracedRun r = RunObserved({Prog("bpf_load")});
  ASSERT_TRUE(Observed(r)) << r.Describe();
  EXPECT_TRUE(ExitedWith(r, 0));
  EXPECT_EQ(Result(r, "prog_load"), "ok") << r.Describe();
  EXPECT_TRUE(HasSyscall(r, "bpf", "ok", /*denied=*/false));
}

TEST_F(ObserveTest, DnsQueryIsRecorded) {
  // The host's network namespace: dns_query binds the destination itself first, so the query
  // reaches only its own socket (it exits 1 without sending if the bind fails).
  const std::string server = "127.53.83.53";
  TracedRun r = RunObserved({Prog("dns_query"), "Evil.Example", server, "udp", "listen"});
  ASSERT_NE(Result(r, "bind"), "EADDRINUSE")
      << "precondition: something on this host listens on udp port 53 of every address (a "
         "wildcard DNS server); this test needs port 53 of "
      << server << " free\n"
      << r.Describe();
  ASSERT_TRUE(Observed(r)) << r.Describe();
  EXPECT_TRUE(ExitedWith(r, 0));
  EXPECT_EQ(Result(r, "sendto"), "ok") << r.Describe();
  EXPECT_EQ(Result(r, "recv"), "ok") << r.Describe();
  EXPECT_TRUE(r.summary.HasEntry("dns", {{"pid", r.root_pid()},
                                         {"name", "evil.example"},
                                         {"qtype", "A"},
                                         {"server", server},
                                         {"port", 53},
                                         {"protocol", "udp"}}));
}

TEST_F(ObserveTest, EnvironmentIsPassedThrough) {
  // The control for HardenedTest.EnvironmentOutsideAllowlistIsDropped: the same variables do
  // reach the command when nothing filters them.
  TracedRun r = RunObserved({"/usr/bin/env"},
                            {.env = {"SECRET_TOKEN=stepseal-e2e-secret-value", "CI_JOB=1"}});
  ASSERT_TRUE(Observed(r)) << r.Describe();
  EXPECT_TRUE(ExitedWith(r, 0));
  const auto env = Lines(r.run.out);
  EXPECT_TRUE(Contains(json(env), "SECRET_TOKEN=stepseal-e2e-secret-value")) << r.run.out;
  EXPECT_TRUE(Contains(json(env), "CI_JOB=1")) << r.run.out;
}

}  // namespace
}  // namespace e2e
