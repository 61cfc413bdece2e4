/* SPDX-License-Identifier: Apache-2.0 */
/*
 * syscalls.h - which system calls are followed, and how their arguments are normalised.
 *
 * At sys_enter a call is (1) mapped from the i386 number to the x86_64 one when it came in
 * through int 0x80 or a compat task, (2) given its ss_kind, and (3) has its arguments rewritten
 * into the widest form of the call, so every later stage handles one shape per kind:
 *
 *   OPEN       openat(dirfd, path, flags, mode)         open, creat, openat2, open_by_handle_at
 *   EXEC_FAIL  execveat(dirfd, path, argv, envp, flags) execve
 *   RENAME     renameat2(olddirfd, old, newdirfd, new, flags)
 *   UNLINK     unlinkat(dirfd, path, flags)             unlink, rmdir (flags = AT_REMOVEDIR)
 *   LINK       linkat(olddirfd, old, newdirfd, new, flags)
 *   SYMLINK    symlinkat(target, newdirfd, linkpath)
 *   TRUNCATE   (fd or AT_FDCWD, path or 0, length, is_fd)
 *   MKNOD      mknodat(dirfd, path, mode, dev)
 *   MKDIR      mkdirat(dirfd, path, mode)
 *   MEMFD      memfd_create(name, flags)
 *   COPY       (in_fd, out_fd, length)                  copy_file_range, sendfile, splice
 *   MMAP_WRITE mmap(addr, len, prot, flags, fd, off)    only MAP_SHARED file mappings
 *   CHDIR      (fd or AT_FDCWD, path or 0, is_fd)
 *   SOCKET     socket(domain, type, protocol)
 *   CONNECT/BIND (fd, addr, addrlen)
 *   LISTEN     (fd, backlog)
 *   SENDTO     (fd, addr, addrlen, how) how: 0 sendto, 1 sendmsg(msghdr*), 2 sendmmsg(mmsghdr*)
 *   GAP        (ss_gap, raw args...)
 *   SYSCALL    raw args                                 ptrace, bpf, mount, unshare, setns,
 *              module and kexec loading, keys, userfaultfd, process_vm_*, perf_event_open, the
 *              new mount API, and clone with namespace flags
 *
 * Adding a system call: its number in the enum below (and its i386 number in
 * compat_to_native), a case in kind_of() and in normalize(), an exit handler in file_ops.h or
 * net_ops.h (or reuse one), a decoder rule in src/capture/decoder.cpp if its blobs differ, and a
 * model rule in src/model/model.cpp.
 */
#ifndef STEPSEAL_BPF_SYSCALLS_H
#define STEPSEAL_BPF_SYSCALLS_H

#include "helpers.h"

#define MAP_SHARED 0x01
#define MAP_SHARED_VALIDATE 0x03
#define MAP_ANONYMOUS 0x20
#define AT_REMOVEDIR 0x200
#define O_CREAT_TRUNC_WRONLY (0100 | 01000 | 01)

/* x86_64 numbers */
enum {
  NR_sendfile = 40, NR_socket = 41, NR_connect = 42, NR_sendto = 44, NR_sendmsg = 46,
  NR_bind = 49, NR_listen = 50, NR_execve = 59, NR_truncate = 76, NR_ftruncate = 77,
  NR_chdir = 80, NR_fchdir = 81, NR_rename = 82, NR_mkdir = 83, NR_rmdir = 84, NR_creat = 85,
  NR_link = 86, NR_unlink = 87, NR_symlink = 88, NR_mknod = 133, NR_mmap = 9, NR_open = 2,
  NR_io_setup = 206, NR_io_submit = 209, NR_openat = 257, NR_mkdirat = 258, NR_mknodat = 259,
  NR_unlinkat = 263, NR_renameat = 264, NR_linkat = 265, NR_symlinkat = 266, NR_splice = 275,
  NR_open_by_handle_at = 304, NR_sendmmsg = 307, NR_renameat2 = 316, NR_memfd_create = 319,
  NR_execveat = 322, NR_copy_file_range = 326, NR_io_uring_setup = 425,
  NR_io_uring_enter = 426, NR_io_uring_register = 427, NR_openat2 = 437,
  NR_write = 1, NR_writev = 20, NR_setsockopt = 54, NR_ioctl = 16, NR_chmod = 90,
  NR_fchmod = 91, NR_fchmodat = 268, NR_fchmodat2 = 452, NR_personality = 135,
  /* sensitive calls (SYSCALL): recorded in observe mode, denied in hardened mode */
  NR_clone = 56, NR_ptrace = 101, NR_pivot_root = 155, NR_mount = 165, NR_umount2 = 166,
  NR_init_module = 175, NR_delete_module = 176, NR_kexec_load = 246, NR_add_key = 248,
  NR_request_key = 249, NR_keyctl = 250, NR_unshare = 272, NR_perf_event_open = 298,
  NR_setns = 308, NR_process_vm_readv = 310, NR_process_vm_writev = 311, NR_finit_module = 313,
  NR_kexec_file_load = 320, NR_bpf = 321, NR_userfaultfd = 323, NR_open_tree = 428,
  NR_move_mount = 429, NR_fsopen = 430, NR_fsconfig = 431, NR_fsmount = 432, NR_fspick = 433,
  NR_mount_setattr = 442,
};

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

