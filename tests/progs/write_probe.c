/* write_probe PATH...
 * For each PATH (absolute, or relative to the working directory): creates it with
 * O_CREAT | O_EXCL and writes "written by write_probe\n" into it. Prints "PATH RESULT" per path,
 * RESULT being "ok" or the errno name of the call that failed. Exits 0 once every line is
 * printed: the outcome is the output, not the exit status.
 */
#define _GNU_SOURCE
#include "prog_util.h"

static const char *attempt(const char *path) {
  static const char content[] = "written by write_probe\n";
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return strerrorname_np(errno);
  if (write(fd, content, sizeof content - 1) != (ssize_t)(sizeof content - 1))
    return strerrorname_np(errno);
  if (close(fd) != 0) return strerrorname_np(errno);
  return "ok";
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PATH...\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; ++i) printf("%s %s\n", argv[i], attempt(argv[i]));
  return fflush(stdout) == 0 ? 0 : 1;
}
