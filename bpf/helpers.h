/* SPDX-License-Identifier: Apache-2.0 */
/* helpers.h - building an event: scratch buffer, blobs, kernel path walks, emission. */
#ifndef STEPSEAL_BPF_HELPERS_H
#define STEPSEAL_BPF_HELPERS_H

#include "maps.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#define AT_FDCWD -100
#define AT_EMPTY_PATH 0x1000
#define TS_COMPAT 0x0002
#define FMODE_WRITE 0x2
#define S_IFMT 00170000
#define S_IFSOCK 0140000

/* container_of(vfsmount, struct mount, mnt), with the offset relocated by CO-RE */
static __always_inline struct mount *real_mount(struct vfsmount *vm)
{
  return (struct mount *)((char *)vm - bpf_core_field_offset(struct mount, mnt));
}

/* One order of events across CPUs (ss_inode.seq): a locked add, so an event opened after another
 * event's seq was taken, on any CPU, gets a larger one. */
__u64 ss_event_seq = 0;

/* The event being built and how much blob space it has used. */
struct builder {
  struct scratch *s;
  __u32 off;
};

static __always_inline struct task_struct *cur_task(void)
{
  return (struct task_struct *)bpf_get_current_task();
}

/* Take this CPU's scratch buffer. Sleepable syscall tracepoints still run with migration
 * disabled, but a preempting task could reach the same buffer: a compare-and-swap guard turns
 * that into a counted loss instead of a corrupted event. */
static __always_inline int builder_open(struct builder *b, __u16 kind, __u32 pid, __u32 tid)
{
  __u32 zero = 0;
  struct scratch *s = bpf_map_lookup_elem(&scratch_map, &zero);
  if (!s)
    return -1;
  if (__sync_val_compare_and_swap(&s->busy, 0, 1) != 0) {
    count(SS_C_LOST_NESTED);
    return -1;
  }
  __builtin_memset(&s->ev, 0, sizeof(s->ev));
  s->ev.kind = kind;
  s->ev.pid = pid;
  s->ev.tid = tid;
  s->ev.ts_ns = bpf_ktime_get_ns();
  /* before anything of the object is read (put_inode's writer check relies on it), after the
   * call's work (at sys_exit): see SS_INO_NO_WRITER */
  s->ev.ino.seq = (__u32)(__sync_fetch_and_add(&ss_event_seq, 1) + 1);
  __u32 *tv = bpf_map_lookup_elem(&tracked, &pid); /* the process's step (a fork: the parent's) */
  s->ev.step = tv ? SS_TRACK_STEP(*tv) : 0;
  if (tv && (*tv & SS_TRACK_OWN_MNTNS))
    s->ev.flags |= SS_F_OWN_MNTNS; /* kept by every handler: they OR their flags in */
  b->s = s;
  b->off = 0;
  return 0;
}

static __always_inline void builder_close(struct builder *b)
{
  __sync_lock_test_and_set(&b->s->busy, 0);
}

static __always_inline void blob_trunc(struct builder *b, int slot)
{
  b->s->ev.blob_flags[slot] |= SS_BF_TRUNC;
  b->s->ev.flags |= SS_F_TRUNC;
  count(SS_C_TRUNC_BLOB);
}

/* Appends a NUL-terminated string (at most SS_PATH_MAX bytes) to the current blob. */
static __always_inline int append_str(struct builder *b, const void *src, int user)
{
  __u32 off = b->off;
  if (off > SS_DATA_MAX)
    return -2; /* out of event space */
  long n = user ? bpf_probe_read_user_str(&b->s->data[off], SS_PATH_MAX, src)
                : bpf_probe_read_kernel_str(&b->s->data[off], SS_PATH_MAX, src);
  if (n <= 0)
    return n == 0 ? -1 : (int)n;
  b->off = off + (__u32)n;
  return (int)n;
}

static __always_inline void blob_end(struct builder *b, int slot, __u32 start)
{
  b->s->ev.blob_len[slot] = (__u16)(b->off - start);
}

/* A user-space string argument, read at sys_exit (the page is mapped by then; see
 * machine-notes: reads at sys_enter miss ~0.6% of openat paths). */
