// exit_codes.h - stepseal's own exit statuses. `run` otherwise exits with the traced command's
// status (128+N when it was killed by signal N), as a shell does. Documented in --help and
// docs/cli.md; CI scripts depend on them, so never renumber.
#pragma once

namespace stepseal::exit_code {
inline constexpr int kOk = 0;
inline constexpr int kInputUnreadable = 3;  // a journal, key, layout or envelope is unreadable
inline constexpr int kJournalDamaged = 4;   // a torn or corrupt journal (show: partial summary)
inline constexpr int kVerifyFailed = 5;     // verify: an envelope failed a check (see its message)
inline constexpr int kPolicyViolated = 118;  // run --hardened: something was blocked, or a rule
                                             // was broken (the summary's "violations")
inline constexpr int kIncomplete = 119;      // run --hardened: events lost or a gap, and the
                                             // policy says "completeness": "fail"
inline constexpr int kAttachFailed = 120;   // run: the probes could not be loaded or attached
inline constexpr int kJournalWrite = 121;   // run: the journal could not be written
inline constexpr int kPushFailed = 123;    // build --push: the push failed, or the registry serves
                                           // another digest than the attested image
inline constexpr int kInternal = 122;       // run: stepseal failed to start or supervise the step
inline constexpr int kUsage = 125;          // bad arguments
inline constexpr int kCannotExecute = 126;  // run: the command exists but could not be executed
inline constexpr int kNotFound = 127;       // run: the command was not found
}  // namespace stepseal::exit_code
