// SPDX-License-Identifier: GPL-2.0
/*
 * stepseal.bpf.c - the probes. Raw BTF tracepoints only (tp_btf): no kprobes, fentry or LSM,
 * no tracefs (see ../shared/machine-notes.md).
 *
 *   sched_process_fork  follow every descendant (by tgid), threads included
 *   sched_process_exec  the binary the kernel really ran (bprm->file), argv, cwd
 *   sched_process_exit  exit status; stop following
 *   sys_enter           classify + normalise the call, park its arguments by thread id
 *   sys_exit            build the event with the result, paths from kernel objects; in
 *                       hardened mode also the calls the seccomp deny-list refused (they
 *                       never reach sys_enter)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "maps.h"
#include "helpers.h"
#include "syscalls.h"
#include "file_ops.h"
#include "net_ops.h"
#include "dns_ops.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline int is_traced(__u32 tgid)
{
  __u32 *v = bpf_map_lookup_elem(&tracked, &tgid);
  return v && SS_TRACK_HOW(*v) == SS_TRACK_PROC;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
  __u32 ptgid = parent->tgid;
  __u32 ctgid = child->tgid;
  __u32 *v = bpf_map_lookup_elem(&tracked, &ptgid);
  struct builder b;

  if (!v)
    return 0;
  if (ctgid == ptgid && !(*v & SS_TRACK_OWN_MNTNS) &&
      BPF_CORE_READ(parent, nsproxy, mnt_ns) != BPF_CORE_READ(child, nsproxy, mnt_ns))
    __sync_fetch_and_or(v, SS_TRACK_OWN_MNTNS); /* a thread with CLONE_NEWNS: the process is */
  if (ctgid != ptgid) {
    __u32 val = SS_TRACK_VALUE(SS_TRACK_PROC, SS_TRACK_STEP(*v)); /* the parent's step */
    /* a child in another mount namespace than its parent's (clone with CLONE_NEWNS), or of a
     * parent that already was: its names are not the ones stepseal resolves */
    if ((*v & SS_TRACK_OWN_MNTNS) ||
        BPF_CORE_READ(parent, nsproxy, mnt_ns) != BPF_CORE_READ(child, nsproxy, mnt_ns))
      val |= SS_TRACK_OWN_MNTNS;
    if (bpf_map_update_elem(&tracked, &ctgid, &val, BPF_ANY) < 0) {
      count(SS_C_LOST_TRACK);
      return 0;
    }
  }
  if (builder_open(&b, SS_K_FORK, ptgid, parent->pid) < 0)
    return 0;
  b.s->ev.args[0] = ctgid;
  b.s->ev.args[1] = child->pid;
  b.s->ev.args[2] = ctgid == ptgid;
  builder_emit(&b);
  return 0;
}

struct interp_ctx {
  struct file *file;
};

static long interp_vma(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
  struct interp_ctx *c = data;
  struct file *f = BPF_CORE_READ(vma, vm_file);
  c->file = f;
  return 0;
}

/* The ELF interpreter is opened and mapped by the kernel inside execve: no openat shows it.
 * Its load address is AT_BASE in the auxv the kernel built; the mapping there is the file. */
static __always_inline void emit_interp(struct task_struct *p, __u32 tgid)
{
  struct mm_struct *mm = BPF_CORE_READ(p, mm);
  unsigned long pair[2], base = 0;
  struct interp_ctx c = {};
  struct builder b;

  for (int i = 0; i < 28; i++) {
    if (bpf_probe_read_kernel(pair, sizeof(pair), &mm->saved_auxv[2 * i]) < 0 || pair[0] == 0)
      break;
    if (pair[0] == 7 /* AT_BASE */) {
      base = pair[1];
      break;
    }
  }
  if (!base)
    return; /* a static binary: no interpreter */
  bpf_find_vma(p, base, interp_vma, &c, 0);
  struct file *f = c.file; /* a plain local: CO-RE must not relocate interp_ctx */
  if (!f || builder_open(&b, SS_K_EXEC_INTERP, tgid, p->pid) < 0)
    return;
  b.s->ev.args[0] = base;
  put_path(&b, SS_B_OBJ, &f->f_path);
  put_inode(&b, BPF_CORE_READ(f, f_inode));
  builder_emit(&b);
}

