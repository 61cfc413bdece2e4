// load_test.cpp - a flood of open/close pairs. stepseal either loses nothing, or reports
// exactly what it lost and says "complete": false. Never "complete": true with a loss.
//
// Accounting: a run of `open_flood 0 PATH` gives the events every run has (exec, the loader's
// opens, exit: B). A run of `open_flood N PATH` must then account for B + N events exactly:
// recorded (stats.events) + lost (lost_events). Timing is reported, never asserted.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include <iostream>

#include "harness.h"

namespace e2e {
namespace {

constexpr long kPairs = 2'000'000;

struct FloodResult {
  uint64_t events = 0, lost = 0;
  bool complete = false;
  double seconds = 0;
  json summary;
};

class LoadTest : public E2ETest {
 protected:
  // `parallel` copies of open_flood, each doing `pairs` open/close pairs, under one shell.
  // STALLED: the supervisor is stopped (SIGSTOP) while the flood runs and continued after it, so
  // that nothing drains the ring: an overrun is certain, whatever the machine's speed. The step
  // says "ready" through one fifo, waits for "go" on a second, floods, and says "done" on a third.
  FloodResult Flood(long pairs, int parallel, const std::string& ring_mb, bool stalled) {
    const std::string tag = std::to_string(pairs) + (stalled ? "-stalled" : "");
    const std::string journal = dir() / ("flood" + tag + ".journal");
    const std::string input = dir() / ("input" + tag);
    WriteFile(input, "flood\n");
    const std::string ready = dir() / ("ready" + tag), go = dir() / ("go" + tag),
                      done = dir() / ("done" + tag);
    std::string script;
    if (stalled) {
      if (OpenFifoReader(ready) < 0 || mkfifo(go.c_str(), 0600) != 0) {
        ADD_FAILURE() << "fifos: " << strerror(errno);
        return {};
      }
      // "done" goes through a descriptor opened before the stall: opening a file for writing
      // waits for the supervisor (the pre-image monitor), which is stopped by then.
      script += "exec 3> " + done + "; echo ready > " + ready + "; read x < " + go + "; ";
    }
    for (int i = 0; i < parallel; i++)
      script += Prog("open_flood") + " " + std::to_string(pairs) + " " + input + " & ";
    script += "wait";
    const int done_fd = stalled ? OpenFifoReader(done) : -1;
    if (stalled) script += "; echo done >&3";

    Child run({STEPSEAL_BIN, "run", "--ring-mb", ring_mb, "--trace", journal, "--", "/bin/sh",
               "-c", script});
    if (stalled) {
      const int ready_fd = open(ready.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      const bool step_ready = AwaitFifo(ready_fd, 60s) == "ready\n";
      if (ready_fd >= 0) close(ready_fd);
      if (!step_ready) {
        ADD_FAILURE() << "the step never said ready\n" << run.Wait(60s).Describe();
        return {};
      }
      EXPECT_EQ(kill(run.pid(), SIGSTOP), 0) << strerror(errno);
      // From here the supervisor is stopped: whatever happens, it is continued before this
      // returns (a stopped supervisor left behind would hold the step forever).
      struct Continue {
        pid_t pid;
        ~Continue() { kill(pid, SIGCONT); }
      } cont{run.pid()};
      // O_RDWR never blocks on a fifo (Linux): "go" waits in the pipe for the step's read, and
      // the descriptor stays open until the flood is over, so the pipe (and "go") lives on
      const int go_fd = open(go.c_str(), O_RDWR | O_CLOEXEC);
      EXPECT_EQ(write(go_fd, "go\n", 3), 3) << strerror(errno);
      const bool flooded = AwaitFifo(done_fd, 600s) == "done\n";
      if (go_fd >= 0) close(go_fd);
      EXPECT_TRUE(flooded) << "the flood never finished";
      EXPECT_EQ(kill(run.pid(), SIGCONT), 0) << strerror(errno);
    }
    const CommandResult& result = run.Wait(600s);
    EXPECT_EQ(result.exit_code, 0) << result.Describe();
    CommandResult show = Show(journal);
    EXPECT_EQ(show.exit_code, 0) << show.Describe();
    FloodResult r;
    r.summary = json::parse(show.out, nullptr, false);
    if (!r.summary.is_object()) {
      ADD_FAILURE() << "no summary\n" << show.Describe();
      return r;
    }
    r.events = r.summary["stats"].value("events", uint64_t{0});
    r.lost = r.summary.value("lost_events", uint64_t{0});
    r.complete = r.summary.value("complete", false);
    r.seconds = r.summary["stats"].value("duration_s", 0.0);
    return r;
  }

  void CheckAccounting(int parallel, const std::string& ring_mb, bool stalled) {
    const long each = kPairs / parallel + 1;
    FloodResult base = Flood(0, parallel, ring_mb, stalled);
    ASSERT_EQ(base.lost, 0u) << "an idle run lost events";
    FloodResult f = Flood(each, parallel, ring_mb, stalled);
    std::cout << "[ load ] " << parallel << " x " << each << " pairs, ring " << ring_mb << " MiB"
              << (stalled ? " (supervisor stopped during the flood)" : "") << ": " << f.events
              << " events recorded, " << f.lost << " lost, in " << f.seconds << " s = "
              << static_cast<uint64_t>(static_cast<double>(f.events) / f.seconds)
              << " events/s, complete=" << f.complete << "\n";
    // every event is either in the journal or counted as lost: nothing vanishes silently
    EXPECT_EQ(f.events + f.lost, base.events + static_cast<uint64_t>(each * parallel));
    if (stalled) {
      // nothing drained a 1 MiB ring while millions of events were made: the overrun happened
      ASSERT_GT(f.lost, 0u) << "the stalled ring lost nothing: the overrun never happened";
    }
    if (f.lost > 0) {
      EXPECT_FALSE(f.complete) << "complete: true although events were lost";
      EXPECT_TRUE(f.summary["stats"].contains("lost_ringbuf"))
          << "the per-CPU loss counters are missing";
    } else {
      EXPECT_TRUE(f.complete);
    }
  }
};

// Whether the default ring keeps up depends on the machine: either way, every event is recorded
// or counted as lost.
TEST_F(LoadTest, TwoMillionOpensWithTheDefaultRing) { CheckAccounting(1, "16", false); }

// Three flooders against a 1 MiB ring that nobody drains (the supervisor is stopped) overrun it
// on any machine: whatever is lost must be counted, to the event, and the summary must say it is
// incomplete.
TEST_F(LoadTest, TwoMillionOpensOverrunningATinyRing) { CheckAccounting(3, "1", true); }

}  // namespace
}  // namespace e2e
