/* memfd_ops NAME
 *   memfd_create(NAME), write into it and read it back   path "/memfd:NAME (deleted)": create
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "prog_util.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s NAME\n", argv[0]);
    return 2;
  }
  int fd = memfd_create(argv[1], MFD_CLOEXEC);
  if (fd < 0) die("memfd_create");
  static const char msg[] = "written into a memfd";
  if (write(fd, msg, sizeof msg) != (ssize_t)sizeof msg) die("write");
  char buf[sizeof msg];
  if (pread(fd, buf, sizeof buf, 0) != (ssize_t)sizeof buf) die("pread");
  CHECK(memcmp(buf, msg, sizeof msg) == 0, "memfd content differs");
  return 0;
}
