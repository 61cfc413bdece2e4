#include "harden/seccomp_deny.h"

#include <errno.h>
#include <sched.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <seccomp.h>

#include "policy/denylist.h"

namespace stepseal {

int install_deny_filter() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) return -ENOMEM;
  // The filter covers x86_64 only: a call through int 0x80 (i386) or the x32 ABI does not match
  // the native architecture and takes the "bad architecture" action, a plain EPERM.
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM));
  for (const auto& d : policy::denied_calls())
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
  if (rc >= 0)  // the obsolete SOCK_PACKET type makes a packet socket in any family
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
                          SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_PACKET));
  if (rc >= 0) rc = seccomp_load(ctx);
  seccomp_release(ctx);
  return rc < 0 ? rc : 0;
}

}  // namespace stepseal
