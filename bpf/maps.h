/* SPDX-License-Identifier: Apache-2.0 */
/* maps.h - every map the probes use, in one place. */
#ifndef STEPSEAL_BPF_MAPS_H
#define STEPSEAL_BPF_MAPS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "stepseal/events.h"

/* Processes (by tgid) whose system calls are recorded. Filled by user space for the spawner and
 * by the fork probe for every descendant, so double forks and setsid() cannot escape. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536);
  __type(key, __u32);
  __type(value, __u32);
} tracked SEC(".maps");

/* A system call between sys_enter and sys_exit, keyed by thread id. The arguments are stored
 * normalised to the widest form of the call (open -> openat, rename -> renameat2 ...). */
struct inflight_call {
  __u64 args[6];
  __u64 ts_ns;
  __u32 nr;        /* raw number as called (i386 number for compat calls) */
  __u32 native_nr; /* the x86_64 equivalent */
  __u16 kind;      /* enum ss_kind */
  __u16 flags;     /* SS_F_COMPAT; SS_F_FD_SHARED when the descriptor table was shared at entry */
  __u64 file;      /* ftruncate, copy: the destination fd's struct file at entry (shared table) */
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 32768);
  __type(key, __u32);
  __type(value, struct inflight_call);
} inflight SEC(".maps");

/* The event under construction: too big for the 512-byte BPF stack. */
struct scratch {
  struct ss_event ev;
  char data[SS_DATA_MAX + SS_PATH_MAX];
  __u32 busy;
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct scratch);
} scratch_map SEC(".maps");

/* Per-CPU counters (enum ss_counter). User space sums them and reports LOST_* per CPU. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, SS_C__COUNT);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 16 << 20); /* resized by user space before load */
} events SEC(".maps");

/* Hardened mode: the x86_64 numbers the seccomp deny-list refuses with EPERM (value 1), filled
 * by user space from the one deny table (src/harden/denylist.cpp). A refused call never reaches
 * sys_enter; its sys_exit is recorded as a SYSCALL event with SS_F_DENIED. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, SS_NR_MAX);
  __type(key, __u32);
  __type(value, __u8);
} denied SEC(".maps");

/* Set by user space before load: nonzero when the step runs hardened (every i386 call is then
 * refused too). */
const volatile __u32 hardened = 0;

/* Hardened mode's exec rules with a path, resolved by user space to file identities. An exec of
 * a denied identity, or (with exec_allowlist) of one not allowed, is killed at
 * sched_process_exec, before the new image runs an instruction. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, struct ss_exec_key);
  __type(value, __u8);
} exec_deny SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, struct ss_exec_key);
  __type(value, __u8);
} exec_allow SEC(".maps");

const volatile __u32 exec_allowlist = 0;

/* Hardened mode: the inode number of the step's pid namespace (set once the spawner exists). A
 * unix stream socket whose listener lives in another pid namespace is served outside the step. */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} step_pidns SEC(".maps");

/* Set by user space: wake the reader only once this many bytes are waiting. Below it the reader
 * drains on its own timer, so a busy build does not pay a wake-up per event. */
const volatile __u64 wakeup_bytes = 1 << 20;

static __always_inline void count(__u32 which)
{
  __u64 *v = bpf_map_lookup_elem(&counters, &which);
  if (v)
    *v += 1;
}

#endif
