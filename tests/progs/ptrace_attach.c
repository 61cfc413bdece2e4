/* ptrace_attach PID|child
 * PTRACE_ATTACH to PID (a process the test started, outside the step), or with "child" to a child
 * this program forks first (it blocks reading a pipe, so it exists for the whole attempt).
 * Prints one line, "attach RESULT", where RESULT is "ok" or the errno name (e.g. "EPERM"). After a
 * successful attach it waits for the attach stop and detaches, so the target runs on unharmed.
 * Exits 0 once the line is printed: the outcome is the output, not the exit status.
 */
#define _GNU_SOURCE
#include <sys/ptrace.h>

#include "prog_util.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PID|child\n", argv[0]);
    return 2;
  }
  pid_t target, child = -1;
  int hold[2] = {-1, -1};
  if (strcmp(argv[1], "child") == 0) {
    if (pipe2(hold, O_CLOEXEC) != 0) die("pipe");
    child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
      char c;
      close(hold[1]);
      _exit(read(hold[0], &c, 1) == 0 ? 0 : 1); /* EOF: the parent is done with us */
    }
    close(hold[0]);
    target = child;
  } else {
    target = (pid_t)atoi(argv[1]);
    CHECK(target > 0, "bad pid %s", argv[1]);
  }

  long rc = ptrace(PTRACE_ATTACH, target, NULL, NULL);
  printf("attach %s\n", rc == 0 ? "ok" : strerrorname_np(errno));
  fflush(stdout);
  if (rc == 0) {
    int status;
    if (waitpid(target, &status, __WALL) != target) die("waitpid for the attach stop");
    if (ptrace(PTRACE_DETACH, target, NULL, NULL) != 0) die("PTRACE_DETACH");
  }
  if (child > 0) {
    close(hold[1]);
    int status;
    if (waitpid(child, &status, 0) != child) die("waitpid");
  }
  return 0;
}
