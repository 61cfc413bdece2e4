/* Shared helpers for the e2e helper programs. Each program performs one kind of kernel operation
 * and exits 0 only if every operation it was asked to perform succeeded (so that a test can
 * assert the operation really happened before checking what the tracer recorded). */
#ifndef STEPSEAL_PROG_UTIL_H
#define STEPSEAL_PROG_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Print "prog: what: strerror(errno)" and exit 1. */
static inline __attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...) {
  int saved = errno;
  va_list ap;
  va_start(ap, fmt);
  fputs("prog: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, ": %s\n", strerror(saved));
  exit(1);
}

/* Build "dir/name" into a static-lifetime buffer owned by the caller. */
static inline const char *join(char *buf, size_t len, const char *dir, const char *name) {
  if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len) {
    errno = ENAMETOOLONG;
    die("path %s/%s", dir, name);
  }
  return buf;
}

/* Create (or replace) PATH with CONTENT. */
static inline void write_file(const char *path, const char *content) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("open %s", path);
  size_t n = strlen(content);
  if (write(fd, content, n) != (ssize_t)n) die("write %s", path);
  if (close(fd) != 0) die("close %s", path);
}

/* Read up to LEN-1 bytes of PATH into BUF (NUL terminated); returns the byte count. */
static inline size_t read_file(const char *path, char *buf, size_t len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("open %s", path);
  ssize_t n = read(fd, buf, len - 1);
  if (n < 0) die("read %s", path);
  buf[n] = '\0';
  close(fd);
  return (size_t)n;
}

/* Exit 1 with a message unless COND holds. */
#define CHECK(cond, ...)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      fprintf(stderr, "prog: check failed: %s: ", #cond);                                 \
      fprintf(stderr, __VA_ARGS__);                                                       \
      fputc('\n', stderr);                                                                \
      exit(1);                                                                            \
    }                                                                                     \
  } while (0)

/* Run FN(ARG) in a forked child and exit 1 unless it returned 0. The e2e tests use this to attribute
 * an operation on an already-open descriptor to a process that did not open it, so the tracer's
 * record of that operation (the child's pid in the file's "pids") can be told apart from the open. */
static inline pid_t run_in_child(int (*fn)(void *), void *arg) {
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) _exit(fn(arg) == 0 ? 0 : 1);
  int status;
  if (waitpid(pid, &status, 0) != pid) die("waitpid");
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d failed (status 0x%x)", pid, status);
  return pid;
}

/* For a daemon: stdio to /dev/null, and its pid (as getpid() gives it, in whatever pid namespace
 * it runs) written to DIR/daemon.pid. */
static inline void daemon_detach(const char *dir) {
  int devnull = open("/dev/null", O_RDWR);
  if (devnull < 0) die("open /dev/null");
  dup2(devnull, 0);
  dup2(devnull, 1);
  dup2(devnull, 2);
  char path[4096], pid[32];
  snprintf(pid, sizeof pid, "%d\n", getpid());
  write_file(join(path, sizeof path, dir, "daemon.pid"), pid);
}

#endif
