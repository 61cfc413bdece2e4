/* dns_roundtrip NAME ANSWER PORT
 * A resolver and its client in one process, on loopback only:
 *   binds UDP 127.0.0.53:53 (the resolver; needs CAP_NET_BIND_SERVICE) and listens on TCP
 *   ANSWER:PORT; sends a query for NAME (type A) from 127.0.0.1 to 127.0.0.53:53
 *                                                         prints "query RESULT"
 *   if it left: the resolver answers it with one A record, ANSWER; the client receives it
 *                                                         prints "answer RESULT"
 *   then connects to ANSWER:PORT                          prints "connect RESULT"
 * With NAME "-" no query is made: only the connect (the control: nothing was learned).
 * RESULT is "ok" or the errno name. Exits 0 once the lines are printed (1 if setup fails).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "prog_util.h"

static void report(const char *what, int rc) {
  printf("%s %s\n", what, rc < 0 ? strerrorname_np(errno) : "ok");
  fflush(stdout);
}

static struct sockaddr_in inet(const char *ip, int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  CHECK(inet_pton(AF_INET, ip, &a.sin_addr) == 1, "bad address %s", ip);
  return a;
}

int main(int argc, char **argv) {
  CHECK(argc == 4, "usage: dns_roundtrip NAME ANSWER PORT");
  const char *name = argv[1];
  struct sockaddr_in res = inet("127.0.0.53", 53), ans = inet(argv[2], atoi(argv[3]));
  struct sockaddr_in cli_addr = inet("127.0.0.1", 0);

  int srv = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int lst = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int cli = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lst, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (srv < 0 || lst < 0 || cli < 0 || bind(srv, (struct sockaddr *)&res, sizeof res) < 0 ||
      bind(lst, (struct sockaddr *)&ans, sizeof ans) < 0 || listen(lst, 1) < 0 ||
      bind(cli, (struct sockaddr *)&cli_addr, sizeof cli_addr) < 0)
    die("setup");

  if (strcmp(name, "-") == 0) {
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    report("connect", connect(c, (struct sockaddr *)&ans, sizeof ans));
    return 0;
  }
  unsigned char q[300], r[600];
  static const unsigned char header[12] = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0};
  CHECK(strlen(name) <= 253, "name too long");
  memcpy(q, header, sizeof header);
  size_t n = sizeof header;
  for (const char *label = name; *label;) {
    const char *dot = strchr(label, '.');
    size_t len = dot ? (size_t)(dot - label) : strlen(label);
    CHECK(len > 0 && len < 64, "bad label in %s", name);
    q[n++] = (unsigned char)len;
    memcpy(q + n, label, len);
    n += len;
    label += len + (dot ? 1 : 0);
  }
  q[n++] = 0;
  static const unsigned char tail[4] = {0, 1, 0, 1}; /* QTYPE A, QCLASS IN */
  memcpy(q + n, tail, 4);
  n += 4;

  int rc = (int)sendto(cli, q, n, 0, (struct sockaddr *)&res, sizeof res);
  report("query", rc);
  if (rc < 0) return 0;

  /* the resolver: the question back, with QR set and one answer pointing at it (0xc00c) */
  struct sockaddr_in from;
  socklen_t fl = sizeof from;
  ssize_t got = recvfrom(srv, r, sizeof r, 0, (struct sockaddr *)&from, &fl);
  if (got < 12) die("resolver recvfrom");
  r[2] = 0x81; r[3] = 0x80; /* response, recursion desired and available */
  r[6] = 0; r[7] = 1;       /* ancount 1 */
  size_t m = (size_t)got;
  static const unsigned char rr[12] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4};
  memcpy(r + m, rr, sizeof rr);
  m += sizeof rr;
  memcpy(r + m, &ans.sin_addr, 4);
  m += 4;
  if (sendto(srv, r, m, 0, (struct sockaddr *)&from, fl) < 0) die("resolver sendto");

  report("answer", (int)recv(cli, r, sizeof r, 0));
  int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  report("connect", connect(c, (struct sockaddr *)&ans, sizeof ans));
  return 0;
}
