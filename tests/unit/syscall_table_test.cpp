// The one syscall table (include/stepseal/syscall_table.h): its numbers against the system's own
// tables, and the seccomp filter built from it against the refusal check the probes use.
//
// The agreement test installs the real filter in a child (no root needed: no_new_privs) with a
// refusal errno the kernel never returns by itself, then makes each conditionally refused call
// with argument vectors derived from the rules (each rule met, each comparison broken, int
// arguments with garbage in the upper half) and random ones. A call is refused by the kernel
// exactly when ss_refused_with() says so, or the test fails. The arguments the rules do not read
// are poisoned (a NULL path, fd -1, an invalid clone flag set) so that an allowed call fails
// harmlessly.
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "harden/seccomp_deny.h"
#include "stepseal/syscall_table.h"
#include "syscalls/denylist.h"

namespace stepseal {
namespace {

using syscalls::DenyMode;
using syscalls::syscall_table;

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452  // Linux 6.6; newer than this system's <sys/syscall.h>
#endif
#ifndef SYS_setxattrat
#define SYS_setxattrat 463  // Linux 6.13 (include/uapi/asm-generic/unistd.h, syscall_64.tbl)
#endif
#ifndef SYS_removexattrat
#define SYS_removexattrat 466  // Linux 6.13
#endif

TEST(SyscallTable, X86NumbersMatchTheSystemHeaders) {
  const std::map<std::string, long> sys = {
#define SS_SYS(name, nr64, nr32, kind, shape, deny, why) {#name, SYS_##name},
      SS_SYSCALLS(SS_SYS)
#undef SS_SYS
  };
  ASSERT_EQ(sys.size(), syscall_table().size()) << "a name appears twice";
  for (const auto& r : syscall_table()) EXPECT_EQ(r.nr64, sys.at(r.name)) << r.name;
}

// The i386 numbers against the kernel's own i386 table, read as text (it cannot be included
// beside the x86_64 one). The 32-bit-uid calls carry the suffix there (chown32).
TEST(SyscallTable, I386NumbersMatchTheKernelTable) {
  std::ifstream in("/usr/include/x86_64-linux-gnu/asm/unistd_32.h");
  ASSERT_TRUE(in) << "linux-libc-dev's asm/unistd_32.h is missing";
  std::map<std::string, int> i386;
  std::regex def(R"(#define __NR_(\w+) (\d+))");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, def)) i386[m[1]] = std::stoi(m[2]);
  }
  ASSERT_GT(i386.size(), 400u);
  int checked = 0;
  for (const auto& r : syscall_table()) {
    if (r.nr32 < 0) continue;
    std::string name = r.name;
    if (i386.count(name + "32")) name += "32";  // chown32 is chown with 32-bit ids
    if (!i386.count(name) &&
        (name == "fchmodat2" || name == "setxattrat" || name == "removexattrat"))
      continue;  // newer than these headers
    ASSERT_TRUE(i386.count(name)) << r.name << " has no i386 number";
    EXPECT_EQ(r.nr32, i386.at(name)) << r.name;
    checked++;
  }
  EXPECT_GT(checked, 60);
}

TEST(SyscallTable, NumbersAreUniqueAndFollowedCallsHaveAKind) {
  std::set<int> nr64, nr32;
  for (const auto& r : syscall_table()) {
    EXPECT_TRUE(nr64.insert(r.nr64).second) << r.name;
    if (r.nr32 >= 0) {
      EXPECT_TRUE(nr32.insert(r.nr32).second) << r.name;
      EXPECT_NE(r.kind, SS_K_NONE) << r.name << ": an i386 number for a call not followed";
    }
    if (r.deny != DenyMode::kNo) {
      EXPECT_STRNE(r.why, "") << r.name << " is denied without a why";
    }
  }
}

TEST(SyscallTable, EveryConditionalCallHasRulesAndEveryRuleACall) {
  std::set<int> conditional, ruled;
  for (const auto& r : syscall_table())
    if (r.deny == DenyMode::kIf) conditional.insert(r.nr64);
  for (const auto& d : syscalls::deny_rules()) {
    ruled.insert(static_cast<int>(d.nr));
    EXPECT_GE(d.ncmp, 1u);
    EXPECT_LE(d.ncmp, 2u);
    for (unsigned i = 0; i < d.ncmp; i++) {
      EXPECT_LT(d.cmp[i].arg, 6u);
      EXPECT_NE(d.cmp[i].op, static_cast<uint32_t>(SS_CMP_NONE));
      // seccomp compares 64 bits: a mask must keep an int argument's garbage upper half out
      if (d.cmp[i].op != SS_CMP_GT) {
        EXPECT_EQ(d.cmp[i].mask >> 32, 0u) << "rule for " << d.nr;
      }
    }
  }
  EXPECT_EQ(conditional, ruled);
}

TEST(SyscallTable, SetattrCallsAreFollowed) {
  for (const char* name : {"chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown",
                           "lchown", "fchownat", "utime", "utimes", "futimesat", "utimensat"}) {
    bool found = false;
    for (const auto& r : syscall_table())
      if (std::string(r.name) == name) {
        found = true;
        EXPECT_EQ(r.kind, SS_K_SETATTR) << name;
      }
    EXPECT_TRUE(found) << name;
  }
}

// An int argument is an int: the upper half of its register never changes the verdict.
TEST(SyscallTable, IntArgumentsIgnoreTheUpperHalf) {
  for (const auto& d : syscalls::deny_rules())
    for (unsigned i = 0; i < d.ncmp; i++) {
      if (d.cmp[i].op != SS_CMP_EQ32) continue;
      __u64 a[6] = {};
      for (unsigned j = 0; j < d.ncmp; j++) a[d.cmp[j].arg] = d.cmp[j].value;
      ASSERT_TRUE(ss_refused_with(d.nr, a)) << d.nr;
      a[d.cmp[i].arg] |= 0xdead000100000000ULL;
      EXPECT_TRUE(ss_refused_with(d.nr, a)) << "rule for " << d.nr << " arg " << d.cmp[i].arg;
    }
}

