/* digest_rewrite FILE MODE [ITERATIONS]
 * Reads FILE and rewrites it in place, with different content of the same size, while stepseal
 * may still be hashing it: for testing that a read digest is never "exact" with bytes that were
 * not in the file when the step read it. FILE must exist and hold one line of 32..4095 bytes
 * (no newline).
 *
 * Every version the program writes is unique: "version NNNNNN " or, never read by the program,
 * "POISON  NNNNNN ", padded to FILE's size. Each time it reads the file it prints
 * "READ <content>" on stdout, so a test knows every content that was there at a read.
 *
 * MODE
 *   free      ITERATIONS times: open O_RDONLY, read, close, pwrite a poison version, pwrite the
 *             next version; as fast as possible, through one O_WRONLY descriptor opened first.
 *   stable    ITERATIONS times: write a version, wait until its change is
 *             more than two coarse clock ticks old, open O_RDONLY, read, close, pwrite a poison
 *             version, then wait (inotify, bounded) for stepseal's hasher to open and close the
 *             file: it hashes the poison version, with new timestamps.
 *   sametick  the same, but each iteration starts at a coarse clock tick boundary and writes the
 *             version, opens, reads and writes the poison one within that tick, so the poison
 *             version may carry the very same size, mtime and ctime as the one read.
 *   lagging   like sametick, but each iteration first makes one throwaway change, then waits
 *             for a coarse tick that began after it, and starts only once that tick is older than
 *             one tick length by the fine clock: the coarse clock lags real time by more than a
 *             tick then, and so do the timestamps the kernel gives the version and the poison
 *             version. Prints "LAGGING N": iterations that found such a moment.
 *   mmap      map FILE shared and writable, write a version through the mapping (which stamps
 *             mtime/ctime), wait until that is more than two ticks old, open O_RDONLY, read,
 *             write a poison version through the mapping (a page already dirty: the kernel does
 *             not stamp the file again), wait for the hasher.
 *   late      open O_RDONLY, wait for the hasher to hash the file, then rewrite it through a new
 *             O_WRONLY descriptor, and only then read through the first descriptor.
 * In stable, sametick and lagging modes the program reads only versions it wrote itself: the test's
 * content is hashed as a pre-image when the program opens the file for writing, and a read of that
 * version would be answered from stepseal's cache, without the hasher opening the file.
 * At the end it prints "SYNCED N": iterations in which the hasher opened the file only after the
 * poison version was written (stable, sametick, mmap), or after the open (late).
 * Exits 0 only if every operation succeeded. */
#define _GNU_SOURCE
#include <poll.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "prog_util.h"

static size_t size;
static int inotify_fd = -1;

static long long ns_of(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static long long coarse_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME_COARSE, &t);
  return ns_of(t);
}

static long long tick_ns(void) {
  struct timespec res;
  clock_getres(CLOCK_REALTIME_COARSE, &res);
  return ns_of(res);
}

static void pause_briefly(void) {
  struct timespec t = {0, 200000};
  nanosleep(&t, NULL);
}

/* Wait until the coarse clock is more than two ticks past FD's ctime (bounded: 2 s). */
static void settle(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) die("fstat");
  long long target = ns_of(st.st_ctim) + 2 * tick_ns();
  for (int i = 0; i < 10000; i++) {
    if (coarse_now() > target) return;
    pause_briefly();
  }
  errno = ETIMEDOUT;
  die("the clock did not advance");
}

/* Wait for the coarse clock to move to a new tick; spins, to start as early in it as possible. */
static void next_tick(void) {
  long long start = coarse_now();
  for (long i = 0; i < 1000000000L; i++)
    if (coarse_now() != start) return;
  errno = ETIMEDOUT;
  die("the clock did not advance");
}

/* Wait until the coarse clock has moved past AFTER (a realtime instant) and then lags real time
 * by more than a tick length. Returns 0 if that did not happen within 2 s. */
static int wait_lagging(long long after) {
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    struct timespec fine;
    long long coarse = coarse_now();
    clock_gettime(CLOCK_REALTIME, &fine);
    if (coarse > after && ns_of(fine) - coarse > tick_ns() + tick_ns() / 20) return 1;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (ns_of(now) - ns_of(start) > 2000000000LL) return 0;
  }
}

static void make_version(char *buf, const char *kind, int i) {
  int n = snprintf(buf, size + 1, "%s %06d ", kind, i);
  memset(buf + n, kind[0] == 'P' ? 'p' : 'v', size - (size_t)n);
  buf[size] = '\0';
}

static void put(int fd, const char *content) {
  if (pwrite(fd, content, size, 0) != (ssize_t)size) die("pwrite");
}

static void report_read(const char *content) {
  printf("READ %s\n", content);
  fflush(stdout);
}

/* Open FILE O_RDONLY, read it all, close it; print what was read. */
static void read_once(const char *file, char *buf) {
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open %s", file);
  if (pread(fd, buf, size + 1, 0) != (ssize_t)size) die("read %s", file);
  buf[size] = '\0';
  close(fd);
  report_read(buf);
}

/* inotify events on FILE since the last call: opens and close-without-write. If WAIT_CLOSES > 0,
 * wait (at most 2 s) until that many closes have been seen. */
