/* SPDX-License-Identifier: Apache-2.0 */
/*
 * events.h - the one ABI shared by the BPF probes (bpf/) and user space (src/capture).
 *
 * Every record the kernel side emits is a `struct ss_event` followed by up to SS_MAX_BLOBS
 * variable-length blobs. The kinds are defined once, in SS_KINDS below; the enum, the decoder
 * table and the names in JSON all derive from it.
 *
 * Rules (as in falcosecurity/libs' event table):
 *   - append kinds and fields only; never reorder or reuse a value;
 *   - a change to the meaning of a kind's args or blobs is a new kind;
 *   - plain C types, explicit padding; user space static_asserts the layout.
 *
 * Blob slots have fixed roles so that decoding is uniform:
 *   SS_B_OBJ   PATH  the kernel object the call produced or acted on (fd result, fd argument,
 *                    bprm->file for exec). Absolute, from the kernel's dentry/mount walk.
 *   SS_B_DIR1  PATH  the directory a relative SS_B_STR1 is resolved against (dirfd or cwd),
 *                    walked in the kernel. Empty when STR1 is absolute.
 *   SS_B_STR1  STR   the first path argument exactly as the caller passed it (memfd: its name).
 *   SS_B_DIR2  PATH  like DIR1, for STR2; for two-fd calls (copy_file_range...) the second object.
 *   SS_B_STR2  STR   second path argument (rename/link target, exec interpreter...).
 *   SS_B_EXTRA BYTES argv (NUL separated) for exec, a raw sockaddr for network calls.
 *
 * A PATH blob holds the path's components leaf first, each NUL terminated ("c\0b\0a\0" is
 * /a/b/c); user space reverses them. This keeps the kernel walk a simple forward append.
 */
#ifndef STEPSEAL_EVENTS_H
#define STEPSEAL_EVENTS_H

#ifdef __BPF__
/* vmlinux.h provides __u8..__u64 */
#else
#include <linux/types.h>
#endif

