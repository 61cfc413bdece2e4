/* dns_query NAME SERVER udp|tcp [listen]
 * Sends one DNS query, built by hand, for NAME (type A, class IN, recursion desired) to
 * SERVER:53 (an IPv4 address):
 *   udp  sendto the query                                       prints "sendto RESULT"
 *   tcp  connect, then send the 2-byte length and the query      prints "connect RESULT", and
 *                                                               "send RESULT" if it connected
 * Nothing needs to answer, and no answer is waited for. With "listen" the program first binds
 * SERVER:53 itself (prints "bind RESULT" and exits 1 if that fails) and receives its own query
 * (prints "recv RESULT"), so the query reaches no one else; port 53 then needs
 * CAP_NET_BIND_SERVICE. RESULT is "ok" or the errno name. Exits 0 once the lines are printed,
 * except as said for "bind": the outcome is the output, not the exit status.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>

#include "prog_util.h"

/* The query for NAME into BUF; returns its length. */
static size_t build_query(const char *name, unsigned char *buf, size_t cap) {
  /* id 0x5353, flags RD, qdcount 1, ancount nscount arcount 0 */
  static const unsigned char header[12] = {0x53, 0x53, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0};
  CHECK(strlen(name) <= 253 && cap >= 12 + strlen(name) + 6, "name too long: %s", name);
  memcpy(buf, header, sizeof header);
  size_t n = sizeof header;
  for (const char *label = name; *label;) {
    const char *dot = strchr(label, '.');
    size_t len = dot ? (size_t)(dot - label) : strlen(label);
    CHECK(len >= 1 && len <= 63, "bad label in %s", name);
    buf[n++] = (unsigned char)len;
    memcpy(buf + n, label, len);
    n += len;
    label += len + (dot ? 1 : 0);
  }
  buf[n++] = 0;               /* root label */
  buf[n++] = 0, buf[n++] = 1; /* QTYPE A */
  buf[n++] = 0, buf[n++] = 1; /* QCLASS IN */
  return n;
}

static const char *result(int ok) { return ok ? "ok" : strerrorname_np(errno); }

/* Waits up to 10 s for FD to become readable: only ever used after the kernel took the query. */
static int readable(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, 10000) == 1;
}

int main(int argc, char **argv) {
  if (argc < 4 || argc > 5 || (strcmp(argv[3], "udp") != 0 && strcmp(argv[3], "tcp") != 0) ||
      (argc == 5 && strcmp(argv[4], "listen") != 0)) {
    fprintf(stderr, "usage: %s NAME SERVER udp|tcp [listen]\n", argv[0]);
    return 2;
  }
  int tcp = strcmp(argv[3], "tcp") == 0, listening = argc == 5;
  unsigned char query[300];
  size_t len = build_query(argv[1], query, sizeof query);

  struct sockaddr_in server = {.sin_family = AF_INET, .sin_port = htons(53)};
  CHECK(inet_pton(AF_INET, argv[2], &server.sin_addr) == 1, "not an IPv4 address: %s", argv[2]);
  int type = (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC;

  int own = -1;
  if (listening) {
    own = socket(AF_INET, type, 0);
    if (own < 0) die("socket");
    int ok =
        bind(own, (struct sockaddr *)&server, sizeof server) == 0 && (!tcp || listen(own, 1) == 0);
    printf("bind %s\n", result(ok));
    fflush(stdout);
    if (!ok) return 1;
  }

  int fd = socket(AF_INET, type, 0);
  if (fd < 0) die("socket");
  int sent;
  if (tcp) {
    int connected = connect(fd, (struct sockaddr *)&server, sizeof server) == 0;
    printf("connect %s\n", result(connected));
    if (!connected) return fflush(stdout) == 0 ? 0 : 1;
    unsigned char framed[2 + sizeof query] = {(unsigned char)(len >> 8), (unsigned char)len};
    memcpy(framed + 2, query, len);
    sent = write(fd, framed, len + 2) == (ssize_t)(len + 2);
    printf("send %s\n", result(sent));
  } else {
    sent = sendto(fd, query, len, 0, (struct sockaddr *)&server, sizeof server) == (ssize_t)len;
    printf("sendto %s\n", result(sent));
  }
  fflush(stdout);

  if (listening && sent) {
    int from = tcp ? accept(own, NULL, NULL) : own;
    unsigned char got[2 + sizeof query];
    size_t want = len + (tcp ? 2 : 0), have = 0;
    while (from >= 0 && have < want && readable(from)) {
      ssize_t n = recv(from, got + have, sizeof got - have, 0);
      if (n <= 0) break;
      have += (size_t)n;
    }
    int ok = have == want && memcmp(got + (tcp ? 2 : 0), query, len) == 0;
    printf("recv %s\n", ok ? "ok" : "incomplete");
  }
  close(fd);
  return fflush(stdout) == 0 ? 0 : 1;
}
