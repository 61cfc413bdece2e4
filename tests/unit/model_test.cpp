// Model: synthetic events in, tables out. No kernel involved.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "model/model.h"

namespace stepseal {
namespace {

constexpr uint32_t kSpawner = 10;

Event ev(Kind k, uint32_t pid, int64_t ret = 0) {
  static uint64_t ts = 1000;
  Event e;
  e.kind = k;
  e.pid = e.tid = pid;
  e.ret = ret;
  e.ts_ns = ts++;
  return e;
}

Event fork_of(uint32_t parent, uint32_t child) {
  Event e = ev(Kind::FORK, parent);
  e.args[0] = child;
  e.args[1] = child;
  return e;
}

Event open_of(uint32_t pid, const std::string& path, uint64_t flags, uint64_t fmode = 0) {
  Event e = ev(Kind::OPEN, pid, 3);
  e.obj = path;
  e.args[2] = flags;
  e.args[4] = fmode;
  return e;
}

uint32_t access_of(const Model& m, const std::string& path) {
  auto it = m.files().find(path);
  return it == m.files().end() ? 0 : it->second.access;
}

TEST(Model, BuildsTheProcessTreeFromForkExecExit) {
  Model m;
  m.set_spawner(kSpawner);
  m.apply(fork_of(kSpawner, 100));
  Event ex = ev(Kind::EXEC, 100);
  ex.obj = "/usr/bin/make";
  ex.cwd = "/src";
  ex.argv = {"make", "-j2"};
  m.apply(ex);
  m.apply(fork_of(100, 101));
  Event thread = fork_of(101, 101);
  thread.args[2] = 1;  // a thread is not a process
  m.apply(thread);
  Event exit = ev(Kind::EXIT, 101, 2 << 8);
  m.apply(exit);
  ASSERT_EQ(m.processes().size(), 2u);
  const auto& root = m.processes()[0];
  EXPECT_EQ(root.ppid, 0u);
  EXPECT_EQ(root.exe, "/usr/bin/make");
  const auto& child = m.processes()[1];
  EXPECT_EQ(child.ppid, 100u);
  EXPECT_EQ(child.exe, "/usr/bin/make");  // forked, not yet exec'd: the parent's image
  EXPECT_FALSE(child.execed);
  EXPECT_EQ(child.wait_status.value(), 2 << 8);
  EXPECT_TRUE(access_of(m, "/usr/bin/make") & kExec);
}

TEST(Model, ScriptExecRecordsScriptAndInterpreter) {
  Model m;
  Event ex = ev(Kind::EXEC, 5);
  ex.obj = "/usr/bin/dash";
  ex.path = "/w/build.sh";
  ex.raw = "./build.sh";
  ex.raw2 = "/bin/sh";
  m.apply(ex);
  EXPECT_EQ(m.processes()[0].script, "/w/build.sh");
  EXPECT_TRUE(access_of(m, "/w/build.sh") & kExec);
  EXPECT_TRUE(access_of(m, "/usr/bin/dash") & kExec);
}

TEST(Model, OpenFlagsBecomeAccessKinds) {
  Model m;
  m.apply(open_of(1, "/r", O_RDONLY));
  m.apply(open_of(1, "/new", O_WRONLY | O_CREAT, 1u << 20));
  m.apply(open_of(1, "/old", O_WRONLY | O_CREAT | O_TRUNC));
  m.apply(open_of(1, "/app", O_WRONLY | O_APPEND));
  m.apply(open_of(1, "/loc", O_PATH));
  m.apply(open_of(1, "pipe:[3]", O_RDONLY));
  EXPECT_EQ(access_of(m, "/r"), kRead);
  EXPECT_EQ(access_of(m, "/new"), kWrite | kCreate);
  EXPECT_EQ(access_of(m, "/old"), kWrite | kOverwrite);
  EXPECT_EQ(access_of(m, "/app"), kWrite);
  EXPECT_EQ(access_of(m, "/loc"), kPathOnly);
  EXPECT_EQ(m.files().count("pipe:[3]"), 0u);
}

TEST(Model, FailuresAreKeptApartWithTheirErrno) {
  Model m;
  Event e = ev(Kind::OPEN, 7, -ENOENT);
  e.path = "/missing";
  m.apply(e);
  Event e2 = ev(Kind::OPEN, 8, -ENOENT);
  e2.path = "/missing";
  m.apply(e2);
  EXPECT_TRUE(m.files().empty());
  auto f = m.failed();
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].path, "/missing");
  EXPECT_EQ(f[0].op, "open");
  EXPECT_EQ(errno_name(f[0].err), "ENOENT");
  EXPECT_EQ(f[0].pids, (std::set<uint32_t>{7, 8}));
}

