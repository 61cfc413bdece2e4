/* aio_read PATH
 * Opens PATH normally (PATH: read), then reads it through Linux AIO with the raw io_setup /
 * io_submit / io_getevents / io_destroy syscalls. The tracer must report a gap
 * {"kind": "aio", "detail": "io_submit"} and "complete": false.
 */
#define _GNU_SOURCE
#include <linux/aio_abi.h>
#include <sys/syscall.h>

#include "prog_util.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PATH\n", argv[0]);
    return 2;
  }
  aio_context_t ctx = 0;
  if (syscall(SYS_io_setup, 8, &ctx) != 0) die("io_setup");

  int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open %s", argv[1]);

  char buf[256];
  struct iocb cb = {0};
  cb.aio_fildes = (unsigned)fd;
  cb.aio_lio_opcode = IOCB_CMD_PREAD;
  cb.aio_buf = (unsigned long)buf;
  cb.aio_nbytes = sizeof buf;
  struct iocb *cbs[1] = {&cb};
  if (syscall(SYS_io_submit, ctx, 1, cbs) != 1) die("io_submit");

  struct io_event ev;
  if (syscall(SYS_io_getevents, ctx, 1, 1, &ev, NULL) != 1) die("io_getevents");
  CHECK((long long)ev.res > 0, "AIO read returned %lld", (long long)ev.res);

  if (syscall(SYS_io_destroy, ctx) != 0) die("io_destroy");
  close(fd);
  return 0;
}
