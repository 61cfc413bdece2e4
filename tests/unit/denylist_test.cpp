// The hardened-mode deny-list (src/policy/denylist.h). Numbers are checked against the system's
// own x86_64 table (<sys/syscall.h>), not against values copied from the implementation.
#include <gtest/gtest.h>
#include <sys/syscall.h>

#include <map>
#include <set>
#include <string>

#include "syscalls/denylist.h"

namespace stepseal::policy {
namespace {
using syscalls::denied_calls;
using syscalls::syscall_name;

#if !defined(__x86_64__)
#error "the deny-list holds x86_64 numbers; these tests compare them with <sys/syscall.h>"
#endif

int nr_of(const std::string& name) {
  for (const auto& d : denied_calls())
    if (name == d.name) return d.nr;
  return -1;
}

TEST(DenyList, HoldsTheCallsThatWouldBlindOrEscapeTheSandbox) {
  EXPECT_EQ(nr_of("ptrace"), SYS_ptrace);
  EXPECT_EQ(nr_of("ptrace"), 101);
  EXPECT_EQ(nr_of("bpf"), SYS_bpf);
  EXPECT_EQ(nr_of("bpf"), 321);
  EXPECT_EQ(nr_of("io_uring_setup"), SYS_io_uring_setup);
  EXPECT_EQ(nr_of("io_uring_setup"), 425);
  EXPECT_EQ(nr_of("unshare"), SYS_unshare);
  EXPECT_EQ(nr_of("unshare"), 272);
  EXPECT_EQ(nr_of("mount"), SYS_mount);
  EXPECT_EQ(nr_of("mount"), 165);
  EXPECT_EQ(nr_of("setns"), SYS_setns);
  EXPECT_EQ(nr_of("process_vm_writev"), SYS_process_vm_writev);
  EXPECT_EQ(nr_of("init_module"), SYS_init_module);
  EXPECT_EQ(nr_of("finit_module"), SYS_finit_module);
  EXPECT_EQ(nr_of("kexec_load"), SYS_kexec_load);
  EXPECT_EQ(nr_of("perf_event_open"), SYS_perf_event_open);
  EXPECT_EQ(nr_of("umount2"), SYS_umount2);
  EXPECT_EQ(nr_of("pivot_root"), SYS_pivot_root);
}

TEST(DenyList, EveryNumberMatchesTheKernelTable) {
  // The x86_64 numbers from the system headers, for every name the table may use.
  const std::map<std::string, long> sys = {
      {"io_uring_setup", SYS_io_uring_setup},
      {"io_uring_enter", SYS_io_uring_enter},
      {"io_uring_register", SYS_io_uring_register},
      {"io_setup", SYS_io_setup},
      {"io_destroy", SYS_io_destroy},
      {"io_getevents", SYS_io_getevents},
      {"io_submit", SYS_io_submit},
      {"io_cancel", SYS_io_cancel},
      {"io_pgetevents", SYS_io_pgetevents},
      {"ptrace", SYS_ptrace},
      {"process_vm_readv", SYS_process_vm_readv},
      {"process_vm_writev", SYS_process_vm_writev},
      {"bpf", SYS_bpf},
      {"perf_event_open", SYS_perf_event_open},
      {"mount", SYS_mount},
      {"umount2", SYS_umount2},
      {"pivot_root", SYS_pivot_root},
      {"open_tree", SYS_open_tree},
      {"move_mount", SYS_move_mount},
      {"fsopen", SYS_fsopen},
      {"fsconfig", SYS_fsconfig},
      {"fsmount", SYS_fsmount},
      {"fspick", SYS_fspick},
      {"mount_setattr", SYS_mount_setattr},
      {"unshare", SYS_unshare},
      {"setns", SYS_setns},
      {"kexec_load", SYS_kexec_load},
      {"kexec_file_load", SYS_kexec_file_load},
      {"init_module", SYS_init_module},
      {"finit_module", SYS_finit_module},
      {"delete_module", SYS_delete_module},
      {"keyctl", SYS_keyctl},
      {"add_key", SYS_add_key},
      {"request_key", SYS_request_key},
      {"userfaultfd", SYS_userfaultfd},
      {"chroot", SYS_chroot},
      {"open_by_handle_at", SYS_open_by_handle_at},
      {"acct", SYS_acct},
      {"fanotify_init", SYS_fanotify_init},
      {"pidfd_getfd", SYS_pidfd_getfd},
  };
  ASSERT_FALSE(denied_calls().empty());
  for (const auto& d : denied_calls()) {
    auto it = sys.find(d.name);
    ASSERT_NE(it, sys.end()) << "unexpected name in the deny-list: " << d.name;
    EXPECT_EQ(d.nr, it->second) << d.name;
  }
}

TEST(DenyList, NoDuplicateNamesOrNumbers) {
  std::set<std::string> names;
  std::set<int> numbers;
  for (const auto& d : denied_calls()) {
    EXPECT_TRUE(names.insert(d.name).second) << "duplicate name " << d.name;
    EXPECT_TRUE(numbers.insert(d.nr).second) << "duplicate number " << d.nr;
  }
}

TEST(DenyList, EveryEntryExplainsItself) {
  for (const auto& d : denied_calls()) {
    ASSERT_NE(d.why, nullptr) << d.name;
    EXPECT_STRNE(d.why, "") << d.name;
  }
}

TEST(DenyList, CloneAndClone3AreNotPlainDenials) {
  // denylist.h: clone is refused only with namespace flags and clone3 with ENOSYS.
  EXPECT_EQ(nr_of("clone"), -1);
  EXPECT_EQ(nr_of("clone3"), -1);
  for (const auto& d : denied_calls()) {
    EXPECT_NE(d.nr, SYS_clone) << d.name;
    EXPECT_NE(d.nr, SYS_clone3) << d.name;
  }
}

TEST(SyscallName, NamesDeniedCalls) {
  EXPECT_EQ(syscall_name(101, false), "ptrace");
  EXPECT_EQ(syscall_name(SYS_bpf, false), "bpf");
  for (const auto& d : denied_calls()) EXPECT_EQ(syscall_name(d.nr, false), d.name);
}

TEST(SyscallName, NamesCloneAndClone3Too) {
  // SYSCALL events also record clone with namespace flags (stepseal/events.h): they need a name
  // even though they are not plain denials.
  EXPECT_EQ(syscall_name(SYS_clone, false), "clone");
  EXPECT_EQ(syscall_name(SYS_clone3, false), "clone3");
}

TEST(SyscallName, CompatCallsAreNamedByTheirI386Number) {
  EXPECT_EQ(syscall_name(5, true), "i386:5");  // open on i386, not x86_64's fstat
  // An i386 number that is also an x86_64 deny-list number is not named from the x86_64 table.
  EXPECT_EQ(syscall_name(101, true), "i386:101");
  EXPECT_EQ(syscall_name(0, true), "i386:0");
}

TEST(SyscallName, UnknownNumbers) {
  EXPECT_EQ(syscall_name(100000, false), "syscall:100000");
  EXPECT_EQ(syscall_name(SYS_read, false), "syscall:" + std::to_string(SYS_read));
  EXPECT_EQ(syscall_name(4294967295u, false), "syscall:4294967295");
}

}  // namespace
}  // namespace stepseal::policy
