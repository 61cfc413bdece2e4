// denylist.h - the system calls stepseal follows and hardened mode refuses, as user space sees
// the one table (include/stepseal/syscall_table.h).
//
// The seccomp filter (src/harden/seccomp_deny.cpp), the BPF map that lets the probes record a
// refused call (bpf/maps.h `denied`), the names in the summary and docs/policy.md all come from
// that table. Adding a call there is the whole change.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

struct ss_deny_rule;

namespace stepseal::syscalls {

enum class DenyMode { kNo, kAlways, kIf, kEnosys, kProbe };

// One row of the table.
struct SyscallRow {
  const char* name;  // x86_64 name
  int nr64;          // x86_64 number
  int nr32;          // i386 number when followed through int 0x80, else -1
  int kind;          // enum ss_kind it is recorded as (SS_K_NONE: not recorded)
  DenyMode deny;
  const char* why;   // deny-list entries: one line for docs and --help
};

std::span<const SyscallRow> syscall_table();

struct DeniedCall {
  const char* name;  // x86_64 name, as in the summary's "seccomp.deny:<name>" rule
  int nr;            // x86_64 number
  const char* why;   // one line for docs and --help
};

// Refused with EPERM, always. (clone is refused only with namespace flags; clone3 gets ENOSYS
// so that libc falls back to clone, whose flags seccomp can see; socket only for raw and packet
// sockets: none of them is in this list, though syscall_name knows them.)
std::span<const DeniedCall> denied_calls();

// Every x86_64 number the filter may refuse with EPERM (always or with some arguments): the
// probes' `denied` map, so that a refused call, which never reaches sys_enter, is still recorded.
std::vector<int> refusal_numbers();

// The conditional rules (deny IF rows), shared with the BPF side.
std::span<const ss_deny_rule> deny_rules();

// Whether the filter refuses x86_64 call nr with these raw arguments with EPERM.
bool refused_with(int nr, const std::array<uint64_t, 6>& args);

// "ptrace" for 101; for an i386 call (compat) "i386:<nr>", for an x32 one "x32:<nr>";
// "syscall:<nr>" when unknown.
std::string syscall_name(uint32_t nr, bool compat);

}  // namespace stepseal::syscalls
