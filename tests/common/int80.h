// int80.h - does this kernel execute `int $0x80` at all? One probe, decided at run time, shared by
// every test that makes 32-bit system calls from a 64-bit process.
//
// Kernels differ, and the same kernel version can differ by boot parameter: with
// CONFIG_IA32_EMULATION=y, `int $0x80` enters the i386 system call table, unless the gate is shut
// (ia32_emulation=0, or a kernel built to refuse it), and then the instruction raises a general
// protection fault and the process dies of SIGSEGV before any system call, tracepoint or seccomp
// filter runs. The tests assert what really happens on the kernel they run on:
//
//   const int80::Probe k = int80::Probed();
//   ASSERT_NE(k.outcome, int80::Outcome::kUnknown) << k.detail;
//   if (k.outcome == int80::Outcome::kExecutes) { ...the calls are recorded... }
//   else { EXPECT_TRUE(int80::DeathRecorded(summary, pid, path, missing)); }
//
// Classify() and DeathRecorded() are pure, so a unit test exercises both branches on any kernel.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

namespace int80 {

enum class Outcome {
  kExecutes,  // the call entered the kernel and returned (getpid gave the caller's pid)
  kFaults,    // the instruction faulted: the child died of SIGSEGV, no call was made
  kUnknown,   // anything else: the probe could not tell (a precondition failure, never a skip)
};

struct Probe {
  Outcome outcome = Outcome::kUnknown;
  std::string detail;
};

// The exit code a probe child uses when `int $0x80` returned, but not the caller's pid.
inline constexpr int kWrongResult = 3;

// Decides from the wait status of the probe child: the child makes one i386 getpid (number 20)
// through `int $0x80`, and exits 0 if it returned the child's pid, kWrongResult otherwise.
inline Probe Classify(int wait_status) {
  if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0)
    return {Outcome::kExecutes, "int $0x80 executes: i386 getpid returned the caller's pid"};
  if (WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGSEGV)
    return {Outcome::kFaults,
            "int $0x80 faults: the probe died of SIGSEGV (the kernel's i386 gate is shut; "
            "dmesg shows a general protection fault)"};
  if (WIFEXITED(wait_status))
    return {Outcome::kUnknown, "int $0x80 probe exited " + std::to_string(WEXITSTATUS(wait_status)) +
                                   (WEXITSTATUS(wait_status) == kWrongResult
                                        ? " (i386 getpid returned something other than the pid)"
                                        : "")};
  if (WIFSIGNALED(wait_status))
    return {Outcome::kUnknown, std::string("int $0x80 probe died of signal ") +
                                   std::to_string(WTERMSIG(wait_status)) + " (" +
                                   strsignal(WTERMSIG(wait_status)) + "), not SIGSEGV"};
  return {Outcome::kUnknown, "int $0x80 probe: unexpected wait status " + std::to_string(wait_status)};
}

// Runs the probe in a throwaway child (no core dump) and classifies its end.
inline Probe Run() {
  const pid_t pid = fork();
  if (pid < 0) return {Outcome::kUnknown, std::string("fork: ") + strerror(errno)};
  if (pid == 0) {
    const struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    // the kernel's own end for a shut gate: not a sanitizer's handler (build-fuzz installs one)
    signal(SIGSEGV, SIG_DFL);
    long ret;
    __asm__ volatile("int $0x80"
                     : "=a"(ret)
                     : "a"(20L) /* i386 getpid */
                     : "memory", "r8", "r9", "r10", "r11");
    _exit(static_cast<int>(ret) == getpid() ? 0 : kWrongResult);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return {Outcome::kUnknown, std::string("waitpid: ") + strerror(errno)};
  return Classify(status);
}

// The probe's answer for this process, probed once.
inline const Probe& Probed() {
  static const Probe probe = Run();
  return probe;
}

// What the summary of `int80_open PATH MISSING` must say where `int $0x80` faults: the command
// died of SIGSEGV at its first compat call, and that death is recorded with the signal (exit
// code 128+11); the calls never ran, so no access to PATH, no failed open of MISSING and no
// compat_syscalls are recorded, and no seccomp verdict names an i386 call; nothing was missed
// either, so the record is complete with nothing lost and no gaps.
inline testing::AssertionResult DeathRecorded(const nlohmann::json& summary, int pid,
                                              const std::string& path,
                                              const std::string& missing) {
  using nlohmann::json;
  auto fail = [&](const std::string& why) {
    return testing::AssertionFailure() << why << "\nsummary: " << summary.dump(1).substr(0, 6000);
  };
  if (!summary.is_object()) return fail("the summary is not an object");
  const int killed = 128 + SIGSEGV;
  // The sections, by reference into SUMMARY (value() would return copies).
  static const json kNone = json::array();
  auto section = [&](const char* name) -> const json& {
    return summary.contains(name) && summary.at(name).is_array() ? summary.at(name) : kNone;
  };
  const json step = summary.value("step", json::object());
  if (!step.is_object() || step.value("exit_code", json()) != json(killed))
    return fail("step.exit_code is not " + std::to_string(killed) + " (SIGSEGV)");
  const json* root = nullptr;
  for (const auto& p : section("processes"))
    if (p.is_object() && p.value("pid", -1) == pid) root = &p;
  if (!root) return fail("no process entry for pid " + std::to_string(pid));
  if (root->value("exit_code", json()) != json(killed))
    return fail("pid " + std::to_string(pid) + " is not recorded as killed by SIGSEGV");
  if (root->contains("compat_syscalls"))
    return fail("compat_syscalls recorded for calls that never ran");
  for (const auto& f : section("files"))
    if (f.is_object() && f.value("path", "") == path)
      return fail("a file entry for " + path + ", which no call opened: " + f.dump());
  for (const auto& f : section("failed"))
    if (f.is_object() && f.value("path", "") == missing)
      return fail("a failed entry for " + missing + ", which no call tried: " + f.dump());
  for (const auto& v : section("violations"))
    if (v.is_object() && v.value("rule", "").rfind("seccomp.deny:i386", 0) == 0)
      return fail("a violation for an i386 call that never ran: " + v.dump());
  if (summary.value("complete", false) != true) return fail("the summary is not complete");
  if (summary.value("lost_events", -1) != 0) return fail("lost_events is not 0");
  if (!section("gaps").empty()) return fail("the summary has gaps");
  return testing::AssertionSuccess();
}

}  // namespace int80
