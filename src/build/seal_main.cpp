// seal_main.cpp - stepseal-seal: the first program of every RUN of a sterile build
// (`stepseal build --policy`, docs/build.md "A sterile build").
//
//   /dev/.stepseal-seal -- ARGV...
//
// stepseal puts it into the container (a read-only bind mount on the container's /dev tmpfs,
// so nothing of it reaches the layer) and in front of the RUN's own argv in config.json. It
// installs hardened mode's seccomp deny-list (the one table, as `run --hardened` does) as a
// filter of its own and executes ARGV. The builder's seccomp profile stays as it was: the kernel
// runs both filters and the stricter answer wins, which merging two rule sets into one profile
// cannot promise (libseccomp leaves the combination of rules on one call unspecified).
//
// It never runs ARGV without the filter: any failure is a message and exit 126 (127 when ARGV
// is not found), before ARGV runs. Statically linked: it runs in the image's root, whatever
// libraries that root holds.
#include <errno.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "harden/seccomp_deny.h"

int main(int argc, char** argv) {
  if (argc < 3 || strcmp(argv[1], "--") != 0) {
    fprintf(stderr, "stepseal-seal: usage: stepseal-seal -- COMMAND [ARG...] (run by stepseal "
                    "build --policy inside each RUN's container)\n");
    return 126;
  }
  // runc sets no_new_privs too (config.json process.noNewPrivileges): the filter needs it
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    fprintf(stderr, "stepseal-seal: cannot set no_new_privs: %s; the RUN does not run\n",
            strerror(errno));
    return 126;
  }
  if (int rc = stepseal::install_deny_filter(EPERM); rc < 0) {
    fprintf(stderr, "stepseal-seal: cannot install the seccomp deny-list: %s; the RUN does not "
                    "run\n", strerror(-rc));
    return 126;
  }
  execvp(argv[2], argv + 2);  // PATH as runc would search it: the container's environment
  int err = errno;
  fprintf(stderr, "stepseal-seal: cannot execute %s: %s\n", argv[2], strerror(err));
  return err == ENOENT ? 127 : 126;
}
