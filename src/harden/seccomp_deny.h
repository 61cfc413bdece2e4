// seccomp_deny.h - hardened mode's seccomp deny-list (the table is
// include/stepseal/syscall_table.h, seen through syscalls/denylist.h).
#pragma once

#include <errno.h>

namespace stepseal {

// Installs, in the calling thread, a filter that refuses the table's ALWAYS calls, and its IF
// calls with matching arguments, with `refuse_errno` (EPERM; tests pick a value the kernel never
// returns, to tell a refusal from the call's own failure), its ENOSYS calls (clone3, openat2)
// with ENOSYS, and every call of another architecture (int 0x80 / i386, x32) with
// `refuse_errno`. Needs no_new_privs or CAP_SYS_ADMIN. Returns 0 or -errno.
int install_deny_filter(int refuse_errno = EPERM);

}  // namespace stepseal
