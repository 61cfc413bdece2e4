/* dir_ops DIR
 *   mkdir(DIR/newdir), mkdirat(dirfd, "newdir2")       create
 *   mknod(DIR/fifo, S_IFIFO)                           create
 *   rmdir(DIR/newdir2)                                 delete
 *   unlink(DIR/fifo)                                   delete
 *   unlinkat(dirfd, "victim", 0)                       delete (victim is created first)
 * and failures, each recorded in "failed":
 *   mkdir(DIR/newdir) EEXIST       op "mkdir"
 *   mknod(DIR/newdir) EEXIST       op "mknod"
 *   unlink(DIR/missing) ENOENT     op "unlink"
 *   chdir(DIR/missing) ENOENT      op "chdir"
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
  char newdir[4096], fifo[4096], victim[4096], missing[4096];

  if (mkdir(join(newdir, sizeof newdir, dir, "newdir"), 0755) != 0) die("mkdir %s", newdir);
  int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) die("open %s", dir);
  if (mkdirat(dirfd, "newdir2", 0755) != 0) die("mkdirat newdir2");
  if (mknod(join(fifo, sizeof fifo, dir, "fifo"), S_IFIFO | 0644, 0) != 0) die("mknod %s", fifo);

  if (rmdir(join(victim, sizeof victim, dir, "newdir2")) != 0) die("rmdir %s", victim);
  if (unlink(fifo) != 0) die("unlink %s", fifo);
  write_file(join(victim, sizeof victim, dir, "victim"), "victim");
  if (unlinkat(dirfd, "victim", 0) != 0) die("unlinkat victim");

  join(missing, sizeof missing, dir, "missing");
  CHECK(mkdir(newdir, 0755) == -1 && errno == EEXIST, "second mkdir: errno %d", errno);
  CHECK(mknod(newdir, S_IFIFO | 0644, 0) == -1 && errno == EEXIST, "mknod over a dir: errno %d",
        errno);
  CHECK(unlink(missing) == -1 && errno == ENOENT, "unlink of a missing file: errno %d", errno);
  CHECK(chdir(missing) == -1 && errno == ENOENT, "chdir to a missing dir: errno %d", errno);
  return 0;
}
