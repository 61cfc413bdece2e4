/* digest_rename DIR     (DIR/src, DIR/dst, DIR/x, DIR/y and DIR/gone must exist)
 *   rename(DIR/src, DIR/dst)                             dst's old content is replaced
 *   renameat2(dirfd, "x", dirfd, "y", RENAME_EXCHANGE)   x and y swap contents
 *   unlink(DIR/gone)                                     gone's content is destroyed
 * Exits 0 only if every call succeeded. */
#define _GNU_SOURCE
#include <linux/fs.h>
#include <sys/syscall.h>

#include "prog_util.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  char src[4096], dst[4096], gone[4096];
  if (rename(join(src, sizeof src, dir, "src"), join(dst, sizeof dst, dir, "dst")) != 0)
    die("rename %s %s", src, dst);
  int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) die("open %s", dir);
  if (syscall(SYS_renameat2, dirfd, "x", dirfd, "y", RENAME_EXCHANGE) != 0) die("renameat2");
  if (unlink(join(gone, sizeof gone, dir, "gone")) != 0) die("unlink %s", gone);
  return 0;
}
