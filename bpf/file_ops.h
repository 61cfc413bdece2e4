/* SPDX-License-Identifier: Apache-2.0 */
/*
 * file_ops.h - sys_exit handlers for file system calls.
 *
 * Where the kernel hands back an object (an fd from open, an fd argument) the path comes from
 * that object's dentry and mount, not from the caller's string: it is what the kernel really
 * opened. Name-based calls (unlink, rename, link...) record the verbatim argument plus the
 * kernel's path of the directory it is relative to; user space joins the two.
 * Blobs must be written in slot order (OBJ, DIR1, STR1, DIR2, STR2, EXTRA).
 */
#ifndef STEPSEAL_BPF_FILE_OPS_H
#define STEPSEAL_BPF_FILE_OPS_H

#include "syscalls.h"

#define O_PATH_ 010000000

static __always_inline void on_open(struct builder *b, struct task_struct *t,
                                    const struct inflight_call *c, long ret)
{
  if (ret >= 0) {
    struct file *f = put_fd(b, SS_B_OBJ, t, ret, 1);
    if (f)
      b->s->ev.args[4] = BPF_CORE_READ(f, f_mode);
    /* The descriptor is read from the table after the call installed it: a thread sharing the
     * table may have closed it or put another file there (dup2) in between. The access mode must
     * be the one asked for; the name is compared in user space (the model). */
    if ((c->flags & SS_F_FD_SHARED) || BPF_CORE_READ(t, files, count.counter) > 1) {
      b->s->ev.flags |= SS_F_FD_SHARED;
      __u32 want = (__u32)c->args[2];
      __u32 got = f ? BPF_CORE_READ(f, f_flags) : 0;
      int ok = f != NULL;
      if (ok && (want & O_PATH_))
        ok = (got & O_PATH_) != 0;
      else if (ok)
        ok = !(got & O_PATH_) && (got & 3) == (want & 3);
      if (!ok)
        b->s->ev.flags |= SS_F_FD_UNCERTAIN;
    }
  }
  if (c->native_nr == NR_open_by_handle_at)
    return; /* no path argument: a file handle */
  put_path_arg(b, SS_B_DIR1, SS_B_STR1, t, (long)c->args[0], (const char *)c->args[1]);
}

static __always_inline void on_exec_fail(struct builder *b, struct task_struct *t,
                                         const struct inflight_call *c, long ret)
{
  if (c->args[4] & AT_EMPTY_PATH)
    put_fd(b, SS_B_OBJ, t, (long)c->args[0], 1);
  put_path_arg(b, SS_B_DIR1, SS_B_STR1, t, (long)c->args[0], (const char *)c->args[1]);
}

/* rename and link: two path arguments (and, for linkat AT_EMPTY_PATH, an fd). */
static __always_inline void on_two_paths(struct builder *b, struct task_struct *t,
                                         const struct inflight_call *c)
{
  if (c->kind == SS_K_LINK && (c->args[4] & AT_EMPTY_PATH))
    put_fd(b, SS_B_OBJ, t, (long)c->args[0], 1);
  put_path_arg(b, SS_B_DIR1, SS_B_STR1, t, (long)c->args[0], (const char *)c->args[1]);
  put_path_arg(b, SS_B_DIR2, SS_B_STR2, t, (long)c->args[2], (const char *)c->args[3]);
}

static __always_inline void on_symlink(struct builder *b, struct task_struct *t,
                                       const struct inflight_call *c)
{
  put_user_str(b, SS_B_STR1, (const char *)c->args[0]); /* target: stored verbatim */
  put_path_arg(b, SS_B_DIR2, SS_B_STR2, t, (long)c->args[1], (const char *)c->args[2]);
}

/* unlink, mkdir, mknod: one path argument relative to args[0]. */
static __always_inline void on_one_path(struct builder *b, struct task_struct *t,
                                        const struct inflight_call *c)
{
  put_path_arg(b, SS_B_DIR1, SS_B_STR1, t, (long)c->args[0], (const char *)c->args[1]);
}

