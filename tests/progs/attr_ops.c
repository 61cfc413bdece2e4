/* attr_ops DIR - every call that changes a file's metadata, each on its own file (DIR holds the
 * files m1..m4, o1..o4, t1..t5 already: this program only opens them read-only):
 *   chmod(DIR/m1, 0700)                      chmod, mode_set 0700
 *   fchmod(fd of DIR/m2, 0640)               chmod (through the fd)
 *   fchmodat(dirfd, "m3", 0604)              chmod
 *   fchmodat2(dirfd, "m4", 0755, 0)          chmod (Linux 6.6+; ENOSYS is a failure here)
 *   chown(DIR/o1, 0, 0)                      chown, uid_set 0, gid_set 0
 *   fchown(fd of DIR/o2, -1, 0)              chown, gid_set 0 only
 *   lchown(DIR/o3, 0, -1)                    chown, uid_set 0 only
 *   fchownat(dirfd, "o4", 0, 0, 0)           chown
 *   utimensat(dirfd, "t1", NULL, 0)          times
 *   utimensat(fd of DIR/t2, NULL, NULL, 0)   times (through the fd)
 *   utimes(DIR/t3, NULL)                     times
 *   futimesat(dirfd, "t4", NULL)             times
 *   utime(DIR/t5, NULL)                      times
 * and failures, each recorded in "failed":
 *   chmod(DIR/missing) ENOENT     op "chmod"
 *   chown(DIR/missing) ENOENT     op "chown"
 *   utimes(DIR/missing) ENOENT    op "utimes"
 * Every call is made with syscall(2), so that libc cannot route it through another call.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prog_util.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

static int file_fd(const char *dir, const char *name, char *path, size_t n) {
  join(path, n, dir, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open %s", path);
  return fd;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  char p[4096];
  int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0) die("open %s", dir);
  const char *names[] = {"m1", "m2", "m3", "m4", "o1", "o2", "o3", "o4", "t1", "t2", "t3", "t4",
                         "t5"};
  int fds[13];
  for (int i = 0; i < 13; i++) fds[i] = file_fd(dir, names[i], p, sizeof p);

  CHECK(syscall(SYS_chmod, join(p, sizeof p, dir, "m1"), 0700) == 0, "chmod: errno %d", errno);
  CHECK(syscall(SYS_fchmod, fds[1], 0640) == 0, "fchmod: errno %d", errno);
  CHECK(syscall(SYS_fchmodat, dirfd, "m3", 0604) == 0, "fchmodat: errno %d", errno);
  CHECK(syscall(SYS_fchmodat2, dirfd, "m4", 0755, 0) == 0, "fchmodat2: errno %d", errno);
  CHECK(syscall(SYS_chown, join(p, sizeof p, dir, "o1"), 0, 0) == 0, "chown: errno %d", errno);
  CHECK(syscall(SYS_fchown, fds[5], -1, 0) == 0, "fchown: errno %d", errno);
  CHECK(syscall(SYS_lchown, join(p, sizeof p, dir, "o3"), 0, -1) == 0, "lchown: errno %d", errno);
  CHECK(syscall(SYS_fchownat, dirfd, "o4", 0, 0, 0) == 0, "fchownat: errno %d", errno);
  CHECK(syscall(SYS_utimensat, dirfd, "t1", NULL, 0) == 0, "utimensat: errno %d", errno);
  CHECK(syscall(SYS_utimensat, fds[9], NULL, NULL, 0) == 0, "utimensat(fd): errno %d", errno);
  CHECK(syscall(SYS_utimes, join(p, sizeof p, dir, "t3"), NULL) == 0, "utimes: errno %d", errno);
  CHECK(syscall(SYS_futimesat, dirfd, "t4", NULL) == 0, "futimesat: errno %d", errno);
  CHECK(syscall(SYS_utime, join(p, sizeof p, dir, "t5"), NULL) == 0, "utime: errno %d", errno);

  join(p, sizeof p, dir, "missing");
  CHECK(syscall(SYS_chmod, p, 0600) == -1 && errno == ENOENT, "chmod missing: errno %d", errno);
  CHECK(syscall(SYS_chown, p, 0, 0) == -1 && errno == ENOENT, "chown missing: errno %d", errno);
  CHECK(syscall(SYS_utimes, p, NULL) == -1 && errno == ENOENT, "utimes missing: errno %d", errno);
  return 0;
}
