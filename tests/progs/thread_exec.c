/* thread_exec PROG ARGS...
 * A second thread (not the thread-group leader) calls execv(PROG, ARGS). The kernel kills the
 * other threads and the exec'ing thread takes over the process's pid, so PROG runs with this
 * process's pid and its exit status is this command's exit status. */
#define _GNU_SOURCE
#include <pthread.h>

#include "prog_util.h"

static void *exec_from_thread(void *arg) {
  char **argv = arg;
  execv(argv[0], argv);
  die("execv %s", argv[0]);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PROG ARGS...\n", argv[0]);
    return 2;
  }
  pthread_t thread;
  int err = pthread_create(&thread, NULL, exec_from_thread, argv + 1);
  if (err != 0) {
    errno = err;
    die("pthread_create");
  }
  pthread_join(thread, NULL); /* never returns: the exec replaces the whole process */
  return 1;
}
