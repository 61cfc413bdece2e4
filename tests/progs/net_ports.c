/* net_ports A B
 * Loopback only; every peer is opened by this program. TCP listeners and UDP receivers are bound
 * to 127.0.0.1:A and 127.0.0.1:B, then for P in A, B:
 *   TCP connect to 127.0.0.1:P                                  prints "connect P RESULT"
 *   whether P's listener got a connection                       prints "accept P RESULT"
 *   UDP sendto 127.0.0.1:P (one byte)                           prints "sendto P RESULT"
 *   whether P's receiver got the byte                           prints "recv P RESULT"
 * RESULT is "ok" or the errno name. After a successful connect or sendto the listener or receiver
 * is waited on (up to 10 s: the kernel has already taken the data); after a failed one it is
 * only checked without waiting, and "EAGAIN" says nothing arrived. Exits 0 once every line is
 * printed: the outcome is the output, not the exit status.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "prog_util.h"

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static int bound(int type, int port) {
  struct sockaddr_in a = loopback(port);
  int fd = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) die("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) die("bind 127.0.0.1:%d", port);
  if (type == SOCK_STREAM && listen(fd, 4) != 0) die("listen 127.0.0.1:%d", port);
  return fd;
}

/* "ok" if FD becomes readable within TIMEOUT_MS, else "EAGAIN". */
static const char *arrived(int fd, int timeout_ms) {
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1 ? "ok" : "EAGAIN";
}

static void tcp_attempt(int port, int listener) {
  struct sockaddr_in a = loopback(port);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
  printf("connect %d %s\n", port, ok ? "ok" : strerrorname_np(errno));
  printf("accept %d %s\n", port, arrived(listener, ok ? 10000 : 0));
  close(fd);
}

static void udp_attempt(int port, int receiver) {
  struct sockaddr_in a = loopback(port);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int ok = sendto(fd, "u", 1, 0, (struct sockaddr *)&a, sizeof a) == 1;
  printf("sendto %d %s\n", port, ok ? "ok" : strerrorname_np(errno));
  printf("recv %d %s\n", port, arrived(receiver, ok ? 10000 : 0));
  close(fd);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s A B\n", argv[0]);
    return 2;
  }
  int ports[2] = {atoi(argv[1]), atoi(argv[2])};
  CHECK(ports[0] > 0 && ports[0] < 65536 && ports[1] > 0 && ports[1] < 65536, "bad ports");
  int listeners[2], receivers[2];
  for (int i = 0; i < 2; ++i) {
    listeners[i] = bound(SOCK_STREAM, ports[i]);
    receivers[i] = bound(SOCK_DGRAM, ports[i]);
  }
  for (int i = 0; i < 2; ++i) tcp_attempt(ports[i], listeners[i]);
  for (int i = 0; i < 2; ++i) udp_attempt(ports[i], receivers[i]);
  return fflush(stdout) == 0 ? 0 : 1;
}
