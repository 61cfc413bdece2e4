/* net_unix DIR ABSTRACT
 * Unix-domain sockets only; every peer is opened by this process.
 *   stream listener bound to DIR/stream.sock, connect to it      connect DIR/stream.sock: ok
 *   stream listener bound to "\0ABSTRACT", connect to it         connect "@ABSTRACT": ok
 *   dgram receiver bound to DIR/dgram.sock, sendto it            sendto DIR/dgram.sock: ok
 *   connect to DIR/missing.sock                                  connect: ENOENT
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "prog_util.h"

/* Fill ADDR for a path (abstract=0) or an abstract name (abstract=1); returns the address length. */
static socklen_t unix_addr(struct sockaddr_un *addr, const char *name, int abstract) {
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  size_t n = strlen(name);
  CHECK(n + 1 < sizeof addr->sun_path, "socket name too long: %s", name);
  memcpy(addr->sun_path + abstract, name, n); /* abstract: leading NUL, no trailing NUL */
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + abstract + n + !abstract);
}

static int sock(int type) {
  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  return fd;
}

/* Listen on NAME, connect to it and pass one byte through the accepted connection. */
static void stream_round_trip(const char *name, int abstract) {
  struct sockaddr_un addr;
  socklen_t len = unix_addr(&addr, name, abstract);
  int srv = sock(SOCK_STREAM);
  if (bind(srv, (struct sockaddr *)&addr, len) != 0) die("bind %s", name);
  if (listen(srv, 1) != 0) die("listen %s", name);
  int cli = sock(SOCK_STREAM);
  if (connect(cli, (struct sockaddr *)&addr, len) != 0) die("connect %s", name);
  int conn = accept(srv, NULL, NULL);
  if (conn < 0) die("accept %s", name);
  char c = 'x';
  if (write(cli, &c, 1) != 1 || read(conn, &c, 1) != 1) die("stream i/o %s", name);
  close(conn);
  close(cli);
  close(srv);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s DIR ABSTRACT\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  char path[4096];

  stream_round_trip(join(path, sizeof path, dir, "stream.sock"), 0);
  stream_round_trip(argv[2], 1);

  struct sockaddr_un addr;
  socklen_t len = unix_addr(&addr, join(path, sizeof path, dir, "dgram.sock"), 0);
  int rcv = sock(SOCK_DGRAM);
  if (bind(rcv, (struct sockaddr *)&addr, len) != 0) die("bind %s", path);
  int snd = sock(SOCK_DGRAM);
  if (sendto(snd, "d", 1, 0, (struct sockaddr *)&addr, len) != 1) die("sendto %s", path);
  char c;
  if (recv(rcv, &c, 1, 0) != 1 || c != 'd') die("recv %s", path);

  len = unix_addr(&addr, join(path, sizeof path, dir, "missing.sock"), 0);
  int cli = sock(SOCK_STREAM);
  CHECK(connect(cli, (struct sockaddr *)&addr, len) == -1 && errno == ENOENT,
        "connect to a missing socket: errno %d", errno);
  return 0;
}
