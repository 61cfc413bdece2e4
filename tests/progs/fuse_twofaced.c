/* fuse_twofaced MOUNTPOINT REAL DECOY [MARKER]
 * A FUSE file system with one file, /prog, whose bytes depend on who reads: a process of the
 * server's own pid namespace (the step) gets REAL's bytes, anyone else (a reader whose pid the
 * namespace cannot name, such as stepseal's hashing thread) gets DECOY's. Identity (size, times)
 * is the same for everyone: REAL and DECOY must have the same size. Runs in the foreground until
 * it is unmounted. With MARKER, the first read served to an outside reader creates that file (so
 * a test can tell whether anyone outside read the file, without timing). (Issue 13, finding 1:
 * reader-dependent content.) Built only where libfuse3 is (tools/install-deps installs it).
 */
#define FUSE_USE_VERSION 31
#include <fuse.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *real_bytes, *decoy_bytes;
static const char *marker;
static size_t size;

static char *slurp(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) return NULL;
  char *b = malloc((size_t)st.st_size);
  size_t got = 0;
  while (b && got < (size_t)st.st_size) {
    ssize_t n = read(fd, b + got, (size_t)st.st_size - got);
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  *len = got;
  return b;
}

static int tf_getattr(const char *path, struct stat *st, struct fuse_file_info *fi) {
  (void)fi;
  memset(st, 0, sizeof *st);
  st->st_mtime = st->st_ctime = st->st_atime = 1000000000; /* old and stable */
  if (strcmp(path, "/") == 0) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
    return 0;
  }
  if (strcmp(path, "/prog") != 0) return -ENOENT;
  st->st_mode = S_IFREG | 0755;
  st->st_nlink = 1;
  st->st_size = (off_t)size;
  return 0;
}

static int tf_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags) {
  (void)off, (void)fi, (void)flags;
  if (strcmp(path, "/") != 0) return -ENOENT;
  fill(buf, ".", NULL, 0, 0);
  fill(buf, "..", NULL, 0, 0);
  fill(buf, "prog", NULL, 0, 0);
  return 0;
}

static int tf_open(const char *path, struct fuse_file_info *fi) {
  if (strcmp(path, "/prog") != 0) return -ENOENT;
  fi->keep_cache = 0; /* every open reads again: what each reader gets is decided per read */
  return 0;
}

static int tf_read(const char *path, char *buf, size_t len, off_t off, struct fuse_file_info *fi) {
  (void)path, (void)fi;
  /* the requester's pid as this namespace sees it: 0 for a process outside it */
  const char *src = fuse_get_context()->pid != 0 ? real_bytes : decoy_bytes;
  if (src == decoy_bytes && marker) {
    int m = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (m >= 0) close(m);
  }
  if ((size_t)off >= size) return 0;
  if (len > size - (size_t)off) len = size - (size_t)off;
  memcpy(buf, src + off, len);
  return (int)len;
}

static const struct fuse_operations ops = {
    .getattr = tf_getattr, .readdir = tf_readdir, .open = tf_open, .read = tf_read};

int main(int argc, char **argv) {
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: %s MOUNTPOINT REAL DECOY [MARKER]\n", argv[0]);
    return 2;
  }
  size_t a = 0, b = 0;
  real_bytes = slurp(argv[2], &a);
  decoy_bytes = slurp(argv[3], &b);
  if (!real_bytes || !decoy_bytes || a != b || a == 0) {
    fprintf(stderr, "fuse_twofaced: REAL and DECOY must be readable and of one size\n");
    return 2;
  }
  size = a;
  marker = argc == 5 ? argv[4] : NULL;
  char *fargv[] = {argv[0], "-f", "-s", argv[1], NULL};
  return fuse_main(4, fargv, &ops, NULL);
}
