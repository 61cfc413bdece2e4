/* digest_copy_into SRC DST OFFSET
 * Opens DST (which must exist) O_WRONLY without O_TRUNC or O_APPEND and copy_file_range()s all
 * of SRC into it at OFFSET: DST's existing content is partly replaced in place. */
#define _GNU_SOURCE
#include <sys/stat.h>

#include "prog_util.h"

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s SRC DST OFFSET\n", argv[0]);
    return 2;
  }
  int in = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (in < 0) die("open %s", argv[1]);
  int out = open(argv[2], O_WRONLY | O_CLOEXEC);
  if (out < 0) die("open %s", argv[2]);
  struct stat st;
  if (fstat(in, &st) != 0) die("fstat");
  loff_t off_in = 0, off_out = atoll(argv[3]);
  size_t left = (size_t)st.st_size;
  while (left > 0) {
    ssize_t n = copy_file_range(in, &off_in, out, &off_out, left, 0);
    if (n <= 0) die("copy_file_range");
    left -= (size_t)n;
  }
  if (close(out) != 0) die("close");
  return 0;
}
