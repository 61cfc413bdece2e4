/* odd_sockets
 * Socket families a build has no use for and no network guard sees: vsock (to the hypervisor),
 * TIPC and PF_KEY.                           prints "vsock RESULT", "tipc RESULT", "key RESULT"
 * RESULT is "ok" or the errno name (EAFNOSUPPORT where the kernel lacks the family). No
 * connection is attempted. Exits 0 once the lines are printed.
 */
#define _GNU_SOURCE
#include <sys/socket.h>

#include "prog_util.h"

static void try(const char *what, int family, int type) {
  int fd = socket(family, type | SOCK_CLOEXEC, 0);
  printf("%s %s\n", what, fd < 0 ? strerrorname_np(errno) : "ok");
  if (fd >= 0) close(fd);
}

int main(void) {
  try("vsock", 40 /* AF_VSOCK */, SOCK_STREAM);
  try("tipc", 30 /* AF_TIPC */, SOCK_RDM);
  try("key", 15 /* PF_KEY */, SOCK_RAW);
  return 0;
}
