/* source_route
 * Asks for source routing, which would send packets elsewhere than the address a connect or
 * sendto names: an IPv6 routing header (type 4, one segment ::1) on a UDP socket, then IPv4
 * options (loose source route through 127.0.0.2).        prints "rthdr RESULT", "ipopt RESULT"
 * RESULT is "ok" or the errno name. Exits 0 once both lines are printed.
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <sys/socket.h>

#include "prog_util.h"

int main(void) {
  int s6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s6 < 0) die("socket inet6");
  unsigned char srh[24] = {0, 2, 4, 1, 0, 0, 0, 0}; /* next, len 2 (x8), type 4, segments 1 */
  srh[23] = 1;                                      /* segment ::1 */
  int rc = setsockopt(s6, IPPROTO_IPV6, IPV6_RTHDR, srh, sizeof srh);
  printf("rthdr %s\n", rc < 0 ? strerrorname_np(errno) : "ok");
  int s4 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s4 < 0) die("socket inet");
  unsigned char lsrr[8] = {131, 7, 4, 127, 0, 0, 2, 1}; /* LSRR 127.0.0.2, then a NOP */
  rc = setsockopt(s4, IPPROTO_IP, IP_OPTIONS, lsrr, sizeof lsrr);
  printf("ipopt %s\n", rc < 0 ? strerrorname_np(errno) : "ok");
  return 0;
}
