/* uring_read PATH
 * Opens PATH with IORING_OP_OPENAT and reads it with IORING_OP_READ. The tracer cannot see inside
 * io_uring, so the run must report a gap {"kind": "io_uring", "detail": "io_uring_setup"} and
 * "complete": false.
 */
#define _GNU_SOURCE
#include <liburing.h>

#include "prog_util.h"

static int submit_and_wait(struct io_uring *ring) {
  int ret = io_uring_submit(ring);
  if (ret != 1) {
    errno = ret < 0 ? -ret : EIO;
    die("io_uring_submit");
  }
  struct io_uring_cqe *cqe;
  ret = io_uring_wait_cqe(ring, &cqe);
  if (ret != 0) {
    errno = -ret;
    die("io_uring_wait_cqe");
  }
  int res = cqe->res;
  io_uring_cqe_seen(ring, cqe);
  return res;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PATH\n", argv[0]);
    return 2;
  }
  struct io_uring ring;
  int ret = io_uring_queue_init(4, &ring, 0);
  if (ret != 0) {
    errno = -ret;
    die("io_uring_queue_init");
  }

  io_uring_prep_openat(io_uring_get_sqe(&ring), AT_FDCWD, argv[1], O_RDONLY | O_CLOEXEC, 0);
  int fd = submit_and_wait(&ring);
  CHECK(fd >= 0, "IORING_OP_OPENAT %s: %s", argv[1], strerror(-fd));

  char buf[256];
  io_uring_prep_read(io_uring_get_sqe(&ring), fd, buf, sizeof buf, 0);
  int n = submit_and_wait(&ring);
  CHECK(n > 0, "IORING_OP_READ returned %d", n);

  close(fd);
  io_uring_queue_exit(&ring);
  return 0;
}
