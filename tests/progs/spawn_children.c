/* spawn_children PROG MISSING
 * execv(MISSING) fails with ENOENT (failed: op "exec"), then PROG (expected to be exit_with) is
 * started twice and both are waited for:
 *   vfork() + execv(PROG, {PROG, "11"})
 *   posix_spawn(PROG, {PROG, "12"})
 * Exits 0 only if the children exited with 11 and 12 respectively. */
#define _GNU_SOURCE
#include <spawn.h>

#include "prog_util.h"

extern char **environ;

static int wait_status(pid_t pid) {
  int status;
  if (waitpid(pid, &status, 0) != pid) die("waitpid %d", pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s PROG MISSING\n", argv[0]);
    return 2;
  }
  char *missing_argv[] = {argv[2], NULL};
  CHECK(execv(argv[2], missing_argv) == -1 && errno == ENOENT, "exec of %s: errno %d", argv[2],
        errno);

  char *vfork_argv[] = {argv[1], "11", NULL};
  pid_t vforked = vfork();
  if (vforked < 0) die("vfork");
  if (vforked == 0) {
    execv(argv[1], vfork_argv);
    _exit(127);
  }

  char *spawn_argv[] = {argv[1], "12", NULL};
  pid_t spawned;
  int err = posix_spawn(&spawned, argv[1], NULL, NULL, spawn_argv, environ);
  if (err != 0) {
    errno = err;
    die("posix_spawn %s", argv[1]);
  }

  int vfork_status = wait_status(vforked), spawn_status = wait_status(spawned);
  CHECK(vfork_status == 11, "vfork child exited %d", vfork_status);
  CHECK(spawn_status == 12, "posix_spawn child exited %d", spawn_status);
  return 0;
}
