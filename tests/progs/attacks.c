/* attacks MODE ARGS... - the red-team techniques of issue 13, one per mode, each done for real
 * (the program exits 1 when the technique itself could not be carried out, so a test never
 * passes on a record of something that did not happen). Prints what it did on stdout.
 *
 *   fd_race FILE DECOY N   N opens of FILE (O_WRONLY|O_TRUNC) while a second thread keeps putting
 *                          DECOY (opened read-only) in the slot they return, or closing it.
 *                          Prints "raced K": how many opens returned a descriptor the other
 *                          thread had already replaced or closed when the opener looked at it.
 *   mmap_alias DIR         DIR/a mapped shared and writable, a page dirtied, renamed to DIR/b,
 *                          DIR/b read (prints "read <16 bytes>"), then the dirty page written
 *                          again: the bytes read are not the file's bytes at the end.
 *   clone3_ns              clone3 with CLONE_NEWUTS; the child exits 0. Prints "clone3 ok".
 *   acct FILE              process accounting to FILE on, a child run, accounting off.
 *   core DIR               a child in DIR aborts with RLIMIT_CORE unlimited; prints "core 1" when
 *                          the kernel reported a core dump (WCOREDUMP).
 *   pwritev2_dns PORT      a DNS query for stepseal-pwritev2.test to 127.0.0.1:PORT over a
 *                          connected UDP socket, sent with pwritev2(offset -1).
 *   unspec_send PORT       a datagram to 127.0.0.1:PORT named by an AF_UNSPEC sockaddr.
 *   proc_root DIR          a child in a mount namespace of its own mounts a tmpfs on DIR and
 *                          writes DIR/f; the parent rewrites that file through
 *                          /proc/CHILD/root/DIR/f. Prints "foreign ok".
 *   bpf_map                creates a BPF array map (a successful bpf()).
 *   ping_socket            an ICMP "ping" socket (SOCK_DGRAM, IPPROTO_ICMP); prints "ping ok" or
 *                          "ping ERRNO".
 *   append FILE NOAPPEND   FILE opened O_WRONLY|O_APPEND; with NOAPPEND 1, "XX" written at offset 0
 *                          with pwritev2(RWF_NOAPPEND) (earlier bytes rewritten); with 0 appended.
 *   handle_uncached FILE   a handle for FILE (name_to_handle_at), the dentry cache dropped, then
 *                          open_by_handle_at: prints "handle disconnected" when the kernel had no
 *                          path for the file it opened, "handle connected" otherwise.
 *   attrs FILE             FILE made setuid (chmod 04755), its times set to 2001 (utimensat), and
 *                          an extended attribute user.stepseal set (setxattr) and one removed.
 *   handle_open FILE       XFS: XFS_IOC_PATH_TO_HANDLE then XFS_IOC_OPEN_BY_HANDLE on FILE, and
 *                          a same-size rewrite through the descriptor it returns.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/acct.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/xattr.h>

#include "prog_util.h"

/* ---- fd_race ---------------------------------------------------------------------------- */
static atomic_int race_stop;
static atomic_int race_slot = -1;
static int race_decoy;

static void *race_thread(void *arg) {
  (void)arg;
  unsigned n = 0;
  while (!atomic_load(&race_stop)) {
    int slot = atomic_load(&race_slot);
    if (slot < 0) continue;
    if (n++ & 1)
      dup2(race_decoy, slot);
    else
      close(slot);
  }
  return NULL;
}

