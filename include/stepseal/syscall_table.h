/* SPDX-License-Identifier: Apache-2.0 */
/*
 * syscall_table.h - every system call stepseal follows or refuses, defined once, for the BPF
 * probes and for user space.
 *
 * SS_SYSCALLS(X) has one row per call:
 *
 *   X(name, nr64, nr32, kind, shape, deny, why)
 *
 *   name   the x86_64 name, as in the summary ("seccomp.deny:<name>") and docs
 *   nr64   the x86_64 number
 *   nr32   the i386 number when the call is followed through int 0x80 or a compat task, or -1.
 *          i386 calls whose arguments differ (socketcall, old_mmap, mmap2, truncate64, the 16-bit
 *          chown family ...) are mapped by hand in bpf/syscalls.h, compat_special().
 *   kind   the event kind it is recorded as (SS_K_<kind>, the event catalogue in events.h), or
 *          NONE when only the deny-list or the DNS probe cares about it
 *   shape  its arguments rewritten into the widest form of its kind: SS_ARGS(o0..o5), each an
 *          expression of the raw arguments a0..a5; SS_SPECIAL when bpf/syscalls.h decides
 *          (it may drop the call: a private mmap, an ordinary clone); SS_UNFOLLOWED for NONE
 *   deny   what hardened mode's seccomp filter does with it:
 *            NO      nothing
 *            ALWAYS  EPERM, whatever the arguments
 *            IF      EPERM when one of its rows in ss_deny_rules[] below matches
 *            ENOSYS  ENOSYS, so that libc falls back to an older call whose arguments seccomp
 *                    can check (clone3 -> clone, openat2 -> openat)
 *            PROBE   not seccomp: the probes act on it (mmap of a denied executable)
 *   why    one line for docs and --help (deny-list entries)
 *
 * Derived from this table: the NR_* constants, compat_to_native(), kind_of() and normalize()
 * in bpf/syscalls.h; the BPF refusal check (ss_refused_with, below); the seccomp filter
 * (src/harden/seccomp_deny.cpp); the `denied` map's contents and syscall_name()
 * (src/syscalls/denylist.cpp). The exit handler is chosen by kind (bpf/stepseal.bpf.c).
 *
 * Adding a call: a row here; if its kind is new, an entry in SS_KINDS (events.h), an exit handler
 * (bpf/file_ops.h) and a model rule (src/model/model.cpp); docs/events.md; a test. See
 * docs/architecture.md, "Adding a system call".
 */
#ifndef STEPSEAL_SYSCALL_TABLE_H
#define STEPSEAL_SYSCALL_TABLE_H

#include "stepseal/events.h"

#define SS_AT_FDCWD ((__u64)(__s64)-100)
#define SS_AT_REMOVEDIR 0x200
#define SS_AT_SYMLINK_NOFOLLOW 0x100
#define SS_AT_EMPTY_PATH 0x1000
#define SS_O_CREAT_TRUNC_WRONLY (0100 | 01000 | 01)

/* SETATTR: which attribute (args[3]) */
#define SS_ATTR_MODE 1  /* args[4] the mode */
#define SS_ATTR_OWNER 2 /* args[4] uid, args[5] gid ((u32)-1: unchanged) */
#define SS_ATTR_TIMES 3 /* args[4] the user pointer to the times (0: now) */
#define SS_ATTR_XATTR 4 /* args[4] the user pointer to the attribute's name; args[5] 1: removed */

/* XFS handle ioctls, _IOWR('X', nr, struct xfs_fsop_handlereq (56 bytes on x86_64)) and
 * _IOW('X', 123, struct xfs_fsop_attrmulti_handlereq (72 bytes)) */
#define SS_XFS_IOC_OPEN_BY_HANDLE 0xC038586BULL
#define SS_XFS_IOC_ATTRMULTI_BY_HANDLE 0x4048587BULL
#define SS_XFS_IOC_TYPE 0x58 /* 'X' */

