/* raw_sockets
 * Creates, and at once closes, a raw IPv4 socket (AF_INET, SOCK_RAW, IPPROTO_ICMP) and a packet
 * socket (AF_PACKET, SOCK_RAW, protocol 0: it receives nothing until bound, and neither socket
 * sends anything). Prints "raw RESULT" and "packet RESULT", RESULT being "ok" or the errno name.
 * Exits 0 once both lines are printed: the outcome is the output, not the exit status.
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <sys/socket.h>

#include "prog_util.h"

static void attempt(const char *name, int family, int protocol) {
  int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, protocol);
  printf("%s %s\n", name, fd >= 0 ? "ok" : strerrorname_np(errno));
  if (fd >= 0) close(fd);
}

int main(void) {
  attempt("raw", AF_INET, IPPROTO_ICMP);
  attempt("packet", AF_PACKET, 0);
  return fflush(stdout) == 0 ? 0 : 1;
}
