// attack_test.cpp - a step that tries to fool the record (issue 13's red-team techniques, done
// for real by tests/progs/attacks.c). Each test first checks that the technique really happened,
// then that the record is not fooled: no "exact" digest of bytes the step did not read, no
// `complete: true` over an operation the probes could not see.
#include <sys/mount.h>

#include <regex>

#include "harness.h"

namespace e2e {
namespace {

class AttackTest : public E2ETest {
 protected:
  // The number after WORD in the program's output ("raced 12"), or -1.
  static long Reported(const TracedRun& r, const std::string& word) {
    std::smatch m;
    std::regex re(word + " (-?[0-9]+)");
    return std::regex_search(r.run.out, m, re) ? std::stol(m[1]) : -1;
  }
  static const json* Gap(const Summary& s, const std::string& kind) {
    for (const auto& g : s.gaps())
      if (g.value("kind", "") == kind) return &g;
    return nullptr;
  }
};

// Finding 5: a second thread dup2()s a decoy onto the slot an open returns (or closes it) before
// the probe reads the slot at sys_exit. The decoy, only ever read, must never be shown as
// written; an open the probe could not confirm is a gap, not a silent drop.
TEST_F(AttackTest, AnFdSlotRaceNeverMisattributesAnOpen) {
  const std::string target = work("target"), decoy = work("decoy");
  WriteFile(target, "target\n");
  WriteFile(decoy, "decoy\n");
  bool raced = false;
  for (int attempt = 0; attempt < 5 && !raced; attempt++) {
    TracedRun r = Trace({Prog("attacks"), "fd_race", target, decoy, "2000"});
    ASSERT_EQ(r.run.exit_code, 0) << r.Describe();
    ASSERT_TRUE(r.parsed) << r.Describe();
    long k = Reported(r, "raced");
    ASSERT_GE(k, 0) << r.Describe();
    raced = k > 0;
    EXPECT_TRUE(r.summary.LacksAccess(decoy, "write"));
    EXPECT_TRUE(r.summary.LacksAccess(decoy, "overwrite"));
    if (Gap(r.summary, "fd_race")) {
      EXPECT_FALSE(r.summary.complete());
    } else {
      // every open was confirmed: then the target is recorded as written
      EXPECT_TRUE(r.summary.HasAccess(target, "write"));
    }
  }
  EXPECT_TRUE(raced) << "the race never happened in 5 runs: the test proved nothing";
}

// Finding 4: a dirty shared mapping, aliased by a rename. The read under the new name must not
// be exact for bytes stored later through the mapping.
TEST_F(AttackTest, ADirtyMappingFollowsTheFileAcrossARename) {
  TracedRun r = Trace({Prog("attacks"), "mmap_alias", work()});
  ASSERT_EQ(r.run.exit_code, 0) << r.Describe();
  ASSERT_NE(r.run.out.find("read AAAA456789abcdef"), std::string::npos) << r.Describe();
  const json* f = r.summary.File(work("b"));
  ASSERT_NE(f, nullptr) << Dump(r.summary.files());
  EXPECT_NE(f->value("digest_status", ""), "exact") << f->dump();
  EXPECT_FALSE(f->contains("sha256")) << f->dump();
}

// Finding 7: clone3 creating a namespace is a sensitive call like clone with the same flags.
TEST_F(AttackTest, Clone3WithANamespaceFlagIsRecorded) {
  TracedRun r = Trace({Prog("attacks"), "clone3_ns"});
  ASSERT_EQ(r.run.exit_code, 0) << r.Describe();
  ASSERT_NE(r.run.out.find("clone3 ok"), std::string::npos);
  EXPECT_TRUE(r.summary.HasEntry("syscalls", {{"name", "clone3"}, {"result", "ok"}}));
}

// Finding 7: acct() makes the kernel append to a file with no system call of the step's.
TEST_F(AttackTest, ProcessAccountingIsAKernelWrite) {
  TracedRun r = Trace({Prog("attacks"), "acct", work("acct")});
  ASSERT_EQ(r.run.exit_code, 0) << r.Describe();
  struct stat st{};
  ASSERT_EQ(stat(work("acct").c_str(), &st), 0);
  ASSERT_GT(st.st_size, 0) << "the kernel wrote no accounting record: the test proved nothing";
  EXPECT_TRUE(r.summary.HasGap({{"kind", "kernel_write"}}));
  EXPECT_FALSE(r.summary.complete());
}

// Finding 7: a core dump is a file the kernel writes into the step's tree.
TEST_F(AttackTest, ACoreDumpIsAKernelWrite) {
  TracedRun r = Trace({Prog("attacks"), "core", work()});
  ASSERT_EQ(r.run.exit_code, 0) << r.Describe();
  ASSERT_EQ(Reported(r, "core"), 1) << "no core was dumped (core_pattern: "
                                    << ReadFile("/proc/sys/kernel/core_pattern") << ")";
  EXPECT_TRUE(r.summary.HasGap({{"kind", "kernel_write"}}));
  EXPECT_FALSE(r.summary.complete());
}

// Finding 7: metadata changes (a setuid bit, faked times, extended attributes such as
// security.capability) are changes to the tree.
TEST_F(AttackTest, ModeTimesAndExtendedAttributesAreRecorded) {
  WriteFile(work("f"), "x\n");
  TracedRun r = Trace({Prog("attacks"), "attrs", work("f")});
  ASSERT_EQ(r.run.exit_code, 0) << r.Describe();
  EXPECT_TRUE(r.summary.HasAccess(work("f"), "chmod"));
  EXPECT_TRUE(r.summary.HasAccess(work("f"), "times"));
  EXPECT_TRUE(r.summary.HasAccess(work("f"), "xattr"));
  const json* f = r.summary.File(work("f"));
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->value("mode_set", ""), "4755") << f->dump();
  EXPECT_EQ(f->value("xattrs_set", json::array()), json({"-user.gone", "user.stepseal"}))
      << f->dump();
}

// Finding 7: a DNS query sent with pwritev2 is a DNS query.
TEST_F(AttackTest, ADnsQuerySentWithPwritev2IsSeen) {
  TracedRun r = Trace({Prog("attacks"), "pwritev2_dns", "53"});
  ASSERT_EQ(r.run.exit_code, 0) << r.Describe();
  EXPECT_TRUE(r.summary.HasEntry("dns", {{"name", "stepseal-pwritev2.test"}, {"server", "127.0.0.1"}}));
}

// Finding 7: an AF_UNSPEC sockaddr on an IPv4 UDP socket is read by the kernel as AF_INET.
TEST_F(AttackTest, AnAfUnspecDatagramIsRecordedWithItsAddress) {
  TracedRun r = Trace({Prog("attacks"), "unspec_send", "9"});
  ASSERT_EQ(r.run.exit_code, 0) << r.Describe();
  EXPECT_TRUE(r.summary.HasNetwork({{"op", "sendto"}, {"address", "127.0.0.1"}, {"port", 9}}));
}

// Finding 3: a write through /proc/PID/root into another mount namespace is not the host's file
// of that name: no exact digest of the host file, and the record says it is not whole.
TEST_F(AttackTest, AWriteIntoAnotherMountNamespaceIsNotTheHostsFile) {
  const std::string dir = work("mnt");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  WriteFile(dir + "/f", "host\n");  // the host's file of that name, never touched
  TracedRun r = Trace({Prog("attacks"), "proc_root", dir});
  ASSERT_EQ(r.run.exit_code, 0) << r.Describe();
  ASSERT_EQ(ReadFile(dir + "/f"), "host\n");
  if (const json* f = r.summary.File(dir + "/f")) {
    EXPECT_FALSE(f->contains("sha256_after")) << f->dump();
    EXPECT_FALSE(f->contains("sha256_before")) << f->dump();
  }
  EXPECT_TRUE(r.summary.HasGap({{"kind", "foreign_namespace"}}));
  EXPECT_FALSE(r.summary.complete());
}

// Finding 6: a step that succeeds at bpf() could have changed the tracer's maps.
TEST_F(AttackTest, ASuccessfulBpfCallMakesTheRecordIncomplete) {
  TracedRun r = Trace({Prog("attacks"), "bpf_map"});
  ASSERT_EQ(r.run.exit_code, 0) << r.Describe();
  EXPECT_TRUE(r.summary.HasGap({{"kind", "tracer_evasion"}}));
  EXPECT_FALSE(r.summary.complete());
}

// Finding 6: ptrace of a process outside the step lets the step act through it: stepseal's own
// spawner (pid 1 of the step's pid namespace), which the probes do not follow. Tracing its own
// children (strace, gdb) keeps them followed, and the record whole.
TEST_F(AttackTest, APtraceAttachOutsideTheStepMakesTheRecordIncomplete) {
  TracedRun r = Trace({Prog("ptrace_attach"), "1"});
  ASSERT_EQ(r.run.exit_code, 0) << r.Describe();
  ASSERT_NE(r.run.out.find("attach ok"), std::string::npos) << r.Describe();
  EXPECT_TRUE(r.summary.HasGap({{"kind", "tracer_evasion"}}));
  EXPECT_FALSE(r.summary.complete());

  TracedRun own = Trace({Prog("ptrace_attach"), "child"});
  ASSERT_EQ(own.run.exit_code, 0) << own.Describe();
  ASSERT_NE(own.run.out.find("attach ok"), std::string::npos) << own.Describe();
  EXPECT_TRUE(CleanRun(own));
}

// Finding 2: XFS handle ioctls open a file with no open system call, and writes through that
// descriptor move no timestamps.
TEST_F(AttackTest, AnXfsOpenByHandleIsAGap) {
  if (access("/usr/sbin/mkfs.xfs", X_OK) != 0 && access("/sbin/mkfs.xfs", X_OK) != 0) {
    if (PrivilegeRequired()) FAIL() << "mkfs.xfs is missing (tools/install-deps installs xfsprogs)";
    GTEST_SKIP() << "mkfs.xfs is not installed";
  }
  const std::string image = dir() / "xfs.img", mnt = work("xfs");
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  {
    int fd = open(image.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, 320 << 20), 0);
    close(fd);
  }
  CommandResult mk = RunCommand({"/usr/sbin/mkfs.xfs", "-q", image});
  ASSERT_EQ(mk.exit_code, 0) << mk.Describe();
  CommandResult mo = RunCommand({"/usr/bin/mount", "-o", "loop", image, mnt});
  ASSERT_EQ(mo.exit_code, 0) << mo.Describe();
  struct Unmount {
    std::string m;
    ~Unmount() { umount2(m.c_str(), MNT_DETACH); }
  } unmount{mnt};
  WriteFile(mnt + "/f", "harmless\n");
  TracedRun r = Trace({Prog("attacks"), "handle_open", mnt + "/f"});
  ASSERT_EQ(r.run.exit_code, 0) << r.Describe();
  ASSERT_EQ(ReadFile(mnt + "/f"), "EVILless\n");
  EXPECT_TRUE(r.summary.HasGap({{"kind", "handle_open"}}));
  EXPECT_FALSE(r.summary.complete());
}