static int fd_race(const char *file, const char *decoy, int n) {
  race_decoy = open(decoy, O_RDONLY | O_CLOEXEC);
  if (race_decoy < 0) die("open %s", decoy);
  /* the slot an open returns: the lowest free one, the same every time */
  int probe = open(file, O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (probe < 0) die("open %s", file);
  close(probe);
  atomic_store(&race_slot, probe);
  pthread_t t;
  if (pthread_create(&t, NULL, race_thread, NULL) != 0) die("pthread_create");
  int raced = 0;
  for (int i = 0; i < n; i++) {
    int fd = open(file, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) continue;
    struct stat a, b;
    if (fstat(fd, &a) != 0 || stat(file, &b) != 0 || a.st_ino != b.st_ino) raced++;
    close(fd);
  }
  atomic_store(&race_stop, 1);
  pthread_join(t, NULL);
  printf("raced %d\n", raced);
  return 0;
}

/* ---- mmap_alias ------------------------------------------------------------------------- */
static int mmap_alias(const char *dir) {
  char a[4096], b[4096];
  join(a, sizeof a, dir, "a");
  join(b, sizeof b, dir, "b");
  write_file(a, "0123456789abcdef");
  int fd = open(a, O_RDWR | O_CLOEXEC);
  if (fd < 0) die("open %s", a);
  char *m = mmap(NULL, 16, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) die("mmap");
  close(fd);
  memcpy(m, "AAAA", 4); /* the page is dirty from now on */
  if (rename(a, b) != 0) die("rename");
  struct stat st;
  if (stat(b, &st) != 0) die("stat");
  char got[17] = {0};
  if (read_file(b, got, sizeof got) != 16) die("read %s", b);
  memcpy(m, "BBBB", 4); /* a store into the dirty page: no timestamp moves */
  printf("read %s\n", got);
  return munmap(m, 16) == 0 ? 0 : 1;
}

/* ---- clone3 ------------------------------------------------------------------------------ */
static int clone3_ns(void) {
  struct clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = CLONE_NEWUTS;
  args.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) die("clone3");
  if (pid == 0) _exit(0);
  int status;
  if (waitpid((pid_t)pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    die("child");
  printf("clone3 ok\n");
  return 0;
}

/* ---- acct -------------------------------------------------------------------------------- */
static int do_acct(const char *file) {
  int fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) die("create %s", file);
  close(fd);
  if (acct(file) != 0) die("acct %s", file);
  pid_t c = fork();
  if (c == 0) _exit(0);
  waitpid(c, NULL, 0);
  if (acct(NULL) != 0) die("acct off");
  printf("acct ok\n");
  return 0;
}

/* ---- core -------------------------------------------------------------------------------- */
static int core(const char *dir) {
  pid_t c = fork();
  if (c < 0) die("fork");
  if (c == 0) {
    struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_CORE, &unlimited);
    if (chdir(dir) != 0) _exit(3);
    abort();
  }
  int status;
  if (waitpid(c, &status, 0) < 0) die("waitpid");
  printf("core %d\n", WIFSIGNALED(status) && WCOREDUMP(status) ? 1 : 0);
  return 0;
}

/* ---- DNS with pwritev2, a datagram with AF_UNSPEC ------------------------------------------ */
static int udp_to(int port, int do_connect) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket");
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (do_connect && connect(s, (struct sockaddr *)&to, sizeof to) != 0) die("connect");
  return s;
}

static int pwritev2_dns(int port) {
  static const unsigned char query[] = {
      0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      17, 's', 't', 'e', 'p', 's', 'e', 'a', 'l', '-', 'p', 'w', 'r', 'i', 't', 'e', 'v', '2',
      4, 't', 'e', 's', 't', 0, 0x00, 0x01, 0x00, 0x01};
  int s = udp_to(port, 1);
  struct iovec iov = {(void *)query, sizeof query};
  if (pwritev2(s, &iov, 1, -1, 0) != (ssize_t)sizeof query) die("pwritev2");
  printf("pwritev2 ok\n");
  return 0;
}

static int unspec_send(int port) {
  int s = udp_to(port, 0);
  struct sockaddr_in to = {.sin_family = AF_UNSPEC, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (sendto(s, "x", 1, 0, (struct sockaddr *)&to, sizeof to) != 1) die("sendto AF_UNSPEC");
  printf("unspec ok\n");
  return 0;
}

/* ---- /proc/PID/root ------------------------------------------------------------------------ */
static int proc_root(const char *dir) {
  int ready[2], done[2];
  if (pipe(ready) != 0 || pipe(done) != 0) die("pipe");
  pid_t c = fork();
  if (c < 0) die("fork");
  if (c == 0) {
    char f[4096];
    if (unshare(CLONE_NEWNS) != 0) _exit(3);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) _exit(4);
    if (mount("tmpfs", dir, "tmpfs", 0, "size=1m") != 0) _exit(5);
    write_file(join(f, sizeof f, dir, "f"), "inside\n");
    /* its pid in /proc's namespace (the step may have a pid namespace of its own) */
    char self[32] = {0};
    if (readlink("/proc/self", self, sizeof self - 1) <= 0) _exit(8);
    if (write(ready[1], self, sizeof self) != (ssize_t)sizeof self) _exit(6);
    char x;
    _exit(read(done[0], &x, 1) == 1 ? 0 : 7);
  }
  char x, procpid[32];
  if (read(ready[0], procpid, sizeof procpid) != (ssize_t)sizeof procpid) die("child not ready");
  char path[4096];
  snprintf(path, sizeof path, "/proc/%s/root%s/f", procpid, dir);
  write_file(path, "foreign\n");
  if (write(done[1], "d", 1) != 1) die("write");
  int status;
  if (waitpid(c, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    die("child failed (status %d)", status);
  printf("foreign ok\n");
  return 0;
}

/* ---- bpf ----------------------------------------------------------------------------------- */
static int bpf_map(void) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.map_type = BPF_MAP_TYPE_ARRAY;
  attr.key_size = 4;
  attr.value_size = 4;
  attr.max_entries = 1;
  long fd = syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr);
  if (fd < 0) die("bpf");
  printf("bpf ok\n");
  return 0;
}