/* X(name, json-name): the event catalogue. Values are positional: append only.
 *
 * For syscall kinds, args[] holds the call's arguments normalised to its widest form (the table
 * at the top of bpf/syscalls.h), except where noted; ret is the call's return value.
 *   FORK       args: 0 child tgid, 1 child tid, 2 is_thread. pid = the parent.
 *   EXEC       successful exec (sched_process_exec). args: 0 old pid. OBJ the file the kernel
 *              ran (bprm->file), DIR1 cwd, STR1 bprm->filename, STR2 bprm->interp when it
 *              differs (a #! script), EXTRA argv (NUL separated); ino: the executed file.
 *   EXIT       the last thread of a process exits. ret: wait status. args: 0 group_dead (1).
 *   OPEN       openat(dirfd, path, flags, mode); args 4 = f_mode of the new file (FMODE_CREATED
 *              tells a creating open). OBJ the new fd's file, DIR1+STR1 the request; ino: OBJ.
 *   EXEC_FAIL  failed execveat(dirfd, path, argv, envp, flags). DIR1+STR1; OBJ for AT_EMPTY_PATH.
 *   RENAME     renameat2(olddirfd, old, newdirfd, new, flags). DIR1+STR1 old, DIR2+STR2 new.
 *   UNLINK     unlinkat(dirfd, path, flags). DIR1+STR1.
 *   LINK       linkat(olddirfd, old, newdirfd, new, flags). OBJ old fd (AT_EMPTY_PATH),
 *              DIR1+STR1 old, DIR2+STR2 new.
 *   SYMLINK    symlinkat(target, newdirfd, linkpath). STR1 target verbatim, DIR2+STR2 link.
 *   TRUNCATE   (fd or AT_FDCWD, path or 0, length, is_fd). OBJ for ftruncate, else DIR1+STR1.
 *   MKNOD      mknodat(dirfd, path, mode, dev). DIR1+STR1.
 *   MKDIR      mkdirat(dirfd, path, mode). DIR1+STR1.
 *   MEMFD      memfd_create(name, flags). OBJ the new fd's file, STR1 name.
 *   COPY       (in_fd, out_fd, length). OBJ the source, DIR2 the destination; ino: destination.
 *   MMAP_WRITE mmap(addr, len, prot, flags, fd, off), args 5 = f_mode. Only MAP_SHARED mappings
 *              of a file opened for writing. OBJ the file.
 *   CHDIR      (fd or AT_FDCWD, path or 0, is_fd). OBJ the new cwd on success.
 *   SOCKET     socket(domain, type, protocol).
 *   CONNECT, BIND, LISTEN, SENDTO
 *              args: 0 fd, 1 sk family, 2 sk type, 3 sk protocol (from the kernel's struct
 *              sock; 0 if fd is not a socket). EXTRA the destination sockaddr (listen: the
 *              bound inet/inet6 address). SENDTO covers sendto/sendmsg/sendmmsg (first message)
 *              with a destination.
 *   GAP        a call the probes cannot see through. args: 0 enum ss_gap, 1.. raw args.
 *   EXEC_INTERP the ELF interpreter (ld.so) the kernel mapped for the exec just reported:
 *              found through AT_BASE in the new image's auxv. args: 0 AT_BASE. OBJ the file;
 *              ino: its identity. (The kernel opens it without a system call.)
 *   SYSCALL    a sensitive call that hardened mode denies (ptrace, bpf, mount, unshare, ...,
 *              clone with namespace flags): args are the raw x86_64 arguments, nr the number as
 *              called. In hardened mode the seccomp deny-list refuses the call before sys_enter,
 *              so the record is made at sys_exit with SS_F_DENIED; for an int 0x80 task every
 *              call is denied and nr is the i386 number (SS_F_COMPAT).
 *   DNS        a message to port 53 (udp or tcp), recorded at sys_enter of sendto/sendmsg/
 *              sendmmsg/write/writev on a socket. args: 0 fd, 1 sk family, 2 sk type,
 *              3 sk protocol, 4 destination port. EXTRA: the destination sockaddr when the call
 *              named one; STR2: up to SS_DNS_MAX bytes of the first buffer (the DNS message, with
 *              the 2-byte length prefix for tcp). ret is 0: the record is made before the call.
 *   DNS_LEARNED hardened mode: an address in a DNS answer from a policy resolver, for a name the
 *              policy allows; the network guard lets the step connect to it from now on. Made
 *              by the cgroup ingress program (bpf/dns_guard.h) as the answer arrives: pid and
 *              tid are 0. args: 0 family (4 or 6), 1 record type (1 A, 28 AAAA). STR2 the
 *              question's name in wire format, EXTRA the address (4 or 16 bytes).
 *   SETATTR    a change of a file's mode, owner or times (chmod, fchmod, fchmodat, fchmodat2,
 *              chown, fchown, lchown, fchownat, utime, utimes, futimesat, utimensat):
 *              (dirfd or fd, path or 0, at-flags, attribute, value, value), attribute one of
 *              SS_ATTR_* (stepseal/syscall_table.h): MODE args 4 the mode; OWNER args 4 uid,
 *              5 gid ((u32)-1 unchanged); TIMES args 4 the caller's pointer (0: now). OBJ the
 *              file when the call named an fd (no path, or AT_EMPTY_PATH with ""), else
 *              DIR1+STR1; ino: OBJ.
 */
#define SS_KINDS(X)            \
  X(NONE, "none")              \
  X(FORK, "fork")              \
  X(EXEC, "exec")              \
  X(EXIT, "exit")              \
  X(OPEN, "open")              \
  X(EXEC_FAIL, "exec")         \
  X(RENAME, "rename")          \
  X(UNLINK, "unlink")          \
  X(LINK, "link")              \
  X(SYMLINK, "symlink")        \
  X(TRUNCATE, "truncate")      \
  X(MKNOD, "mknod")            \
  X(MKDIR, "mkdir")            \
  X(MEMFD, "memfd_create")     \
  X(COPY, "copy")              \
  X(MMAP_WRITE, "mmap")        \
  X(CHDIR, "chdir")            \
  X(SOCKET, "socket")          \
  X(CONNECT, "connect")        \
  X(BIND, "bind")              \
  X(LISTEN, "listen")          \
  X(SENDTO, "sendto")          \
  X(GAP, "gap")                \
  X(EXEC_INTERP, "exec_interp") \
  X(SYSCALL, "syscall")        \
  X(DNS, "dns")                \
  X(DNS_LEARNED, "dns_learned") \
  X(SETATTR, "setattr")

