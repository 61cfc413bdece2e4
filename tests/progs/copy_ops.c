/* copy_ops DIR
 * DIR/src must exist. The parent opens DIR/src for reading and each destination for writing; a
 * forked child then copies with one call, so that child's pid shows up in the destination's (and
 * the source's) pids only because of the copy:
 *   copy_file_range(src -> DIR/cfr.out)
 *   sendfile(src -> DIR/sendfile.out)
 *   splice(src -> pipe -> DIR/splice.out)
 * Explicit offsets are used throughout so the shared file position of src never moves.
 */
#define _GNU_SOURCE
#include <sys/sendfile.h>
#include <sys/stat.h>

#include "prog_util.h"

struct copy_job {
  int in, out;
  size_t len;
};

static int do_copy_file_range(void *arg) {
  struct copy_job *j = arg;
  loff_t off_in = 0, off_out = 0;
  return copy_file_range(j->in, &off_in, j->out, &off_out, j->len, 0) == (ssize_t)j->len ? 0 : 1;
}

static int do_sendfile(void *arg) {
  struct copy_job *j = arg;
  off_t off = 0;
  return sendfile(j->out, j->in, &off, j->len) == (ssize_t)j->len ? 0 : 1;
}

static int do_splice(void *arg) {
  struct copy_job *j = arg;
  int pipefd[2];
  if (pipe(pipefd) != 0) return 1;
  loff_t off_in = 0, off_out = 0;
  if (splice(j->in, &off_in, pipefd[1], NULL, j->len, 0) != (ssize_t)j->len) return 1;
  return splice(pipefd[0], NULL, j->out, &off_out, j->len, 0) == (ssize_t)j->len ? 0 : 1;
}

static void copy_with(const char *dir, const char *name, int in, size_t len, int (*fn)(void *),
                      const char *expected) {
  char path[4096], buf[4096];
  int out = open(join(path, sizeof path, dir, name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) die("open %s", path);
  struct copy_job job = {in, out, len};
  run_in_child(fn, &job);
  close(out);
  read_file(path, buf, sizeof buf);
  CHECK(strcmp(buf, expected) == 0, "%s holds '%s'", path, buf);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1];
  char src[4096], content[4096];
  size_t len = read_file(join(src, sizeof src, dir, "src"), content, sizeof content);
  CHECK(len > 0, "%s is empty", src);

  int in = open(src, O_RDONLY | O_CLOEXEC);
  if (in < 0) die("open %s", src);
  copy_with(dir, "cfr.out", in, len, do_copy_file_range, content);
  copy_with(dir, "sendfile.out", in, len, do_sendfile, content);
  copy_with(dir, "splice.out", in, len, do_splice, content);
  return 0;
}