/* ---- XFS handles --------------------------------------------------------------------------- */
struct xfs_handlereq { /* struct xfs_fsop_handlereq */
  uint32_t fd;
  void *path;
  uint32_t oflags;
  void *ihandle;
  uint32_t ihandlen;
  void *ohandle;
  uint32_t *ohandlen;
};
#define XFS_IOC_PATH_TO_HANDLE _IOWR('X', 105, struct xfs_handlereq)
#define XFS_IOC_OPEN_BY_HANDLE _IOWR('X', 107, struct xfs_handlereq)

static int handle_open(const char *file) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", file);
  char *slash = strrchr(dir, '/');
  if (!slash) die("FILE must be a path");
  *slash = 0;
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) die("open %s", dir);
  unsigned char handle[128];
  uint32_t hlen = sizeof handle;
  struct xfs_handlereq req = {.path = (void *)file, .ohandle = handle, .ohandlen = &hlen};
  if (ioctl(dfd, XFS_IOC_PATH_TO_HANDLE, &req) != 0) die("XFS_IOC_PATH_TO_HANDLE");
  struct xfs_handlereq open_req = {.oflags = O_RDWR, .ihandle = handle, .ihandlen = hlen};
  int fd = ioctl(dfd, XFS_IOC_OPEN_BY_HANDLE, &open_req);
  if (fd < 0) die("XFS_IOC_OPEN_BY_HANDLE");
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_size < 4) die("fstat");
  if (pwrite(fd, "EVIL", 4, 0) != 4) die("pwrite");
  printf("handle ok\n");
  return 0;
}

static int attrs(const char *file) {
  if (chmod(file, 04755) != 0) die("chmod");
  struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
  if (utimensat(AT_FDCWD, file, old, 0) != 0) die("utimensat");
  if (setxattr(file, "user.stepseal", "v", 1, 0) != 0) die("setxattr");
  if (setxattr(file, "user.gone", "v", 1, 0) != 0 || removexattr(file, "user.gone") != 0)
    die("removexattr");
  printf("attrs ok\n");
  return 0;
}

static int ping_socket(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);
  printf("ping %s\n", s >= 0 ? "ok" : strerrorname_np(errno));
  return 0;
}

static int append(const char *file, int noappend) {
  int fd = open(file, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) die("open %s", file);
  struct iovec iov = {(void *)"XX", 2};
  if (pwritev2(fd, &iov, 1, noappend ? 0 : -1, noappend ? RWF_NOAPPEND : 0) != 2) die("pwritev2");
  printf("append ok\n");
  return 0;
}

static int handle_uncached(const char *file) {
  struct {
    struct file_handle h;
    unsigned char bytes[128];
  } fh;
  fh.h.handle_bytes = sizeof fh.bytes;
  int mount_id;
  if (name_to_handle_at(AT_FDCWD, file, &fh.h, &mount_id, 0) != 0) die("name_to_handle_at");
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", file);
  *strrchr(dir, '/') = 0;
  int mfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (mfd < 0) die("open %s", dir);
  /* the file's and its directory's dentries are not held: dropping the caches evicts them */
  sync();
  write_file("/proc/sys/vm/drop_caches", "2\n");
  int fd = open_by_handle_at(mfd, &fh.h, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open_by_handle_at");
  char link[64], target[4096] = {0};
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  if (readlink(link, target, sizeof target - 1) < 0) die("readlink");
  printf("handle %s\n", strcmp(target, file) == 0 ? "connected" : "disconnected");
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODE ARGS...\n", argv[0]);
    return 2;
  }
  const char *m = argv[1];
  setvbuf(stdout, NULL, _IONBF, 0);
  if (!strcmp(m, "fd_race") && argc == 5) return fd_race(argv[2], argv[3], atoi(argv[4]));
  if (!strcmp(m, "mmap_alias") && argc == 3) return mmap_alias(argv[2]);
  if (!strcmp(m, "clone3_ns") && argc == 2) return clone3_ns();
  if (!strcmp(m, "acct") && argc == 3) return do_acct(argv[2]);
  if (!strcmp(m, "core") && argc == 3) return core(argv[2]);
  if (!strcmp(m, "pwritev2_dns") && argc == 3) return pwritev2_dns(atoi(argv[2]));
  if (!strcmp(m, "unspec_send") && argc == 3) return unspec_send(atoi(argv[2]));
  if (!strcmp(m, "proc_root") && argc == 3) return proc_root(argv[2]);
  if (!strcmp(m, "bpf_map") && argc == 2) return bpf_map();
  if (!strcmp(m, "ping_socket") && argc == 2) return ping_socket();
  if (!strcmp(m, "attrs") && argc == 3) return attrs(argv[2]);
  if (!strcmp(m, "append") && argc == 4) return append(argv[2], atoi(argv[3]));
  if (!strcmp(m, "handle_uncached") && argc == 3) return handle_uncached(argv[2]);
  if (!strcmp(m, "handle_open") && argc == 3) return handle_open(argv[2]);
  fprintf(stderr, "attacks: unknown mode or wrong arguments: %s\n", m);
  return 2;
}