constexpr int kRefused = 3333;  // the filter's errno in this test: the kernel never returns it

struct Vector {
  int nr;
  std::array<uint64_t, 6> a;
  bool must_refuse = false;  // meets a rule, read as the kernel reads the arguments
};

// Arguments the rules do not read, chosen so that a call the filter lets through fails.
void poison(Vector& v) {
  switch (v.nr) {
    case SYS_open: case SYS_creat: case SYS_mknod: case SYS_chmod: v.a[0] = 0; break;  // NULL
    case SYS_openat: case SYS_mknodat: case SYS_fchmodat: case SYS_fchmodat2:
      v.a[0] = static_cast<uint64_t>(-1);
      v.a[1] = 0;
      break;
    case SYS_fchmod: case SYS_setsockopt: case SYS_ioctl: v.a[0] = static_cast<uint64_t>(-1); break;
    case SYS_clone: v.a[0] = (v.a[0] | 0x800 /* CLONE_SIGHAND */) & ~0x100ULL /* CLONE_VM */; break;
    default: break;
  }
}

std::vector<Vector> vectors() {
  std::vector<Vector> out;
  auto add = [&](Vector v) {
    poison(v);
    out.push_back(v);
  };
  for (const auto& d : syscalls::deny_rules()) {
    Vector meet{static_cast<int>(d.nr), {}, true};
    for (unsigned i = 0; i < d.ncmp; i++)
      meet.a[d.cmp[i].arg] = d.cmp[i].op == SS_CMP_GT ? d.cmp[i].value + 1 : d.cmp[i].value;
    add(meet);
    for (unsigned i = 0; i < d.ncmp; i++) {
      Vector broken = meet;
      broken.must_refuse = false;
      uint64_t& x = broken.a[d.cmp[i].arg];
      if (d.cmp[i].op == SS_CMP_GT) {
        x = d.cmp[i].value;
      } else {
        x ^= d.cmp[i].mask & (~d.cmp[i].mask + 1);  // flip the lowest bit the rule reads
      }
      add(broken);
      if (d.cmp[i].op == SS_CMP_EQ32) {
        Vector high = meet;
        high.a[d.cmp[i].arg] |= 0x100000000ULL;  // an int with garbage above it
        add(high);
      }
    }
  }
  std::mt19937_64 rng(20261205);
  std::set<int> nrs;
  for (const auto& d : syscalls::deny_rules()) nrs.insert(static_cast<int>(d.nr));
  for (int nr : nrs)
    for (int n = 0; n < 200; n++) {
      Vector v{nr, {}};
      for (auto& x : v.a) {
        switch (rng() % 4) {  // small values, ints, ints with garbage above, single bits
          case 0: x = rng() % 24; break;
          case 1: x = rng() & 0xffffffff; break;
          case 2: x = (rng() % 24) | (rng() << 32); break;
          default: x = 1ULL << (rng() % 64); break;
        }
      }
      add(v);
    }
  return out;
}

TEST(SyscallTable, SeccompFilterAgreesWithTheProbesRefusalCheck) {
  const std::vector<Vector> vs = vectors();
  ASSERT_GT(vs.size(), 1000u);
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(pipefd[0]);
    std::ostringstream report;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || install_deny_filter(kRefused) != 0) {
      report << "cannot install the filter\n";
    } else {
      int refused = 0, allowed = 0;
      for (const Vector& v : vs) {
        long rc = syscall(v.nr, v.a[0], v.a[1], v.a[2], v.a[3], v.a[4], v.a[5]);
        int err = rc < 0 ? errno : 0;
        if (v.nr == SYS_socket && rc >= 0) close(static_cast<int>(rc));
        bool kernel = err == kRefused;
        bool expected = syscalls::refused_with(v.nr, v.a);
        (kernel ? refused : allowed)++;
        if (v.must_refuse && !kernel)
          report << syscalls::syscall_name(v.nr, false) << " escaped with a rule's arguments\n";
        if (kernel != expected) {
          report << syscalls::syscall_name(v.nr, false) << "(" << std::hex;
          for (auto x : v.a) report << "0x" << x << ",";
          report << std::dec << ") kernel " << (kernel ? "refused" : "allowed") << " (rc " << rc
                 << " errno " << err << "), the probes' check says "
                 << (expected ? "refused" : "allowed") << "\n";
        }
      }
      // the ALWAYS calls, with arguments that are invalid whatever happens
      for (const auto& d : syscalls::denied_calls()) {
        long rc = syscall(d.nr, -1L, -1L, -1L, -1L, -1L, -1L);
        if (!(rc < 0 && errno == kRefused)) report << d.name << " was not refused\n";
      }
      report << "counts " << refused << " " << allowed << "\n";
    }
    std::string s = report.str();
    (void)!write(pipefd[1], s.data(), s.size());
    _exit(0);
  }
  close(pipefd[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(pipefd[0], buf, sizeof buf)) > 0;) out.append(buf, n);
  close(pipefd[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  auto counts = out.rfind("counts ");
  ASSERT_NE(counts, std::string::npos) << out;
  std::istringstream c(out.substr(counts + 7));
  int refused = 0, allowed = 0;
  c >> refused >> allowed;
  EXPECT_EQ(out.substr(0, counts), "") << "disagreements:\n" << out;
  EXPECT_GT(refused, 100);  // both verdicts were exercised
  EXPECT_GT(allowed, 100);
}

}  // namespace
}  // namespace stepseal