TEST(Model, RenameExchangeMarksBothSides) {
  Model m;
  Event r = ev(Kind::RENAME, 1);
  r.path = "/a";
  r.path2 = "/b";
  m.apply(r);
  EXPECT_EQ(access_of(m, "/a"), kRenameFrom);
  EXPECT_EQ(access_of(m, "/b"), kRenameTo);
  Event x = ev(Kind::RENAME, 1);
  x.path = "/c";
  x.path2 = "/d";
  x.args[4] = 2;  // RENAME_EXCHANGE
  m.apply(x);
  EXPECT_EQ(access_of(m, "/c"), kRenameFrom | kRenameTo);
  EXPECT_EQ(access_of(m, "/d"), kRenameFrom | kRenameTo);
}

TEST(Model, NetworkAttemptsDecodeAddresses) {
  Model m;
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(8080);
  inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
  Event c = ev(Kind::CONNECT, 3, -ECONNREFUSED);
  c.args = {4, AF_INET, SOCK_STREAM, IPPROTO_TCP, 0, 0};
  c.sockaddr.assign(reinterpret_cast<const char*>(&sin), sizeof sin);
  m.apply(c);
  m.apply(c);  // a retry folds into a count
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  memcpy(sun.sun_path, "\0abstract", 9);
  Event u = ev(Kind::SENDTO, 3);
  u.args = {5, AF_UNIX, SOCK_DGRAM, 0, 0, 0};
  u.sockaddr.assign(reinterpret_cast<const char*>(&sun), 2 + 9);
  m.apply(u);
  ASSERT_EQ(m.network().size(), 2u);
  const auto& n = m.network()[0];
  EXPECT_EQ(n.family, "inet");
  EXPECT_EQ(n.protocol, "tcp");
  EXPECT_EQ(n.address, "127.0.0.1");
  EXPECT_EQ(n.port.value(), 8080u);
  EXPECT_EQ(errno_name(n.err), "ECONNREFUSED");
  EXPECT_EQ(n.count, 2u);
  EXPECT_EQ(m.network()[1].address, "@abstract");
  EXPECT_EQ(m.network()[1].protocol, "dgram");
}

TEST(Model, IoUringAndTruncatedPathsAreGaps) {
  Model m;
  Event g = ev(Kind::GAP, 9, 5);
  g.args[0] = SS_GAP_IO_URING_SETUP;
  m.apply(g);
  Event o = open_of(9, "/very/deep", O_RDONLY);
  o.blob_flags[SS_B_OBJ] = SS_BF_PATH | SS_BF_TRUNC;
  m.apply(o);
  auto gaps = m.gaps();
  ASSERT_EQ(gaps.size(), 2u);
  EXPECT_EQ(gaps[0].kind, "io_uring");
  EXPECT_EQ(gaps[0].detail, "io_uring_setup");
  EXPECT_EQ(gaps[1].kind, "path_truncated");
}

TEST(Model, ExitsAfterTheRootAreKillsAtStepEnd) {
  Model m;
  m.set_spawner(kSpawner);
  m.apply(fork_of(kSpawner, 100));
  m.apply(fork_of(100, 200));
  m.apply(ev(Kind::EXIT, 100, 0));
  m.apply(ev(Kind::EXIT, 200, SIGKILL));
  EXPECT_FALSE(m.processes()[0].killed_at_step_end);
  EXPECT_TRUE(m.processes()[1].killed_at_step_end);
}

}  // namespace
}  // namespace stepseal
