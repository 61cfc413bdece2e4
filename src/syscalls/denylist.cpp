#include "syscalls/denylist.h"

#include <array>
#include <vector>

namespace stepseal::syscalls {

namespace {

constexpr std::array<DeniedCall, 51> kDenied{{
    {"io_uring_setup", 425, "io_uring: file and network I/O no system call probe can see"},
    {"io_uring_enter", 426, "io_uring"},
    {"io_uring_register", 427, "io_uring"},
    {"io_setup", 206, "AIO: file I/O the probes cannot see"},
    {"io_destroy", 207, "AIO"},
    {"io_getevents", 208, "AIO"},
    {"io_submit", 209, "AIO"},
    {"io_cancel", 210, "AIO"},
    {"io_pgetevents", 333, "AIO"},
    {"ptrace", 101, "reading or steering other processes"},
    {"process_vm_readv", 310, "reading other processes' memory"},
    {"process_vm_writev", 311, "writing other processes' memory"},
    {"bpf", 321, "loading BPF programs: could blind the probes"},
    {"perf_event_open", 298, "perf and BPF attachment"},
    {"mount", 165, "changing the filesystem view"},
    {"umount2", 166, "uncovering hidden or read-only paths"},
    {"pivot_root", 155, "changing the filesystem root"},
    {"open_tree", 428, "the new mount API"},
    {"move_mount", 429, "the new mount API"},
    {"fsopen", 430, "the new mount API"},
    {"fsconfig", 431, "the new mount API"},
    {"fsmount", 432, "the new mount API"},
    {"fspick", 433, "the new mount API"},
    {"mount_setattr", 442, "making read-only mounts writable"},
    {"unshare", 272, "new namespaces (user namespaces would regain capabilities)"},
    {"setns", 308, "entering other namespaces"},
    {"kexec_load", 246, "replacing the kernel"},
    {"kexec_file_load", 320, "replacing the kernel"},
    {"init_module", 175, "loading kernel modules"},
    {"finit_module", 313, "loading kernel modules"},
    {"delete_module", 176, "unloading kernel modules"},
    {"keyctl", 250, "the kernel keyrings (shared secrets)"},
    {"add_key", 248, "the kernel keyrings"},
    {"request_key", 249, "the kernel keyrings"},
    {"userfaultfd", 323, "stalling the kernel mid-copy (race amplifier)"},
    {"clone", 56, "only with namespace flags (CLONE_NEWUSER, CLONE_NEWNS, ...)", true},
    {"clone3", 435, "ENOSYS, so libc falls back to clone, whose flags can be checked", true},
    {"socket", 41, "only raw IP and packet sockets, and families other than unix, inet, inet6 and netlink", true},
    {"mmap", 9, "not seccomp: the probes kill an executable mapping of a file an exec rule denies", true},
    {"setsockopt", 54, "only IP_OPTIONS, IPv6 routing headers (source routing) and UDP_SEGMENT", true},
    {"ioctl", 16, "only TIOCSTI, TIOCLINUX (pushing input into the terminal) and TCXONC", true},
    {"chmod", 90, "only to a setuid or setgid mode", true},
    {"fchmod", 91, "only to a setuid or setgid mode", true},
    {"fchmodat", 268, "only to a setuid or setgid mode", true},
    {"fchmodat2", 452, "only to a setuid or setgid mode", true},
    {"open", 2, "only creating a setuid or setgid file", true},
    {"openat", 257, "only creating a setuid or setgid file", true},
    {"creat", 85, "only creating a setuid or setgid file", true},
    {"mknod", 133, "only a setuid or setgid mode", true},
    {"mknodat", 259, "only a setuid or setgid mode", true},
    {"personality", 135, "only READ_IMPLIES_EXEC (every readable mapping executable)", true},
}};


}  // namespace

std::span<const DeniedCall> denied_calls() {
  static const std::vector<DeniedCall> always = [] {
    std::vector<DeniedCall> v;
    for (const auto& d : kDenied)
      if (!d.conditional) v.push_back(d);
    return v;
  }();
  return always;
}

std::string syscall_name(uint32_t nr, bool compat) {
  if (compat) return "i386:" + std::to_string(nr);
  constexpr uint32_t kX32 = 0x40000000;
  if (nr >= kX32 && nr < kX32 + 1024) return "x32:" + std::to_string(nr - kX32);
  for (const auto& d : kDenied)
    if (d.nr == static_cast<int>(nr)) return d.name;
  return "syscall:" + std::to_string(nr);
}

}  // namespace stepseal::syscalls
