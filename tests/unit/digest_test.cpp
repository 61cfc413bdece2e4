// Digests without the kernel: file hashing with identity checks, the worker pool's cache, and
// how the model folds DIGEST records into files and processes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "digest/digest_service.h"
#include "digest/file_hash.h"
#include "model/model.h"

namespace stepseal {
namespace {

std::string temp_file(const std::string& name, const std::string& content) {
  std::string p = std::string(::testing::TempDir()) + "/" + name + std::to_string(getpid());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
  return p;
}

FileId id_of(const std::string& p) {
  struct stat st{};
  stat(p.c_str(), &st);
  return file_id_of(st);
}

TEST(FileHash, HashesKnownBytes) {
  auto p = temp_file("abc", "abc");
  HashOutcome o = hash_path(AT_FDCWD, p, true, id_of(p));
  EXPECT_EQ(o.status, DigestStatus::kExact) << o.reason;
  // FIPS 180-2 test vector
  EXPECT_EQ(o.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(o.bytes, 3u);
  unlink(p.c_str());
}

TEST(FileHash, AChangedIdentityIsRacedNeverExact) {
  auto p = temp_file("raced", "version one");
  FileId at_event = id_of(p);
  std::ofstream(p, std::ios::binary | std::ios::trunc) << "version two, longer";
  HashOutcome o = hash_path(AT_FDCWD, p, true, at_event);
  EXPECT_EQ(o.status, DigestStatus::kRaced);
  EXPECT_TRUE(o.sha256.empty());
  EXPECT_NE(o.reason.find("changed between the event and the hash"), std::string::npos);
  unlink(p.c_str());
}

TEST(FileHash, NonRegularAndMissingFilesAreUnavailable) {
  EXPECT_EQ(hash_path(AT_FDCWD, "/dev/null", true, std::nullopt).reason, "not a regular file");
  HashOutcome gone = hash_path(AT_FDCWD, "/nonexistent/stepseal", true, std::nullopt);
  EXPECT_EQ(gone.status, DigestStatus::kUnavailable);
  EXPECT_EQ(gone.reason, "no longer exists");
  EXPECT_EQ(gone.code, DigestReasonCode::kGone);
  EXPECT_EQ(hash_path(AT_FDCWD, "/dev/null", true, std::nullopt).code,
            DigestReasonCode::kNotRegular);
}

TEST(DigestService, AReadIsProvableOnlyIfLaterChangesMustShow) {
  auto p = temp_file("tick", "fresh");
  std::vector<nlohmann::json> out;
  std::mutex mu;
  DigestService d(1, [&](const DigestRecord& rec) {
    std::lock_guard lk(mu);
    out.push_back(encode_digest(rec));  // as journaled
  });
  DigestRequest r;
  r.path = p;
  r.expected = id_of(p);
  r.check_visibility = true;
  r.change_visible = false;  // the coarse clock had not passed ctime at the event
  d.submit(r);
  d.drain();
  DigestRequest later = r;
  later.change_visible = true;  // it had: a rewrite since would have shown
  d.submit(later);
  d.drain();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["status"], "raced");
  EXPECT_FALSE(out[0].contains("sha256"));
  EXPECT_EQ(out[1]["status"], "exact");
  EXPECT_EQ(out[1]["sha256"], sha256_hex("fresh"));
  unlink(p.c_str());
}

DigestRecord rec(std::string role, std::string path, uint64_t ts, std::string sha,
                 std::string trigger = "") {
  DigestRecord d;
  d.role = role_from_name(role);
  d.path = std::move(path);
  d.ts_ns = ts;
  d.status = sha.empty() ? DigestStatus::kUnavailable : DigestStatus::kExact;
  d.sha256 = std::move(sha);
  d.reason = d.sha256.empty() ? "no longer exists" : "";
  d.reason_code = d.sha256.empty() ? DigestReasonCode::kGone : DigestReasonCode::kNone;
  d.trigger = std::move(trigger);
  return d;
}

Event open_ev(uint64_t ts, const std::string& path, uint64_t flags, uint64_t fmode = 0) {
  Event e;
  e.kind = Kind::OPEN;
  e.pid = e.tid = 7;
  e.ts_ns = ts;
  e.ret = 3;
  e.obj = path;
  e.args[2] = flags;
  e.args[4] = fmode;
  return e;
}

TEST(ModelDigests, OnlyTheStateBeforeTheFirstChangeIsAPreImage) {
  Model m;
  m.apply_digest(rec("before", "/f", 100, "aaa", "openat"));  // before the first write: kept
  m.apply(open_ev(110, "/f", O_WRONLY | O_TRUNC));
  m.apply_digest(rec("before", "/f", 200, "bbb", "openat"));  // the step's own version: not
  m.apply(open_ev(210, "/f", O_WRONLY | O_TRUNC));
  m.apply_digest(rec("after", "/f", 0, "ccc"));
  m.finish();
  const FileRecord& f = m.files().at("/f");
  EXPECT_EQ(f.digest.before, "aaa");
  EXPECT_EQ(f.digest.after, "ccc");
  EXPECT_EQ(f.digest.status, "exact");
  EXPECT_TRUE(f.access & kOverwrite);
}

// An O_APPEND write is an append only when the after-digest's prefix (its first bytes, as many
// as the file held before) is the content from before; otherwise (pwritev2 RWF_NOAPPEND, a
// punched hole, no prefix to compare) it is an overwrite.
TEST(ModelDigests, AppendIsAWriteWithBothDigests) {
  for (const char* prefix : {"old", "other", ""}) {
    Model m;
    DigestRecord before = rec("before", "/log", 100, "old", "openat");
    Inode id;
    id.dev = 1;
    id.ino = 2;
    id.size = 3;
    before.id = id;
    m.apply_digest(before);
    m.apply(open_ev(110, "/log", O_WRONLY | O_APPEND));
    DigestRecord after = rec("after", "/log", 0, "new");
    if (*prefix) after.prefix = DigestPrefix{3, prefix};
    m.apply_digest(after);
    m.finish();
    const FileRecord& f = m.files().at("/log");
    EXPECT_EQ(f.access, std::string(prefix) == "old" ? uint32_t{kWrite} : uint32_t{kWrite | kOverwrite})
        << "prefix " << prefix;
    EXPECT_EQ(f.digest.before, "old");
    EXPECT_EQ(f.digest.after, "new");
  }
}

// The no-writer proof (docs/digests.md): an "unobserved" read is exact only when no write access
// to that file (or to a file the probes could not identify) was granted after the event's seq
// and before the hash was verified, and the record has no gap.
TEST(ModelDigests, AnUnobservedReadIsExactOnlyWhenNoWriterCouldHaveChangedIt) {
  auto with_ino = [](Event e, uint32_t seq) {
    e.flags |= SS_F_HAS_INO;
    e.ino.dev = 1;
    e.ino.ino = 2;
    e.ino.mode = S_IFREG | 0644;
    e.seq = seq;
    return e;
  };
  auto unobserved = [] {
    DigestRecord d = rec("content", "/t.s", 100, "");
    d.status = DigestStatus::kRaced;
    d.reason = "changed just before the event";
    d.reason_code = DigestReasonCode::kUnobserved;
    Inode id;
    id.dev = 1;
    id.ino = 2;
    d.id = id;
    d.proof = NoWriterProof{10, 200, "cand"};
    return d;
  };
  struct Case {
    const char* what;
    std::optional<Event> later;  // another event
    bool gap;
    bool exact;
  };
  Event read = with_ino(open_ev(100, "/t.s", O_RDONLY), 10);
  std::vector<Case> cases = {
      {"no grant", std::nullopt, false, true},
      {"a grant in the window", with_ino(open_ev(150, "/t.s", O_WRONLY), 11), false, false},
      {"a grant to another name of it", with_ino(open_ev(150, "/other", O_RDWR), 11), false, false},
      {"a grant made before the event", with_ino(open_ev(90, "/t.s", O_WRONLY), 9), false, true},
      {"a call that entered before the read but was granted write access after it",
       with_ino(open_ev(90, "/t.s", O_WRONLY), 11), false, false},
      {"a gap in the record", std::nullopt, true, false},
  };
  for (const Case& c : cases) {
    Model m;
    m.apply(read);
    if (c.later) m.apply(*c.later);
    if (c.gap) {
      Event g;
      g.kind = Kind::GAP;
      g.pid = 7;
      g.args[0] = SS_GAP_IO_URING_SETUP;
      m.apply(g);
    }
    m.apply_digest(unobserved());
    m.finish();
    const FileRecord& f = m.files().at("/t.s");
    EXPECT_EQ(f.digest.status, c.exact ? "exact" : "raced") << c.what;
    EXPECT_EQ(f.digest.sha256, c.exact ? "cand" : "") << c.what;
  }
  // a record known to be incomplete (lost events) proves nothing either
  Model m;
  m.apply(read);
  m.apply_digest(unobserved());
  m.set_incomplete();
  m.finish();
  EXPECT_EQ(m.files().at("/t.s").digest.status, "raced");
}

TEST(ModelDigests, RenameOverAnExistingFileIsAnOverwrite) {
  Model m;
  m.apply_digest(rec("before", "/b", 100, "target-before", "rename"));
  Event r;
  r.kind = Kind::RENAME;
  r.pid = 7;
  r.ts_ns = 110;
  r.path = "/a";
  r.path2 = "/b";
  m.apply(r);
  m.apply_digest(rec("after", "/b", 0, "renamed-content"));
  m.apply_digest(rec("after", "/a", 0, ""));  // gone: it was renamed away, not a failure
  m.finish();
  EXPECT_TRUE(m.files().at("/b").access & kOverwrite);
  EXPECT_EQ(m.files().at("/b").digest.before, "target-before");
  EXPECT_EQ(m.files().at("/a").digest.status, "");
}

TEST(ModelDigests, CreatedFilesHaveNoPreImageAndRacedReadsAreReported) {
  Model m;
  m.apply_digest(rec("before", "/new", 100, "", "openat"));  // did not exist
  m.apply(open_ev(110, "/new", O_WRONLY | O_CREAT, 1u << 20));
  m.apply_digest(rec("after", "/new", 0, "made"));
  m.apply(open_ev(120, "/src.h", O_RDONLY));
  DigestRecord raced = rec("content", "/src.h", 120, "");
  raced.status = DigestStatus::kRaced;
  raced.reason = "the file changed while it was hashed";
  m.apply_digest(raced);
  m.finish();
  EXPECT_TRUE(m.files().at("/new").digest.before.empty());
  EXPECT_EQ(m.files().at("/new").digest.status, "exact");
  EXPECT_EQ(m.files().at("/src.h").digest.status, "raced");
  EXPECT_TRUE(m.files().at("/src.h").digest.sha256.empty());
  EXPECT_EQ(m.files().at("/src.h").digest.reason, "read: the file changed while it was hashed");
}

TEST(ModelDigests, ExeDigestMatchesTheVersionThatRan) {
  Model m;
  Event ex;
  ex.kind = Kind::EXEC;
  ex.pid = ex.tid = 9;
  ex.ts_ns = 50;
  ex.obj = "/usr/bin/cc";
  ex.flags = SS_F_HAS_INO;
  ex.ino = {1, 2, 3, 4, 5, 0100755, 1};
  m.apply(ex);
  DigestRecord other = rec("exec", "/usr/bin/cc", 60, "another-version");
  other.id = Inode{1, 2, 3, 4, 999, 0, 0};
  DigestRecord right = rec("exec", "/usr/bin/cc", 60, "this-version");
  right.id = Inode{1, 2, 3, 4, 5, 0, 0};
  m.apply_digest(other);
  m.apply_digest(right);
  m.finish();
  EXPECT_EQ(m.processes()[0].exe_sha256, "this-version");
}

// The reason code is what the model branches on; records of older journals, which carry the
// text only, get the code their text stood for, and an unknown code reads as "other".
TEST(DigestReasonCodes, RecordsCarryThemAndOldTextsMapToThem) {
  HashOutcome o;
  o.reason = "no longer exists";
  o.code = DigestReasonCode::kGone;
  DigestRequest r;
  r.path = "/w/x";
  EXPECT_EQ(encode_digest(DigestService::record(r, o)).value("reason_code", ""), "gone");
  o.reason = "the file changed while it was hashed";
  o.code = DigestReasonCode::kNone;  // a reason without a code is "other", never "none"
  EXPECT_EQ(encode_digest(DigestService::record(r, o)).value("reason_code", ""), "other");
  for (auto c : {DigestReasonCode::kNotRegular, DigestReasonCode::kSymlink,
                 DigestReasonCode::kGone, DigestReasonCode::kOther})
    EXPECT_EQ(reason_code_from_name(reason_code_name(c)), c);
  EXPECT_EQ(reason_code_from_name("a-newer-code"), DigestReasonCode::kOther);
  EXPECT_EQ(legacy_reason_code("no longer exists"), DigestReasonCode::kGone);
  EXPECT_EQ(legacy_reason_code("a symbolic link"), DigestReasonCode::kSymlink);
  EXPECT_EQ(legacy_reason_code("not a regular file"), DigestReasonCode::kNotRegular);
  EXPECT_EQ(legacy_reason_code("cannot open: EACCES"), DigestReasonCode::kOther);
  EXPECT_EQ(legacy_reason_code(""), DigestReasonCode::kNone);
}


// The one encoder and decoder of DIGEST records (capture/digest_record.h).
TEST(DigestRecordCodec, RoundTripsEveryField) {
  DigestRecord d;
  d.role = DigestRole::kBefore;
  d.path = "/w/f";
  d.pid = 42;
  d.ts_ns = 123456789;
  d.status = DigestStatus::kRaced;
  d.reason = "the file changed while it was hashed";
  d.reason_code = DigestReasonCode::kOther;
  d.trigger = "renameat2";
  d.fileless = true;
  d.id = Inode{1, 2, 3, 4, 5};
  d.found_id = Inode{1, 2, 6, 7, 8};
  d.alias = "/link/f";
  DigestRecord back = decode_digest(encode_digest(d));
  EXPECT_EQ(encode_digest(back), encode_digest(d));
  EXPECT_EQ(back.role, DigestRole::kBefore);
  EXPECT_EQ(back.status, DigestStatus::kRaced);
  EXPECT_EQ(back.reason_code, DigestReasonCode::kOther);
  ASSERT_TRUE(back.found_id.has_value());
  EXPECT_EQ(back.found_id->size, 6);
}

TEST(DigestRecordCodec, ReadsOlderAndNewerRecordsConservatively) {
  // older: no reason_code, the text only
  auto old = decode_digest(nlohmann::json::parse(
      R"({"role":"after","path":"/a","pid":1,"ts":0,"status":"unavailable","reason":"no longer exists"})"));
  EXPECT_EQ(old.role, DigestRole::kAfter);
  EXPECT_EQ(old.reason_code, DigestReasonCode::kGone);
  // newer: a role, a status and fields this reader does not know
  auto newer = decode_digest(nlohmann::json::parse(
      R"({"role":"xattr","path":"/a","status":"verified","sha256":"ab","extra":{"x":1}})"));
  EXPECT_EQ(newer.role, DigestRole::kUnknown);
  EXPECT_EQ(newer.status, DigestStatus::kUnavailable) << "an unknown status is never exact";
  // wrong types: nothing thrown, nothing vouched for
  auto bad = decode_digest(nlohmann::json::parse(
      R"({"role":7,"path":[],"pid":"x","ts":-1,"status":"exact","id":"no"})"));
  EXPECT_EQ(bad.role, DigestRole::kUnknown);
  EXPECT_FALSE(bad.exact()) << "exact without a digest";
  EXPECT_FALSE(bad.id.has_value());
  EXPECT_EQ(decode_digest(nlohmann::json::array()).role, DigestRole::kUnknown);
  // the model ignores a record of a role it does not know
  Model m;
  m.apply_digest(newer);
  EXPECT_TRUE(m.files().empty() || m.files().begin()->second.digests.empty());
}

}  // namespace
}  // namespace stepseal
