/* bpf_load
 * bpf(BPF_PROG_LOAD) of the smallest valid program: a socket filter "r0 = 0; exit". It is never
 * attached, and closing its fd unloads it. Prints "prog_load RESULT", RESULT being "ok" or the
 * errno name. Exits 0 once the line is printed: the outcome is the output, not the exit status.
 */
#define _GNU_SOURCE
#include <linux/bpf.h>
#include <stdint.h>
#include <sys/syscall.h>

#include "prog_util.h"

int main(void) {
  struct bpf_insn insns[2];
  memset(insns, 0, sizeof insns);
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K; /* r0 = 0 */
  insns[0].dst_reg = BPF_REG_0;
  insns[0].imm = 0;
  insns[1].code = BPF_JMP | BPF_EXIT; /* exit */

  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insns = (uint64_t)(uintptr_t)insns;
  attr.insn_cnt = 2;
  attr.license = (uint64_t)(uintptr_t) "GPL";

  long fd = syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  printf("prog_load %s\n", fd >= 0 ? "ok" : strerrorname_np(errno));
  if (fd >= 0) close((int)fd);
  return fflush(stdout) == 0 ? 0 : 1;
}
