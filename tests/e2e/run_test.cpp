// run_test.cpp - `stepseal run` as a supervisor: exit codes, signals, the process tree.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "harness.h"

namespace e2e {
namespace {

class RunTest : public E2ETest {};

const json* Only(const std::vector<const json*>& v) { return v.size() == 1 ? v[0] : nullptr; }

TEST_F(RunTest, ExitCodeIsPropagated) {
  TracedRun r = Trace({Prog("exit_with"), "3"}, {.cwd = work()});
  EXPECT_EQ(r.run.exit_code, 3) << r.Describe();
  ASSERT_TRUE(r.parsed) << r.Describe();
  EXPECT_EQ(r.show.exit_code, 0) << r.Describe();

  json step = r.summary.step();
  EXPECT_EQ(step.value("exit_code", -1), 3) << step.dump();
  EXPECT_EQ(step.value("argv", json()), json::array({Prog("exit_with"), "3"})) << step.dump();
  EXPECT_EQ(step.value("cwd", ""), work()) << step.dump();
  EXPECT_FALSE(step.value("started", "").empty()) << step.dump();
  EXPECT_FALSE(step.value("finished", "").empty()) << step.dump();
  EXPECT_TRUE(r.summary.complete());
  EXPECT_TRUE(r.summary.HasProcess(
      {{"exe", Prog("exit_with")}, {"exit_code", 3}, {"cwd", work()}}));

  json journal = r.summary.raw().value("journal", json::object());
  EXPECT_EQ(journal.value("sha256_head", "").size(), 64u) << journal.dump();
  EXPECT_GT(journal.value("records", 0), 0) << journal.dump();
}

TEST_F(RunTest, DeathBySignalIs128PlusSignal) {
  for (int sig : {SIGKILL, SIGTERM}) {
    SCOPED_TRACE(strsignal(sig));
    TracedRun r = Trace({Prog("exit_with"), "-s", std::to_string(sig)});
    EXPECT_EQ(r.run.exit_code, 128 + sig) << r.Describe();
    ASSERT_TRUE(r.parsed) << r.Describe();
    EXPECT_EQ(r.summary.step().value("exit_code", -1), 128 + sig);
    EXPECT_TRUE(r.summary.HasProcess({{"exe", Prog("exit_with")}, {"exit_code", 128 + sig}}));
  }
}

TEST_F(RunTest, CommandNotFoundIs127) {
  CommandResult absolute = RunCommand(
      {STEPSEAL_BIN, "run", "--trace", dir() / "a.journal", "--", work("no-such-program")});
  EXPECT_EQ(absolute.exit_code, 127) << absolute.Describe();
  CommandResult on_path = RunCommand(
      {STEPSEAL_BIN, "run", "--trace", dir() / "b.journal", "--", "stepseal-no-such-command"});
  EXPECT_EQ(on_path.exit_code, 127) << on_path.Describe();
}

TEST_F(RunTest, CannotExecuteIs126) {
  WriteFile(work("not-executable"), "#!/bin/sh\nexit 0\n");
  chmod(work("not-executable").c_str(), 0644);
  CommandResult r = RunCommand(
      {STEPSEAL_BIN, "run", "--trace", dir() / "a.journal", "--", work("not-executable")});
  EXPECT_EQ(r.exit_code, 126) << r.Describe();
}

TEST_F(RunTest, BadArgumentsAre125) {
  const std::string journal = dir() / "a.journal";
  const std::vector<std::vector<std::string>> bad = {
      {STEPSEAL_BIN, "run", "--no-such-option", "--trace", journal, "--", "/bin/true"},
      {STEPSEAL_BIN, "run", "--trace", journal, "--"},  // no command
      {STEPSEAL_BIN, "run", "--trace"},                 // no journal
  };
  for (const auto& argv : bad) {
    CommandResult r = RunCommand(argv);
    EXPECT_EQ(r.exit_code, 125) << Join(argv) << "\n" << r.Describe();
  }
}

TEST_F(RunTest, SigtermToSupervisorReachesCommand) {
  int ready = OpenFifoReader(work("ready"));
  ASSERT_GE(ready, 0) << strerror(errno);
  // The command traps TERM, then tells the test it is ready. `wait` returns as soon as a trapped
  // signal arrives; the trap ends the background blocker and leaves a marker.
  const std::string script = R"(
trap 'kill "$blocker" 2>/dev/null; echo term >"$1/marker"; exit 5' TERM
sleep 300 &
blocker=$!
echo ready >"$1/ready"
wait "$blocker"
exit 9
)";
  Child supervisor({STEPSEAL_BIN, "run", "--trace", dir() / "step.journal", "--", "/bin/sh",
                    "-c", script, "sh", work()});
  ASSERT_TRUE(supervisor.started()) << supervisor.error();
  ASSERT_EQ(AwaitFifo(ready, 60s), "ready\n") << supervisor.Wait(1s).Describe();

  ASSERT_EQ(kill(supervisor.pid(), SIGTERM), 0);
  const CommandResult& r = supervisor.Wait(60s);
  EXPECT_EQ(r.exit_code, 5) << r.Describe();
  EXPECT_EQ(ReadFile(work("marker")), "term\n");

