// cgroup.h - the step's own cgroup v2: the anchor for hardened mode's network programs, and a
// handle to kill everything the step started.
//
// Named stepseal-<supervisor pid>-<boot-unique id> under the cgroup2 mount. A supervisor killed
// with SIGKILL cannot remove it; the next `stepseal run --hardened` removes empty cgroups whose
// supervisor is gone (collect_stale()).
#pragma once

#include <sys/types.h>

#include <string>

namespace stepseal {

class StepCgroup {
 public:
  // Creates the cgroup. Throws std::runtime_error with the reason.
  StepCgroup();
  ~StepCgroup();  // kills what is left, waits for the cgroup to empty, removes it
  StepCgroup(const StepCgroup&) = delete;
  StepCgroup& operator=(const StepCgroup&) = delete;

  void add(pid_t pid);        // throws
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  void kill_all();            // cgroup.kill

  // The cgroup2 mount point ("" if none).
  static std::string root();
  // Removes empty stepseal cgroups whose supervisor no longer runs. Returns how many.
  static int collect_stale();

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace stepseal
