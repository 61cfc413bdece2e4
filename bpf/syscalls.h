/* SPDX-License-Identifier: Apache-2.0 */
/*
 * syscalls.h - which system calls are followed, and how their arguments are normalised. All of it
 * is derived from the one table, include/stepseal/syscall_table.h; only the calls whose i386
 * arguments or whose filtering differ are written out here (compat_special, normalize_special).
 *
 * At sys_enter a call is (1) mapped from the i386 number to the x86_64 one when it came in
 * through int 0x80 or a compat task, (2) given its ss_kind, and (3) has its arguments rewritten
 * into the widest form of its kind, so every later stage handles one shape per kind (the shapes
 * are listed with the kinds in include/stepseal/events.h).
 */
#ifndef STEPSEAL_BPF_SYSCALLS_H
#define STEPSEAL_BPF_SYSCALLS_H

#include "helpers.h"

#define MAP_SHARED 0x01
#define MAP_SHARED_VALIDATE 0x03
#define MAP_ANONYMOUS 0x20

#include "stepseal/syscall_table.h"

/* clone flags that create namespaces (CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID,
 * NEWNET): a clone carrying any of them is a sensitive call */
#define CLONE_NS_FLAGS 0x7e020000ULL

/* Reads the i386 socketcall / old_mmap argument block (six 32-bit words) into a[].
 * compat_to_native() returns -2 when it cannot, so the caller can count the loss. */
static __always_inline int read_u32_args(__u64 a[6], __u64 uptr)
{
  __u32 w[6] = {};
  if (bpf_probe_read_user(w, sizeof(w), (void *)uptr) < 0)
    return -1;
  for (int i = 0; i < 6; i++)
    a[i] = w[i];
  return 0;
}

/* i386 calls whose number maps to no single row, or whose arguments differ from x86_64's.
 * Returns the x86_64 number, -1 when not one of these, -2 when an argument block is unreadable. */
static __always_inline long compat_special(long nr, __u64 a[6])
{
  switch (nr) {
  case 193: a[1] = (a[1] & 0xffffffff) | (a[2] << 32); return NR_truncate;  /* truncate64 */
  case 194: a[1] = (a[1] & 0xffffffff) | (a[2] << 32); return NR_ftruncate; /* ftruncate64 */
  case 239: return NR_sendfile;                                             /* sendfile64 */
  case 192: a[5] <<= 12; return NR_mmap; /* mmap2: offset in pages */
  case 90: return read_u32_args(a, a[0]) < 0 ? -2 : NR_mmap; /* old_mmap(struct *) */
  case 412: return NR_utimensat; /* utimensat_time64: the same arguments */
  /* the 16-bit uid calls: (u16)-1 leaves the id unchanged, as (u32)-1 does */
  case 16: case 95: case 182:
    a[1] &= 0xffff; /* the kernel keeps 16 bits: 0x10000 is root, 0x1ffff "unchanged" */
    a[2] &= 0xffff;
    if (a[1] == 0xffff) a[1] = 0xffffffff;
    if (a[2] == 0xffff) a[2] = 0xffffffff;
    return nr == 16 ? NR_lchown : nr == 95 ? NR_fchown : NR_chown;
  case 102: { /* socketcall(call, args*) */
    long call = (long)a[0];
    if (call != 1 && call != 2 && call != 3 && call != 4 && call != 11 && call != 16 &&
        call != 20)
      return -1;
    if (read_u32_args(a, a[1]) < 0)
      return -2;
    switch (call) {
    case 1: return NR_socket;
    case 2: return NR_bind;
    case 3: return NR_connect;
    case 4: return NR_listen;
    case 11: return NR_sendto;
    case 16: return NR_sendmsg;
    case 20: return NR_sendmmsg;
    }
    return -1;
  }
  }
  return -1;
}

/* i386 number -> x86_64 number, with a[] rewritten into the x86_64 argument order.
 * Returns -1 for calls that are not followed, -2 when an argument block is unreadable.
 * (A row without an i386 number gets an impossible negative case label.) */
static __always_inline long compat_to_native(long nr, __u64 a[6])
{
  long special = compat_special(nr, a);
  if (special != -1)
    return special;
  switch (nr) {
#define SS_COMPAT_CASE(name, nr64, nr32, kind, shape, deny, why) \
  case ((nr32) < 0 ? -1000 - (nr64) : (nr32)): return SS_K_##kind == SS_K_NONE ? -1 : NR_##name;
  SS_SYSCALLS(SS_COMPAT_CASE)
#undef SS_COMPAT_CASE
  }
  return -1;
}