/* truncate/ftruncate and chdir/fchdir share the (fd or AT_FDCWD, path or 0, ..., is_fd) form. */
static __always_inline void on_fd_or_path(struct builder *b, struct task_struct *t,
                                          const struct inflight_call *c, int is_fd, long ret)
{
  if (c->kind == SS_K_CHDIR && ret == 0) {
    struct fs_struct *fs = BPF_CORE_READ(t, fs);
    put_path(b, SS_B_OBJ, &fs->pwd); /* the cwd the kernel now holds */
    return;
  }
  if (is_fd)
    put_fd(b, SS_B_OBJ, t, (long)c->args[0], 1);
  else
    put_path_arg(b, SS_B_DIR1, SS_B_STR1, t, AT_FDCWD, (const char *)c->args[1]);
}

static __always_inline void on_memfd(struct builder *b, struct task_struct *t,
                                     const struct inflight_call *c, long ret)
{
  if (ret >= 0)
    put_fd(b, SS_B_OBJ, t, ret, 1);
  put_user_str(b, SS_B_STR1, (const char *)c->args[0]);
}

static __always_inline void on_copy(struct builder *b, struct task_struct *t,
                                    const struct inflight_call *c)
{
  put_fd(b, SS_B_OBJ, t, (long)c->args[0], 0);
  put_fd(b, SS_B_DIR2, t, (long)c->args[1], 1); /* inode: the destination */
}

struct mapped_ctx {
  struct file *file;
  unsigned long flags;
};

static long mapped_vma(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
  struct mapped_ctx *m = data;
  m->file = BPF_CORE_READ(vma, vm_file);
  m->flags = BPF_CORE_READ(vma, vm_flags);
  return 0;
}

#define VM_SHARED_ 0x08
#define VM_MAYWRITE_ 0x20

/* Only shared mappings of files opened for writing are recorded: such a mapping can be made
 * writable later with mprotect(), so PROT_WRITE at mmap time is not the whole story. The file
 * is the one the new mapping holds (found at the address the call returned), not whatever the
 * fd argument names by now: another thread may have put another file there. */
static __always_inline int on_mmap(struct builder *b, struct task_struct *t,
                                   const struct inflight_call *c, long ret)
{
  struct mapped_ctx m = {};
  if (bpf_find_vma(bpf_get_current_task_btf(), (__u64)ret, mapped_vma, &m, 0) < 0)
    return 0;
  struct file *f = m.file; /* plain locals: CO-RE must not relocate mapped_ctx */
  unsigned long vmf = m.flags;
  if (!f || !(vmf & VM_SHARED_) || !(vmf & VM_MAYWRITE_))
    return 0;
  __u32 fmode = BPF_CORE_READ(f, f_mode);
  put_path(b, SS_B_OBJ, &f->f_path);
  put_inode(b, BPF_CORE_READ(f, f_inode));
  b->s->ev.args[5] = fmode;
  return 1;
}

/* chmod, chown, utimes and their variants: (dirfd or fd, path or 0, at-flags, ...). The call acts
 * on the fd itself when it names no path (fchmod, fchown, utimensat(fd, NULL)) or an empty one
 * with AT_EMPTY_PATH. */
static __always_inline void on_setattr_target(struct builder *b, struct task_struct *t,
                                              const struct inflight_call *c);

/* chmod, chown, utimes, setxattr and their variants; an extended attribute's name goes to STR2 */
static __always_inline void on_setattr(struct builder *b, struct task_struct *t,
                                       const struct inflight_call *c)
{
  on_setattr_target(b, t, c);
  if (c->args[3] == SS_ATTR_XATTR)
    put_user_str(b, SS_B_STR2, (const char *)c->args[4]);
}

static __always_inline void on_setattr_target(struct builder *b, struct task_struct *t,
                                              const struct inflight_call *c)
{
  const char *path = (const char *)c->args[1];
  char first = 0;
  if (path && (c->args[2] & AT_EMPTY_PATH))
    bpf_probe_read_user(&first, 1, path);
  if (!path || ((c->args[2] & AT_EMPTY_PATH) && first == 0)) {
    if ((int)c->args[0] == AT_FDCWD) { /* "" relative to the cwd: the cwd itself */
      struct fs_struct *fs = BPF_CORE_READ(t, fs);
      put_path(b, SS_B_OBJ, &fs->pwd);
      return;
    }
    put_fd(b, SS_B_OBJ, t, (long)c->args[0], 1);
    return;
  }
  put_path_arg(b, SS_B_DIR1, SS_B_STR1, t, (long)c->args[0], path);
}

#endif
