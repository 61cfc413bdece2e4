// DigestPlan: which events call for which digests, with a real DigestService hashing real
// temp files (no root). Events are built with the identities stat() gives, as the kernel's.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "digest/digest_plan.h"
#include "digest/digest_service.h"
#include "util/hex.h"

namespace stepseal {
namespace {

using nlohmann::json;
constexpr uint64_t kFmodeCreated = 1u << 20;

class DigestPlanTest : public testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/stepseal-plan.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& content) {
    const std::string p = dir_ + "/" + name;
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  // An event on PATH carrying its identity now, seen long after its last change (so a later
  // change must show: the digest can be exact).
  Event On(Kind k, const std::string& path, uint64_t flags = O_RDONLY, uint64_t fmode = 0) {
    struct stat st{};
    EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
    Event e;
    e.kind = k;
    e.pid = e.tid = 100;
    e.ret = k == Kind::OPEN ? 3 : 0;
    e.flags = SS_F_HAS_INO;
    e.obj = path;
    e.args[2] = flags;
    e.args[4] = fmode;
    const FileId id = file_id_of(st);
    e.ino = Inode{id.dev, id.ino, id.size, id.mtime_ns, id.ctime_ns, st.st_mode, 1,
                  SS_INO_CHANGE_VISIBLE};
    return e;
  }
  // The DIGEST records the service produced, by role.
  std::vector<json> Records(const std::string& role) {
    std::lock_guard lk(mu_);
    std::vector<json> out;
    for (const auto& r : records_)
      if (r.value("role", "") == role) out.push_back(r);
    return out;
  }

  std::string dir_;
  std::mutex mu_;
  std::vector<json> records_;
  DigestService service_{2, [this](const DigestRecord& r) {
                            std::lock_guard lk(mu_);
                            records_.push_back(encode_digest(r));  // as journaled
                          }};
  DigestPlan plan_{&service_, 0};
};

TEST_F(DigestPlanTest, AReadGetsAnExactContentDigestOncePerVersion) {
  const std::string p = Write("in.txt", "abc");
  plan_.on_event(On(Kind::OPEN, p));
  plan_.on_event(On(Kind::OPEN, p));  // the same version again: no second request
  plan_.finish();
  const auto content = Records("content");
  ASSERT_EQ(content.size(), 1u);
  EXPECT_EQ(content[0].value("path", ""), p);
  EXPECT_EQ(content[0].value("status", ""), "exact") << content[0].dump();
  EXPECT_EQ(content[0].value("sha256", ""), util::sha256_hex("abc"));
  EXPECT_EQ(plan_.lookups(), 2u);
  EXPECT_EQ(plan_.repeats(), 1u);
  EXPECT_TRUE(plan_.changed().empty());
}

TEST_F(DigestPlanTest, AnExecGetsAnExecDigest) {
  const std::string p = Write("tool", "#!/bin/sh\n");
  plan_.on_event(On(Kind::EXEC, p));
  plan_.finish();
  const auto exec = Records("exec");
  ASSERT_EQ(exec.size(), 1u);
  EXPECT_EQ(exec[0].value("sha256", ""), util::sha256_hex("#!/bin/sh\n"));
}

TEST_F(DigestPlanTest, AWrittenFileGetsAnAfterDigestAndNoContentDigest) {
  const std::string p = Write("out.txt", "");
  plan_.on_event(On(Kind::OPEN, p, O_WRONLY | O_CREAT | O_TRUNC, kFmodeCreated));
  std::ofstream(p, std::ios::binary) << "final";
  plan_.finish();
  EXPECT_TRUE(Records("content").empty()) << "a created file was read by no one";
  const auto after = Records("after");
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].value("sha256", ""), util::sha256_hex("final"));
  EXPECT_EQ(plan_.changed(), std::set<std::string>{p});
}

