// denylist.h - the system calls hardened mode refuses, defined once.
//
// The seccomp filter (src/harden/seccomp_deny.cpp), the BPF map that lets the probes record a
// refused call (bpf/maps.h `denied`), the names in the summary and docs/policy.md all come from
// this table. Adding a call here is the whole change.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace stepseal::syscalls {

struct DeniedCall {
  const char* name;  // x86_64 name, as in the summary's "seccomp.deny:<name>" rule
  int nr;            // x86_64 number
  const char* why;   // one line for docs and --help
  bool conditional = false;  // refused only with certain arguments (clone, socket, chmod ...)
};

// Refused with EPERM, always. (clone is refused only with namespace flags; clone3 gets ENOSYS
// so that libc falls back to clone, whose flags seccomp can see; socket only for raw and packet
// sockets: none of them is in this list, though syscall_name knows them.)
std::span<const DeniedCall> denied_calls();

// "ptrace" for 101; for an i386 call (compat) "i386:<nr>", for an x32 one "x32:<nr>";
// "syscall:<nr>" when unknown.
std::string syscall_name(uint32_t nr, bool compat);

}  // namespace stepseal::syscalls
