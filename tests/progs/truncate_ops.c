/* truncate_ops DIR
 *   truncate(DIR/by_path, 3)   DIR/by_path must already exist (the test creates it, so the only
 *                              thing the traced run does to it is the truncate): "write"
 *   ftruncate(fd, 1)           on DIR/by_fd, opened here and truncated in a forked child, so the
 *                              child's pid in the file's pids comes from the ftruncate alone
 *   truncate(DIR/missing, 0)   fails ENOENT: failed op "truncate"
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include "prog_util.h"

static int ftruncate_to_one(void *arg) { return ftruncate(*(int *)arg, 1) == 0 ? 0 : 1; }

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  char by_path[4096], by_fd[4096], missing[4096];
  struct stat st;

  if (truncate(join(by_path, sizeof by_path, dir, "by_path"), 3) != 0) die("truncate");
  if (stat(by_path, &st) != 0) die("stat");
  CHECK(st.st_size == 3, "by_path has size %lld", (long long)st.st_size);

  int fd = open(join(by_fd, sizeof by_fd, dir, "by_fd"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("open %s", by_fd);
  if (write(fd, "0123456789", 10) != 10) die("write");
  run_in_child(ftruncate_to_one, &fd);
  if (fstat(fd, &st) != 0) die("fstat");
  CHECK(st.st_size == 1, "by_fd has size %lld", (long long)st.st_size);

  CHECK(truncate(join(missing, sizeof missing, dir, "missing"), 0) == -1 && errno == ENOENT,
        "truncate of a missing file: errno %d", errno);
  return 0;
}