enum ss_kind {
#define SS_KIND_ENUM(name, json) SS_K_##name,
  SS_KINDS(SS_KIND_ENUM)
#undef SS_KIND_ENUM
  SS_K__COUNT
};

enum ss_gap {
  SS_GAP_IO_URING_SETUP = 1,
  SS_GAP_IO_URING_ENTER = 2,
  SS_GAP_IO_URING_REGISTER = 3,
  SS_GAP_AIO_SETUP = 4,
  SS_GAP_AIO_SUBMIT = 5,
  SS_GAP_HANDLE_IOCTL = 6, /* an XFS *_BY_HANDLE ioctl succeeded: args 1.. fd, request, arg. The
                              file it opens is opened by the kernel with no open system call, and
                              writes through it move no timestamps (FMODE_NOCMTIME) */
};

enum ss_blob_slot {
  SS_B_OBJ = 0,
  SS_B_DIR1 = 1,
  SS_B_STR1 = 2,
  SS_B_DIR2 = 3,
  SS_B_STR2 = 4,
  SS_B_EXTRA = 5,
  SS_MAX_BLOBS = 6,
};

/* ss_event.flags */
#define SS_F_COMPAT 0x0001 /* the call came through the i386 entry (int 0x80 / compat task) */
#define SS_F_TRUNC 0x0002  /* some blob was cut short (see blob_flags) */
#define SS_F_HAS_INO 0x0004 /* ino holds the identity of the OBJ file */
#define SS_F_DENIED 0x0008  /* refused by hardened mode: a SYSCALL the seccomp deny-list refused,
                               or an EXEC of an executable the policy refuses (killed before its
                               first instruction) */
#define SS_F_FD_SHARED 0x0010 /* OPEN: the caller shares its descriptor table with another task
                                 (a thread), which could have replaced or closed the new
                                 descriptor before the probe read it at sys_exit */
#define SS_F_OWN_MNTNS 0x0040 /* the process entered a mount namespace of its own after stepseal
                                began following it: names in this event are resolved there, not
                                in the view stepseal hashes in (no after-digest can be taken) */
#define SS_F_OUTSIDE 0x0080  /* SYSCALL ptrace ATTACH/SEIZE: the process it attached to is not one
                                of the step's (args[5]: its tgid) */
#define SS_F_FD_UNCERTAIN 0x0020 /* OPEN: the descriptor the call returned held no file, or one
                                    whose access mode is not the one asked for, when the probe read
                                    it: OBJ and ino are not the file the call opened */

/* ss_event.blob_flags[i] */
#define SS_BF_PATH 0x01      /* blob is a PATH (components leaf first) */
#define SS_BF_TRUNC 0x02     /* cut short: too deep, too long, or no room left in the event */
#define SS_BF_PSEUDO 0x04    /* not reachable from a root: pipe, socket, memfd, anon inode */
#define SS_BF_DELETED 0x08   /* the dentry is unlinked */
#define SS_BF_READFAIL 0x10  /* user memory could not be read */
#define SS_BF_DISCONNECTED 0x40 /* PATH: the leaf is a disconnected dentry (DCACHE_DISCONNECTED:
                                   a file opened by handle whose directory entry is not cached):
                                   the kernel has no path for it */
#define SS_BF_FOREIGN 0x20   /* PATH: the walk ended at the root of a mount namespace other than
                                the calling task's (reached through /proc/PID/root, a detached
                                mount, another namespace's fd): the name means something else in
                                the caller's and in stepseal's view */

/* Inode identity of the OBJ file, taken from the kernel object at the event. */
struct ss_inode {
  __u64 dev;
  __u64 ino;
  __s64 size;
  __s64 mtime_ns;
  __s64 ctime_ns;
  __u32 mode;
  __u32 nlink;
  __u32 flags; /* SS_INO_* */
  __u32 seq;   /* the event's place in one order shared by all CPUs, taken when the event is
                  opened: at sys_exit after the call's work, before the inode is read. Set for
                  every event (journaled as a trailing field); 0 from older probes */
};

