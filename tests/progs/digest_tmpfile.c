/* digest_tmpfile DIR
 * Two files that get their name only once their content is complete:
 *   open(DIR, O_TMPFILE|O_WRONLY), write, linkat("/proc/self/fd/N", DIR/via_proc, AT_SYMLINK_FOLLOW)
 *   open(DIR, O_TMPFILE|O_WRONLY), write, linkat(fd, "", DIR/via_empty_path, AT_EMPTY_PATH)
 * with the contents below (the test knows them too). */
#define _GNU_SOURCE

#include "prog_util.h"

static const char kViaProc[] = "O_TMPFILE, linked through /proc/self/fd\n";
static const char kViaEmptyPath[] = "O_TMPFILE, linked with AT_EMPTY_PATH\n";

static int tmpfile_with(const char *dir, const char *content) {
  int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) die("open %s O_TMPFILE", dir);
  size_t n = strlen(content);
  if (write(fd, content, n) != (ssize_t)n) die("write");
  return fd;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  char path[4096], proc[64], buf[4096];

  int fd = tmpfile_with(dir, kViaProc);
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  if (linkat(AT_FDCWD, proc, AT_FDCWD, join(path, sizeof path, dir, "via_proc"),
             AT_SYMLINK_FOLLOW) != 0)
    die("linkat %s", proc);
  close(fd);
  read_file(path, buf, sizeof buf);
  CHECK(strcmp(buf, kViaProc) == 0, "%s holds '%s'", path, buf);

  fd = tmpfile_with(dir, kViaEmptyPath);
  if (linkat(fd, "", AT_FDCWD, join(path, sizeof path, dir, "via_empty_path"), AT_EMPTY_PATH) != 0)
    die("linkat AT_EMPTY_PATH");
  close(fd);
  read_file(path, buf, sizeof buf);
  CHECK(strcmp(buf, kViaEmptyPath) == 0, "%s holds '%s'", path, buf);
  return 0;
}
