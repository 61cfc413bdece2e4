/* open_ops DIR
 * DIR/existing and DIR/to_truncate must exist (the test creates them).
 *   open(DIR/existing, O_RDONLY)                           existing: read
 *   open(DIR/existing, O_WRONLY|O_CREAT)                   existing: write, but not create
 *   openat(dirfd, "created", O_WRONLY|O_CREAT|O_EXCL)      created: create
 *   open(DIR/to_truncate, O_WRONLY|O_TRUNC)                to_truncate: overwrite
 *   creat(DIR/by_creat)                                    by_creat: create
 *   chdir(DIR); open("relative", O_WRONLY|O_CREAT)         DIR/relative: create
 *   open(DIR/missing, O_RDONLY) fails ENOENT               failed: op "open"
 */
#define _GNU_SOURCE

#include "prog_util.h"

static int open_or_die(int dirfd, const char *path, int flags) {
  int fd = openat(dirfd, path, flags | O_CLOEXEC, 0644);
  if (fd < 0) die("open %s", path);
  return fd;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  char path[4096];

  close(open_or_die(AT_FDCWD, join(path, sizeof path, dir, "existing"), O_RDONLY));
  close(open_or_die(AT_FDCWD, path, O_WRONLY | O_CREAT));

  int dirfd = open_or_die(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY);
  close(open_or_die(dirfd, "created", O_WRONLY | O_CREAT | O_EXCL));
  close(open_or_die(AT_FDCWD, join(path, sizeof path, dir, "to_truncate"), O_WRONLY | O_TRUNC));

  int fd = creat(join(path, sizeof path, dir, "by_creat"), 0644);
  if (fd < 0) die("creat %s", path);
  close(fd);

  if (chdir(dir) != 0) die("chdir %s", dir);
  close(open_or_die(AT_FDCWD, "relative", O_WRONLY | O_CREAT));

  CHECK(open(join(path, sizeof path, dir, "missing"), O_RDONLY) == -1 && errno == ENOENT,
        "open of a missing file: errno %d", errno);
  return 0;
}