/* The cheap first filter: is this x86_64 call followed at all? */
static __always_inline int kind_of(long nr)
{
  switch (nr) {
#define SS_KIND_CASE(name, nr64, nr32, kind, shape, deny, why) case nr64: return SS_K_##kind;
  SS_SYSCALLS(SS_KIND_CASE)
#undef SS_KIND_CASE
  }
  return 0;
}

/* The calls whose normalisation is more than a permutation (the table's SS_SPECIAL rows).
 * Returns 0 when the call should not be followed after all. */
static __always_inline int normalize_special(long nr, const __u64 a[6], __u64 o[6])
{
  switch (nr) {
  case NR_openat2: { /* struct open_how { u64 flags, mode, resolve; } */
    __u64 how[2] = {};
    bpf_probe_read_user(how, sizeof(how), (void *)a[2]);
    o[0] = a[0]; o[1] = a[1]; o[2] = how[0]; o[3] = how[1]; return 1;
  }
  case NR_mmap: {
    __u64 type = a[3] & 0x0f;
    if ((type != MAP_SHARED && type != MAP_SHARED_VALIDATE) || (a[3] & MAP_ANONYMOUS) ||
        (int)a[4] < 0) /* the kernel reads the fd as an int */
      return 0;
    for (int i = 0; i < 6; i++)
      o[i] = a[i];
    return 1;
  }
  case NR_sendto:
    if (!a[4])
      return 0; /* no destination: data on a connected socket, not a network attempt */
    o[0] = a[0]; o[1] = a[4]; o[2] = a[5]; o[3] = 0; return 1;
  case NR_clone3: { /* clone3(struct clone_args *, size): its flags are the struct's first u64 */
    __u64 flags = 0;
    if (bpf_probe_read_user(&flags, sizeof(flags), (void *)a[0]) < 0)
      flags = CLONE_NS_FLAGS; /* unreadable now: the kernel may still read it; recorded */
    if (!(flags & CLONE_NS_FLAGS))
      return 0; /* a thread or an ordinary fork: sched_process_fork reports it */
    o[0] = flags; o[1] = a[1]; o[2] = a[0]; o[3] = 0; o[4] = 0; o[5] = 0;
    return 1;
  }
  case NR_ioctl: { /* only XFS's handle calls: a file opened, or its attributes set, by handle */
    __u32 req = (__u32)a[1];
    if (((req >> 8) & 0xff) != SS_XFS_IOC_TYPE || ((req & 0xff) != 107 && (req & 0xff) != 123))
      return 0;
    o[0] = SS_GAP_HANDLE_IOCTL; o[1] = a[0]; o[2] = req; o[3] = a[2]; o[4] = 0; o[5] = 0;
    return 1;
  }
  case NR_clone:
    if (!(a[0] & CLONE_NS_FLAGS))
      return 0; /* an ordinary fork or thread: sched_process_fork reports it */
    for (int i = 0; i < 6; i++)
      o[i] = a[i];
    return 1;
  }
  return 0;
}

/* Rewrites the raw arguments a[] of x86_64 call nr into its kind's normalised form (the table's
 * shape column). Returns 0 when the call should not be followed. */
static __always_inline int normalize(long nr, const __u64 a[6], __u64 o[6])
{
  const __u64 a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3], a4 = a[4], a5 = a[5];
#define SS_ARGS(x0, x1, x2, x3, x4, x5)                                                   \
  o[0] = (__u64)(x0); o[1] = (__u64)(x1); o[2] = (__u64)(x2); o[3] = (__u64)(x3);         \
  o[4] = (__u64)(x4); o[5] = (__u64)(x5); return 1
#define SS_SPECIAL return normalize_special(nr, a, o)
#define SS_UNFOLLOWED return 0
#define SS_NORM_CASE(name, nr64, nr32, kind, shape, deny, why) case nr64: shape;
  switch (nr) {
  SS_SYSCALLS(SS_NORM_CASE)
  }
#undef SS_NORM_CASE
#undef SS_ARGS
#undef SS_SPECIAL
#undef SS_UNFOLLOWED
  (void)a5;
  return 0;
}

#endif
