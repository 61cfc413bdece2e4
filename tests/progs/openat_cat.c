/* openat_cat DIRFD NAME
 * Copies NAME, opened with openat() relative to the inherited directory descriptor DIRFD, to
 * stdout. Used by the fidelity workload for dirfd-relative access (`exec 3<dir`). */
#define _GNU_SOURCE

#include "prog_util.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s DIRFD NAME\n", argv[0]);
    return 2;
  }
  int fd = openat(atoi(argv[1]), argv[2], O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("openat %s %s", argv[1], argv[2]);
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0)
    if (write(1, buf, (size_t)n) != n) die("write");
  if (n < 0) die("read %s", argv[2]);
  return 0;
}
