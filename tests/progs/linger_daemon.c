/* linger_daemon DIR
 * A daemon that outlives the command. The command forks a child; the child calls setsid() and
 * forks the daemon, then exits. The daemon redirects its stdio to /dev/null, writes its pid (as
 * getpid() gives it, in whatever pid namespace it runs) to DIR/daemon.pid, tells the command it
 * is ready by writing one byte into a pipe, and then blocks forever. The command exits 0 as soon as
 * the daemon is ready, so the daemon is still running when the command exits. The daemon never
 * execs: its command line is the command's, which names DIR, so a test can find it in /proc.
 * (daemonize.c's linger mode keeps the command blocked too, and needs a fifo.)
 */
#define _GNU_SOURCE
#include "prog_util.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) die("pipe");

  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    if (setsid() < 0) die("setsid");
    pid_t daemon = fork();
    if (daemon < 0) die("fork");
    if (daemon == 0) {
      close(ready[0]);
      daemon_detach(dir);
      if (write(ready[1], "r", 1) != 1) _exit(1);
      close(ready[1]);
      for (;;) pause();
    }
    _exit(0);
  }
  close(ready[1]);
  int status;
  if (waitpid(child, &status, 0) != child) die("waitpid");
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "intermediate child failed");
  char c;
  CHECK(read(ready[0], &c, 1) == 1 && c == 'r', "the daemon did not report ready");
  printf("daemon ready\n");
  return fflush(stdout) == 0 ? 0 : 1;
}
