// ops_test.cpp - one kernel operation per test, performed by a helper program from tests/progs
// under `stepseal run`; each test checks that the summary records that operation as the contract
// says. Every helper exits 0 only if its operations really happened, so a missing entry is the
// tracer's fault, not the helper's.
#include <unistd.h>

#include <fstream>
#include <map>

#include "harness.h"
#include "int80.h"
#include "preconditions.h"

namespace e2e {
namespace {

class OpsTest : public E2ETest {};

TEST_F(OpsTest, OpenAccessKinds) {
  WriteFile(work("existing"), "existing\n");
  WriteFile(work("to_truncate"), "to be truncated\n");
  TracedRun r = Trace({Prog("open_ops"), work()});
  ASSERT_TRUE(CleanRun(r));
  const Summary& s = r.summary;

  EXPECT_TRUE(s.HasAccess(work("existing"), "read"));
  EXPECT_TRUE(s.HasAccess(work("existing"), "write"));  // O_WRONLY|O_CREAT on an existing file
  EXPECT_TRUE(s.LacksAccess(work("existing"), "create")) << "O_CREAT did not create it";
  EXPECT_TRUE(s.HasAccess(work("created"), "create"));  // openat relative to a dirfd
  EXPECT_TRUE(s.HasAccess(work("to_truncate"), "overwrite"));
  EXPECT_TRUE(s.LacksAccess(work("to_truncate"), "create"));
  EXPECT_TRUE(s.HasAccess(work("by_creat"), "create"));
  EXPECT_TRUE(s.HasAccess(work("relative"), "create"));  // relative to the cwd after chdir
  EXPECT_TRUE(s.HasFailed(work("missing"), "open", "ENOENT"));
}

TEST_F(OpsTest, DirectoryOps) {
  TracedRun r = Trace({Prog("dir_ops"), work()});
  ASSERT_TRUE(CleanRun(r));
  const Summary& s = r.summary;

  EXPECT_TRUE(s.HasAccess(work("newdir"), "create"));
  EXPECT_TRUE(s.HasAccess(work("newdir2"), "create"));  // mkdirat relative to a dirfd
  EXPECT_TRUE(s.HasAccess(work("newdir2"), "delete"));  // rmdir
  EXPECT_TRUE(s.HasAccess(work("fifo"), "create"));     // mknod
  EXPECT_TRUE(s.HasAccess(work("fifo"), "delete"));     // unlink
  EXPECT_TRUE(s.HasAccess(work("victim"), "delete"));   // unlinkat relative to a dirfd
  EXPECT_TRUE(s.HasFailed(work("newdir"), "mkdir", "EEXIST"));
  EXPECT_TRUE(s.HasFailed(work("newdir"), "mknod", "EEXIST"));
  EXPECT_TRUE(s.HasFailed(work("missing"), "unlink", "ENOENT"));
  EXPECT_TRUE(s.HasFailed(work("missing"), "chdir", "ENOENT"));
}

// Metadata changes (the SETATTR kind), each call on its own file: the access says which
// attribute, and the summary carries the mode or ids the step set.
TEST_F(OpsTest, MetadataChanges) {
  for (const char* name : {"m1", "m2", "m3", "m4", "o1", "o2", "o3", "o4", "t1", "t2", "t3", "t4",
                           "t5"})
    WriteFile(work(name), name);
  TracedRun r = Trace({Prog("attr_ops"), work()});
  ASSERT_TRUE(CleanRun(r));
  const Summary& s = r.summary;

  const std::map<std::string, std::string> modes = {
      {"m1", "0700"}, {"m2", "0640"}, {"m3", "0604"}, {"m4", "0755"}};
  for (const auto& [name, mode] : modes) {
    EXPECT_TRUE(s.HasAccess(work(name), "chmod")) << name;
    const json* f = s.File(work(name));
    ASSERT_NE(f, nullptr) << name;
    EXPECT_EQ(f->value("mode_set", ""), mode) << name << ": " << Dump(*f);
    EXPECT_TRUE(s.LacksAccess(work(name), "write")) << "a mode change is not a write";
  }
  for (const char* name : {"o1", "o2", "o3", "o4"}) {
    EXPECT_TRUE(s.HasAccess(work(name), "chown")) << name;
    EXPECT_TRUE(s.LacksAccess(work(name), "chmod")) << name;
  }
  auto ids = [&](const char* name) {
    const json* f = s.File(work(name));
    return f ? std::pair{f->value("uid_set", json()), f->value("gid_set", json())}
             : std::pair{json("absent"), json("absent")};
  };
  EXPECT_EQ(ids("o1"), (std::pair{json(0), json(0)}));
  EXPECT_EQ(ids("o2"), (std::pair{json(), json(0)}));  // uid -1: unchanged
  EXPECT_EQ(ids("o3"), (std::pair{json(0), json()}));  // gid -1: unchanged
  for (const char* name : {"t1", "t2", "t3", "t4", "t5"})
    EXPECT_TRUE(s.HasAccess(work(name), "times")) << name;
  EXPECT_TRUE(s.HasFailed(work("missing"), "chmod", "ENOENT"));
  EXPECT_TRUE(s.HasFailed(work("missing"), "chown", "ENOENT"));
  EXPECT_TRUE(s.HasFailed(work("missing"), "utimes", "ENOENT"));
}

// The kernel reads a system call's number and its fd arguments as ints: garbage above the low
// 32 bits changes nothing for it, and must change nothing for the probes either.
TEST_F(OpsTest, WideRegistersAreReadAsTheKernelReadsThem) {
  WriteFile(work("wide_fd"), "x");
  ASSERT_EQ(mkdir(work("cwd_dir").c_str(), 0755), 0);
  TracedRun r = Trace({Prog("wide_args"), work()});
  ASSERT_TRUE(CleanRun(r));
  const Summary& s = r.summary;
  EXPECT_TRUE(s.HasAccess(work("wide_open"), "create")) << "openat with a wide number";
  EXPECT_TRUE(s.HasAccess(work("wide_fd"), "chmod")) << "fchmod of a wide fd";
  EXPECT_TRUE(s.HasAccess(work("cwd_dir"), "times")) << "utimensat(AT_FDCWD, \"\", AT_EMPTY_PATH)";
  EXPECT_EQ(s.raw().value("lost_events", -1), 0);
}

TEST_F(OpsTest, RenameAndExchange) {
  TracedRun r = Trace({Prog("rename_ops"), work()});
  ASSERT_TRUE(CleanRun(r));
  const Summary& s = r.summary;

  EXPECT_TRUE(s.HasAccess(work("old"), "rename_from"));
  EXPECT_TRUE(s.HasAccess(work("new"), "rename_to"));
  EXPECT_TRUE(s.LacksAccess(work("new"), "rename_from"));
  // RENAME_EXCHANGE swaps the two names, so each path is both a source and a target
  for (const char* name : {"a", "b"}) {
    EXPECT_TRUE(s.HasAccess(work(name), "rename_from"));
    EXPECT_TRUE(s.HasAccess(work(name), "rename_to"));
  }
  EXPECT_TRUE(s.HasFailed(work("missing"), "rename", "ENOENT"));
}

TEST_F(OpsTest, LinksAndSymlinks) {
  TracedRun r = Trace({Prog("link_ops"), work()});
  ASSERT_TRUE(CleanRun(r));
  const Summary& s = r.summary;

  EXPECT_TRUE(s.HasAccess(work("hard"), "link"));      // link
  EXPECT_TRUE(s.HasAccess(work("hard2"), "link"));     // linkat relative to a dirfd
  EXPECT_TRUE(s.HasAccess(work("sym"), "link"));       // symlink with a relative target
  EXPECT_TRUE(s.HasAccess(work("dangling"), "link"));  // symlinkat relative to a dirfd
  EXPECT_TRUE(s.LacksAccess(work("orig"), "link")) << "only the new path gets \"link\"";
  // The error belongs to the new path, which already exists.
  EXPECT_TRUE(s.HasFailed(work("hard"), "link", "EEXIST"));
  EXPECT_TRUE(s.HasFailed(work("sym"), "symlink", "EEXIST"));
}

TEST_F(OpsTest, TruncateAndFtruncate) {
  WriteFile(work("by_path"), "0123456789");
  TracedRun r = Trace({Prog("truncate_ops"), work()});
  ASSERT_TRUE(CleanRun(r));
  const Summary& s = r.summary;

  // by_path is only truncate()d by the traced command: its content is replaced in place
  const json* by_path = s.File(work("by_path"));
  ASSERT_NE(by_path, nullptr) << Dump(s.files());
  EXPECT_EQ(by_path->value("access", json()), json::array({"write", "overwrite"}))
      << by_path->dump();
  EXPECT_EQ(by_path->value("sha256_before", ""), Sha256Of("0123456789")) << by_path->dump();
  EXPECT_EQ(by_path->value("sha256_after", ""), Sha256Of(ReadFile(work("by_path"))))
      << by_path->dump();

  // by_fd is opened by the command and ftruncate()d by a forked child: the child's pid is on
  // the file only because of the ftruncate
  int root = r.root_pid();
  std::vector<const json*> children = s.ChildrenOf(root);
  ASSERT_EQ(children.size(), 1u) << "root " << root << "; " << Dump(s.processes());
  int child = children[0]->value("pid", -1);
  EXPECT_TRUE(s.HasAccess(work("by_fd"), "write"));
  EXPECT_TRUE(s.FileTouchedBy(work("by_fd"), child));

  EXPECT_TRUE(s.HasFailed(work("missing"), "truncate", "ENOENT"));
}

TEST_F(OpsTest, MemfdCreate) {
  const std::string name = "stepseal-e2e-" + std::to_string(getpid());
  TracedRun r = Trace({Prog("memfd_ops"), name});
  ASSERT_TRUE(CleanRun(r));
  EXPECT_TRUE(r.summary.HasAccess("/memfd:" + name + " (deleted)", "create"));
}

TEST_F(OpsTest, CopyFileRangeSendfileSplice) {
  WriteFile(work("src"), "copied three ways\n");
  TracedRun r = Trace({Prog("copy_ops"), work()});
  ASSERT_TRUE(CleanRun(r));
  const Summary& s = r.summary;

  // The command opened every file; one forked child per copy did nothing but the copy. So each
  // destination must list exactly one of the children, and the source must list that child too.
  int root = r.root_pid();
  std::set<int> children;
  for (const json* c : s.ChildrenOf(root)) children.insert(c->value("pid", -1));
  ASSERT_EQ(children.size(), 3u) << "root " << root << "; " << Dump(s.processes());

  std::set<int> copiers;
  for (const char* out : {"cfr.out", "sendfile.out", "splice.out"}) {
    SCOPED_TRACE(out);
    const json* dst = s.File(work(out));
    ASSERT_NE(dst, nullptr) << Dump(s.files());
    EXPECT_TRUE(s.HasAccess(work(out), "write"));
    int copier = -1;
    for (const auto& pid : dst->value("pids", json::array()))
      if (children.count(pid.get<int>())) copier = pid.get<int>();
    ASSERT_NE(copier, -1) << "no copying child on " << dst->dump();
    EXPECT_TRUE(copiers.insert(copier).second) << "child " << copier << " on two destinations";
    EXPECT_TRUE(s.FileTouchedBy(work("src"), copier));
  }
  EXPECT_TRUE(s.HasAccess(work("src"), "read"));
  EXPECT_TRUE(s.LacksAccess(work("src"), "write"));
}

TEST_F(OpsTest, SharedWritableMmap) {
  WriteFile(work("shared"), "shared mapping\n");
  WriteFile(work("private"), "private mapping\n");
  TracedRun r = Trace({Prog("mmap_ops"), work("shared"), work("private")});
  ASSERT_TRUE(CleanRun(r));
  EXPECT_EQ(ReadFile(work("shared")).substr(0, 4), "MMAP");

  EXPECT_TRUE(r.summary.HasAccess(work("shared"), "mmap_write"));
  EXPECT_TRUE(r.summary.HasAccess(work("private"), "read"));
  EXPECT_TRUE(r.summary.LacksAccess(work("private"), "mmap_write"))
      << "a private, copy-on-write mapping of a read-only file writes nothing";
}

// int80_open makes four i386 calls through `int $0x80`. Whether they run depends on the kernel
// (tests/common/int80.h): where they do, the opens are recorded; where the instruction faults,
// the command dies of SIGSEGV at the first one and nothing of the calls may be recorded.
TEST_F(OpsTest, CompatInt80Syscalls) {
  const int80::Probe& kernel = int80::Probed();
  ASSERT_NE(kernel.outcome, int80::Outcome::kUnknown) << kernel.detail;
  WriteFile(work("compat.txt"), "read through int 0x80\n");
  TracedRun r = Trace({Prog("int80_open"), work("compat.txt"), work("missing")});
  if (kernel.outcome == int80::Outcome::kFaults) {
    ASSERT_EQ(r.show.exit_code, 0) << r.Describe();
    ASSERT_TRUE(r.parsed) << r.Describe();
    EXPECT_EQ(r.run.exit_code, 128 + SIGSEGV) << kernel.detail << "\n" << r.Describe();
    EXPECT_TRUE(int80::DeathRecorded(r.summary.raw(), r.root_pid(), work("compat.txt"),
                                     work("missing")))
        << kernel.detail;
    return;
  }
  ASSERT_TRUE(CleanRun(r));
  const Summary& s = r.summary;

  EXPECT_TRUE(s.HasAccess(work("compat.txt"), "read"));
  EXPECT_TRUE(s.HasFailed(work("missing"), "open", "ENOENT"));
  const json* root = nullptr;
  for (const json* p : s.ProcessesWhere({{"pid", r.root_pid()}})) root = p;
  ASSERT_NE(root, nullptr) << Dump(s.processes());
  // The program makes exactly four int 0x80 syscalls (open, read, close, the failed open). At
  // least the two opens are calls the tracer records; all four count if it counts every one.
  const int compat = root->value("compat_syscalls", -1);
  EXPECT_GE(compat, 2) << root->dump();
  EXPECT_LE(compat, 4) << root->dump();
}

TEST_F(OpsTest, IoUringIsAGap) {
  ASSERT_NO_PRECONDITION_FAILURE(precondition::IoUringUsable());
  WriteFile(work("uring.txt"), "read through io_uring\n");
  TracedRun r = Trace({Prog("uring_cat"), work("uring.txt")});
  ASSERT_EQ(r.run.exit_code, 0) << r.Describe();
  ASSERT_EQ(r.run.out, "io_uring_setup ok\nread through io_uring\n") << r.Describe();
  ASSERT_TRUE(r.parsed) << r.Describe();
  EXPECT_EQ(r.show.exit_code, 0) << "a gap is not a damaged journal\n" << r.Describe();
  EXPECT_FALSE(r.summary.complete());
  EXPECT_TRUE(r.summary.HasGap({{"kind", "io_uring"}, {"detail", "io_uring_setup"},
                                {"pid", r.root_pid()}}));
}

TEST_F(OpsTest, AioIsAGap) {
  WriteFile(work("aio.txt"), "read through aio\n");
  TracedRun r = Trace({Prog("aio_read"), work("aio.txt")});
  ASSERT_EQ(r.run.exit_code, 0) << r.Describe();
  ASSERT_TRUE(r.parsed) << r.Describe();
  EXPECT_EQ(r.show.exit_code, 0) << "a gap is not a damaged journal\n" << r.Describe();
  EXPECT_FALSE(r.summary.complete());
  EXPECT_TRUE(
      r.summary.HasGap({{"kind", "aio"}, {"detail", "io_submit"}, {"pid", r.root_pid()}}));
  EXPECT_TRUE(r.summary.HasAccess(work("aio.txt"), "read"));  // the plain open() is still seen
}

TEST_F(OpsTest, UnixSockets) {
  const std::string abstract = "stepseal-e2e-" + std::to_string(getpid());
  TracedRun r = Trace({Prog("net_unix"), work(), abstract});
  ASSERT_TRUE(CleanRun(r));
  const Summary& s = r.summary;
  const int pid = r.root_pid();
  auto entry = [&](const char* protocol, const char* op, json more = json::object()) {
    json e = {{"pid", pid}, {"family", "unix"}, {"protocol", protocol}, {"op", op}};
    e.update(more);
    return e;
  };

  EXPECT_TRUE(s.HasNetwork(entry("stream", "socket", {{"result", "ok"}})));
  EXPECT_TRUE(s.HasNetwork(
      entry("stream", "bind", {{"address", work("stream.sock")}, {"result", "ok"}})));
  EXPECT_TRUE(s.HasNetwork(entry("stream", "listen", {{"result", "ok"}})));
  EXPECT_TRUE(s.HasNetwork(
      entry("stream", "connect", {{"address", work("stream.sock")}, {"result", "ok"}})));
  EXPECT_TRUE(s.HasNetwork(
      entry("stream", "connect", {{"address", "@" + abstract}, {"result", "ok"}})));
  EXPECT_TRUE(s.HasNetwork(
      entry("stream", "connect", {{"address", work("missing.sock")}, {"result", "ENOENT"}})));
  EXPECT_TRUE(s.HasNetwork(
      entry("dgram", "sendto", {{"address", work("dgram.sock")}, {"result", "ok"}})));
}

// The "NAME PORT" lines net_inet writes.
std::map<std::string, int> ReadPorts(const std::string& path) {
  std::map<std::string, int> ports;
  std::ifstream in(path);
  std::string name;
  int port;
  while (in >> name >> port) ports[name] = port;
  return ports;
}

TEST_F(OpsTest, InetLoopback) {
  ASSERT_NO_PRECONDITION_FAILURE(precondition::Ipv6LoopbackUsable());
  TracedRun r = Trace({Prog("net_inet"), work("ports.txt")});
  ASSERT_TRUE(CleanRun(r));
  auto ports = ReadPorts(work("ports.txt"));
  for (const char* name : {"tcp4", "tcp6", "refused", "udp4", "udp6", "sendmsg", "sendmmsg"})
    ASSERT_TRUE(ports.count(name)) << "net_inet reported no " << name << " port";
  const Summary& s = r.summary;
  const int pid = r.root_pid();
  auto entry = [&](const char* family, const char* protocol, const char* op, const char* address,
                   int port, const char* result) {
    return json{{"pid", pid},         {"family", family}, {"protocol", protocol}, {"op", op},
                {"address", address}, {"port", port},     {"result", result}};
  };

  EXPECT_TRUE(s.HasNetwork({{"pid", pid}, {"family", "inet"}, {"protocol", "tcp"},
                            {"op", "socket"}, {"result", "ok"}}));
  EXPECT_TRUE(s.HasNetwork({{"pid", pid}, {"family", "inet"}, {"protocol", "tcp"},
                            {"op", "bind"}, {"address", "127.0.0.1"}, {"result", "ok"}}));
  EXPECT_TRUE(s.HasNetwork({{"pid", pid}, {"family", "inet6"}, {"protocol", "tcp"},
                            {"op", "listen"}, {"result", "ok"}}));
  EXPECT_TRUE(s.HasNetwork(entry("inet", "tcp", "connect", "127.0.0.1", ports["tcp4"], "ok")));
  EXPECT_TRUE(s.HasNetwork(entry("inet6", "tcp", "connect", "::1", ports["tcp6"], "ok")));
  EXPECT_TRUE(s.HasNetwork(
      entry("inet", "tcp", "connect", "127.0.0.1", ports["refused"], "ECONNREFUSED")));
  EXPECT_TRUE(s.HasNetwork(entry("inet", "udp", "sendto", "127.0.0.1", ports["udp4"], "ok")));
  EXPECT_TRUE(s.HasNetwork(entry("inet6", "udp", "sendto", "::1", ports["udp6"], "ok")));
  EXPECT_TRUE(s.HasNetwork(entry("inet", "udp", "sendto", "127.0.0.1", ports["sendmsg"], "ok")));
  EXPECT_TRUE(s.HasNetwork(entry("inet6", "udp", "sendto", "::1", ports["sendmmsg"], "ok")));
}

}  // namespace
}  // namespace e2e