// An O_APPEND descriptor can rewrite earlier bytes (pwritev2 RWF_NOAPPEND): that is an
// overwrite. A plain append is not.
TEST_F(AttackTest, AnAppendDescriptorThatRewritesIsAnOverwrite) {
  WriteFile(work("rewritten"), "original content\n");
  WriteFile(work("appended"), "original content\n");
  TracedRun r = Trace({Prog("attacks"), "append", work("rewritten"), "1"});
  ASSERT_EQ(r.run.exit_code, 0) << r.Describe();
  ASSERT_EQ(ReadFile(work("rewritten")), "XXiginal content\n");
  EXPECT_TRUE(r.summary.HasAccess(work("rewritten"), "overwrite"));
  TracedRun a = Trace({Prog("attacks"), "append", work("appended"), "0"});
  ASSERT_EQ(a.run.exit_code, 0) << a.Describe();
  ASSERT_EQ(ReadFile(work("appended")), "original content\nXX");
  EXPECT_TRUE(a.summary.HasAccess(work("appended"), "write"));
  EXPECT_TRUE(a.summary.LacksAccess(work("appended"), "overwrite"));
}

// `ld.so PROGRAM`: the kernel runs the loader, the program comes in by open and mmap. The
// process names the program it really ran, and the program counts as executed.
TEST_F(AttackTest, AProgramRunThroughTheLoaderIsNamed) {
  const std::string ldso = Canonical("/lib64/ld-linux-x86-64.so.2");
  WriteFile(work("in"), "through the loader\n");
  TracedRun r = Trace({ldso, "/usr/bin/cat", work("in")});
  ASSERT_EQ(r.run.exit_code, 0) << r.Describe();
  ASSERT_EQ(r.run.out, "through the loader\n");
  auto procs = r.summary.ProcessesWhere({{"program", Canonical("/usr/bin/cat")}});
  ASSERT_EQ(procs.size(), 1u) << Dump(r.summary.processes());
  EXPECT_EQ(procs[0]->value("exe", ""), ldso);
  EXPECT_TRUE(r.summary.HasAccess(Canonical("/usr/bin/cat"), "exec"));
  const json* cat = r.summary.File(Canonical("/usr/bin/cat"));
  ASSERT_NE(cat, nullptr);
  EXPECT_EQ(cat->value("sha256", ""), Sha256Sum(Canonical("/usr/bin/cat")));
}

