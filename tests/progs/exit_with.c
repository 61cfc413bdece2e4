/* exit_with CODE       exit with status CODE
 * exit_with -s SIGNAL  die from signal number SIGNAL (default disposition) */
#include <signal.h>

#include "prog_util.h"

int main(int argc, char **argv) {
  if (argc == 2) return atoi(argv[1]);
  if (argc == 3 && strcmp(argv[1], "-s") == 0) {
    int sig = atoi(argv[2]);
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    return 1; /* not reached for a fatal signal */
  }
  fprintf(stderr, "usage: %s CODE | -s SIGNAL\n", argv[0]);
  return 2;
}