static __always_inline int exec_refused(struct inode *ino)
{
  struct ss_exec_key k = {};
  k.dev = BPF_CORE_READ(ino, i_sb, s_dev);
  k.ino = BPF_CORE_READ(ino, i_ino);
  if (bpf_map_lookup_elem(&exec_deny, &k))
    return 1;
  return exec_allowlist && !bpf_map_lookup_elem(&exec_allow, &k);
}

#define PROT_EXEC 0x4
#define EPERM_ 1

static __always_inline void deny_exec_mapping(struct task_struct *t, long fd, __u64 pid_tgid)
{
  struct file *f = fd_file(t, fd);
  if (!f)
    return;
  struct inode *ino = BPF_CORE_READ(f, f_inode);
  struct ss_exec_key k = {};
  k.dev = BPF_CORE_READ(ino, i_sb, s_dev);
  k.ino = BPF_CORE_READ(ino, i_ino);
  if (!bpf_map_lookup_elem(&exec_deny, &k))
    return;
  bpf_send_signal(9);
  struct builder b;
  if (builder_open(&b, SS_K_SYSCALL, pid_tgid >> 32, (__u32)pid_tgid) < 0)
    return;
  b.s->ev.flags |= SS_F_DENIED;
  b.s->ev.nr = NR_mmap;
  b.s->ev.ret = -EPERM_;
  b.s->ev.args[4] = fd;
  put_path(&b, SS_B_OBJ, &f->f_path);
  put_inode(&b, ino);
  builder_emit(&b);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
  __u32 tgid = p->tgid;
  __u32 old = old_pid;
  struct builder b;

  if (!is_traced(tgid))
    return 0;
  /* the execve's own sys_exit must not report it: it succeeded, and this is the record */
  bpf_map_delete_elem(&inflight, &old);
  struct file *f = BPF_CORE_READ(bprm, file);
  /* the kill comes first: it must not depend on there being room to record it */
  int refused = hardened && exec_refused(BPF_CORE_READ(f, f_inode));
  if (refused)
    bpf_send_signal(9); /* SIGKILL: the new image never runs */
  if (builder_open(&b, SS_K_EXEC, tgid, p->pid) < 0)
    return 0;
  b.s->ev.args[0] = old_pid;
  put_path(&b, SS_B_OBJ, &f->f_path);
  put_inode(&b, BPF_CORE_READ(f, f_inode));
  if (refused)
    b.s->ev.flags |= SS_F_DENIED;
  struct fs_struct *fs = BPF_CORE_READ(p, fs);
  put_path(&b, SS_B_DIR1, &fs->pwd);
  const char *filename = BPF_CORE_READ(bprm, filename);
  const char *interp = BPF_CORE_READ(bprm, interp);
  put_kernel_str(&b, SS_B_STR1, filename);
  if (interp != filename)
    put_kernel_str(&b, SS_B_STR2, interp);

  /* argv as the new image sees it, from the kernel-built stack: [arg_start, arg_end) */
  unsigned long start = BPF_CORE_READ(p, mm, arg_start);
  unsigned long end = BPF_CORE_READ(p, mm, arg_end);
  __u32 first = b.off;
  unsigned long len = end > start ? end - start : 0;
  if (len > SS_ARGV_MAX) {
    len = SS_ARGV_MAX;
    blob_trunc(&b, SS_B_EXTRA);
  }
  for (int i = 0; i < SS_ARGV_MAX / SS_PATH_MAX && len > 0; i++) {
    __u32 off = b.off;
    __u32 chunk = len > SS_PATH_MAX ? SS_PATH_MAX : len;
    if (off > SS_DATA_MAX || chunk == 0) {
      blob_trunc(&b, SS_B_EXTRA);
      break;
    }
    if (bpf_probe_read_user(&b.s->data[off], chunk, (void *)start) < 0) {
      b.s->ev.blob_flags[SS_B_EXTRA] |= SS_BF_READFAIL;
      count(SS_C_READ_FAIL);
      break;
    }
    b.off = off + chunk;
    start += chunk;
    len -= chunk;
  }
  blob_end(&b, SS_B_EXTRA, first);
  builder_emit(&b);
  emit_interp(p, tgid);
  return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p, bool group_dead)
{
  __u32 tid = p->pid;
  __u32 tgid = p->tgid;
  struct builder b;

  bpf_map_delete_elem(&inflight, &tid);
  __u32 *v = bpf_map_lookup_elem(&tracked, &tgid);
  if (!v || !group_dead)
    return 0;
  if (SS_TRACK_HOW(*v) == SS_TRACK_PROC && builder_open(&b, SS_K_EXIT, tgid, tid) == 0) {
    b.s->ev.ret = p->exit_code;
    b.s->ev.args[0] = 1;
    builder_emit(&b);
  }
  bpf_map_delete_elem(&tracked, &tgid);
  return 0;
}

