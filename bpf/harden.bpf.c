// SPDX-License-Identifier: GPL-2.0
/*
 * harden.bpf.c - hardened mode's network enforcement, attached to the step's cgroup.
 *
 *   cgroup/connect4, connect6     the allowlist, on the kernel's own copy of the address
 *   cgroup/sendmsg4, sendmsg6     the same for datagrams with an explicit destination
 *   cgroup/sock_create            no raw or packet sockets, no UDP-Lite, SCTP or DCCP
 *   cgroup/connect_unix,          pathname unix sockets only inside the workspace; abstract
 *   cgroup/sendmsg_unix           ones only when the step has its own network namespace
 *   cgroup_skb/egress, ingress    DNS names (dns_guard.h): queries for other names dropped,
 *                                 answers for allowed ones teach the guard their addresses;
 *                                 no IPv4 options or IPv6 extension headers (source routing
 *                                 would send a packet elsewhere than the checked address)
 *   cgroup/dev                    devices: only null, zero, full, random, urandom, tty, ptmx
 *                                 and ptys (a root step could otherwise open loop-control,
 *                                 kvm, fuse, disks ...)
 *
 * Returning 0 makes the call fail with EPERM. The sock_addr programs record nothing: the syscall
 * probes of stepseal.bpf.c see the refused call with its result, and user space names the rule.
 * The DNS guard records the addresses it learns (DNS_LEARNED, into the tracer's ring).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "stepseal/harden.h"
#include "dns_guard.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define AF_PACKET 17
#define SOCK_RAW 3

extern void *bpf_cast_to_kern_ctx(void *) __ksym;

const volatile __u32 nrules = 0;
const volatile __u32 default_allow = 0;
const volatile __u32 own_netns = 0;  /* abstract unix sockets are the step's own */
const volatile __u32 ws_len = 0;
const volatile char workspace[SS_WS_MAX] = {};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, SS_NET_RULES_MAX);
  __type(key, __u32);
  __type(value, struct ss_net_rule);
} rules SEC(".maps");

static __always_inline __u16 be16(__u32 v)
{
  return (__u16)(((v & 0xff) << 8) | ((v >> 8) & 0xff));
}

static __always_inline int allowed(__u8 family, const __u32 ip[4], __u16 port, __u32 protocol)
{
  if (default_allow)
    return 1;
  struct ss_addr_key k = {};
  k.family = family;
  __builtin_memcpy(k.addr, ip, 16);
  if (bpf_map_lookup_elem(&dns_learned, &k))
    return 1; /* answered for an allowed name by a policy resolver */
  for (__u32 i = 0; i < SS_NET_RULES_MAX; i++) {
    if (i >= nrules)
      break;
    __u32 k = i;
    struct ss_net_rule *r = bpf_map_lookup_elem(&rules, &k);
    if (!r)
      break;
    if (r->family != family || (r->protocol && r->protocol != protocol))
      continue;
    if (port < r->port_lo || port > r->port_hi)
      continue;
    if ((ip[0] & r->mask[0]) != r->addr[0] || (ip[1] & r->mask[1]) != r->addr[1] ||
        (ip[2] & r->mask[2]) != r->addr[2] || (ip[3] & r->mask[3]) != r->addr[3])
      continue;
    return 1;
  }
  return 0;
}

/* While DNS names are enforced, DNS goes over udp only: the guard cannot read tcp streams. */
static __always_inline int dns_over_tcp(struct bpf_sock_addr *ctx)
{
  return dns_enforce && be16(ctx->user_port) == 53 && ctx->protocol == 6 /* IPPROTO_TCP */;
}

static __always_inline int check4(struct bpf_sock_addr *ctx)
{
  if (dns_over_tcp(ctx))
    return 0;
  __u32 ip[4] = {ctx->user_ip4, 0, 0, 0};
  return allowed(4, ip, be16(ctx->user_port), ctx->protocol);
}

static __always_inline int check6(struct bpf_sock_addr *ctx)
{
  if (dns_over_tcp(ctx))
    return 0;
  __u32 ip[4] = {ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3]};
  __u16 port = be16(ctx->user_port);
  if (ip[0] == 0 && ip[1] == 0 && ip[2] == 0xffff0000) { /* ::ffff:a.b.c.d, network order */
    __u32 v4[4] = {ip[3], 0, 0, 0};
    return allowed(4, v4, port, ctx->protocol);
  }
  return allowed(6, ip, port, ctx->protocol);
}

SEC("cgroup/connect4")
int guard_connect4(struct bpf_sock_addr *ctx) { return check4(ctx); }

SEC("cgroup/connect6")
int guard_connect6(struct bpf_sock_addr *ctx) { return check6(ctx); }

