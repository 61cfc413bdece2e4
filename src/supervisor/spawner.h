// spawner.h - pid 1 of the step's pid namespace, and what it tells the supervisor.
//
// The supervisor forks the spawner into a fresh pid namespace. The spawner waits until the
// supervisor has registered it with the probes, then forks the command (after installing the
// pre-image seccomp filter in it), forwards signals, reaps orphans, and reports the command's
// status through a pipe. It dies with the supervisor (PDEATHSIG), and the kernel then kills
// everything left in the namespace.
#pragma once

#include <signal.h>

#include <cstdint>
#include <string>
#include <vector>

namespace stepseal {

// What the spawner tells the supervisor through the status pipe.
struct StatusMsg {
  char type;  // 'E': exec failed, value = errno. 'S': command reaped, value = wait status.
              // 'F': the seccomp filter could not be installed, value = errno.
  // 'H': hardened mode's sandbox could not be set up; value = length of the message that
  //      follows in the pipe.
  // 'Q': (hardened) everything else in the namespace is killed and reaped; the namespace, with
  //      its mounts, stays until the supervisor sends one byte on fd_sock (final digests first).
  int32_t value;
};

struct SandboxPlan;

bool send_fd(int sock, int fd);
int recv_fd(int sock);  // -1 on failure; the fd is close-on-exec
void write_all(int fd, const void* p, size_t n);

struct SpawnerFds {
  int go_r;              // the supervisor writes one byte when tracing covers the spawner
  int status_w;          // StatusMsg records
  int fd_sock;           // the pre-image filter's notification fd goes here (SCM_RIGHTS)
  int supervisor_pidfd;  // readable once the supervisor has exited
};

// `sandbox`: hardened mode (nullptr: observe mode). The spawner enters the namespaces and builds
// the filesystem view before forking the command; the command restricts itself before exec.
[[noreturn]] void spawner_main(const std::vector<std::string>& argv, const SpawnerFds& fds,
                               bool preimages, const SandboxPlan* sandbox, const sigset_t& blocked,
                               const sigset_t& orig);

}  // namespace stepseal