static __always_inline void put_user_str(struct builder *b, int slot, const char *uptr)
{
  __u32 start = b->off;
  if (!uptr)
    return;
  int n = append_str(b, uptr, 1);
  if (n == -2 || n == SS_PATH_MAX) { /* no room, or longer than PATH_MAX: cut */
    blob_trunc(b, slot);
  } else if (n < 0) {
    b->s->ev.blob_flags[slot] |= SS_BF_READFAIL;
    count(SS_C_READ_FAIL);
  }
  blob_end(b, slot, start);
}

static __always_inline void put_kernel_str(struct builder *b, int slot, const char *kptr)
{
  __u32 start = b->off;
  if (!kptr)
    return;
  int n = append_str(b, kptr, 0);
  if (n < 0 || n == SS_PATH_MAX)
    blob_trunc(b, slot);
  blob_end(b, slot, start);
}

/* Raw user bytes (sockaddr), at most SS_SOCKADDR_MAX. */
static __always_inline void put_user_bytes(struct builder *b, int slot, const void *uptr, __u32 len)
{
  __u32 off = b->off;
  if (!uptr || len == 0 || off > SS_DATA_MAX)
    return;
  __u64 n = len > SS_SOCKADDR_MAX ? SS_SOCKADDR_MAX : len;
  barrier_var(n); /* a 64-bit bound the verifier sees, whatever width clang compares in */
  n &= 0xff;
  if (bpf_probe_read_user(&b->s->data[off], n, uptr) < 0) {
    b->s->ev.blob_flags[slot] |= SS_BF_READFAIL;
    count(SS_C_READ_FAIL);
    return;
  }
  b->off = off + n;
  blob_end(b, slot, off);
}

static __always_inline void put_kernel_bytes(struct builder *b, int slot, const void *src, __u32 len)
{
  __u32 off = b->off;
  if (off > SS_DATA_MAX || len == 0 || len > SS_SOCKADDR_MAX)
    return;
  if (bpf_probe_read_kernel(&b->s->data[off], len, src) < 0)
    return;
  b->off = off + len;
  blob_end(b, slot, off);
}

/* One step of a path walk; state lives in walk_ctx because bpf_loop() runs the step as a
 * callback, which the verifier checks once rather than once per unrolled iteration. */
struct walk_ctx {
  struct scratch *s;
  struct dentry *d;
  struct vfsmount *vm;
  struct mount *m;
  __u32 off;
  __u8 fl;
  __u8 done; /* reached a root, or stopped on an error; not done after the loop = too deep */
};

static long walk_step(__u32 i, void *arg)
{
  struct walk_ctx *w = arg;
  struct dentry *d = w->d;
  struct vfsmount *vm = w->vm;
  struct mount *m = w->m;
  struct dentry *mnt_root = BPF_CORE_READ(vm, mnt_root);

  if (d == mnt_root) {
    struct mount *mp = BPF_CORE_READ(m, mnt_parent);
    if (mp == m || !mp) {
      w->done = 1; /* the root of this mount namespace */
      return 1;
    }
    w->d = BPF_CORE_READ(m, mnt_mountpoint);
    w->m = mp;
    w->vm = &mp->mnt;
    return 0;
  }
  struct dentry *parent = BPF_CORE_READ(d, d_parent);
  const unsigned char *name = BPF_CORE_READ(d, d_name.name);
  __u32 off = w->off;
  if (off > SS_DATA_MAX) {
    w->fl |= SS_BF_TRUNC;
    w->done = 1;
    return 1;
  }
  long n = bpf_probe_read_kernel_str(&w->s->data[off], SS_NAME_MAX, name);
  if (n <= 0) {
    w->fl |= SS_BF_TRUNC;
    w->done = 1;
    return 1;
  }
  w->off = off + (__u32)n;
  if (d == parent) { /* a pseudo file's own root: pipe, socket, memfd, anon inode */
    w->fl |= SS_BF_PSEUDO;
    w->done = 1;
    return 1;
  }
  w->d = parent;
  return 0;
}

/* Walks a struct path up to the root of the mount tree, appending each component (leaf
 * first) - what d_path() does, without the bpf_d_path helper (LSM/fentry only). */
