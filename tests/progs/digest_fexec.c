/* digest_fexec MODE FILE [--settle] -- ARGV...
 * Executes ARGV[0]'s image without a path, the way a loader or a container runtime does:
 *   memfd    copy FILE into a memfd and fexecve() it                    exe "/memfd:... (deleted)"
 *   fd       open FILE O_RDONLY and execveat(fd, "", AT_EMPTY_PATH)      exe FILE
 *   deleted  open FILE O_RDONLY, unlink FILE, execveat(fd, "", AT_EMPTY_PATH)
 *                                                                        exe "FILE (deleted)"
 * With --settle it first waits (polling the clock, bounded) until the executed file's last
 * change is more than two coarse clock ticks old, so that a digest of it can be proven exact.
 * Only returns (exit 1) if the exec failed. */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "prog_util.h"

extern char **environ;

static long long ns_of(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

/* Wait until CLOCK_REALTIME_COARSE is more than two ticks past FD's ctime (at most 2 s). */
static void settle(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) die("fstat");
  struct timespec res, now;
  clock_getres(CLOCK_REALTIME_COARSE, &res);
  long long target = ns_of(st.st_ctim) + 2 * ns_of(res);
  for (int i = 0; i < 4000; i++) {
    clock_gettime(CLOCK_REALTIME_COARSE, &now);
    if (ns_of(now) > target) return;
    struct timespec half_ms = {0, 500000};
    nanosleep(&half_ms, NULL);
  }
  errno = ETIMEDOUT;
  die("the clock did not advance");
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s memfd|fd|deleted FILE [--settle] -- ARGV...\n", argv[0]);
    return 2;
  }
  const char *mode = argv[1], *file = argv[2];
  int i = 3, settle_first = 0;
  if (strcmp(argv[i], "--settle") == 0) {
    settle_first = 1;
    i++;
  }
  CHECK(i < argc && strcmp(argv[i], "--") == 0 && i + 1 < argc, "expected -- ARGV");
  char **args = argv + i + 1;

  int fd;
  if (strcmp(mode, "memfd") == 0) {
    fd = memfd_create("stepseal-digest", 0);
    if (fd < 0) die("memfd_create");
    int in = open(file, O_RDONLY | O_CLOEXEC);
    if (in < 0) die("open %s", file);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
      if (write(fd, buf, (size_t)n) != n) die("write memfd");
    if (n < 0) die("read %s", file);
    close(in);
    if (settle_first) settle(fd);
    fexecve(fd, args, environ);
    die("fexecve");
  }
  fd = open(file, O_RDONLY);
  if (fd < 0) die("open %s", file);
  if (strcmp(mode, "deleted") == 0) {
    if (unlink(file) != 0) die("unlink %s", file);
  } else {
    CHECK(strcmp(mode, "fd") == 0, "unknown mode %s", mode);
  }
  if (settle_first) settle(fd);
  syscall(SYS_execveat, fd, "", args, environ, AT_EMPTY_PATH);
  die("execveat");
}
