/* link_ops DIR
 *   link(DIR/orig, DIR/hard)                       hard: link
 *   linkat(dirfd, "orig", dirfd, "hard2", 0)       hard2: link
 *   symlink("orig", DIR/sym)                       sym: link (relative target, kept verbatim)
 *   symlinkat("/nonexistent/target", dirfd, "dangling")   dangling: link
 *   link(DIR/orig, DIR/hard) again fails EEXIST    failed: op "link", path DIR/hard
 *   symlink("x", DIR/sym) again fails EEXIST       failed: op "symlink", path DIR/sym
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include "prog_util.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  char orig[4096], hard[4096], sym[4096], buf[64];

  write_file(join(orig, sizeof orig, dir, "orig"), "orig");
  if (link(orig, join(hard, sizeof hard, dir, "hard")) != 0) die("link");

  int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) die("open %s", dir);
  if (linkat(dirfd, "orig", dirfd, "hard2", 0) != 0) die("linkat");
  if (symlink("orig", join(sym, sizeof sym, dir, "sym")) != 0) die("symlink");
  if (symlinkat("/nonexistent/target", dirfd, "dangling") != 0) die("symlinkat");

  struct stat st;
  if (stat(orig, &st) != 0) die("stat");
  CHECK(st.st_nlink == 3, "orig has %lu links", (unsigned long)st.st_nlink);
  read_file(sym, buf, sizeof buf);
  CHECK(strcmp(buf, "orig") == 0, "sym reads '%s'", buf);

  CHECK(link(orig, hard) == -1 && errno == EEXIST, "second link: errno %d", errno);
  CHECK(symlink("x", sym) == -1 && errno == EEXIST, "second symlink: errno %d", errno);
  return 0;
}