SEC("cgroup/sendmsg4")
int guard_sendmsg4(struct bpf_sock_addr *ctx) { return check4(ctx); }

SEC("cgroup/sendmsg6")
int guard_sendmsg6(struct bpf_sock_addr *ctx) { return check6(ctx); }

SEC("cgroup/sock_create")
int guard_sock_create(struct bpf_sock *ctx)
{
  if (ctx->family == AF_PACKET || ctx->type == SOCK_RAW)
    return 0;
  /* UDP-Lite, SCTP and DCCP: transports the DNS guard does not read (a query to port 53 over
   * UDP-Lite would pass it) and no build needs */
  if (ctx->protocol == 136 || ctx->protocol == 132 || ctx->protocol == 33)
    return 0;
  return 1;
}

static __always_inline int has_prefix(const char *s, const char *p, int n)
{
  for (int i = 0; i < n; i++)
    if (s[i] != p[i])
      return 0;
  return 1;
}

/* A pathname socket must lie in the workspace or a private directory: sun_path starts with the workspace followed by
 * '/' (a relative path cannot be checked here and is refused). */
static __always_inline int unix_allowed(struct bpf_sock_addr *ctx)
{
  struct bpf_sock_addr_kern *sa = bpf_cast_to_kern_ctx(ctx);
  char buf[2 + SS_WS_MAX + 1] = {};
  __u32 len = sa->uaddrlen;
  if (len <= 2)
    return 1; /* unnamed (autobind) */
  if (bpf_probe_read_kernel(buf, sizeof(buf), sa->uaddr) < 0)
    return 0;
  if (buf[2] == 0)
    return own_netns; /* abstract: shared with the host unless the netns is the step's */
  /* no "." or ".." component: a prefix must mean what it says ("/tmp/../var/x" is not in /tmp) */
  for (__u32 i = 2; i + 1 < sizeof(buf); i++) {
    if (buf[i] == 0)
      break;
    if (buf[i] == '/' && buf[i + 1] == '.') {
      char n1 = i + 2 < sizeof(buf) ? buf[i + 2] : 0;
      char n2 = i + 3 < sizeof(buf) ? buf[i + 3] : 0;
      if (n1 == '/' || n1 == 0 || (n1 == '.' && (n2 == '/' || n2 == 0)))
        return 0;
    }
  }
  /* the step's private tmpfs directories (SS_PRIVATE_DIRS): sockets there are its own */
  if (has_prefix(buf + 2, "/tmp/", 5) || has_prefix(buf + 2, "/run/", 5) ||
      has_prefix(buf + 2, "/var/run/", 9) || has_prefix(buf + 2, "/dev/shm/", 9))
    return 1;
  if (ws_len == 0 || ws_len >= SS_WS_MAX || len < 2 + ws_len + 2)
    return 0;
  for (__u32 i = 0; i < SS_WS_MAX; i++) {
    if (i >= ws_len)
      break;
    if (buf[2 + i] != workspace[i])
      return 0;
  }
  __u32 at = 2 + ws_len;
  if (at >= sizeof(buf))
    return 0;
  return buf[at] == '/';
}

/* Packaged libbpf (1.1) predates the unix hooks' section names: these are declared as sock_addr
 * programs and user space sets the attach type (BPF_CGROUP_UNIX_CONNECT / _SENDMSG) before load. */
SEC("cgroup/connect4")
int guard_connect_unix(struct bpf_sock_addr *ctx) { return unix_allowed(ctx); }

SEC("cgroup/sendmsg4")
int guard_sendmsg_unix(struct bpf_sock_addr *ctx) { return unix_allowed(ctx); }

/* Device nodes the step may open or create (mknod): the harmless ones a build uses. Everything
 * else (loop-control, userfaultfd, kvm, fuse, block devices ...) is refused with EPERM. */
#define BPF_DEVCG_DEV_BLOCK_ 1
#define BPF_DEVCG_DEV_CHAR_ 2

SEC("cgroup/dev")
int guard_dev(struct bpf_cgroup_dev_ctx *ctx)
{
  __u32 type = ctx->access_type & 0xffff;
  if (type != BPF_DEVCG_DEV_CHAR_)
    return 0;
  switch (ctx->major) {
  case 1: /* mem: null 3, zero 5, full 7, random 8, urandom 9 */
    return ctx->minor == 3 || ctx->minor == 5 || ctx->minor == 7 || ctx->minor == 8 ||
           ctx->minor == 9;
  case 5: /* tty 0, ptmx 2 */
    return ctx->minor == 0 || ctx->minor == 2;
  case 136: case 137: case 138: case 139: case 140: case 141: case 142: case 143:
    return 1; /* pseudo-terminal slaves */
  }
  return 0;
}
