/* int80_open PATH MISSING
 * A 64-bit process making 32-bit syscalls through `int $0x80` (i386 numbers: open=5, read=3,
 * close=6). Exactly four compat syscalls are made:
 *   open(PATH, O_RDONLY), read(fd, 64 bytes), close(fd)     PATH: read
 *   open(MISSING, O_RDONLY) fails ENOENT                    failed: op "open"
 * Pointers passed to a compat syscall are 32 bits wide, so the path strings and the read buffer
 * live in a MAP_32BIT mapping (below 2 GiB).
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "prog_util.h"

enum { I386_READ = 3, I386_OPEN = 5, I386_CLOSE = 6 };

static long int80(long nr, long a1, long a2, long a3) {
  long ret;
  /* r8-r11 are listed as clobbered: older kernels did not preserve them across int $0x80. */
  __asm__ volatile("int $0x80"
                   : "=a"(ret)
                   : "a"(nr), "b"(a1), "c"(a2), "d"(a3)
                   : "memory", "r8", "r9", "r10", "r11");
  return (int)ret; /* eax carries a 32-bit result; sign-extend it */
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s PATH MISSING\n", argv[0]);
    return 2;
  }
  char *low = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
                   -1, 0);
  if (low == MAP_FAILED) die("mmap MAP_32BIT");
  char *path = low, *missing = low + 4096, *buf = low + 8192;
  CHECK(strlen(argv[1]) < 4096 && strlen(argv[2]) < 4096, "paths too long");
  strcpy(path, argv[1]);
  strcpy(missing, argv[2]);

  long fd = int80(I386_OPEN, (long)path, 0 /* O_RDONLY */, 0);
  CHECK(fd >= 0, "compat open(%s) = %ld", path, fd);
  long n = int80(I386_READ, fd, (long)buf, 64);
  CHECK(n > 0, "compat read = %ld", n);
  CHECK(int80(I386_CLOSE, fd, 0, 0) == 0, "compat close failed");

  long err = int80(I386_OPEN, (long)missing, 0, 0);
  CHECK(err == -ENOENT, "compat open(%s) = %ld, expected -ENOENT", missing, err);
  return 0;
}