TEST_F(DigestPlanTest, ATruncatingReadWriteOpenIsAChangeNotARead) {
  const std::string p = Write("rw.txt", "old");
  plan_.on_event(On(Kind::OPEN, p, O_RDWR | O_TRUNC));
  plan_.finish();
  EXPECT_TRUE(Records("content").empty()) << "O_TRUNC emptied it: nothing old was read";
  EXPECT_EQ(plan_.changed().count(p), 1u);
}

TEST_F(DigestPlanTest, RenameTargetsAndExchangesAreChanges) {
  const std::string a = Write("a", "1"), b = Write("b", "2");
  Event rename;
  rename.kind = Kind::RENAME;
  rename.path = a;
  rename.path2 = b;
  plan_.on_event(rename);
  EXPECT_EQ(plan_.changed(), std::set<std::string>{b});
  rename.args[4] = 2;  // RENAME_EXCHANGE: both sides changed
  plan_.on_event(rename);
  EXPECT_EQ(plan_.changed(), (std::set<std::string>{a, b}));
}

TEST_F(DigestPlanTest, FailedEventsAndPseudoFilesAskForNothing) {
  const std::string p = Write("x", "x");
  Event failed = On(Kind::OPEN, p);
  failed.ret = -ENOENT;
  plan_.on_event(failed);
  Event proc = On(Kind::OPEN, p);
  proc.obj = "/proc/self/status";
  plan_.on_event(proc);
  Event no_ino = On(Kind::OPEN, p);
  no_ino.flags = 0;  // no identity from the kernel: nothing to check a hash against
  plan_.on_event(no_ino);
  plan_.finish();
  EXPECT_TRUE(records_.empty()) << records_.size() << " records";
  EXPECT_FALSE(hashable_path("/proc/1/exe"));
  EXPECT_FALSE(hashable_path("/dev/null"));
  EXPECT_FALSE(hashable_path("/sys/kernel/x"));
  EXPECT_FALSE(hashable_path("/w/gone (deleted)"));
  EXPECT_FALSE(hashable_path("relative"));
  EXPECT_TRUE(hashable_path("/w/file"));
}

// A regular file under /dev (a tmpfs file; a sterile build's stepseal-seal, bind-mounted on the
// container's /dev) is hashed by its path, like any other: never through /proc/PID/exe, which a
// later exec of the same process has replaced by then.
TEST_F(DigestPlanTest, ARegularFileUnderDevIsHashedByItsPath) {
  char tmpl[] = "/dev/shm/stepseal-plan.XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0) << "/dev/shm: " << strerror(errno);
  const std::string p = tmpl;
  ASSERT_EQ(write(fd, "sealed", 6), 6);
  close(fd);
  Event e = On(Kind::EXEC, p);
  e.pid = 1;  // /proc/1/exe is not this file: a hash through it could not match
  plan_.on_event(e);
  plan_.finish();
  unlink(p.c_str());
  const auto exec = Records("exec");
  ASSERT_EQ(exec.size(), 1u);
  EXPECT_EQ(exec[0].value("status", ""), "exact") << exec[0].dump();
  EXPECT_EQ(exec[0].value("sha256", ""), util::sha256_hex("sealed"));
  EXPECT_FALSE(exec[0].value("fileless", false));
}

TEST_F(DigestPlanTest, AVersionChangedSinceTheEventIsNeverExact) {
  const std::string p = Write("moving.txt", "first");
  Event e = On(Kind::OPEN, p);
  // a new version, of the same size, before the service hashes it: the identity differs
  struct timespec later{};
  clock_gettime(CLOCK_REALTIME, &later);
  later.tv_sec += 5;
  std::ofstream(p, std::ios::binary) << "secnd";
  struct timespec times[2] = {later, later};
  ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), times, 0), 0);
  plan_.on_event(e);
  plan_.finish();
  const auto content = Records("content");
  ASSERT_EQ(content.size(), 1u);
  EXPECT_NE(content[0].value("status", ""), "exact") << content[0].dump();
  EXPECT_EQ(content[0].value("sha256", ""), "") << "no digest of a version nobody read";
}

}  // namespace
}  // namespace stepseal