static __always_inline void put_path(struct builder *b, int slot, const struct path *p)
{
  struct walk_ctx w = {};
  __u32 start = b->off;
  struct dentry *leaf = BPF_CORE_READ(p, dentry);

  w.s = b->s;
  w.d = leaf;
  w.vm = BPF_CORE_READ(p, mnt);
  w.m = real_mount(w.vm);
  w.off = start;
  w.fl = SS_BF_PATH;
  if (!w.d || !w.vm)
    w.fl |= SS_BF_TRUNC;
  else
    bpf_loop(SS_PATH_DEPTH, walk_step, &w, 0);
  if (!w.done)
    w.fl |= SS_BF_TRUNC; /* deeper than we follow */
  if (leaf && !BPF_CORE_READ(leaf, d_hash.pprev) && BPF_CORE_READ(leaf, d_parent) != leaf)
    w.fl |= SS_BF_DELETED;
  if (leaf && BPF_CORE_READ(leaf, d_parent) == leaf &&
      (BPF_CORE_READ(leaf, d_flags) & 32 /* DCACHE_DISCONNECTED */))
    w.fl |= SS_BF_DISCONNECTED;
  /* the walk ended at a namespace root: is it the caller's? (/proc/PID/root/..., a detached
   * mount, an fd from another namespace: the name is then not the caller's or stepseal's) */
  struct mount *root_mnt = w.m; /* a plain local: CO-RE must not relocate walk_ctx */
  if (w.done && !(w.fl & (SS_BF_PSEUDO | SS_BF_TRUNC)) && root_mnt) {
    struct task_struct *cur = bpf_get_current_task_btf();
    struct mnt_namespace *mine = BPF_CORE_READ(cur, nsproxy, mnt_ns);
    struct mnt_namespace *theirs = BPF_CORE_READ(root_mnt, mnt_ns);
    if (mine && theirs != mine)
      w.fl |= SS_BF_FOREIGN;
  }
  b->s->ev.blob_flags[slot] |= w.fl;
  if (w.fl & SS_BF_TRUNC) {
    b->s->ev.flags |= SS_F_TRUNC;
    count(SS_C_TRUNC_BLOB);
  }
  b->off = w.off;
  blob_end(b, slot, start);
}

/* The file of descriptor `fd` (an argument register: the kernel reads an fd as an int, so only
 * the low 32 bits count, whatever the caller left above them). */
static __always_inline struct file *fd_file(struct task_struct *t, long fd)
{
  struct file *f = NULL;
  int fd32 = (int)fd;
  if (fd32 < 0)
    return NULL;
  struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
  unsigned int max = BPF_CORE_READ(fdt, max_fds);
  if ((unsigned int)fd32 >= max)
    return NULL;
  struct file **arr = BPF_CORE_READ(fdt, fd);
  bpf_probe_read_kernel(&f, sizeof(f), &arr[fd32]);
  return f;
}

/* File systems whose server decides what each reader gets (by pid, credentials, or time): what
 * stepseal's hashing thread reads there proves nothing about what the step read. */
static __always_inline int reader_dependent_fs(unsigned long magic)
{
  switch (magic) {
  case 0x65735546: /* FUSE */
  case 0x6969:     /* NFS */
  case 0xFE534D42: /* SMB2 */
  case 0xFF534D42: /* CIFS */
  case 0x517B:     /* SMB */
  case 0x01021997: /* 9p */
  case 0x00c36400: /* Ceph */
  case 0x5346414F: /* AFS */
  case 0x6B414653: /* kAFS */
  case 0x73757245: /* Coda */
  case 0x19920520: /* OrangeFS */
  case 0x7461636f: /* OCFS2 */
  case 0x01161970: /* GFS2 */
  case 0xa501fcf5: /* vbox shared folders */
  case 0x786f4256: /* vboxsf */
    return 1;
  }
  return 0;
}

