/* SPDX-License-Identifier: Apache-2.0 */
/*
 * dns_ops.h - DNS messages, seen at sys_enter of the calls that send data on a socket.
 *
 * A message goes to port 53 when the call names such a destination (sendto, sendmsg's
 * msg_name) or the socket is connected to one (the kernel's skc_dport). The first SS_DNS_MAX
 * bytes of the first two buffers are recorded (tcp resolvers often write the 2-byte length and
 * the query as two iovecs); user space parses the question. Recorded before the call, in both
 * modes, so a query that is then refused is still on record.
 */
#ifndef STEPSEAL_BPF_DNS_OPS_H
#define STEPSEAL_BPF_DNS_OPS_H

#include "net_ops.h"

#define DNS_PORT_BE 0x3500 /* 53 in network byte order */

struct uiovec {
  __u64 base;
  __u64 len;
};

/* msghdr: msg_name, msg_namelen, (pad), msg_iov, msg_iovlen */
struct umsghdr {
  __u64 name;
  __u32 namelen;
  __u32 pad;
  __u64 iov;
  __u64 iovlen;
};

/* Appends up to `max` bytes of user memory to the current blob; returns the bytes appended. */
static __always_inline __u32 append_user(struct builder *b, __u64 uptr, __u64 len, __u32 max)
{
  __u32 off = b->off;
  if (!uptr || len == 0 || max == 0 || off > SS_DATA_MAX)
    return 0;
  if (len > max)
    len = max;
  if (len > SS_DNS_MAX)
    len = SS_DNS_MAX;
  if (bpf_probe_read_user(&b->s->data[off], len, (void *)uptr) < 0)
    return 0;
  b->off = off + len;
  return len;
}

/* nr is the x86_64 number; a[] the raw arguments. Called only for followed processes. */
static __always_inline void maybe_dns(struct task_struct *t, long nr, const __u64 a[6], __u32 tgid,
                                      __u32 tid)
{
  struct sock *sk = fd_sock(t, (long)a[0]);
  if (!sk)
    return;
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  if (family != AF_INET && family != AF_INET6)
    return;
  __u64 dest = 0, dest_len = 0, buf = 0, buf_len = 0, iov = 0, iovlen = 0;
  if (nr == NR_write) {
    buf = a[1];
    buf_len = a[2];
  } else if (nr == NR_writev || nr == NR_pwritev || nr == NR_pwritev2) {
    iov = a[1];
    iovlen = a[2];
  } else if (nr == NR_sendto) {
    buf = a[1];
    buf_len = a[2];
    dest = a[4];
    dest_len = a[5];
  } else { /* sendmsg(msghdr*), sendmmsg(mmsghdr*): the first message */
    struct umsghdr h = {};
    if (bpf_probe_read_user(&h, sizeof(h), (void *)a[1]) < 0)
      return;
    dest = h.name;
    dest_len = h.namelen;
    iov = h.iov;
    iovlen = h.iovlen;
  }
  __u16 port = 0;
  if (dest && dest_len >= 4) {
    __u16 sa[2] = {};
    if (bpf_probe_read_user(sa, sizeof(sa), (void *)dest) < 0)
      return;
    port = sa[1];
  } else {
    dest = 0;
    port = BPF_CORE_READ(sk, __sk_common.skc_dport);
  }
  if (port != DNS_PORT_BE)
    return;

  struct builder b;
  if (builder_open(&b, SS_K_DNS, tgid, tid) < 0)
    return;
  b.s->ev.nr = nr;
  put_sock_info(&b, sk, (long)a[0]);
  b.s->ev.args[4] = 53;
  __u32 start = b.off; /* blobs are laid out in slot order: STR2 (payload), then EXTRA */
  if (buf) {
    append_user(&b, buf, buf_len, SS_DNS_MAX);
  } else if (iov && iovlen) {
    struct uiovec v[2] = {};
    if (bpf_probe_read_user(v, iovlen > 1 ? sizeof(v) : sizeof(v[0]), (void *)iov) == 0) {
      __u32 got = append_user(&b, v[0].base, v[0].len, SS_DNS_MAX);
      if (iovlen > 1 && got == v[0].len && got < SS_DNS_MAX)
        append_user(&b, v[1].base, v[1].len, SS_DNS_MAX - got);
    }
  }
  blob_end(&b, SS_B_STR2, start);
  if (dest) {
    __u32 dl = dest_len > SS_SOCKADDR_MAX ? SS_SOCKADDR_MAX : (__u32)dest_len;
    put_user_bytes(&b, SS_B_EXTRA, (const void *)dest, dl);
  } else {
    put_sock_addr(&b, SS_B_EXTRA, sk, family, port, 1); /* the connected peer */
  }
  builder_emit(&b);
}

#endif
