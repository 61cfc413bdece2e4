/* wide_args DIR - calls whose registers carry garbage above the 32 bits the kernel reads:
 *   syscall(1<<32 | SYS_openat, AT_FDCWD, DIR/wide_open, O_CREAT|O_WRONLY)   create (the kernel
 *                                                   dispatches on the low 32 bits of the number)
 *   fchmod(1<<32 | fd of DIR/wide_fd, 0600)                              chmod (an fd is an int)
 *   utimensat(AT_FDCWD, "", NULL, AT_EMPTY_PATH) in DIR/cwd_dir          times on the cwd
 * (DIR holds wide_fd and cwd_dir already.)
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prog_util.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  char p[4096];
  const long high = 1L << 32;
  long fd = syscall(high | SYS_openat, AT_FDCWD, join(p, sizeof p, dir, "wide_open"),
                    O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  CHECK(fd >= 0, "wide openat: errno %d", errno);
  close((int)fd);
  int f = open(join(p, sizeof p, dir, "wide_fd"), O_RDONLY | O_CLOEXEC);
  if (f < 0) die("open %s", p);
  CHECK(syscall(SYS_fchmod, high | f, 0600) == 0, "wide fchmod: errno %d", errno);
  if (chdir(join(p, sizeof p, dir, "cwd_dir")) != 0) die("chdir %s", p);
  CHECK(syscall(SYS_utimensat, AT_FDCWD, "", NULL, AT_EMPTY_PATH) == 0, "utimensat cwd: errno %d",
        errno);
  return 0;
}
