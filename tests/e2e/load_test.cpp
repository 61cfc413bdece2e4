// load_test.cpp - a flood of open/close pairs. stepseal either loses nothing, or reports
// exactly what it lost and says "complete": false. Never "complete": true with a loss.
//
// Accounting: a run of `open_flood 0 PATH` gives the events every run has (exec, the loader's
// opens, exit: B). A run of `open_flood N PATH` must then account for B + N events exactly:
// recorded (stats.events) + lost (lost_events). Timing is reported, never asserted.
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
  FloodResult Flood(long pairs, int parallel, const std::string& ring_mb) {
    const std::string journal = dir() / ("flood" + std::to_string(pairs) + ".journal");
    std::string script;
    for (int i = 0; i < parallel; i++)
      script += Prog("open_flood") + " " + std::to_string(pairs) + " /etc/hostname & ";
    script += "wait";
    CommandResult run = RunCommand({STEPSEAL_BIN, "run", "--ring-mb", ring_mb, "--trace", journal,
                                    "--", "/bin/sh", "-c", script},
                                   {}, std::chrono::seconds(600));
    EXPECT_EQ(run.exit_code, 0) << run.Describe();
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

  void CheckAccounting(int parallel, const std::string& ring_mb) {
    const long each = kPairs / parallel + 1;
    FloodResult base = Flood(0, parallel, ring_mb);
    ASSERT_EQ(base.lost, 0u) << "an idle run lost events";
    FloodResult f = Flood(each, parallel, ring_mb);
    std::cout << "[ load ] " << parallel << " x " << each << " pairs, ring " << ring_mb << " MiB: " << f.events << " events recorded, "
              << f.lost << " lost, in " << f.seconds << " s = "
              << static_cast<uint64_t>(static_cast<double>(f.events) / f.seconds)
              << " events/s, complete=" << f.complete << "\n";
    // every event is either in the journal or counted as lost: nothing vanishes silently
    EXPECT_EQ(f.events + f.lost, base.events + static_cast<uint64_t>(each * parallel));
    if (f.lost > 0) {
      EXPECT_FALSE(f.complete) << "complete: true although events were lost";
      bool lost_gap_free_claim = f.summary["stats"].contains("lost_ringbuf");
      EXPECT_TRUE(lost_gap_free_claim) << "the per-CPU loss counters are missing";
    } else {
      EXPECT_TRUE(f.complete);
    }
  }
};

TEST_F(LoadTest, TwoMillionOpensWithTheDefaultRing) { CheckAccounting(1, "16"); }

// Three flooders on two CPUs against a 1 MiB ring overrun it: whatever is lost must be counted,
// to the event, and the summary must say it is incomplete.
TEST_F(LoadTest, TwoMillionOpensOverrunningATinyRing) { CheckAccounting(3, "1"); }

}  // namespace
}  // namespace e2e
