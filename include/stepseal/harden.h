/* SPDX-License-Identifier: Apache-2.0 */
/*
 * harden.h - the policy data hardened mode's cgroup programs (bpf/harden.bpf.c) enforce,
 * shared with user space (src/harden/net_guard.cpp), which fills it from the policy file.
 * Policy is data: the programs hold no rule of their own beyond "raw and packet sockets are
 * refused" and "unix sockets must lie in the workspace".
 */
#ifndef STEPSEAL_HARDEN_H
#define STEPSEAL_HARDEN_H

#ifndef __BPF__
#include <linux/types.h>
#endif

/* Directories every hardened step gets as its own fresh tmpfs: nothing of the host's is there,
 * so unix sockets in them are the step's own. (bpf/harden.bpf.c spells them out again in
 * unix_allowed(); src/harden/sandbox.cpp mounts them.) */
#define SS_PRIVATE_DIRS {"/tmp", "/run", "/var/run", "/dev/shm"}

#define SS_NET_RULES_MAX 256
#define SS_WS_MAX 256

/* One allowed destination: (addr & mask) == addr, port in [port_lo, port_hi], protocol. All
 * addresses in network byte order; IPv4 uses word 0 only. */
struct ss_net_rule {
  __u32 addr[4];
  __u32 mask[4];
  __u16 port_lo, port_hi; /* host byte order */
  __u8 family;            /* 4 or 6 */
  __u8 protocol;          /* 0 any, 6 tcp, 17 udp */
  __u8 pad[2];
};

/* The DNS guard (bpf/dns_guard.h) matches names by a keyed hash of the lowercase wire form,
 * computed backwards so that every suffix's hash comes out of one pass: h = (c + b * h) mod p,
 * twice, with two primes and two secret bases chosen per run; key = h1 << 32 | h2. Values of the
 * `dns_names` map: */
#define SS_DNS_EXACT 1    /* the name itself is allowed */
#define SS_DNS_SUFFIX 2   /* names strictly below it are allowed ("*.suffix") */
#define SS_DNS_P1 2147483647ULL
#define SS_DNS_P2 2147483629ULL

/* A learned (or resolver) address: family 4 uses addr[0] only. */
struct ss_addr_key {
  __u32 family;
  __u32 addr[4];
};

#endif