// Finding 8: a file opened by handle whose directory entry is not cached has no path: the record
// says so (a gap), and never invents one ("// (deleted)").
TEST_F(AttackTest, AFileOpenedByHandleWithNoPathIsSaidToHaveNone) {
  WriteFile(work("h"), "by handle\n");
  TracedRun r = Trace({Prog("attacks"), "handle_uncached", work("h")});
  ASSERT_EQ(r.run.exit_code, 0) << r.Describe();
  ASSERT_NE(r.run.out.find("handle disconnected"), std::string::npos)
      << "the dentry stayed cached: the test proved nothing\n" << r.Describe();
  for (const auto& f : r.summary.files())
    EXPECT_EQ(f.value("path", "").find("(deleted)"), std::string::npos) << f.dump();
  EXPECT_TRUE(r.summary.HasGap({{"kind", "unresolved_target"}}));
  EXPECT_FALSE(r.summary.complete());
}

// Finding 1: a FUSE file system of the step's own serves the step one program and stepseal's
// hashing thread another, under one stable identity. What any reader outside the step gets proves
// nothing: the exec's digest must not be exact (and stepseal must not hang on the server).
TEST_F(AttackTest, ContentOnAReaderDependentFileSystemIsNeverExact) {
  const std::string server = Prog("fuse_twofaced");
  if (access(server.c_str(), X_OK) != 0) {
    if (PrivilegeRequired()) FAIL() << server << " was not built (libfuse3-dev: tools/install-deps)";
    GTEST_SKIP() << "libfuse3 not available";
  }
  ASSERT_EQ(access("/dev/fuse", R_OK | W_OK), 0) << "/dev/fuse: " << strerror(errno);
  // two programs of one size: /bin/true, and /bin/true with its last byte (the section header
  // table, which no loader reads) changed
  const std::string decoy = work("decoy"), real = work("real"), mnt = work("mnt");
  std::string bytes = ReadFile(Canonical("/bin/true"));
  WriteFile(decoy, bytes);
  bytes.back() ^= 0x5a;
  WriteFile(real, bytes);
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  // The step mounts the server, runs the program, then keeps the file system up until a reader
  // outside the step has read it (the server creates the marker) or 3 s have passed: a hashing
  // thread that read it would have been fooled while it was there to be read.
  const std::string marker = work("outsider-read");
  const std::string script =
      "\"$1\" \"$2\" \"$3\" \"$4\" \"$5\" & i=0; until [ -e \"$2/prog\" ]; do i=$((i+1)); "
      "[ $i -gt 400 ] && exit 9; sleep 0.01; done; \"$2/prog\"; rc=$?; i=0; "
      "until [ -e \"$5\" ] || [ $i -gt 300 ]; do i=$((i+1)); sleep 0.01; done; "
      "umount \"$2\" || umount -l \"$2\"; kill $! 2>/dev/null; wait; exit $rc";
  TracedRun r = Trace({"/bin/sh", "-c", script, "sh", server, mnt, real, decoy, marker});
  umount2(mnt.c_str(), MNT_DETACH);  // in case the step could not
  ASSERT_EQ(r.run.exit_code, 0) << r.Describe();
  ASSERT_TRUE(r.parsed) << r.Describe();
  auto ran = r.summary.ProcessesByExe(mnt + "/prog");
  ASSERT_EQ(ran.size(), 1u) << Dump(r.summary.processes());
  EXPECT_NE(ran[0]->value("exe_digest_status", ""), "exact") << ran[0]->dump();
  EXPECT_FALSE(ran[0]->contains("exe_sha256")) << ran[0]->dump();
  const json* f = r.summary.File(mnt + "/prog");
  ASSERT_NE(f, nullptr);
  EXPECT_FALSE(f->contains("sha256")) << f->dump();
  EXPECT_EQ(f->value("digest_status", ""), "unavailable") << f->dump();
  // for that reason, not because the file was gone by the time stepseal looked
  EXPECT_NE(f->value("digest_reason", "").find("may serve each reader other bytes"),
            std::string::npos)
      << f->dump();
  // stepseal never read through the step's server (it could have stalled it, and been fooled)
  EXPECT_NE(access(marker.c_str(), F_OK), 0) << "stepseal read the FUSE file";
}

}  // namespace
}  // namespace e2e