/* clang-format off */
#define SS_SYSCALLS(X) \
  /* files */ \
  X(open,              2,   5, OPEN,      SS_ARGS(SS_AT_FDCWD, a0, a1, a2, 0, 0), IF, "only creating a setuid or setgid file") \
  X(creat,            85,   8, OPEN,      SS_ARGS(SS_AT_FDCWD, a0, SS_O_CREAT_TRUNC_WRONLY, a1, 0, 0), IF, "only creating a setuid or setgid file") \
  X(openat,          257, 295, OPEN,      SS_ARGS(a0, a1, a2, a3, 0, 0), IF, "only creating a setuid or setgid file") \
  X(openat2,         437, 437, OPEN,      SS_SPECIAL, ENOSYS, "ENOSYS: its mode is in a struct seccomp cannot read, and libc falls back to openat") \
  X(open_by_handle_at, 304, 342, OPEN,    SS_ARGS(a0, 0, a2, 0, 0, 0), ALWAYS, "opening files by handle, past every path check (with CAP_DAC_READ_SEARCH: any file of the filesystem)") \
  X(execve,           59,  11, EXEC_FAIL, SS_ARGS(SS_AT_FDCWD, a0, a1, a2, 0, 0), NO, "") \
  X(execveat,        322, 358, EXEC_FAIL, SS_ARGS(a0, a1, a2, a3, a4, 0), NO, "") \
  X(rename,           82,  38, RENAME,    SS_ARGS(SS_AT_FDCWD, a0, SS_AT_FDCWD, a1, 0, 0), NO, "") \
  X(renameat,        264, 302, RENAME,    SS_ARGS(a0, a1, a2, a3, 0, 0), NO, "") \
  X(renameat2,       316, 353, RENAME,    SS_ARGS(a0, a1, a2, a3, a4, 0), NO, "") \
  X(unlink,           87,  10, UNLINK,    SS_ARGS(SS_AT_FDCWD, a0, 0, 0, 0, 0), NO, "") \
  X(unlinkat,        263, 301, UNLINK,    SS_ARGS(a0, a1, a2, 0, 0, 0), NO, "") \
  X(rmdir,            84,  40, UNLINK,    SS_ARGS(SS_AT_FDCWD, a0, SS_AT_REMOVEDIR, 0, 0, 0), NO, "") \
  X(link,             86,   9, LINK,      SS_ARGS(SS_AT_FDCWD, a0, SS_AT_FDCWD, a1, 0, 0), NO, "") \
  X(linkat,          265, 303, LINK,      SS_ARGS(a0, a1, a2, a3, a4, 0), NO, "") \
  X(symlink,          88,  83, SYMLINK,   SS_ARGS(a0, SS_AT_FDCWD, a1, 0, 0, 0), NO, "") \
  X(symlinkat,       266, 304, SYMLINK,   SS_ARGS(a0, a1, a2, 0, 0, 0), NO, "") \
  X(truncate,         76,  92, TRUNCATE,  SS_ARGS(SS_AT_FDCWD, a0, a1, 0, 0, 0), NO, "") \
  X(ftruncate,        77,  93, TRUNCATE,  SS_ARGS(a0, 0, a1, 1, 0, 0), NO, "") \
  X(mknod,           133,  14, MKNOD,     SS_ARGS(SS_AT_FDCWD, a0, a1, a2, 0, 0), IF, "only a setuid or setgid mode") \
  X(mknodat,         259, 297, MKNOD,     SS_ARGS(a0, a1, a2, a3, 0, 0), IF, "only a setuid or setgid mode") \
  X(mkdir,            83,  39, MKDIR,     SS_ARGS(SS_AT_FDCWD, a0, a1, 0, 0, 0), NO, "") \
  X(mkdirat,         258, 296, MKDIR,     SS_ARGS(a0, a1, a2, 0, 0, 0), NO, "") \
  X(memfd_create,    319, 356, MEMFD,     SS_ARGS(a0, a1, 0, 0, 0, 0), NO, "") \
  X(copy_file_range, 326, 377, COPY,      SS_ARGS(a0, a2, a4, 0, 0, 0), NO, "") \
  X(sendfile,         40, 187, COPY,      SS_ARGS(a1, a0, a3, 0, 0, 0), NO, "") \
  X(splice,          275, 313, COPY,      SS_ARGS(a0, a2, a4, 0, 0, 0), NO, "") \
  X(mmap,              9,  -1, MMAP_WRITE, SS_SPECIAL, PROBE, "not seccomp: the probes kill an executable mapping of a file an exec rule denies") \
  X(chdir,            80,  12, CHDIR,     SS_ARGS(SS_AT_FDCWD, a0, 0, 0, 0, 0), NO, "") \
  X(fchdir,           81, 133, CHDIR,     SS_ARGS(a0, 0, 1, 0, 0, 0), NO, "") \
  /* metadata: (dirfd or fd, path or 0, at-flags, attribute, value, value) */ \
  X(chmod,            90,  15, SETATTR,   SS_ARGS(SS_AT_FDCWD, a0, 0, SS_ATTR_MODE, a1, 0), IF, "only to a setuid or setgid mode") \
  X(fchmod,           91,  94, SETATTR,   SS_ARGS(a0, 0, SS_AT_EMPTY_PATH, SS_ATTR_MODE, a1, 0), IF, "only to a setuid or setgid mode") \
  X(fchmodat,        268, 306, SETATTR,   SS_ARGS(a0, a1, 0, SS_ATTR_MODE, a2, 0), IF, "only to a setuid or setgid mode") \
  X(fchmodat2,       452, 452, SETATTR,   SS_ARGS(a0, a1, a3, SS_ATTR_MODE, a2, 0), IF, "only to a setuid or setgid mode") \
  X(chown,            92, 212, SETATTR,   SS_ARGS(SS_AT_FDCWD, a0, 0, SS_ATTR_OWNER, a1, a2), NO, "") \
  X(fchown,           93, 207, SETATTR,   SS_ARGS(a0, 0, SS_AT_EMPTY_PATH, SS_ATTR_OWNER, a1, a2), NO, "") \
  X(lchown,           94, 198, SETATTR,   SS_ARGS(SS_AT_FDCWD, a0, SS_AT_SYMLINK_NOFOLLOW, SS_ATTR_OWNER, a1, a2), NO, "") \
  X(fchownat,        260, 298, SETATTR,   SS_ARGS(a0, a1, a4, SS_ATTR_OWNER, a2, a3), NO, "") \
  X(utime,           132,  30, SETATTR,   SS_ARGS(SS_AT_FDCWD, a0, 0, SS_ATTR_TIMES, a1, 0), NO, "") \
  X(utimes,          235, 271, SETATTR,   SS_ARGS(SS_AT_FDCWD, a0, 0, SS_ATTR_TIMES, a1, 0), NO, "") \
  X(futimesat,       261, 299, SETATTR,   SS_ARGS(a0, a1, 0, SS_ATTR_TIMES, a2, 0), NO, "") \
  X(utimensat,       280, 320, SETATTR,   SS_ARGS(a0, a1, a3, SS_ATTR_TIMES, a2, 0), NO, "") \
  X(setxattr,        188, 226, SETATTR,   SS_ARGS(SS_AT_FDCWD, a0, 0, SS_ATTR_XATTR, a1, 0), NO, "") \
  X(lsetxattr,       189, 227, SETATTR,   SS_ARGS(SS_AT_FDCWD, a0, SS_AT_SYMLINK_NOFOLLOW, SS_ATTR_XATTR, a1, 0), NO, "") \
  X(fsetxattr,       190, 228, SETATTR,   SS_ARGS(a0, 0, SS_AT_EMPTY_PATH, SS_ATTR_XATTR, a1, 0), NO, "") \
  X(removexattr,     197, 235, SETATTR,   SS_ARGS(SS_AT_FDCWD, a0, 0, SS_ATTR_XATTR, a1, 1), NO, "") \
  X(lremovexattr,    198, 236, SETATTR,   SS_ARGS(SS_AT_FDCWD, a0, SS_AT_SYMLINK_NOFOLLOW, SS_ATTR_XATTR, a1, 1), NO, "") \
  X(fremovexattr,    199, 237, SETATTR,   SS_ARGS(a0, 0, SS_AT_EMPTY_PATH, SS_ATTR_XATTR, a1, 1), NO, "") \
  X(setxattrat,      463, 463, SETATTR,   SS_ARGS(a0, a1, a2, SS_ATTR_XATTR, a3, 0), NO, "") \
  X(removexattrat,   466, 466, SETATTR,   SS_ARGS(a0, a1, a2, SS_ATTR_XATTR, a3, 1), NO, "") \
  /* network */ \
  X(socket,           41, 359, SOCKET,    SS_ARGS(a0, a1, a2, 0, 0, 0), IF, "only raw IP and packet sockets, and families other than unix, inet, inet6 and netlink") \
  X(connect,          42, 362, CONNECT,   SS_ARGS(a0, a1, a2, 0, 0, 0), NO, "") \
  X(bind,             49, 361, BIND,      SS_ARGS(a0, a1, a2, 0, 0, 0), NO, "") \
  X(listen,           50, 363, LISTEN,    SS_ARGS(a0, a1, 0, 0, 0, 0), NO, "") \
  X(sendto,           44, 369, SENDTO,    SS_SPECIAL, NO, "") \
  X(sendmsg,          46, 370, SENDTO,    SS_ARGS(a0, a1, 0, 1, 0, 0), NO, "") \
  X(sendmmsg,        307, 345, SENDTO,    SS_ARGS(a0, a1, 0, 2, 0, 0), NO, "") \
  X(write,             1,  -1, NONE,      SS_UNFOLLOWED, NO, "") \
  X(writev,           20,  -1, NONE,      SS_UNFOLLOWED, NO, "") \
  X(pwritev,         296,  -1, NONE,      SS_UNFOLLOWED, NO, "") \
  X(pwritev2,        328,  -1, NONE,      SS_UNFOLLOWED, NO, "") \
  X(setsockopt,       54,  -1, NONE,      SS_UNFOLLOWED, IF, "only IP_OPTIONS, IPv6 routing headers (source routing) and UDP_SEGMENT") \
  X(ioctl,            16,  -1, GAP,       SS_SPECIAL, IF, "only TIOCSTI, TIOCLINUX (pushing input into the terminal), TCXONC, and XFS's open and set-attributes by handle") \
  /* I/O the probes cannot see through */ \
  X(io_uring_setup,  425, 425, GAP,       SS_ARGS(SS_GAP_IO_URING_SETUP, a0, a1, a2, a3, 0), ALWAYS, "io_uring: file and network I/O no system call probe can see") \
  X(io_uring_enter,  426, 426, GAP,       SS_ARGS(SS_GAP_IO_URING_ENTER, a0, a1, a2, a3, 0), ALWAYS, "io_uring") \
  X(io_uring_register, 427, 427, GAP,     SS_ARGS(SS_GAP_IO_URING_REGISTER, a0, a1, a2, a3, 0), ALWAYS, "io_uring") \
  X(io_setup,        206, 245, GAP,       SS_ARGS(SS_GAP_AIO_SETUP, a0, a1, a2, a3, 0), ALWAYS, "AIO: file I/O the probes cannot see") \
  X(io_submit,       209, 248, GAP,       SS_ARGS(SS_GAP_AIO_SUBMIT, a0, a1, a2, a3, 0), ALWAYS, "AIO") \
  X(io_destroy,      207,  -1, NONE,      SS_UNFOLLOWED, ALWAYS, "AIO") \
  X(io_getevents,    208,  -1, NONE,      SS_UNFOLLOWED, ALWAYS, "AIO") \
  X(io_cancel,       210,  -1, NONE,      SS_UNFOLLOWED, ALWAYS, "AIO") \
  X(io_pgetevents,   333,  -1, NONE,      SS_UNFOLLOWED, ALWAYS, "AIO") \
  /* sensitive calls: recorded (raw arguments) in observe mode, refused in hardened mode */ \
  X(ptrace,          101,  26, SYSCALL,   SS_RAW, ALWAYS, "reading or steering other processes") \
  X(process_vm_readv, 310, 347, SYSCALL,  SS_RAW, ALWAYS, "reading other processes' memory") \
  X(process_vm_writev, 311, 348, SYSCALL, SS_RAW, ALWAYS, "writing other processes' memory") \
  X(bpf,             321, 357, SYSCALL,   SS_RAW, ALWAYS, "loading BPF programs: could blind the probes") \
  X(perf_event_open, 298, 336, SYSCALL,   SS_RAW, ALWAYS, "perf and BPF attachment") \
  X(mount,           165,  21, SYSCALL,   SS_RAW, ALWAYS, "changing the filesystem view") \
  X(umount2,         166,  52, SYSCALL,   SS_RAW, ALWAYS, "uncovering hidden or read-only paths") \
  X(pivot_root,      155, 217, SYSCALL,   SS_RAW, ALWAYS, "changing the filesystem root") \
  X(open_tree,       428, 428, SYSCALL,   SS_RAW, ALWAYS, "the new mount API") \
  X(move_mount,      429, 429, SYSCALL,   SS_RAW, ALWAYS, "the new mount API") \
  X(fsopen,          430, 430, SYSCALL,   SS_RAW, ALWAYS, "the new mount API") \
  X(fsconfig,        431, 431, SYSCALL,   SS_RAW, ALWAYS, "the new mount API") \
  X(fsmount,         432, 432, SYSCALL,   SS_RAW, ALWAYS, "the new mount API") \
  X(fspick,          433, 433, SYSCALL,   SS_RAW, ALWAYS, "the new mount API") \
  X(mount_setattr,   442, 442, SYSCALL,   SS_RAW, ALWAYS, "making read-only mounts writable") \
  X(unshare,         272, 310, SYSCALL,   SS_RAW, ALWAYS, "new namespaces (user namespaces would regain capabilities)") \
  X(setns,           308, 346, SYSCALL,   SS_RAW, ALWAYS, "entering other namespaces") \
  X(kexec_load,      246, 283, SYSCALL,   SS_RAW, ALWAYS, "replacing the kernel") \
  X(kexec_file_load, 320,  -1, SYSCALL,   SS_RAW, ALWAYS, "replacing the kernel") \
  X(init_module,     175, 128, SYSCALL,   SS_RAW, ALWAYS, "loading kernel modules") \
  X(finit_module,    313, 350, SYSCALL,   SS_RAW, ALWAYS, "loading kernel modules") \
  X(delete_module,   176, 129, SYSCALL,   SS_RAW, ALWAYS, "unloading kernel modules") \
  X(keyctl,          250, 288, SYSCALL,   SS_RAW, ALWAYS, "the kernel keyrings (shared secrets)") \
  X(add_key,         248, 286, SYSCALL,   SS_RAW, ALWAYS, "the kernel keyrings") \
  X(request_key,     249, 287, SYSCALL,   SS_RAW, ALWAYS, "the kernel keyrings") \
  X(userfaultfd,     323, 374, SYSCALL,   SS_RAW, ALWAYS, "stalling the kernel mid-copy (race amplifier)") \
  X(acct,            163,  51, SYSCALL,   SS_RAW, ALWAYS, "process accounting: the kernel appends to a file of the caller's choosing") \
  X(fanotify_init,   300, 338, SYSCALL,   SS_RAW, ALWAYS, "fanotify: the kernel opens files for the listener, with no open system call") \
  X(pidfd_getfd,     438, 438, SYSCALL,   SS_RAW, ALWAYS, "taking another process's open files") \
  X(clone,            56, 120, SYSCALL,   SS_SPECIAL, IF, "only with namespace flags (CLONE_NEWUSER, CLONE_NEWNS, ...)") \
  X(clone3,          435, 435, SYSCALL,   SS_SPECIAL, ENOSYS, "ENOSYS, so libc falls back to clone, whose flags can be checked") \
  X(personality,     135,  -1, NONE,      SS_UNFOLLOWED, IF, "only READ_IMPLIES_EXEC (every readable mapping executable)")