  CommandResult show = Show(dir() / "step.journal");
  json summary = json::parse(show.out, nullptr, false);
  ASSERT_TRUE(summary.is_object()) << show.Describe();
  EXPECT_TRUE(Summary(summary).HasProcess({{"exe", Canonical("/bin/sh")}, {"exit_code", 5}}));
}

TEST_F(RunTest, SigkillOfSupervisorKillsWholeTree) {
  int ready = OpenFifoReader(work("ready"));
  ASSERT_GE(ready, 0) << strerror(errno);
  Child supervisor({STEPSEAL_BIN, "run", "--trace", dir() / "step.journal", "--",
                    Prog("daemonize"), work(), "linger"});
  ASSERT_TRUE(supervisor.started()) << supervisor.error();
  ASSERT_EQ(AwaitFifo(ready, 60s), "r") << supervisor.Wait(1s).Describe();

  // The daemon wrote its pid (as getpid() gives it, in whatever pid namespace it runs) before
  // announcing itself; find the same process as the test sees it.
  const pid_t daemon = PidSeenFromHere(std::stoi(ReadFile(work("daemon.pid"))), work());
  ASSERT_GT(daemon, 0) << "no live process with pid " << ReadFile(work("daemon.pid"))
                       << " in its namespace mentions " << work();
  std::vector<pid_t> tree = LiveProcessesMentioning(work());  // supervisor, command, daemon
  ASSERT_GE(tree.size(), 3u) << ::testing::PrintToString(tree);

  ASSERT_EQ(kill(supervisor.pid(), SIGKILL), 0);
  EXPECT_EQ(supervisor.Wait(30s).exit_code, 128 + SIGKILL);
  std::vector<pid_t> survivors = WaitForExit(tree, 5s);
  EXPECT_TRUE(survivors.empty()) << "still alive 5s after the supervisor was killed: "
                                 << ::testing::PrintToString(survivors);
  EXPECT_FALSE(IsAlive(daemon)) << "the setsid daemon " << daemon << " survived";

  // The journal of a killed supervisor is a valid prefix without a trailer: readable, and
  // reported as unfinished rather than passed off as complete.
  CommandResult show = Show(dir() / "step.journal");
  EXPECT_EQ(show.exit_code, 4) << show.Describe();
  json summary = json::parse(show.out, nullptr, false);
  ASSERT_TRUE(summary.is_object()) << show.Describe();
  EXPECT_FALSE(summary.value("complete", true));
  EXPECT_NE(summary["journal"].value("problem", "").find("no trailer"), std::string::npos)
      << Dump(summary["journal"]);
}

TEST_F(RunTest, ExecFromNonLeaderThread) {
  TracedRun r = Trace({Prog("thread_exec"), Prog("exit_with"), "7"});
  EXPECT_EQ(r.run.exit_code, 7) << r.Describe();
  ASSERT_TRUE(r.parsed) << r.Describe();
  EXPECT_TRUE(r.summary.complete());
  // After the exec the process keeps the thread-group leader's pid: the root's pid.
  const int root = r.summary.RootPid();
  ASSERT_GT(root, 0) << Dump(r.summary.processes());
  EXPECT_TRUE(r.summary.HasProcess({{"pid", root},
                                    {"exe", Prog("exit_with")},
                                    {"argv", {Prog("exit_with"), "7"}},
                                    {"exit_code", 7}}));
}

TEST_F(RunTest, VforkAndPosixSpawnChildren) {
  TracedRun r = Trace({Prog("spawn_children"), Prog("exit_with"), work("missing-program")});
  ASSERT_TRUE(CleanRun(r));
  const Summary& s = r.summary;
  const int root = r.root_pid();
  ASSERT_GT(root, 0) << Dump(s.processes());

  const json* vforked = Only(s.ProcessesWhere({{"ppid", root}, {"exe", Prog("exit_with")},
                                               {"argv", {Prog("exit_with"), "11"}}}));
  const json* spawned = Only(s.ProcessesWhere({{"ppid", root}, {"exe", Prog("exit_with")},
                                               {"argv", {Prog("exit_with"), "12"}}}));
  ASSERT_NE(vforked, nullptr) << Dump(s.processes());
  ASSERT_NE(spawned, nullptr) << Dump(s.processes());
  EXPECT_EQ(vforked->value("exit_code", -1), 11);
  EXPECT_EQ(spawned->value("exit_code", -1), 12);
  EXPECT_TRUE(s.HasFailed(work("missing-program"), "exec", "ENOENT"));
}

TEST_F(RunTest, DoubleForkedDaemon) {
  TracedRun r = Trace({Prog("daemonize"), work(), "exit"});
  ASSERT_TRUE(CleanRun(r));
  const Summary& s = r.summary;
  const int root = r.root_pid();
  ASSERT_GT(root, 0) << Dump(s.processes());

  // command -> intermediate child (setsid, exits at once) -> daemon
  const json* intermediate = Only(s.ChildrenOf(root));
  ASSERT_NE(intermediate, nullptr) << Dump(s.processes());
  EXPECT_EQ(intermediate->value("exit_code", -1), 0);
  const json* daemon = Only(s.ChildrenOf(intermediate->value("pid", -1)));
  ASSERT_NE(daemon, nullptr) << Dump(s.processes());
  EXPECT_EQ(daemon->value("exe", ""), Prog("daemonize"));
  EXPECT_EQ(daemon->value("exit_code", -1), 0);
  EXPECT_TRUE(s.HasAccess(work("daemon.out"), "create"));
  EXPECT_TRUE(s.FileTouchedBy(work("daemon.out"), daemon->value("pid", -1)));
}

TEST_F(RunTest, DamagedJournalIsReported) {
  TracedRun r = Trace({Prog("exit_with"), "0"});
  ASSERT_TRUE(CleanRun(r));
  auto size = std::filesystem::file_size(r.journal);
  ASSERT_GT(size, 2u);
  std::filesystem::resize_file(r.journal, size / 2);

  CommandResult show = Show(r.journal);
  EXPECT_EQ(show.exit_code, 4) << show.Describe();
  json summary = json::parse(show.out, nullptr, false);
  ASSERT_TRUE(summary.is_object()) << "the partial summary is still printed\n" << show.Describe();
  EXPECT_EQ(summary.value("complete", true), false);
}

}  // namespace
}  // namespace e2e
