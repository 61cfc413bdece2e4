// privilege.h - whether the e2e tests can run here.
//
// The e2e tests need root and a kernel that lets stepseal attach its BPF programs. Where either
// is missing the tests are skipped with the reason, unless STEPSEAL_REQUIRE_PRIVILEGED=1 (set in
// CI), where a skip would hide a broken setup, so they fail instead.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "os_util.h"

#ifndef STEPSEAL_BIN
#error "STEPSEAL_BIN must be defined by the build"
#endif

namespace e2e {

// stepseal's own exit code for "could not attach tracing" (see the CLI contract).
inline constexpr int kExitCannotTrace = 120;

inline bool PrivilegeRequired() {
  const char* v = std::getenv("STEPSEAL_REQUIRE_PRIVILEGED");
  return v && std::string(v) == "1";
}

// Why the e2e tests cannot run here, or nullopt if they can. Probed once per test binary by
// tracing /bin/true.
inline const std::optional<std::string>& MissingPrivilegeReason() {
  static const std::optional<std::string> reason = []() -> std::optional<std::string> {
    if (geteuid() != 0)
      return "the e2e tests need root (euid is " + std::to_string(geteuid()) + ")";
    TempDir dir;
    if (!dir.ok()) return "cannot create a temporary directory under /tmp";
    CommandResult probe = RunCommand({STEPSEAL_BIN, "run", "--trace", dir / "probe.journal", "--",
                                      "/bin/true"},
                                     {}, 120s);
    if (probe.exit_code == kExitCannotTrace)
      return "stepseal cannot attach BPF tracing here (exit 120): " + probe.err;
    return std::nullopt;  // any other failure is a real one, for the tests to report
  }();
  return reason;
}

// Call first in a test (in practice from a fixture's SetUp(), where GTEST_SKIP() and FAIL() stop
// the test body from running): skips the test if it cannot run here, or fails it if
// STEPSEAL_REQUIRE_PRIVILEGED=1.
inline void RequirePrivilegeOrSkip() {
  const auto& reason = MissingPrivilegeReason();
  if (!reason) return;
  if (PrivilegeRequired())
    FAIL() << "STEPSEAL_REQUIRE_PRIVILEGED=1 but " << *reason;
  else
    GTEST_SKIP() << *reason << " (set STEPSEAL_REQUIRE_PRIVILEGED=1 to make this a failure)";
}

}  // namespace e2e