/* clang-format on */

#define SS_RAW SS_ARGS(a0, a1, a2, a3, a4, a5)

enum ss_deny_mode { SS_DENY_NO, SS_DENY_ALWAYS, SS_DENY_IF, SS_DENY_ENOSYS, SS_DENY_PROBE };

/* The NR_* constants (x86_64 numbers) */
enum ss_syscall_nr {
#define SS_NR_ENUM(name, nr64, nr32, kind, shape, deny, why) NR_##name = nr64,
  SS_SYSCALLS(SS_NR_ENUM)
#undef SS_NR_ENUM
};

/* The conditional refusals (deny IF): a call is refused when all comparisons of one of its rows
 * hold. The comparisons are those seccomp can make; each reads one argument register.
 *   EQ32         (u32)a == value            the argument is an int: its upper half is garbage
 *                                           the kernel ignores (seccomp compares 64 bits, so a
 *                                           plain EQ would let 0x1_00000011 through as 17)
 *   MASKED_EQ    (a & mask) == value        mask within the low 32 bits
 *   GT           a > value (64 bits)        refuses a garbage upper half too: never less
 */
enum ss_cmp_op { SS_CMP_NONE = 0, SS_CMP_EQ32 = 1, SS_CMP_MASKED_EQ = 2, SS_CMP_GT = 3 };

