/* daemonize DIR exit|linger
 * Classic double fork: the command forks a child, the child calls setsid() and forks the daemon,
 * then exits; the daemon redirects stdio to /dev/null, writes its pid to DIR/daemon.pid and
 * creates DIR/daemon.out.
 *   exit:   the daemon exits 0. The command waits for it without a signal or a sleep: the daemon
 *           holds the write end of a pipe, so the command's read() returns 0 once it is gone.
 *           Exits 0 if DIR/daemon.out was written.
 *   linger: the daemon announces itself by writing one byte into the fifo DIR/ready (which the
 *           test created and reads), then blocks forever, and so does the command. Only killing
 *           the tree ends them.
 */
#define _GNU_SOURCE
#include <signal.h>

#include "prog_util.h"

/* HOLD_FD is the write end of the command's pipe; it stays open until the daemon dies. */
static void daemon_main(const char *dir, int linger, int hold_fd) {
  (void)hold_fd;
  daemon_detach(dir);
  char path[4096];
  write_file(join(path, sizeof path, dir, "daemon.out"), "written by the daemon\n");
  if (!linger) _exit(0);

  int ready = open(join(path, sizeof path, dir, "ready"), O_WRONLY | O_CLOEXEC);
  if (ready < 0 || write(ready, "r", 1) != 1) _exit(1);
  close(ready);
  for (;;) pause();
}

int main(int argc, char **argv) {
  if (argc != 3 || (strcmp(argv[2], "exit") != 0 && strcmp(argv[2], "linger") != 0)) {
    fprintf(stderr, "usage: %s DIR exit|linger\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  int linger = strcmp(argv[2], "linger") == 0;
  int alive[2];
  if (pipe2(alive, O_CLOEXEC) != 0) die("pipe");

  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    close(alive[0]);
    if (setsid() < 0) die("setsid");
    pid_t daemon = fork();
    if (daemon < 0) die("fork");
    if (daemon == 0) daemon_main(dir, linger, alive[1]);
    _exit(0);
  }
  close(alive[1]);
  int status;
  if (waitpid(child, &status, 0) != child) die("waitpid");
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "intermediate child failed");

  char c;
  ssize_t n = read(alive[0], &c, 1); /* linger: blocks until killed; exit: EOF when daemon is gone */
  CHECK(n == 0, "unexpected read result %zd", n);

  char path[4096], buf[64];
  read_file(join(path, sizeof path, dir, "daemon.out"), buf, sizeof buf);
  CHECK(strcmp(buf, "written by the daemon\n") == 0, "daemon.out holds '%s'", buf);
  return 0;
}
