/* bad_path_open
 * open() with a path pointer into unmapped memory (address 1), which fails with EFAULT. The probe
 * cannot read the argument either, so the record gets an "unreadable_argument" gap and is
 * incomplete, without any other effect. Prints "open RESULT" (the errno name, or "ok") and exits
 * 0: the outcome is the output, not the exit status.
 */
#define _GNU_SOURCE
#include <stdint.h>

#include "prog_util.h"

int main(void) {
  const char *unmapped = (const char *)(uintptr_t)1;
  int fd = open(unmapped, O_RDONLY | O_CLOEXEC);
  printf("open %s\n", fd >= 0 ? "ok" : strerrorname_np(errno));
  if (fd >= 0) close(fd);
  return fflush(stdout) == 0 ? 0 : 1;
}