struct ss_deny_cmp {
  __u32 arg;
  __u32 op;
  __u64 mask;
  __u64 value;
};

struct ss_deny_rule {
  __u32 nr;
  __u32 ncmp;
  struct ss_deny_cmp cmp[2];
};

#define SS_EQ32(arg, v) {arg, SS_CMP_EQ32, 0xffffffffULL, v}
#define SS_MASKED(arg, m, v) {arg, SS_CMP_MASKED_EQ, m, v}
#define SS_GT(arg, v) {arg, SS_CMP_GT, 0, v}
#define SS_NOCMP {0, SS_CMP_NONE, 0, 0}
#define SS_SETID_RULES(name, arg) \
  {NR_##name, 1, {SS_MASKED(arg, 04000, 04000), SS_NOCMP}}, \
  {NR_##name, 1, {SS_MASKED(arg, 02000, 02000), SS_NOCMP}}

/* clang-format off */
static const struct ss_deny_rule ss_deny_rules[] = {
  /* clone with a namespace flag: NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET */
  {NR_clone, 1, {SS_MASKED(0, 0x00020000, 0x00020000), SS_NOCMP}},
  {NR_clone, 1, {SS_MASKED(0, 0x02000000, 0x02000000), SS_NOCMP}},
  {NR_clone, 1, {SS_MASKED(0, 0x04000000, 0x04000000), SS_NOCMP}},
  {NR_clone, 1, {SS_MASKED(0, 0x08000000, 0x08000000), SS_NOCMP}},
  {NR_clone, 1, {SS_MASKED(0, 0x10000000, 0x10000000), SS_NOCMP}},
  {NR_clone, 1, {SS_MASKED(0, 0x20000000, 0x20000000), SS_NOCMP}},
  {NR_clone, 1, {SS_MASKED(0, 0x40000000, 0x40000000), SS_NOCMP}},
  /* packet sockets, raw inet sockets (netlink's SOCK_RAW is how glibc asks the kernel), the
   * obsolete SOCK_PACKET type, and families a build has no use for and the network guard does
   * not see (vsock, TIPC, RDS, CAN, bluetooth, PF_KEY, XDP ...): unix, inet, inet6, netlink pass */
  {NR_socket, 1, {SS_EQ32(0, 17), SS_NOCMP}},
  {NR_socket, 2, {SS_EQ32(0, 2), SS_MASKED(1, 0xf, 3)}},
  {NR_socket, 2, {SS_EQ32(0, 10), SS_MASKED(1, 0xf, 3)}},
  {NR_socket, 1, {SS_MASKED(1, 0xf, 10), SS_NOCMP}},
  {NR_socket, 1, {SS_GT(0, 17), SS_NOCMP}},
  {NR_socket, 1, {SS_EQ32(0, 3), SS_NOCMP}},
  {NR_socket, 1, {SS_EQ32(0, 4), SS_NOCMP}},
  {NR_socket, 1, {SS_EQ32(0, 5), SS_NOCMP}},
  {NR_socket, 1, {SS_EQ32(0, 6), SS_NOCMP}},
  {NR_socket, 1, {SS_EQ32(0, 7), SS_NOCMP}},
  {NR_socket, 1, {SS_EQ32(0, 8), SS_NOCMP}},
  {NR_socket, 1, {SS_EQ32(0, 9), SS_NOCMP}},
  {NR_socket, 1, {SS_EQ32(0, 11), SS_NOCMP}},
  {NR_socket, 1, {SS_EQ32(0, 12), SS_NOCMP}},
  {NR_socket, 1, {SS_EQ32(0, 13), SS_NOCMP}},
  {NR_socket, 1, {SS_EQ32(0, 14), SS_NOCMP}},
  {NR_socket, 1, {SS_EQ32(0, 15), SS_NOCMP}},
  /* source routing (a packet would go elsewhere than the address the network guard checked) and
   * UDP GSO (several datagrams sent as one, of which the DNS guard reads the first) */
  {NR_setsockopt, 2, {SS_EQ32(1, 0 /* IPPROTO_IP */), SS_EQ32(2, 4 /* IP_OPTIONS */)}},
  {NR_setsockopt, 2, {SS_EQ32(1, 41 /* IPPROTO_IPV6 */), SS_EQ32(2, 57 /* IPV6_RTHDR */)}},
  {NR_setsockopt, 2, {SS_EQ32(1, 41), SS_EQ32(2, 5 /* IPV6_2292RTHDR */)}},
  {NR_setsockopt, 2, {SS_EQ32(1, 17 /* IPPROTO_UDP */), SS_EQ32(2, 103 /* UDP_SEGMENT */)}},
  /* terminal ioctls that reach past the step (the request is an unsigned int) */
  {NR_ioctl, 1, {SS_EQ32(1, 0x5412 /* TIOCSTI */), SS_NOCMP}},
  {NR_ioctl, 1, {SS_EQ32(1, 0x541C /* TIOCLINUX */), SS_NOCMP}},
  {NR_ioctl, 1, {SS_EQ32(1, 0x540A /* TCXONC */), SS_NOCMP}},
  /* XFS handle calls that open a file, or set its attributes, with no path and no open system
   * call (the i386 variants: every i386 call is refused) */
  {NR_ioctl, 1, {SS_EQ32(1, SS_XFS_IOC_OPEN_BY_HANDLE), SS_NOCMP}},
  {NR_ioctl, 1, {SS_EQ32(1, SS_XFS_IOC_ATTRMULTI_BY_HANDLE), SS_NOCMP}},
  /* ICMP "ping" sockets: neither raw nor UDP, so neither rule above nor the network guard's UDP
   * check sees the echo requests they send */
  {NR_socket, 2, {SS_MASKED(1, 0xf, 2 /* SOCK_DGRAM */), SS_EQ32(2, 1 /* IPPROTO_ICMP */)}},
  {NR_socket, 2, {SS_MASKED(1, 0xf, 2), SS_EQ32(2, 58 /* IPPROTO_ICMPV6 */)}},
  /* setuid and setgid files: the step runs as root and owns what it makes */
  SS_SETID_RULES(chmod, 1), SS_SETID_RULES(fchmod, 1), SS_SETID_RULES(fchmodat, 2),
  SS_SETID_RULES(fchmodat2, 2), SS_SETID_RULES(open, 2), SS_SETID_RULES(openat, 3),
  SS_SETID_RULES(creat, 1), SS_SETID_RULES(mknod, 1), SS_SETID_RULES(mknodat, 2),
  /* READ_IMPLIES_EXEC (not the 0xffffffff query) */
  {NR_personality, 1, {SS_MASKED(0, 0x80400000, 0x00400000), SS_NOCMP}},
};
/* clang-format on */

#define SS_DENY_RULE_COUNT ((int)(sizeof(ss_deny_rules) / sizeof(ss_deny_rules[0])))

static inline __u64 ss_arg(const __u64 a[6], __u32 i)
{
  switch (i) {
  case 0: return a[0];
  case 1: return a[1];
  case 2: return a[2];
  case 3: return a[3];
  case 4: return a[4];
  default: return a[5];
  }
}

static inline int ss_cmp_holds(const struct ss_deny_cmp *c, const __u64 a[6])
{
  __u64 v = ss_arg(a, c->arg);
  switch (c->op) {
  case SS_CMP_EQ32:
  case SS_CMP_MASKED_EQ: return (v & c->mask) == c->value;
  case SS_CMP_GT: return v > c->value;
  default: return 1;
  }
}

/* Whether hardened mode's filter refuses x86_64 call nr with raw arguments a[] with EPERM (the
 * BPF side uses it to tell a refusal from an ordinary EPERM; a unit test runs the real filter
 * against it). Calls that are not conditional: their deny mode alone decides. */
static inline int ss_refused_with(long nr, const __u64 a[6])
{
  for (int i = 0; i < SS_DENY_RULE_COUNT; i++) {
    const struct ss_deny_rule *r = &ss_deny_rules[i];
    if ((long)r->nr != nr)
      continue;
    if (ss_cmp_holds(&r->cmp[0], a) && (r->ncmp < 2 || ss_cmp_holds(&r->cmp[1], a)))
      return 1;
  }
  return 0;
}

#endif /* STEPSEAL_SYSCALL_TABLE_H */