struct counts {
  int opens, closes;
};
static struct counts drain(int wait_closes) {
  struct counts c = {0, 0};
  for (int rounds = 0;; rounds++) {
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;
    while ((n = read(inotify_fd, buf, sizeof buf)) > 0) {
      for (char *p = buf; p < buf + n;) {
        struct inotify_event *ev = (struct inotify_event *)p;
        if (ev->mask & IN_OPEN) c.opens++;
        if (ev->mask & IN_CLOSE_NOWRITE) c.closes++;
        p += sizeof *ev + ev->len;
      }
    }
    if (c.closes >= wait_closes || rounds >= 20) return c;
    struct pollfd pfd = {inotify_fd, POLLIN, 0};
    poll(&pfd, 1, 100);
  }
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: %s FILE free|stable|sametick|lagging|mmap|late [ITERATIONS]\n", argv[0]);
    return 2;
  }
  const char *file = argv[1], *mode = argv[2];
  int iterations = argc == 4 ? atoi(argv[3]) : 1;
  struct stat st;
  if (stat(file, &st) != 0) die("stat %s", file);
  CHECK(st.st_size >= 32 && st.st_size < 4096, "%s has %lld bytes", file, (long long)st.st_size);
  size = (size_t)st.st_size;
  char version[4096], poison[4096], got[4096];
  int synced = 0;

  inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd < 0) die("inotify_init1");

  if (strcmp(mode, "mmap") == 0) {
    int fd = open(file, O_RDWR | O_CLOEXEC);
    if (fd < 0) die("open %s", file);
    if (pread(fd, got, size, 0) != (ssize_t)size) die("pread");
    got[size] = '\0';
    report_read(got);  /* an O_RDWR open reads too */
    char *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) die("mmap");
    for (int i = 1; i <= iterations; i++) {
      make_version(version, "version", i);
      memcpy(map, version, size);  /* the first write to the page stamps mtime and ctime */
      settle(fd);
      if (inotify_add_watch(inotify_fd, file, IN_OPEN | IN_CLOSE_NOWRITE) < 0) die("inotify");
      drain(0);
      read_once(file, got);
      CHECK(strcmp(got, version) == 0, "read '%s', mapped '%s'", got, version);
      make_version(poison, "POISON ", i);
      memcpy(map, poison, size);  /* the page is dirty already: no new timestamps */
      struct counts before = drain(0);
      struct counts after = drain(2 - before.closes);
      if (before.closes < 2 && after.opens > 0) synced++;
    }
    printf("SYNCED %d\n", synced);
    return 0;
  }

  if (inotify_add_watch(inotify_fd, file, IN_OPEN | IN_CLOSE_NOWRITE) < 0) die("inotify");
  if (strcmp(mode, "late") == 0) {
    int rfd = open(file, O_RDONLY | O_CLOEXEC);
    if (rfd < 0) die("open %s", file);
    struct counts c = drain(1);  /* stepseal's hasher opened and closed it */
    if (c.opens >= 2 && c.closes >= 1) synced++;
    int wfd = open(file, O_WRONLY | O_CLOEXEC);
    if (wfd < 0) die("open %s for writing", file);
    make_version(version, "version", 1);
    put(wfd, version);
    if (pread(rfd, got, size + 1, 0) != (ssize_t)size) die("read %s", file);
    got[size] = '\0';
    report_read(got);
    CHECK(strcmp(got, version) == 0, "read '%s' after writing '%s'", got, version);
    printf("SYNCED %d\n", synced);
    return 0;
  }

  /* its pre-image is hashed now, while open() waits: a version stepseal knows from then on */
  int wfd = open(file, O_WRONLY | O_CLOEXEC);
  if (wfd < 0) die("open %s for writing", file);
  int free_running = strcmp(mode, "free") == 0, same_tick = strcmp(mode, "sametick") == 0;
  int lagging = strcmp(mode, "lagging") == 0;
  CHECK(free_running || same_tick || lagging || strcmp(mode, "stable") == 0, "unknown mode %s",
        mode);
  int left_tick = 0, lagged = 0;
  for (int i = 0; i < iterations; i++) {
    make_version(version, "version", i);
    make_version(poison, "POISON ", i);
    if (free_running) {
      read_once(file, got);
      put(wfd, poison);
      make_version(version, "version", i + 1);
      put(wfd, version);
      continue;
    }
    long long tick = 0;
    if (same_tick) {
      next_tick();
      tick = coarse_now();
    } else if (lagging) {
      char throwaway[4096];
      make_version(throwaway, "throwaway", i);
      put(wfd, throwaway);  /* takes a fine-grained timestamp, if one is due */
      struct timespec t;
      clock_gettime(CLOCK_REALTIME, &t);
      lagged += wait_lagging(ns_of(t));
      tick = coarse_now();
    }
    put(wfd, version);
    if (!same_tick && !lagging) settle(wfd);
    drain(0);
    read_once(file, got);
    put(wfd, poison);
    if (tick && coarse_now() != tick) left_tick++;
    struct counts before = drain(0);
    struct counts after = drain(2 - before.closes);
    if (before.closes < 2 && after.opens > 0) synced++;
  }
  printf("SYNCED %d\n", synced);
  if (same_tick || lagging) printf("LEFT_TICK %d\n", left_tick);
  if (lagging) printf("LAGGING %d\n", lagged);
  return 0;
}
