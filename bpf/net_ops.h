/* SPDX-License-Identifier: Apache-2.0 */
/*
 * net_ops.h - sys_exit handlers for network calls.
 *
 * Family, type and protocol come from the kernel's struct sock behind the fd, not from the
 * caller. The destination address is the caller's sockaddr, read at exit; for listen() it is
 * the address the kernel bound.
 * Emitted args: 0 fd, 1 sk family, 2 sk type, 3 sk protocol.
 */
#ifndef STEPSEAL_BPF_NET_OPS_H
#define STEPSEAL_BPF_NET_OPS_H

#include "syscalls.h"

#define AF_INET 2
#define AF_INET6 10

static __always_inline struct sock *fd_sock(struct task_struct *t, long fd)
{
  struct file *f = fd_file(t, fd);
  if (!f)
    return NULL;
  struct inode *ino = BPF_CORE_READ(f, f_inode);
  if ((BPF_CORE_READ(ino, i_mode) & S_IFMT) != S_IFSOCK)
    return NULL;
  struct socket *sock = BPF_CORE_READ(f, private_data);
  return BPF_CORE_READ(sock, sk);
}

static __always_inline void put_sock_info(struct builder *b, struct sock *sk, long fd)
{
  b->s->ev.args[0] = fd;
  for (int i = 1; i < 6; i++)
    b->s->ev.args[i] = 0;
  if (!sk)
    return;
  b->s->ev.args[1] = BPF_CORE_READ(sk, __sk_common.skc_family);
  b->s->ev.args[2] = BPF_CORE_READ(sk, sk_type);
  b->s->ev.args[3] = BPF_CORE_READ(sk, sk_protocol);
}

/* connect, bind, sendto: the sockaddr the caller passed. Returns 0 for a send without a
 * destination (data on a connected socket), which is not recorded. */
static __always_inline int on_addr_call(struct builder *b, struct task_struct *t,
                                         const struct inflight_call *c, int compat)
{
  __u64 addr = c->args[1];
  __u32 len = (__u32)c->args[2];
  long fd = (long)c->args[0];

  if (c->kind == SS_K_SENDTO && c->args[3] != 0) { /* msghdr: msg_name, msg_namelen */
    long err;
    if (compat) {
      __u32 w[2] = {};
      err = bpf_probe_read_user(w, sizeof(w), (void *)addr);
      addr = w[0];
      len = w[1];
    } else {
      struct { __u64 name; __u32 namelen; } h = {};
      err = bpf_probe_read_user(&h, sizeof(h), (void *)addr);
      addr = h.name;
      len = h.namelen;
    }
    if (err < 0) { /* the msghdr itself is unreadable: record the call, flagged */
      put_sock_info(b, fd_sock(t, fd), fd);
      b->s->ev.blob_flags[SS_B_EXTRA] |= SS_BF_READFAIL;
      count(SS_C_READ_FAIL);
      return 1;
    }
  }
  if (c->kind == SS_K_SENDTO && !addr)
    return 0;
  put_sock_info(b, fd_sock(t, fd), fd);
  put_user_bytes(b, SS_B_EXTRA, (const void *)addr, len);
  return 1;
}

/* A socket's address as a sockaddr_in/sockaddr_in6 blob in `slot`, from the kernel's struct
 * sock: its own (bound) address, or with `peer` the connected peer's. `port` in network order.
 * Returns 0 if the family is neither inet nor inet6 (nothing written). */
static __always_inline int put_sock_addr(struct builder *b, int slot, struct sock *sk,
                                         __u16 family, __u16 port, int peer)
{
  __u32 off = b->off;
  if (off > SS_DATA_MAX)
    return 0;
  if (family == AF_INET) {
    struct { __u16 family; __u16 port; __u32 addr; __u8 zero[8]; } sa = {};
    sa.family = AF_INET;
    sa.port = port;
    sa.addr = peer ? BPF_CORE_READ(sk, __sk_common.skc_daddr)
                   : BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
    __builtin_memcpy(&b->s->data[off], &sa, sizeof(sa));
    b->off = off + sizeof(sa);
  } else if (family == AF_INET6) {
    struct { __u16 family; __u16 port; __u32 flow; __u8 addr[16]; __u32 scope; } sa = {};
    sa.family = AF_INET6;
    sa.port = port;
    if (peer)
      BPF_CORE_READ_INTO(&sa.addr, sk, __sk_common.skc_v6_daddr);
    else
      BPF_CORE_READ_INTO(&sa.addr, sk, __sk_common.skc_v6_rcv_saddr);
    __builtin_memcpy(&b->s->data[off], &sa, sizeof(sa));
    b->off = off + sizeof(sa);
  } else {
    return 0;
  }
  blob_end(b, slot, off);
  return 1;
}

/* listen: the local address the kernel holds for the socket (inet/inet6). */
static __always_inline void on_listen(struct builder *b, struct task_struct *t,
                                      const struct inflight_call *c)
{
  long fd = (long)c->args[0];
  struct sock *sk = fd_sock(t, fd);
  put_sock_info(b, sk, fd);
  if (!sk)
    return;
  __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
  __u16 port = BPF_CORE_READ(sk, __sk_common.skc_num);
  port = (port >> 8) | (port << 8); /* to network order, as in a sockaddr */
  put_sock_addr(b, SS_B_EXTRA, sk, family, port, 0);
}

#endif
