#include "harden/seccomp_deny.h"

#include <errno.h>
#include <sched.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <seccomp.h>

#include "syscalls/denylist.h"

namespace stepseal {

int install_deny_filter() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) return -ENOMEM;
  // The filter covers x86_64 only: a call through int 0x80 (i386) or the x32 ABI does not match
  // the native architecture and takes the "bad architecture" action, a plain EPERM.
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM));
  for (const auto& d : syscalls::denied_calls())
    if (rc >= 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), d.nr, 0);
  constexpr uint64_t kNsFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |
                                CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;
  for (uint64_t flag = 1; flag; flag <<= 1)
    if ((kNsFlags & flag) && rc >= 0)
      rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                            SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
  if (rc >= 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  // raw and packet sockets, whatever capabilities the policy keeps (the cgroup program checks
  // inet sockets again; packet sockets never reach it)
  if (rc >= 0)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
                          SCMP_A0(SCMP_CMP_EQ, AF_PACKET));
  for (int family : {AF_INET, AF_INET6})  // (netlink's SOCK_RAW is how glibc asks the kernel)
    if (rc >= 0)
      rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 2,
                            SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(family)),
                            SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_RAW));
  // source routing: a packet would go elsewhere than the address the network guard checked
  // (the egress program also drops any packet that carries options or routing headers)
  for (auto [level, opt] : {std::pair{IPPROTO_IP, IP_OPTIONS}, std::pair{IPPROTO_IPV6, IPV6_RTHDR},
                            std::pair{IPPROTO_IPV6, IPV6_2292RTHDR}})
    if (rc >= 0)
      rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(setsockopt), 2,
                            SCMP_A1(SCMP_CMP_EQ, static_cast<scmp_datum_t>(level)),
                            SCMP_A2(SCMP_CMP_EQ, static_cast<scmp_datum_t>(opt)));
  // terminal ioctls that reach past the step: pushing input into the terminal (TIOCSTI,
  // TIOCLINUX) and stopping its output under stepseal (TCXONC)
  for (unsigned long req : {0x5412UL /* TIOCSTI */, 0x541CUL /* TIOCLINUX */, 0x540AUL /* TCXONC */})
    if (rc >= 0)
      rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                            SCMP_A1(SCMP_CMP_EQ, static_cast<scmp_datum_t>(req)));
  // setuid and setgid files: the step runs as root and owns what it makes, so such a file in the
  // workspace would give root to whoever runs it on the host afterwards
  struct ModeArg {
    int nr;
    unsigned arg;
  };
  for (ModeArg m : {ModeArg{SCMP_SYS(chmod), 1}, {SCMP_SYS(fchmod), 1}, {SCMP_SYS(fchmodat), 2},
                    {452 /* fchmodat2 */, 2}, {SCMP_SYS(open), 2}, {SCMP_SYS(openat), 3},
                    {SCMP_SYS(creat), 1}, {SCMP_SYS(mknod), 1}, {SCMP_SYS(mknodat), 2}})
    for (scmp_datum_t bit : {scmp_datum_t{S_ISUID}, scmp_datum_t{S_ISGID}})
      if (rc >= 0) {
        scmp_arg_cmp c{m.arg, SCMP_CMP_MASKED_EQ, bit, bit};
        rc = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), m.nr, 1, &c);
        if (rc == -EDOM || rc == -EFAULT) rc = 0;  // a call this libseccomp does not know
      }
  // openat2 hides its mode in a struct seccomp cannot read: ENOSYS, and libc falls back
  if (rc >= 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0);
  // READ_IMPLIES_EXEC would make every readable mapping executable, past the mapping check
  if (rc >= 0)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(personality), 1,
                          SCMP_A0(SCMP_CMP_MASKED_EQ, 0x80400000, 0x0400000));  // not the
                                                                                 // 0xffffffff query
  // UDP GSO: several datagrams sent as one, of which the DNS guard reads the first
  if (rc >= 0)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(setsockopt), 2,
                          SCMP_A1(SCMP_CMP_EQ, IPPROTO_UDP), SCMP_A2(SCMP_CMP_EQ, 103));
  // socket families a build has no use for and the network guard does not see (vsock to the
  // hypervisor, TIPC, RDS, CAN, bluetooth, PF_KEY, XDP ...): only unix, inet, inet6, netlink
  // (and packet, refused above) pass
  if (rc >= 0)
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
                          SCMP_A0(SCMP_CMP_GT, AF_PACKET));
  for (int family = 3; family <= 15; family++)
    if (family != AF_INET6 && rc >= 0)
      rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
                            SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(family)));
  if (rc >= 0)  // the obsolete SOCK_PACKET type makes a packet socket in any family
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
                          SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_PACKET));
  if (rc >= 0) rc = seccomp_load(ctx);
  seccomp_release(ctx);
  return rc < 0 ? rc : 0;
}

}  // namespace stepseal
