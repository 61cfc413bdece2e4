/* unix_connect OUTSIDE_SOCKET DIR
 * Unix stream sockets:
 *   connect to OUTSIDE_SOCKET (a listener the test opened, e.g. standing in for a container
 *   engine's socket); no byte is sent                           prints "outside RESULT"
 *   listener bound to DIR/inside.sock, connect to it and pass one byte through the accepted
 *   connection                                                  prints "inside RESULT"
 * RESULT is "ok" or the errno name of the first call that failed. Exits 0 once both lines are
 * printed: the outcome is the output, not the exit status.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "prog_util.h"

static socklen_t unix_addr(struct sockaddr_un *addr, const char *path) {
  memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  CHECK(strlen(path) < sizeof addr->sun_path, "socket path too long: %s", path);
  strcpy(addr->sun_path, path);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

static const char *connect_outside(const char *path) {
  struct sockaddr_un addr;
  socklen_t len = unix_addr(&addr, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  const char *result =
      connect(fd, (struct sockaddr *)&addr, len) == 0 ? "ok" : strerrorname_np(errno);
  close(fd);
  return result;
}

static const char *round_trip_inside(const char *dir) {
  char path[4096];
  struct sockaddr_un addr;
  socklen_t len = unix_addr(&addr, join(path, sizeof path, dir, "inside.sock"));
  int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int cli = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (srv < 0 || cli < 0) die("socket");
  if (bind(srv, (struct sockaddr *)&addr, len) != 0) return strerrorname_np(errno);
  if (listen(srv, 1) != 0) return strerrorname_np(errno);
  if (connect(cli, (struct sockaddr *)&addr, len) != 0) return strerrorname_np(errno);
  int conn = accept(srv, NULL, NULL);
  if (conn < 0) return strerrorname_np(errno);
  char c = 'x';
  if (write(cli, &c, 1) != 1 || read(conn, &c, 1) != 1) return strerrorname_np(errno);
  close(conn);
  close(cli);
  close(srv);
  return "ok";
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s OUTSIDE_SOCKET DIR\n", argv[0]);
    return 2;
  }
  printf("outside %s\n", connect_outside(argv[1]));
  printf("inside %s\n", round_trip_inside(argv[2]));
  return fflush(stdout) == 0 ? 0 : 1;
}
