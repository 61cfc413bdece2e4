/* uring_cat PATH
 * Opens PATH with IORING_OP_OPENAT and reads it with IORING_OP_READ, then writes what it read to
 * stdout. Prints "io_uring_setup RESULT" first (RESULT: "ok" or the errno name); if the ring
 * cannot be set up nothing else happens. Exits 0 once the setup result is printed: the outcome
 * is the output, not the exit status. The tracer cannot see inside io_uring: a traced run must
 * report a gap {"kind": "io_uring", "detail": "io_uring_setup"} and "complete": false.
 */
#define _GNU_SOURCE
#include <liburing.h>

#include "prog_util.h"

/* Submits the one prepared SQE and returns its CQE's result (a negative errno on failure). */
static int submit_and_wait(struct io_uring *ring) {
  int ret = io_uring_submit(ring);
  if (ret != 1) return ret < 0 ? ret : -EIO;
  struct io_uring_cqe *cqe;
  ret = io_uring_wait_cqe(ring, &cqe);
  if (ret != 0) return ret;
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
  printf("io_uring_setup %s\n", ret == 0 ? "ok" : strerrorname_np(-ret));
  fflush(stdout);
  if (ret != 0) return 0;

  io_uring_prep_openat(io_uring_get_sqe(&ring), AT_FDCWD, argv[1], O_RDONLY | O_CLOEXEC, 0);
  int fd = submit_and_wait(&ring);
  CHECK(fd >= 0, "IORING_OP_OPENAT %s: %s", argv[1], strerror(-fd));

  char buf[4096];
  io_uring_prep_read(io_uring_get_sqe(&ring), fd, buf, sizeof buf, 0);
  int n = submit_and_wait(&ring);
  CHECK(n >= 0, "IORING_OP_READ: %s", strerror(-n));
  if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n || fflush(stdout) != 0) die("write stdout");

  close(fd);
  io_uring_queue_exit(&ring);
  return 0;
}
