// digest_plan.h - which events need which digests.
//
//   exec of a binary            -> "exec" digest of the file the kernel ran (its identity checked)
//   exec of a memfd / deleted   -> hashed through /proc/PID/exe at once, marked fileless
//   successful open for reading -> "content" digest, identity checked against the event
//   any change to a file        -> the path is remembered; at step end, an "after" digest
//   (pre-images, "before", come from the seccomp monitor, not from events)
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <unordered_set>
#include <string>

#include "capture/event.h"
#include "digest/digest_service.h"

namespace stepseal {

class DigestPlan {
 public:
  // realtime_minus_monotonic converts event times for the clock-tick check.
  DigestPlan(DigestService* digests, int64_t realtime_minus_monotonic)
      : digests_(digests), offset_(realtime_minus_monotonic) {}

  void on_event(const Event& e);
  // After the step: the final content of every file it changed. Blocks until done.
  void finish();

  const std::set<std::string>& changed() const { return changed_; }
  uint64_t lookups() const { return lookups_; }     // events that called for a digest
  uint64_t repeats() const { return repeats_; }     // ... of a version already asked for

 private:
  void content(DigestRole role, const std::string& path, const Event& e);

  DigestService* digests_;
  int64_t offset_;
  std::set<std::string> changed_;
  std::map<std::string, uint64_t> appended_;  // path -> its size at the first O_APPEND open
  // (role, path, identity) already asked for: a build opens the same header thousands of times,
  // and one record per version is all the model needs
  std::unordered_set<std::string> requested_;
  uint64_t lookups_ = 0, repeats_ = 0;
};

// Paths whose content is not a file's (procfs, sysfs, devices) are never hashed.
bool hashable_path(const std::string& path);

}  // namespace stepseal
