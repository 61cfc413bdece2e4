/* rename_ops DIR
 *   rename(DIR/old, DIR/new)                                   old: rename_from, new: rename_to
 *   renameat2(dirfd, "a", dirfd, "b", RENAME_EXCHANGE)         a and b: both kinds
 *   rename(DIR/missing, DIR/never) fails with ENOENT            failed: op "rename"
 */
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
  char old_path[4096], new_path[4096], missing[4096], never[4096], buf[64];

  write_file(join(old_path, sizeof old_path, dir, "old"), "old");
  if (rename(old_path, join(new_path, sizeof new_path, dir, "new")) != 0) die("rename");

  char a[4096], b[4096];
  write_file(join(a, sizeof a, dir, "a"), "A");
  write_file(join(b, sizeof b, dir, "b"), "B");
  int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) die("open %s", dir);
  if (syscall(SYS_renameat2, dirfd, "a", dirfd, "b", RENAME_EXCHANGE) != 0) die("renameat2");
  read_file(a, buf, sizeof buf);
  CHECK(strcmp(buf, "B") == 0, "a holds '%s' after the exchange", buf);
  read_file(b, buf, sizeof buf);
  CHECK(strcmp(buf, "A") == 0, "b holds '%s' after the exchange", buf);

  join(missing, sizeof missing, dir, "missing");
  join(never, sizeof never, dir, "never");
  CHECK(rename(missing, never) == -1 && errno == ENOENT, "rename of a missing file: errno %d", errno);
  return 0;
}