/* i386 number -> x86_64 number, with a[] rewritten into the x86_64 argument order.
 * Returns -1 for calls that are not followed. */
static __always_inline long compat_to_native(long nr, __u64 a[6])
{
  switch (nr) {
  case 5: return NR_open;
  case 8: return NR_creat;
  case 295: return NR_openat;
  case 437: return NR_openat2;
  case 342: return NR_open_by_handle_at;
  case 11: return NR_execve;
  case 358: return NR_execveat;
  case 38: return NR_rename;
  case 302: return NR_renameat;
  case 353: return NR_renameat2;
  case 10: return NR_unlink;
  case 301: return NR_unlinkat;
  case 40: return NR_rmdir;
  case 9: return NR_link;
  case 303: return NR_linkat;
  case 83: return NR_symlink;
  case 304: return NR_symlinkat;
  case 92: return NR_truncate;
  case 93: return NR_ftruncate;
  case 193: a[1] = (a[1] & 0xffffffff) | (a[2] << 32); return NR_truncate;  /* truncate64 */
  case 194: a[1] = (a[1] & 0xffffffff) | (a[2] << 32); return NR_ftruncate; /* ftruncate64 */
  case 14: return NR_mknod;
  case 297: return NR_mknodat;
  case 39: return NR_mkdir;
  case 296: return NR_mkdirat;
  case 356: return NR_memfd_create;
  case 377: return NR_copy_file_range;
  case 187: case 239: return NR_sendfile;
  case 313: return NR_splice;
  case 192: a[5] <<= 12; return NR_mmap; /* mmap2: offset in pages */
  case 90: return read_u32_args(a, a[0]) < 0 ? -2 : NR_mmap; /* old_mmap(struct *) */
  case 12: return NR_chdir;
  case 133: return NR_fchdir;
  case 359: return NR_socket;
  case 362: return NR_connect;
  case 361: return NR_bind;
  case 363: return NR_listen;
  case 369: return NR_sendto;
  case 370: return NR_sendmsg;
  case 345: return NR_sendmmsg;
  case 425: return NR_io_uring_setup;
  case 426: return NR_io_uring_enter;
  case 427: return NR_io_uring_register;
  case 245: return NR_io_setup;
  case 248: return NR_io_submit;
  /* sensitive calls (SYSCALL): the same arguments in the same order */
  case 26: return NR_ptrace;
  case 21: return NR_mount;
  case 52: return NR_umount2;
  case 217: return NR_pivot_root;
  case 128: return NR_init_module;
  case 129: return NR_delete_module;
  case 350: return NR_finit_module;
  case 283: return NR_kexec_load;
  case 286: return NR_add_key;
  case 287: return NR_request_key;
  case 288: return NR_keyctl;
  case 310: return NR_unshare;
  case 336: return NR_perf_event_open;
  case 346: return NR_setns;
  case 347: return NR_process_vm_readv;
  case 348: return NR_process_vm_writev;
  case 357: return NR_bpf;
  case 374: return NR_userfaultfd;
  case 120: return NR_clone; /* i386 clone: flags first, as on x86_64 */
  case 428: return NR_open_tree;
  case 429: return NR_move_mount;
  case 430: return NR_fsopen;
  case 431: return NR_fsconfig;
  case 432: return NR_fsmount;
  case 433: return NR_fspick;
  case 442: return NR_mount_setattr;
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

/* The cheap first filter: is this x86_64 call followed at all? */
static __always_inline int kind_of(long nr)
{
  switch (nr) {
  case NR_open: case NR_creat: case NR_openat: case NR_openat2: case NR_open_by_handle_at:
    return SS_K_OPEN;
  case NR_execve: case NR_execveat: return SS_K_EXEC_FAIL;
  case NR_rename: case NR_renameat: case NR_renameat2: return SS_K_RENAME;
  case NR_unlink: case NR_unlinkat: case NR_rmdir: return SS_K_UNLINK;
  case NR_link: case NR_linkat: return SS_K_LINK;
  case NR_symlink: case NR_symlinkat: return SS_K_SYMLINK;
  case NR_truncate: case NR_ftruncate: return SS_K_TRUNCATE;
  case NR_mknod: case NR_mknodat: return SS_K_MKNOD;
  case NR_mkdir: case NR_mkdirat: return SS_K_MKDIR;
  case NR_memfd_create: return SS_K_MEMFD;
  case NR_copy_file_range: case NR_sendfile: case NR_splice: return SS_K_COPY;
  case NR_mmap: return SS_K_MMAP_WRITE;
  case NR_chdir: case NR_fchdir: return SS_K_CHDIR;
  case NR_socket: return SS_K_SOCKET;
  case NR_connect: return SS_K_CONNECT;
  case NR_bind: return SS_K_BIND;
  case NR_listen: return SS_K_LISTEN;
  case NR_sendto: case NR_sendmsg: case NR_sendmmsg: return SS_K_SENDTO;
  case NR_io_uring_setup: case NR_io_uring_enter: case NR_io_uring_register:
  case NR_io_setup: case NR_io_submit:
    return SS_K_GAP;
  case NR_clone: case NR_ptrace: case NR_pivot_root: case NR_mount: case NR_umount2:
  case NR_init_module: case NR_delete_module: case NR_kexec_load: case NR_add_key:
  case NR_request_key: case NR_keyctl: case NR_unshare: case NR_perf_event_open: case NR_setns:
  case NR_process_vm_readv: case NR_process_vm_writev: case NR_finit_module:
  case NR_kexec_file_load: case NR_bpf: case NR_userfaultfd: case NR_open_tree:
  case NR_move_mount: case NR_fsopen: case NR_fsconfig: case NR_fsmount: case NR_fspick:
  case NR_mount_setattr:
    return SS_K_SYSCALL;
  }
  return 0;
}

/* Rewrites the raw arguments a[] of x86_64 call nr into the normalised form above.
 * Returns 0 when the call should not be followed after all (e.g. a private mmap). */
static __always_inline int normalize(long nr, const __u64 a[6], __u64 o[6])
{
  switch (nr) {
  case NR_open: o[0] = AT_FDCWD; o[1] = a[0]; o[2] = a[1]; o[3] = a[2]; return 1;
  case NR_creat: o[0] = AT_FDCWD; o[1] = a[0]; o[2] = O_CREAT_TRUNC_WRONLY; o[3] = a[1]; return 1;
  case NR_openat: o[0] = a[0]; o[1] = a[1]; o[2] = a[2]; o[3] = a[3]; return 1;
  case NR_openat2: { /* struct open_how { u64 flags, mode, resolve; } */
    __u64 how[2] = {};
    bpf_probe_read_user(how, sizeof(how), (void *)a[2]);
    o[0] = a[0]; o[1] = a[1]; o[2] = how[0]; o[3] = how[1]; return 1;
  }
  case NR_open_by_handle_at: o[0] = a[0]; o[1] = 0; o[2] = a[2]; return 1;
  case NR_execve: o[0] = AT_FDCWD; o[1] = a[0]; o[2] = a[1]; o[3] = a[2]; o[4] = 0; return 1;
  case NR_execveat: case NR_renameat2: case NR_linkat:
    o[0] = a[0]; o[1] = a[1]; o[2] = a[2]; o[3] = a[3]; o[4] = a[4]; return 1;
  case NR_rename: case NR_link:
    o[0] = AT_FDCWD; o[1] = a[0]; o[2] = AT_FDCWD; o[3] = a[1]; o[4] = 0; return 1;
  case NR_renameat: o[0] = a[0]; o[1] = a[1]; o[2] = a[2]; o[3] = a[3]; o[4] = 0; return 1;
  case NR_unlink: o[0] = AT_FDCWD; o[1] = a[0]; o[2] = 0; return 1;
  case NR_rmdir: o[0] = AT_FDCWD; o[1] = a[0]; o[2] = AT_REMOVEDIR; return 1;
  case NR_unlinkat: case NR_mkdirat: case NR_symlinkat:
    o[0] = a[0]; o[1] = a[1]; o[2] = a[2]; return 1;
  case NR_symlink: o[0] = a[0]; o[1] = AT_FDCWD; o[2] = a[1]; return 1;
  case NR_truncate: o[0] = AT_FDCWD; o[1] = a[0]; o[2] = a[1]; o[3] = 0; return 1;
  case NR_ftruncate: o[0] = a[0]; o[1] = 0; o[2] = a[1]; o[3] = 1; return 1;
  case NR_mknod: o[0] = AT_FDCWD; o[1] = a[0]; o[2] = a[1]; o[3] = a[2]; return 1;
  case NR_mknodat: o[0] = a[0]; o[1] = a[1]; o[2] = a[2]; o[3] = a[3]; return 1;
  case NR_mkdir: o[0] = AT_FDCWD; o[1] = a[0]; o[2] = a[1]; return 1;
  case NR_memfd_create: o[0] = a[0]; o[1] = a[1]; return 1;
  case NR_copy_file_range: case NR_splice: o[0] = a[0]; o[1] = a[2]; o[2] = a[4]; return 1;
  case NR_sendfile: o[0] = a[1]; o[1] = a[0]; o[2] = a[3]; return 1;
  case NR_mmap: {
    __u64 type = a[3] & 0x0f;
    if ((type != MAP_SHARED && type != MAP_SHARED_VALIDATE) || (a[3] & MAP_ANONYMOUS) ||
        (long)a[4] < 0)
      return 0;
    for (int i = 0; i < 6; i++)
      o[i] = a[i];
    return 1;
  }
  case NR_chdir: o[0] = AT_FDCWD; o[1] = a[0]; o[2] = 0; return 1;
  case NR_fchdir: o[0] = a[0]; o[1] = 0; o[2] = 1; return 1;
  case NR_socket: case NR_connect: case NR_bind:
    o[0] = a[0]; o[1] = a[1]; o[2] = a[2]; return 1;
  case NR_listen: o[0] = a[0]; o[1] = a[1]; return 1;
  case NR_sendto:
    if (!a[4])
      return 0; /* no destination: data on a connected socket, not a network attempt */
    o[0] = a[0]; o[1] = a[4]; o[2] = a[5]; o[3] = 0; return 1;
  case NR_sendmsg: o[0] = a[0]; o[1] = a[1]; o[2] = 0; o[3] = 1; return 1;
  case NR_sendmmsg: o[0] = a[0]; o[1] = a[1]; o[2] = 0; o[3] = 2; return 1;
  case NR_clone:
    if (!(a[0] & CLONE_NS_FLAGS))
      return 0; /* an ordinary fork or thread: sched_process_fork reports it */
    for (int i = 0; i < 6; i++)
      o[i] = a[i];
    return 1;
  case NR_ptrace: case NR_pivot_root: case NR_mount: case NR_umount2:
  case NR_init_module: case NR_delete_module: case NR_kexec_load: case NR_add_key:
  case NR_request_key: case NR_keyctl: case NR_unshare: case NR_perf_event_open: case NR_setns:
  case NR_process_vm_readv: case NR_process_vm_writev: case NR_finit_module:
  case NR_kexec_file_load: case NR_bpf: case NR_userfaultfd: case NR_open_tree:
  case NR_move_mount: case NR_fsopen: case NR_fsconfig: case NR_fsmount: case NR_fspick:
  case NR_mount_setattr:
    for (int i = 0; i < 6; i++)
      o[i] = a[i];
    return 1;
  case NR_io_uring_setup: o[0] = SS_GAP_IO_URING_SETUP; goto gap;
  case NR_io_uring_enter: o[0] = SS_GAP_IO_URING_ENTER; goto gap;
  case NR_io_uring_register: o[0] = SS_GAP_IO_URING_REGISTER; goto gap;
  case NR_io_setup: o[0] = SS_GAP_AIO_SETUP; goto gap;
  case NR_io_submit: o[0] = SS_GAP_AIO_SUBMIT; goto gap;
  }
  return 0;
gap:
  o[1] = a[0]; o[2] = a[1]; o[3] = a[2]; o[4] = a[3];
  return 1;
}

#endif
