#include "harden/seccomp_deny.h"

#include <errno.h>
#include <sched.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <seccomp.h>

#include "stepseal/syscall_table.h"
#include "syscalls/denylist.h"

namespace stepseal {

int install_deny_filter(int refuse_errno) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) return -ENOMEM;
  // The filter covers x86_64 only: a call through int 0x80 (i386) or the x32 ABI does not match
  // the native architecture and takes the "bad architecture" action, a plain refusal.
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(refuse_errno));
  // Everything below comes from the one table (include/stepseal/syscall_table.h): the probes
  // judge a refusal by the same rows (ss_refused_with), and a unit test runs this filter against
  // them.
  for (const auto& r : syscalls::syscall_table()) {
    if (rc < 0) break;
    if (r.deny == syscalls::DenyMode::kAlways)
      rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(refuse_errno), r.nr64, 0);
    else if (r.deny == syscalls::DenyMode::kEnosys)
      rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), r.nr64, 0);
  }
  for (const ss_deny_rule& d : syscalls::deny_rules()) {
    if (rc < 0) break;
    scmp_arg_cmp c[2];
    for (unsigned i = 0; i < d.ncmp && i < 2; i++) {
      const ss_deny_cmp& k = d.cmp[i];
      // EQ32 is a masked compare: an int argument's upper half is not the kernel's to read
      c[i] = k.op == SS_CMP_GT ? scmp_arg_cmp{k.arg, SCMP_CMP_GT, k.value, 0}
                               : scmp_arg_cmp{k.arg, SCMP_CMP_MASKED_EQ, k.mask, k.value};
    }
    rc = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(refuse_errno), static_cast<int>(d.nr),
                                d.ncmp, c);
  }
  if (rc >= 0) rc = seccomp_load(ctx);
  seccomp_release(ctx);
  return rc < 0 ? rc : 0;
}

}  // namespace stepseal
