// seccomp_deny.h - hardened mode's seccomp deny-list (the table is syscalls/denylist.h).
#pragma once

namespace stepseal {

// Installs, in the calling thread, a filter that refuses every call of syscalls::denied_calls()
// with EPERM, clone with namespace flags with EPERM, clone3 with ENOSYS, and every call of
// another architecture (int 0x80 / i386, x32) with EPERM. Needs no_new_privs or CAP_SYS_ADMIN.
// Returns 0 or -errno.
int install_deny_filter();

}  // namespace stepseal
