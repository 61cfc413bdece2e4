/* net_inet REPORT
 * Loopback only (127.0.0.1 and ::1); every peer is opened by this process. The ephemeral ports
 * are written to REPORT as "NAME PORT" lines:
 *   tcp4 P      TCP listener on 127.0.0.1:P, connected to           connect 127.0.0.1:P ok
 *   tcp6 P      TCP listener on [::1]:P, connected to               connect ::1:P ok
 *   refused P   127.0.0.1:P is bound but not listening, so a
 *               connect to it is refused                            connect 127.0.0.1:P ECONNREFUSED
 *   udp4 P      UDP sendto 127.0.0.1:P                              sendto 127.0.0.1:P ok
 *   udp6 P      UDP sendto [::1]:P                                  sendto ::1:P ok
 *   sendmsg P   UDP sendmsg with msg_name 127.0.0.1:P               sendto 127.0.0.1:P ok
 *   sendmmsg P  UDP sendmmsg with msg_name [::1]:P                  sendto ::1:P ok
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "prog_util.h"

static FILE *report;

/* A socket of TYPE bound to an ephemeral port on the loopback address of FAMILY. ADDR receives
 * the bound address. */
static int bound_socket(int family, int type, struct sockaddr_storage *addr, socklen_t *len) {
  memset(addr, 0, sizeof *addr);
  if (family == AF_INET) {
    struct sockaddr_in *in = (struct sockaddr_in *)addr;
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *len = sizeof *in;
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
    in6->sin6_family = AF_INET6;
    in6->sin6_addr = in6addr_loopback;
    *len = sizeof *in6;
  }
  int fd = socket(family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  if (bind(fd, (struct sockaddr *)addr, *len) != 0) die("bind");
  if (getsockname(fd, (struct sockaddr *)addr, len) != 0) die("getsockname");
  return fd;
}

static int port_of(const struct sockaddr_storage *addr) {
  return ntohs(addr->ss_family == AF_INET ? ((const struct sockaddr_in *)addr)->sin_port
                                          : ((const struct sockaddr_in6 *)addr)->sin6_port);
}

static void tcp_round_trip(const char *name, int family) {
  struct sockaddr_storage addr;
  socklen_t len;
  int srv = bound_socket(family, SOCK_STREAM, &addr, &len);
  if (listen(srv, 1) != 0) die("listen");
  int cli = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (cli < 0) die("socket");
  if (connect(cli, (struct sockaddr *)&addr, len) != 0) die("connect %s", name);
  int conn = accept(srv, NULL, NULL);
  if (conn < 0) die("accept %s", name);
  char c = 't';
  if (write(cli, &c, 1) != 1 || read(conn, &c, 1) != 1) die("tcp i/o %s", name);
  fprintf(report, "%s %d\n", name, port_of(&addr));
  close(conn);
  close(cli);
  close(srv);
}

static void tcp_refused(void) {
  struct sockaddr_storage addr;
  socklen_t len;
  int closed = bound_socket(AF_INET, SOCK_STREAM, &addr, &len); /* holds the port; no listen() */
  int cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (cli < 0) die("socket");
  CHECK(connect(cli, (struct sockaddr *)&addr, len) == -1 && errno == ECONNREFUSED,
        "connect to a non-listening port: errno %d", errno);
  fprintf(report, "refused %d\n", port_of(&addr));
  close(cli);
  close(closed);
}

enum send_how { SEND_TO, SEND_MSG, SEND_MMSG };

static void udp_send(const char *name, int family, enum send_how how) {
  struct sockaddr_storage addr;
  socklen_t len;
  int rcv = bound_socket(family, SOCK_DGRAM, &addr, &len);
  int snd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (snd < 0) die("socket");

  char payload[] = "u";
  struct iovec iov = {payload, 1};
  struct msghdr msg = {.msg_name = &addr, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1};
  struct mmsghdr mmsg = {.msg_hdr = msg};
  int ok = 0;
  switch (how) {
    case SEND_TO: ok = sendto(snd, payload, 1, 0, (struct sockaddr *)&addr, len) == 1; break;
    case SEND_MSG: ok = sendmsg(snd, &msg, 0) == 1; break;
    case SEND_MMSG: ok = sendmmsg(snd, &mmsg, 1, 0) == 1; break;
  }
  if (!ok) die("send %s", name);
  char c;
  if (recv(rcv, &c, 1, 0) != 1 || c != 'u') die("recv %s", name);
  fprintf(report, "%s %d\n", name, port_of(&addr));
  close(snd);
  close(rcv);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s REPORT\n", argv[0]);
    return 2;
  }
  report = fopen(argv[1], "we");
  if (!report) die("fopen %s", argv[1]);

  tcp_round_trip("tcp4", AF_INET);
  tcp_round_trip("tcp6", AF_INET6);
  tcp_refused();
  udp_send("udp4", AF_INET, SEND_TO);
  udp_send("udp6", AF_INET6, SEND_TO);
  udp_send("sendmsg", AF_INET, SEND_MSG);
  udp_send("sendmmsg", AF_INET6, SEND_MMSG);

  if (fclose(report) != 0) die("fclose %s", argv[1]);
  return 0;
}
