// The int $0x80 decision helper (tests/common/int80.h): both kernels' branches, on any kernel.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "int80.h"

namespace {

using nlohmann::json;

// Wait statuses as waitpid reports them (the encoding of W_EXITCODE and a signal death).
int ExitedStatus(int code) { return W_EXITCODE(code, 0); }
int SignalStatus(int sig, bool core = false) { return sig | (core ? WCOREFLAG : 0); }

TEST(Int80Classify, ExitZeroMeansTheCallExecutes) {
  EXPECT_EQ(int80::Classify(ExitedStatus(0)).outcome, int80::Outcome::kExecutes);
}

TEST(Int80Classify, SegvMeansTheGateIsShut) {
  EXPECT_EQ(int80::Classify(SignalStatus(SIGSEGV)).outcome, int80::Outcome::kFaults);
  EXPECT_EQ(int80::Classify(SignalStatus(SIGSEGV, /*core=*/true)).outcome,
            int80::Outcome::kFaults);
}

TEST(Int80Classify, AnythingElseIsUnknownAndSaysWhy) {
  const int80::Probe wrong = int80::Classify(ExitedStatus(int80::kWrongResult));
  EXPECT_EQ(wrong.outcome, int80::Outcome::kUnknown);
  EXPECT_NE(wrong.detail.find("other than the pid"), std::string::npos) << wrong.detail;
  const int80::Probe sys = int80::Classify(SignalStatus(SIGSYS));
  EXPECT_EQ(sys.outcome, int80::Outcome::kUnknown);
  EXPECT_NE(sys.detail.find("signal " + std::to_string(SIGSYS)), std::string::npos) << sys.detail;
  EXPECT_EQ(int80::Classify(SignalStatus(SIGKILL)).outcome, int80::Outcome::kUnknown);
  EXPECT_EQ(int80::Classify(ExitedStatus(1)).outcome, int80::Outcome::kUnknown);
}

// The live probe on this machine gives one of the two known answers, and the same one twice.
TEST(Int80Probe, ThisKernelGivesAKnownAnswer) {
  const int80::Probe first = int80::Run();
  EXPECT_NE(first.outcome, int80::Outcome::kUnknown) << first.detail;
  EXPECT_EQ(int80::Run().outcome, first.outcome);
  EXPECT_EQ(int80::Probed().outcome, first.outcome);
}

// A summary as `stepseal show` gives it where int80_open died of SIGSEGV at its first call.
json FaultedSummary() {
  return {{"complete", true},
          {"lost_events", 0},
          {"gaps", json::array()},
          {"step", {{"exit_code", 139}}},
          {"processes", json::array({{{"pid", 42}, {"ppid", 0}, {"exit_code", 139}}})},
          {"files", json::array({{{"path", "/usr/lib/libc.so.6"}, {"access", {"read"}}}})},
          {"failed", json::array()},
          {"violations", json::array()}};
}

TEST(Int80DeathRecorded, AcceptsTheSummaryOfAFaultedRun) {
  EXPECT_TRUE(int80::DeathRecorded(FaultedSummary(), 42, "/w/compat.txt", "/w/missing"));
}

TEST(Int80DeathRecorded, RejectsAnInventedRecordOfTheCalls) {
  json s = FaultedSummary();
  s["files"].push_back({{"path", "/w/compat.txt"}, {"access", {"read"}}});
  EXPECT_FALSE(int80::DeathRecorded(s, 42, "/w/compat.txt", "/w/missing"));

  s = FaultedSummary();
  s["failed"].push_back({{"path", "/w/missing"}, {"op", "open"}, {"errno", "ENOENT"}});
  EXPECT_FALSE(int80::DeathRecorded(s, 42, "/w/compat.txt", "/w/missing"));

  s = FaultedSummary();
  s["processes"][0]["compat_syscalls"] = 2;
  EXPECT_FALSE(int80::DeathRecorded(s, 42, "/w/compat.txt", "/w/missing"));

  s = FaultedSummary();
  s["violations"].push_back({{"rule", "seccomp.deny:i386"}, {"category", "syscall"}});
  EXPECT_FALSE(int80::DeathRecorded(s, 42, "/w/compat.txt", "/w/missing"));
}

TEST(Int80DeathRecorded, RejectsAMissingOrWrongDeath) {
  json s = FaultedSummary();
  s["processes"][0]["exit_code"] = 0;
  EXPECT_FALSE(int80::DeathRecorded(s, 42, "/w/compat.txt", "/w/missing"));
  s = FaultedSummary();
  s["step"]["exit_code"] = 118;
  EXPECT_FALSE(int80::DeathRecorded(s, 42, "/w/compat.txt", "/w/missing"));
  EXPECT_FALSE(int80::DeathRecorded(FaultedSummary(), 43, "/w/compat.txt", "/w/missing"));
}

TEST(Int80DeathRecorded, RejectsAnIncompleteRecord) {
  json s = FaultedSummary();
  s["complete"] = false;
  EXPECT_FALSE(int80::DeathRecorded(s, 42, "/w/compat.txt", "/w/missing"));
  s = FaultedSummary();
  s["lost_events"] = 3;
  EXPECT_FALSE(int80::DeathRecorded(s, 42, "/w/compat.txt", "/w/missing"));
  s = FaultedSummary();
  s["gaps"].push_back({{"kind", "io_uring"}});
  EXPECT_FALSE(int80::DeathRecorded(s, 42, "/w/compat.txt", "/w/missing"));
}

}  // namespace
