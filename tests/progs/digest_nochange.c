/* digest_nochange FILE1 FILE2     (both must exist)
 * Touches two files without changing either:
 *   openat2(FILE1, {O_RDONLY}), read                    FILE1: read
 *   open(FILE2, O_WRONLY|O_CREAT|O_EXCL) fails EEXIST   (a lock-file attempt)
 *   open(FILE2, O_RDONLY), read                         FILE2: read
 * Exits 0 only if everything went as described. */
#define _GNU_SOURCE
#include <linux/openat2.h>
#include <sys/syscall.h>

#include "prog_util.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s FILE1 FILE2\n", argv[0]);
    return 2;
  }
  char buf[4096];
  struct open_how how = {.flags = O_RDONLY | O_CLOEXEC};
  int fd = (int)syscall(SYS_openat2, AT_FDCWD, argv[1], &how, sizeof how);
  if (fd < 0) die("openat2 %s", argv[1]);
  if (read(fd, buf, sizeof buf) < 0) die("read %s", argv[1]);
  close(fd);

  fd = open(argv[2], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  CHECK(fd < 0 && errno == EEXIST, "O_EXCL create of %s: fd %d errno %d", argv[2], fd, errno);
  read_file(argv[2], buf, sizeof buf);
  return 0;
}
