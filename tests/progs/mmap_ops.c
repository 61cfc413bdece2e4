/* mmap_ops SHARED PRIVATE   (both files must exist and be at least 4 bytes long)
 *   SHARED: opened O_RDWR, mapped MAP_SHARED|PROT_WRITE, first 4 bytes set to "MMAP", msync,
 *           munmap                                                    SHARED: mmap_write
 *   PRIVATE: opened O_RDONLY, mapped MAP_PRIVATE|PROT_WRITE and written (copy on write, the file
 *            is untouched)                                           PRIVATE: read, no mmap_write
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/stat.h>

#include "prog_util.h"

static void *map_file(const char *path, int open_flags, int map_flags, size_t *len, int *fd) {
  *fd = open(path, open_flags | O_CLOEXEC);
  if (*fd < 0) die("open %s", path);
  struct stat st;
  if (fstat(*fd, &st) != 0) die("fstat %s", path);
  CHECK(st.st_size >= 4, "%s is shorter than 4 bytes", path);
  *len = (size_t)st.st_size;
  void *p = mmap(NULL, *len, PROT_READ | PROT_WRITE, map_flags, *fd, 0);
  if (p == MAP_FAILED) die("mmap %s", path);
  return p;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s SHARED PRIVATE\n", argv[0]);
    return 2;
  }
  size_t len;
  int fd;
  char buf[4096];

  char *shared = map_file(argv[1], O_RDWR, MAP_SHARED, &len, &fd);
  memcpy(shared, "MMAP", 4);
  if (msync(shared, len, MS_SYNC) != 0) die("msync");
  if (munmap(shared, len) != 0) die("munmap");
  close(fd);
  read_file(argv[1], buf, sizeof buf);
  CHECK(strncmp(buf, "MMAP", 4) == 0, "%s starts with '%.4s'", argv[1], buf);

  char *private_map = map_file(argv[2], O_RDONLY, MAP_PRIVATE, &len, &fd);
  memcpy(private_map, "COPY", 4);
  if (munmap(private_map, len) != 0) die("munmap");
  close(fd);
  read_file(argv[2], buf, sizeof buf);
  CHECK(strncmp(buf, "COPY", 4) != 0, "a private mapping changed %s", argv[2]);
  return 0;
}