/* ss_inode.flags */
#define SS_INO_CHANGE_VISIBLE 0x1 /* multigrain ctime had been queried: any later change to the
                                     file is guaranteed to move its ctime */
#define SS_INO_NO_WRITER 0x2      /* when read (after `seq` was taken), no open file anywhere had
                                     write access to the inode (i_writecount <= 0) and no shared
                                     writable mapping existed: its content could change only
                                     through a write access granted later (docs/digests.md) */
#define SS_INO_READER_DEPENDENT 0x4 /* the file system may give another reader other bytes
                                       (FUSE, NFS, SMB, 9p, Ceph, AFS, ...): no digest stepseal
                                       takes can prove what the step read */

struct ss_event {
  __u32 size;     /* bytes, including the blobs that follow */
  __u16 kind;     /* enum ss_kind */
  __u16 flags;    /* SS_F_* */
  __u64 ts_ns;    /* CLOCK_MONOTONIC (bpf_ktime_get_ns) */
  __u32 pid;      /* thread group id */
  __u32 tid;      /* thread id */
  __s64 ret;      /* syscall return value (negative errno), or wait status for EXIT */
  __u64 args[6];  /* per-kind, see SS_KINDS */
  struct ss_inode ino;
  __u32 nr;       /* the raw syscall number as called (i386 number when SS_F_COMPAT) */
  __u16 blob_len[SS_MAX_BLOBS];
  __u8 blob_flags[SS_MAX_BLOBS];
  __u16 step;     /* the step the process belongs to (its `tracked` entry, SS_TRACK_STEP); 0 for
                     a tracer that follows one step, and for events without a process */
  /* blobs follow, in slot order, blob_len[i] bytes each */
};

/* Per-CPU counters in the `counters` map. Any nonzero LOST_* makes a record incomplete. */
enum ss_counter {
  SS_C_EVENTS = 0,         /* events submitted */
  SS_C_LOST_RINGBUF = 1,   /* bpf_ringbuf_output failed: ring full */
  SS_C_LOST_NESTED = 2,    /* scratch buffer busy (re-entry on this CPU) */
  SS_C_LOST_INFLIGHT = 3,  /* inflight map full: a syscall could not be followed to its exit */
  SS_C_LOST_TRACK = 4,     /* tracked map full: a new process could not be followed */
  SS_C_TRUNC_BLOB = 5,     /* a blob was truncated (not a loss, an imprecision) */
  SS_C_READ_FAIL = 6,      /* user memory unreadable at exit (blob flagged READFAIL) */
  SS_C_LOST_ARGS = 7,      /* an i386 socketcall/old_mmap argument block was unreadable */
  SS_C__COUNT = 8,
};

/* Key of the `exec_deny` / `exec_allow` maps: a file's identity as the kernel holds it
 * (i_sb->s_dev in the kernel's dev_t encoding, MAJOR << 20 | MINOR). */
struct ss_exec_key {
  __u64 dev;
  __u64 ino;
};

/* Values of the `tracked` map, keyed by tgid: the low byte says how, the bits above which step
 * (one attached tracer can follow several steps, each with its own root and journal; a forked
 * child inherits its parent's step). */
#define SS_TRACK_PROC 1    /* trace this process */
#define SS_TRACK_SPAWNER 2 /* do not trace this process; trace its children */
#define SS_TRACK_OWN_MNTNS 0x1000000 /* entered a mount namespace since it was first followed
                                        (clone/unshare CLONE_NEWNS, setns): see SS_F_OWN_MNTNS */
#define SS_TRACK_HOW(v) ((v) & 0xff)
#define SS_TRACK_STEP(v) ((__u16)((v) >> 8))
#define SS_TRACK_VALUE(how, step) ((__u32)(how) | ((__u32)(step) << 8))

#define SS_PATH_MAX 4096
#define SS_NAME_MAX 256
#define SS_ARGV_MAX 12288
#define SS_SOCKADDR_MAX 128
#define SS_PATH_DEPTH 48
#define SS_DNS_MAX 512
#define SS_NR_MAX 512 /* size of the `denied` map: x86_64 syscall numbers below this */
#define SS_DATA_MAX 24576 /* blob space in the per-CPU scratch buffer (+ SS_PATH_MAX slack) */

#endif /* STEPSEAL_EVENTS_H */