static __always_inline int is_denied(long nr)
{
  __u32 k = (__u32)nr;
  if (nr < 0 || nr >= SS_NR_MAX)
    return 0;
  __u8 *v = bpf_map_lookup_elem(&denied, &k);
  return v && *v;
}

#define X32_SYSCALL_BIT 0x40000000 /* an x32 call: refused whole by the filter (bad arch) */

/* For the calls hardened mode's filter refuses only with certain arguments: whether these are
 * such arguments (the rules are in include/stepseal/syscall_table.h, shared with the filter).
 * Others: always. */
static __always_inline int refused_with(long nr, struct pt_regs *regs)
{
  __u64 a[6] = {regs->di, regs->si, regs->dx, regs->r10, regs->r8, regs->r9};
  switch (nr) {
#define SS_IF_CASE(name, nr64, nr32, kind, shape, deny, why) \
  case nr64: if (SS_DENY_##deny == SS_DENY_IF) return ss_refused_with(nr, a); break;
  SS_SYSCALLS(SS_IF_CASE)
#undef SS_IF_CASE
  }
  return 1;
}

/* A call the seccomp deny-list refused: it never reached sys_enter, so its record is made here,
 * with the raw arguments (i386 registers for an int 0x80 call). */
static __always_inline void emit_denied(struct pt_regs *regs, long nr, int compat, __u64 pid_tgid)
{
  struct builder b;
  if (!compat && !refused_with(nr, regs))
    return; /* a call the filter refuses only with some arguments, failing for another reason */
  if (!is_traced(pid_tgid >> 32) || builder_open(&b, SS_K_SYSCALL, pid_tgid >> 32, (__u32)pid_tgid) < 0)
    return;
  b.s->ev.flags |= SS_F_DENIED | (compat ? SS_F_COMPAT : 0);
  b.s->ev.nr = nr;
  b.s->ev.ret = -EPERM_;
  if (compat) {
    b.s->ev.args[0] = regs->bx; b.s->ev.args[1] = regs->cx; b.s->ev.args[2] = regs->dx;
    b.s->ev.args[3] = regs->si; b.s->ev.args[4] = regs->di; b.s->ev.args[5] = regs->bp;
  } else {
    b.s->ev.args[0] = regs->di; b.s->ev.args[1] = regs->si; b.s->ev.args[2] = regs->dx;
    b.s->ev.args[3] = regs->r10; b.s->ev.args[4] = regs->r8; b.s->ev.args[5] = regs->r9;
  }
  builder_emit(&b);
}

/* A connected unix stream socket whose listener is a process outside the step's pid namespace:
 * the path checks of the cgroup guard compare text, and a symlink in a writable directory can
 * lead elsewhere. The kernel copied the listener's pid into sk_peer_pid at connect. */
static __always_inline int foreign_unix_peer(struct task_struct *t, long fd)
{
  struct sock *sk = fd_sock(t, fd);
  if (!sk || BPF_CORE_READ(sk, __sk_common.skc_family) != 1 /* AF_UNIX */)
    return 0;
  struct pid *pp = BPF_CORE_READ(sk, sk_peer_pid);
  __u32 zero = 0;
  __u32 *want = bpf_map_lookup_elem(&step_pidns, &zero);
  if (!pp || !want || !*want)
    return 0;
  unsigned int level = BPF_CORE_READ(pp, level);
  struct upid up = {};
  void *at = (void *)pp + bpf_core_field_offset(struct pid, numbers) +
             (level & 7) * bpf_core_type_size(struct upid);
  if (bpf_probe_read_kernel(&up, sizeof(up), at) < 0)
    return 0;
  unsigned int inum = BPF_CORE_READ(up.ns, ns.inum);
  return inum != *want;
}

/* After a successful PTRACE_ATTACH or PTRACE_SEIZE the new tracee is first on the caller's
 * `ptraced` list (__ptrace_link adds at the head): is it one of the step's processes? The pid
 * argument is in the caller's pid namespace, so the kernel's list is asked instead. */
static __always_inline void mark_tracee(struct builder *b, struct task_struct *t)
{
  void *head = (void *)t + bpf_core_field_offset(struct task_struct, ptraced);
  struct list_head *first = NULL;
  if (bpf_probe_read_kernel(&first, sizeof(first), head) < 0 || !first || (void *)first == head)
    return;
  struct task_struct *tracee =
      (struct task_struct *)((void *)first - bpf_core_field_offset(struct task_struct, ptrace_entry));
  __u32 tg = BPF_CORE_READ(tracee, tgid);
  b->s->ev.args[5] = tg;
  if (!is_traced(tg))
    b->s->ev.flags |= SS_F_OUTSIDE;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
  struct task_struct *t = bpf_get_current_task_btf();
  int compat = (t->thread_info.status & TS_COMPAT) != 0;
  __u64 a[6] = {};
  long nr = (int)id; /* an int, as the kernel dispatches it */

  __u64 pid_tgid = bpf_get_current_pid_tgid();
  if (compat) {
    /* i386 calls are rare system-wide: check tracking first, since socketcall and old_mmap
     * need their argument block read from user memory to be classified */
    if (!is_traced(pid_tgid >> 32))
      return 0;
    a[0] = regs->bx; a[1] = regs->cx; a[2] = regs->dx;
    a[3] = regs->si; a[4] = regs->di; a[5] = regs->bp;
    nr = compat_to_native(id, a);
    if (nr == -2) {
      count(SS_C_LOST_ARGS); /* a followed call whose argument block was unreadable */
      return 0;
    }
    if (nr < 0)
      return 0;
  }
  /* hardened: an executable mapping of a denied file (ld.so run by hand, a hand-rolled loader)
   * is as good as exec'ing it: killed before the mapping exists */
  if (hardened && !compat && nr == NR_mmap && (regs->dx & PROT_EXEC) && (int)regs->r8 >= 0 &&
      is_traced(pid_tgid >> 32))
    deny_exec_mapping(t, (int)regs->r8, pid_tgid);
  if (!compat && (nr == NR_write || nr == NR_writev || nr == NR_pwritev || nr == NR_pwritev2 ||
                  nr == NR_sendto || nr == NR_sendmsg || nr == NR_sendmmsg)) {
    if (!is_traced(pid_tgid >> 32))
      return 0;
    a[0] = regs->di; a[1] = regs->si; a[2] = regs->dx;
    a[3] = regs->r10; a[4] = regs->r8; a[5] = regs->r9;
    maybe_dns(t, nr, a, pid_tgid >> 32, (__u32)pid_tgid);
    if (nr == NR_write || nr == NR_writev || nr == NR_pwritev || nr == NR_pwritev2)
      return 0;
  }
  int kind = kind_of(nr);
  if (!kind)
    return 0;
  if (!compat && !is_traced(pid_tgid >> 32))
    return 0;
  if (!compat) {
    a[0] = regs->di; a[1] = regs->si; a[2] = regs->dx;
    a[3] = regs->r10; a[4] = regs->r8; a[5] = regs->r9;
  }
  struct inflight_call c = {};
  if (!normalize(nr, a, c.args))
    return 0;
  c.kind = kind;
  c.nr = id;
  c.flags = compat ? SS_F_COMPAT : 0;
  c.native_nr = nr;
  /* A descriptor table shared at entry: another task may swap the call's descriptors before the
   * exit probe reads them. (Shared at neither entry nor exit: no other task could have, since
   * only a task sharing the table can make another share it.) */
  if (BPF_CORE_READ(t, files, count.counter) > 1) {
    c.flags |= SS_F_FD_SHARED;
    if (kind == SS_K_TRUNCATE && c.args[3])
      c.file = (__u64)fd_file(t, (long)c.args[0]);
    else if (kind == SS_K_COPY)
      c.file = (__u64)fd_file(t, (long)c.args[1]);
    else if (kind == SS_K_SETATTR && (int)c.args[0] != AT_FDCWD &&
             (!c.args[1] || (c.args[2] & AT_EMPTY_PATH)))
      c.file = (__u64)fd_file(t, (long)c.args[0]); /* fchmod, fchown, fsetxattr ... */
  }
  c.ts_ns = bpf_ktime_get_ns();
  __u32 tid = (__u32)pid_tgid;
  if (bpf_map_update_elem(&inflight, &tid, &c, BPF_ANY) < 0)
    count(SS_C_LOST_INFLIGHT);
  return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(on_sys_exit, struct pt_regs *regs, long ret)
{
  /* Fast path for the whole system's uninteresting calls: no map lookup. (Compat calls have
   * i386 numbers here; they take the lookup.) */
  struct task_struct *task = bpf_get_current_task_btf();
  int compat = (task->thread_info.status & TS_COMPAT) != 0;
  /* the kernel dispatches on the low 32 bits of orig_ax (an int), as seccomp and sys_enter's id
   * do: the upper half is whatever the caller left there */
  long nr = (int)regs->orig_ax;
  if (!compat && !kind_of(nr) && !(hardened && (is_denied(nr) || (nr & X32_SYSCALL_BIT))))
    return 0;
  __u64 pid_tgid = bpf_get_current_pid_tgid();
  __u32 tid = (__u32)pid_tgid;
  struct inflight_call *cp = bpf_map_lookup_elem(&inflight, &tid);
  struct builder b;

  if (cp && cp->nr != (__u32)nr) {
    /* parked by another call that never reached this exit: it is lost, not this one's */
    bpf_map_delete_elem(&inflight, &tid);
    count(SS_C_LOST_INFLIGHT);
    cp = NULL;
  }

  if (!cp) {
    if (hardened && ret == -EPERM_ && (compat || is_denied(nr) || (nr & X32_SYSCALL_BIT)))
      emit_denied(regs, nr, compat, pid_tgid);
    return 0;
  }
  struct inflight_call c = *cp;
  bpf_map_delete_elem(&inflight, &tid);

  if (c.kind == SS_K_EXEC_FAIL && ret >= 0)
    return 0; /* reported by sched_process_exec */
  if (c.kind == SS_K_MMAP_WRITE && ret < 0)
    return 0;
  if (c.native_nr == NR_ioctl && ret < 0)
    return 0; /* a handle ioctl that failed opened and changed nothing */
  struct task_struct *t = cur_task();
  /* the kill comes first: it must not depend on there being room to record it */
  int foreign = hardened && c.kind == SS_K_CONNECT && ret == 0 &&
                foreign_unix_peer(t, (long)c.args[0]);
  if (foreign)
    bpf_send_signal(9); /* before the call returns: nothing is sent to the foreign peer */
  if (c.kind == SS_K_SYSCALL && ret == 0 &&
      ((c.native_nr == NR_unshare && (c.args[0] & 0x00020000 /* CLONE_NEWNS */)) ||
       c.native_nr == NR_setns)) {
    __u32 tgid = pid_tgid >> 32;
    __u32 *tv = bpf_map_lookup_elem(&tracked, &tgid);
    if (tv)
      __sync_fetch_and_or(tv, SS_TRACK_OWN_MNTNS);
  }
  if (builder_open(&b, c.kind, pid_tgid >> 32, tid) < 0)
    return 0;
  b.s->ev.flags |= c.flags;
  b.s->ev.nr = c.nr;
  b.s->ev.ret = ret;
  for (int i = 0; i < 6; i++)
    b.s->ev.args[i] = c.args[i];
  /* the event time is the call's entry: ordering follows what the process asked for */
  b.s->ev.ts_ns = c.ts_ns;

  if ((c.flags & SS_F_FD_SHARED) && c.file &&
      (((c.kind == SS_K_TRUNCATE || c.kind == SS_K_SETATTR) &&
        (__u64)fd_file(t, (long)c.args[0]) != c.file) ||
       (c.kind == SS_K_COPY && (__u64)fd_file(t, (long)c.args[1]) != c.file)))
    b.s->ev.flags |= SS_F_FD_UNCERTAIN; /* the descriptor now holds another file */
  switch (c.kind) {
  case SS_K_OPEN: on_open(&b, t, &c, ret); break;
  case SS_K_EXEC_FAIL: on_exec_fail(&b, t, &c, ret); break;
  case SS_K_RENAME:
  case SS_K_LINK: on_two_paths(&b, t, &c); break;
  case SS_K_SYMLINK: on_symlink(&b, t, &c); break;
  case SS_K_UNLINK:
  case SS_K_MKNOD:
  case SS_K_MKDIR: on_one_path(&b, t, &c); break;
  case SS_K_TRUNCATE: on_fd_or_path(&b, t, &c, c.args[3] != 0, ret); break;
  case SS_K_CHDIR: on_fd_or_path(&b, t, &c, c.args[2] != 0, ret); break;
  case SS_K_MEMFD: on_memfd(&b, t, &c, ret); break;
  case SS_K_COPY: on_copy(&b, t, &c); break;
  case SS_K_MMAP_WRITE:
    if (!on_mmap(&b, t, &c, ret)) {
      builder_close(&b);
      return 0;
    }
    break;
  case SS_K_SOCKET: break;
  case SS_K_CONNECT:
  case SS_K_BIND:
  case SS_K_SENDTO:
    if (!on_addr_call(&b, t, &c, c.flags & SS_F_COMPAT)) {
      builder_close(&b);
      return 0;
    }
    if (foreign)
      b.s->ev.flags |= SS_F_DENIED;
    break;
  case SS_K_LISTEN: on_listen(&b, t, &c); break;
  case SS_K_SETATTR: on_setattr(&b, t, &c); break;
  case SS_K_GAP: break;
  case SS_K_SYSCALL:
    if (c.native_nr == NR_ptrace && ret == 0 && (c.args[0] == 16 /* PTRACE_ATTACH */ ||
                                                 c.args[0] == 0x4206 /* PTRACE_SEIZE */))
      mark_tracee(&b, t);
    break;
  }
  builder_emit(&b);
  return 0;
}