static __always_inline void put_inode(struct builder *b, struct inode *ino)
{
  struct ss_inode *o = &b->s->ev.ino;
  if (!ino)
    return;
  o->dev = BPF_CORE_READ(ino, i_sb, s_dev);
  o->ino = BPF_CORE_READ(ino, i_ino);
  o->size = BPF_CORE_READ(ino, i_size);
  o->mode = BPF_CORE_READ(ino, i_mode);
  o->nlink = BPF_CORE_READ(ino, __i_nlink);
  /* Multigrain timestamps keep a "queried" flag in bit 31 of i_ctime_nsec. It is not part of
   * the time; it says someone has seen this ctime, so the kernel will give the next change a
   * strictly later one (inode_set_ctime_current): a change after now cannot hide. */
  __u32 cns = BPF_CORE_READ(ino, i_ctime_nsec);
  o->mtime_ns = BPF_CORE_READ(ino, i_mtime_sec) * 1000000000LL +
                (BPF_CORE_READ(ino, i_mtime_nsec) & 0x3fffffff);
  o->ctime_ns = BPF_CORE_READ(ino, i_ctime_sec) * 1000000000LL + (cns & 0x3fffffff);
  o->flags = (cns & 0x80000000u) ? SS_INO_CHANGE_VISIBLE : 0;
  /* read after the event's seq was taken (builder_open): a write access granted after this
   * read belongs to an event with a larger seq (docs/digests.md, "No writer") */
  int writers = BPF_CORE_READ(ino, i_writecount.counter);
  int shared_maps = BPF_CORE_READ(ino, i_mapping, i_mmap_writable.counter);
  /* a stacked file system (overlayfs, ecryptfs) counts no writer of the file beneath it: a
   * writer through the lower or upper path would not show here */
  if (writers <= 0 && shared_maps <= 0 && BPF_CORE_READ(ino, i_sb, s_stack_depth) == 0)
    o->flags |= SS_INO_NO_WRITER;
  if (reader_dependent_fs(BPF_CORE_READ(ino, i_sb, s_magic)))
    o->flags |= SS_INO_READER_DEPENDENT;
  b->s->ev.flags |= SS_F_HAS_INO;
}

/* The file behind fd as the kernel holds it: path from the dentry walk, plus inode identity. */
static __always_inline struct file *put_fd(struct builder *b, int slot, struct task_struct *t,
                                           long fd, int with_inode)
{
  struct file *f = fd_file(t, fd);
  if (!f)
    return NULL;
  put_path(b, slot, &f->f_path);
  if (with_inode)
    put_inode(b, BPF_CORE_READ(f, f_inode));
  return f;
}

/* The directory a relative path argument is resolved against: the dirfd's file, or the cwd. */
static __always_inline void put_dir(struct builder *b, int slot, struct task_struct *t, long dirfd)
{
  if (dirfd == AT_FDCWD || (int)dirfd == AT_FDCWD) {
    struct fs_struct *fs = BPF_CORE_READ(t, fs);
    put_path(b, slot, &fs->pwd);
  } else {
    struct file *f = fd_file(t, (int)dirfd);
    if (f)
      put_path(b, slot, &f->f_path);
  }
}

/* A path argument: the verbatim string, and the directory it is relative to (if relative). */
static __always_inline void put_path_arg(struct builder *b, int dir_slot, int str_slot,
                                         struct task_struct *t, long dirfd, const char *uptr)
{
  char first = 0;
  if (uptr)
    bpf_probe_read_user(&first, 1, uptr);
  if (first != '/')
    put_dir(b, dir_slot, t, dirfd);
  put_user_str(b, str_slot, uptr);
}

/* Submits the event. Every failure is counted: silent loss is what this tool exists to avoid. */
static __always_inline void builder_emit(struct builder *b)
{
  __u64 size = sizeof(struct ss_event) + b->off;
  __u64 flags = BPF_RB_NO_WAKEUP;
  if (size > sizeof(struct ss_event) + SS_DATA_MAX + SS_PATH_MAX)
    size = sizeof(struct ss_event) + SS_DATA_MAX + SS_PATH_MAX;
  b->s->ev.size = (__u32)size;
  if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + size >= wakeup_bytes)
    flags = BPF_RB_FORCE_WAKEUP;
  if (bpf_ringbuf_output(&events, b->s, size, flags) < 0)
    count(SS_C_LOST_RINGBUF);
  else
    count(SS_C_EVENTS);
  builder_close(b);
}

#endif
