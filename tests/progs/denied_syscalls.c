/* denied_syscalls
 * Calls, once each, system calls on hardened mode's seccomp deny-list, with arguments chosen so
 * that a call that is NOT blocked still does nothing: a NULL pointer (EFAULT), a bad fd (EBADF),
 * a missing path (ENOENT), an out-of-range count (EINVAL), an empty vector, or an object that is
 * released at once (a userfaultfd, an AIO context, a clone child that exits). kexec_load is given
 * more segments than the kernel accepts, so it never reaches the (un)loading of an image.
 * Prints "NAME RESULT" per call, NAME being the x86_64 syscall name and RESULT "ok" or the errno
 * name. Exits 0 once every line is printed: the outcome is the output, not the exit status.
 */
#define _GNU_SOURCE
#include <linux/aio_abi.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>

#include "prog_util.h"

static void report(const char *name, long rc) {
  printf("%s %s\n", name, rc >= 0 ? "ok" : strerrorname_np(errno));
}

int main(void) {
  long rc;
  report("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
  report("process_vm_readv", syscall(SYS_process_vm_readv, getpid(), NULL, 0, NULL, 0, 0));
  report("process_vm_writev", syscall(SYS_process_vm_writev, getpid(), NULL, 0, NULL, 0, 0));
  report("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -2 /* process keyring */, 0));
  report("add_key", syscall(SYS_add_key, NULL, NULL, NULL, 0, 0));
  report("request_key", syscall(SYS_request_key, NULL, NULL, NULL, 0));

  rc = syscall(SYS_userfaultfd, O_CLOEXEC);
  report("userfaultfd", rc);
  if (rc >= 0) close((int)rc);

  report("setns", syscall(SYS_setns, -1, 0));
  report("pivot_root", syscall(SYS_pivot_root, NULL, NULL));
  report("umount2", syscall(SYS_umount2, "/nonexistent-stepseal-e2e", 0));
  report("init_module", syscall(SYS_init_module, NULL, 0, ""));
  report("finit_module", syscall(SYS_finit_module, -1, "", 0));
  report("delete_module", syscall(SYS_delete_module, NULL, 0));
  report("kexec_load", syscall(SYS_kexec_load, 0, 1000 /* > KEXEC_SEGMENT_MAX */, NULL, 0));
  report("kexec_file_load", syscall(SYS_kexec_file_load, -1, -1, 0, NULL, 0));

  aio_context_t ctx = 0;
  rc = syscall(SYS_io_setup, 1, &ctx);
  report("io_setup", rc);
  if (rc == 0) syscall(SYS_io_destroy, ctx);

  fflush(stdout);
  rc = syscall(SYS_clone, CLONE_NEWUTS | SIGCHLD, 0, NULL, NULL, 0);
  if (rc == 0) _exit(0); /* the child, if the clone was allowed */
  report("clone", rc);
  if (rc > 0) waitpid((pid_t)rc, NULL, 0);
  return fflush(stdout) == 0 ? 0 : 1;
}
