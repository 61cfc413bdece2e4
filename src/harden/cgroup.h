// cgroup.h - the step's own cgroup v2: the anchor for hardened mode's network programs, and a
// handle to kill everything the step started.
//
// Named stepseal-<supervisor pid>-<n> under the cgroup2 mount. A supervisor killed with SIGKILL
// cannot remove it, so a janitor process (forked by the constructor before it creates the
// cgroup, and so before the step's pid namespace exists; holding nothing but a pipe) waits for
// the supervisor to be gone and removes it. The next `stepseal run --hardened` also removes any
// whose supervisor is gone (collect_stale()).
#pragma once

#include <sys/types.h>

#include <string>

namespace stepseal {

class StepCgroup {
 public:
  // Forks the janitor, then creates the cgroup. Construct before unshare(CLONE_NEWPID) and
  // before other children exist. Throws std::runtime_error with the reason.
  StepCgroup();
  ~StepCgroup();  // kills what is left, waits for the cgroup to empty, removes it
  StepCgroup(const StepCgroup&) = delete;
  StepCgroup& operator=(const StepCgroup&) = delete;

  void add(pid_t pid);        // throws
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  void kill_all();            // cgroup.kill
  void kill_all_but(pid_t keep);  // SIGKILL to every member listed now, except `keep`
  // The janitor: the constructor has forked it already, so this does nothing (kept for callers
  // written before that).
  void spawn_janitor();

  // The cgroup2 mount point ("" if none).
  static std::string root();
  // Removes empty stepseal cgroups whose supervisor no longer runs. Returns how many.
  static int collect_stale();

 private:
  void end_janitor();  // closes its pipe and reaps it

  std::string path_;
  int fd_ = -1;
  int janitor_pipe_ = -1;
  pid_t janitor_ = -1;
};

}  // namespace stepseal
