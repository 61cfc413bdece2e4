// digest_test.cpp - the SHA-256 digests in the summary, end to end: a real command under
// `stepseal run`, and every digest stepseal reports compared with sha256sum(1) of the bytes the
// test knows were there (before the step, after it, or when the step read them).
//
// Timing: a read digest is only "exact" if no change after the read could have kept the file's
// identity, so files the tests create for the step to read are aged and observed first
// (WaitUntilOld: bounded polling of the coarse clock, never a fixed sleep).
//
// The race tests (7.) run tests/progs/digest_rewrite, which prints every content it read; every
// digest stepseal reports as exact content read must be the sha256sum of one of those. Where
// the interleaving matters, the program waits (inotify, bounded) for stepseal's hasher to open
// the file, so a stale or late digest is not left to chance.
#include <elf.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "harness.h"

namespace e2e {
namespace {

int64_t Nanos(const timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; }

// The coarse clock's tick: the granularity of the kernel's file timestamps.
int64_t CoarseTickNs() {
  timespec res{};
  clock_getres(CLOCK_REALTIME_COARSE, &res);
  return Nanos(res);
}

// Waits until PATH's last change (ctime) is more than TICKS coarse ticks in the past, by the
// coarse clock (which lags real time, so real time is past it too). Bounded: 5 s. Its stat()
// also observes the ctime, which on a filesystem with multigrain timestamps makes the kernel
// give any later change a strictly later ctime: either way, a later change of the file cannot
// keep its identity, and a digest of it can be proven. Call it on every file a test expects
// an exact read or exec digest of.
testing::AssertionResult WaitUntilOld(const std::string& path, int ticks = 3) {
  struct stat st{};
  if (stat(path.c_str(), &st) != 0)
    return testing::AssertionFailure() << "stat " << path << ": " << strerror(errno);
  const int64_t target = Nanos(st.st_ctim) + ticks * CoarseTickNs();
  const auto deadline = Clock::now() + 5s;
  while (Clock::now() < deadline) {
    timespec now{};
    clock_gettime(CLOCK_REALTIME_COARSE, &now);
    if (Nanos(now) > target) return testing::AssertionSuccess();
    timespec pause{0, 500000};
    nanosleep(&pause, nullptr);
  }
  return testing::AssertionFailure() << "the coarse clock did not pass " << path << "'s ctime";
}

std::string Str(const json* entry, const char* key) {
  return entry && entry->contains(key) && entry->at(key).is_string()
             ? entry->at(key).get<std::string>()
             : std::string();
}

// The digests stepseal reports as exact content of a file as read or executed: "sha256" and
// every entry of "sha256_versions".
std::set<std::string> ExactReadDigests(const json& file) {
  std::set<std::string> out;
  if (file.contains("sha256")) out.insert(file["sha256"].get<std::string>());
  for (const auto& v : file.value("sha256_versions", json::array())) out.insert(v.get<std::string>());
  return out;
}

// sha256sum(1) of each of several byte strings, in one run of sha256sum.
std::vector<std::string> Sha256OfEach(const std::vector<std::string>& contents) {
  TempDir tmp;
  std::vector<std::string> argv = {"/usr/bin/sha256sum", "--"};
  for (size_t i = 0; i < contents.size(); i++) {
    argv.push_back(tmp / std::to_string(i));
    WriteFile(argv.back(), contents[i]);
  }
  std::vector<std::string> out;
  if (contents.empty()) return out;
  CommandResult r = RunCommand(argv);
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) out.push_back(line.substr(0, 64));
  return out;
}

void CopyFile(const std::string& from, const std::string& to, mode_t mode = 0755) {
  WriteFile(to, ReadFile(from));
  chmod(to.c_str(), mode);
}

// Whether the ELF file at PATH asks for a program interpreter (is dynamically linked).
std::optional<bool> HasInterpreter(const std::string& path) {
  std::string bytes = ReadFile(path);
  if (bytes.size() < sizeof(Elf64_Ehdr) || bytes.compare(0, 4, ELFMAG) != 0) return std::nullopt;
  Elf64_Ehdr eh;
  memcpy(&eh, bytes.data(), sizeof eh);
  for (int i = 0; i < eh.e_phnum; i++) {
    size_t off = eh.e_phoff + static_cast<size_t>(i) * eh.e_phentsize;
    if (off + sizeof(Elf64_Phdr) > bytes.size()) return std::nullopt;
    Elf64_Phdr ph;
    memcpy(&ph, bytes.data() + off, sizeof ph);
    if (ph.p_type == PT_INTERP) return true;
  }
  return false;
}

// Bytes that are not text, longer than one 1 MiB read: every byte value, in a fixed sequence.
std::string BinaryContent(size_t size) {
  std::string s(size, '\0');
  uint32_t x = 2463534242u;
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x & 0xff);
  }
  return s;
}

class DigestTest : public E2ETest {
 protected:
  // Writes each file of ORIGINAL (name relative to work(), content) and waits until all are old
  // enough that any later change must change their identity.
  testing::AssertionResult WriteOldFiles(const std::map<std::string, std::string>& original) {
    for (const auto& [name, content] : original) WriteFile(work(name), content);
    for (const auto& [name, content] : original)
      if (auto old = WaitUntilOld(work(name)); !old) return old;
    return testing::AssertionSuccess();
  }

  // Traces `sh -c SCRIPT` with work() as its directory.
  TracedRun ShInWork(const std::string& script) {
    SpawnOptions in_work;
    in_work.cwd = work();
    return Trace({"/bin/sh", "-c", script}, in_work);
  }

  // The entry for PATH, or a failure (with the files of the summary).
  static const json* FileEntry(const Summary& s, const std::string& path) {
    const json* f = s.File(path);
    EXPECT_NE(f, nullptr) << "no file entry for " << path << "; files: " << Dump(s.files());
    return f;
  }

  // The only process entry that matches FIELDS.
  static const json* OnlyProcess(const Summary& s, const json& fields) {
    auto found = s.ProcessesWhere(fields);
    EXPECT_EQ(found.size(), 1u) << "processes matching " << fields.dump() << ": "
                                << Dump(s.processes());
    return found.size() == 1 ? found[0] : nullptr;
  }

  // What a run of tests/progs/digest_rewrite reported on stdout.
  struct RewriteRun {
    TracedRun run;
    std::set<std::string> read_digests;  // sha256sum of every content the program read
    std::vector<std::string> read_contents;
    std::map<std::string, int> counters;  // SYNCED, LEFT_TICK, LAGGING
  };

  RewriteRun Rewrite(const std::string& mode, int iterations) {
    const std::string file = work("rewritten");
    // 100 bytes, one line: the program writes its own versions of this very size
    WriteFile(file, "initial content, written by the test " + std::string(63, '.'));
    EXPECT_TRUE(WaitUntilOld(file));
    RewriteRun r;
    r.run = Trace({Prog("digest_rewrite"), file, mode, std::to_string(iterations)});
    std::istringstream lines(r.run.run.out);
    std::set<std::string> distinct;
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("READ ", 0) == 0) {
        r.read_contents.push_back(line.substr(5));
        distinct.insert(line.substr(5));
      } else {
        std::istringstream fields(line);
        std::string name;
        int value;
        if (fields >> name >> value) r.counters[name] = value;
      }
    }
    for (const auto& d : Sha256OfEach({distinct.begin(), distinct.end()})) r.read_digests.insert(d);
    return r;
  }

  // The invariant of the race tests: every digest stepseal reports as exact content of FILE is
  // the digest of a content the program read. Returns the file's entry.
  const json* ExpectOnlyReadContentIsExact(const RewriteRun& r) {
    const std::string file = work("rewritten");
    EXPECT_TRUE(CleanRun(r.run));
    EXPECT_FALSE(r.read_contents.empty()) << r.run.Describe();
    for (const auto& c : r.read_contents)
      EXPECT_EQ(c.find("POISON"), std::string::npos) << "the program read a poison version";
    const json* f = FileEntry(r.run.summary, file);
    if (!f) {
      ADD_FAILURE() << "no file entry for " << file << "\n" << r.run.Describe();
      return nullptr;
    }
    std::vector<std::string> never_read;
    for (const auto& d : ExactReadDigests(*f))
      if (!r.read_digests.count(d)) never_read.push_back(d);
    EXPECT_TRUE(never_read.empty())
        << "stepseal reports " << never_read.size() << " digest(s) as exact content read that "
        << "are digests of no content the program read (a version written after the read, or a "
        << "poison version): " << json(never_read).dump() << "\nthe program read "
        << r.read_contents.size() << " times; entry: " << f->dump();
    return f;
  }
};

// 1. A file read by cat: sha256 is sha256sum of its content, exact.
TEST_F(DigestTest, ReadFileIsExact) {
  const std::string text = work("text.txt"), binary = work("binary.bin");
  const std::string text_content = "read by cat under stepseal, pid " + std::to_string(getpid());
  const std::string binary_content = BinaryContent(3 * 1024 * 1024 + 17);  // several 1 MiB reads
  WriteFile(text, text_content);
  WriteFile(binary, binary_content);
  ASSERT_TRUE(WaitUntilOld(text));
  ASSERT_TRUE(WaitUntilOld(binary));
  const std::string expected_text = Sha256Of(text_content);
  ASSERT_EQ(Sha256Sum(text), expected_text);

  TracedRun r = Trace({"/bin/cat", text, binary});
  ASSERT_TRUE(CleanRun(r));
  ASSERT_EQ(r.run.out, text_content + binary_content);

  for (const auto& [path, sha] :
       {std::pair{text, expected_text}, std::pair{binary, Sha256Sum(binary)}}) {
    SCOPED_TRACE(path);
    const json* f = FileEntry(r.summary, path);
    ASSERT_NE(f, nullptr);
    EXPECT_TRUE(r.summary.HasAccess(path, "read"));
    EXPECT_EQ(Str(f, "sha256"), sha) << f->dump();
    EXPECT_EQ(Str(f, "digest_status"), "exact") << f->dump();
    EXPECT_FALSE(f->contains("digest_reason")) << f->dump();
    EXPECT_FALSE(f->contains("sha256_versions")) << "one version was read: " << f->dump();
    // not changed by the step: no pre-image, no final content
    EXPECT_FALSE(f->contains("sha256_before")) << f->dump();
    EXPECT_FALSE(f->contains("sha256_after")) << f->dump();
  }
  EXPECT_NE(Sha256Sum(text), Sha256Sum(binary));
}

// 2. Executed binaries, dynamic and static, and a #! script with its interpreter.
TEST_F(DigestTest, ExecutedBinariesAndScript) {
  const std::string dynamic_bin = Prog("exit_with");
  // a static binary, built here: the helper programs are all dynamically linked
  const std::string source = dir() / "static_true.c", static_bin = dir() / "static_true";
  WriteFile(source, "int main(void) { return 0; }\n");
  CommandResult cc = RunCommand({"/usr/bin/cc", "-static", "-O2", "-o", static_bin, source});
  ASSERT_EQ(cc.exit_code, 0) << "cannot build a static binary (gcc and libc6-dev needed)\n"
                             << cc.Describe();
  ASSERT_EQ(HasInterpreter(dynamic_bin), std::optional<bool>(true));
  ASSERT_EQ(HasInterpreter(static_bin), std::optional<bool>(false));

  const std::string shell = Canonical("/bin/sh"), script = work("script.sh");
  WriteFile(script, "#!/bin/sh\n" + dynamic_bin + " 0\n" + static_bin + "\n");
  chmod(script.c_str(), 0755);
  for (const auto& p : {dynamic_bin, static_bin, script, shell}) ASSERT_TRUE(WaitUntilOld(p));

  TracedRun r = Trace({script});
  ASSERT_TRUE(CleanRun(r));
  const Summary& s = r.summary;

  // the script's process runs the interpreter; the script is recorded with it
  const json* root = OnlyProcess(s, {{"script", script}});
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(Str(root, "exe"), shell) << root->dump();
  EXPECT_EQ(Str(root, "exe_sha256"), Sha256Sum(shell)) << root->dump();
  EXPECT_EQ(Str(root, "exe_digest_status"), "exact") << root->dump();
  EXPECT_FALSE(root->value("fileless", false)) << root->dump();
  for (const auto& path : {shell, script}) {
    SCOPED_TRACE(path);
    const json* f = FileEntry(s, path);
    ASSERT_NE(f, nullptr);
    EXPECT_TRUE(s.HasAccess(path, "exec"));
    EXPECT_EQ(Str(f, "sha256"), Sha256Sum(path)) << f->dump();
    EXPECT_EQ(Str(f, "digest_status"), "exact") << f->dump();
  }

  for (const auto& bin : {dynamic_bin, static_bin}) {
    SCOPED_TRACE(bin);
    const std::string sha = Sha256Sum(bin);
    const json* p = OnlyProcess(s, {{"exe", bin}});
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(Str(p, "exe_sha256"), sha) << p->dump();
    EXPECT_EQ(Str(p, "exe_digest_status"), "exact") << p->dump();
    EXPECT_FALSE(p->contains("exe_digest_reason")) << p->dump();
    EXPECT_FALSE(p->value("fileless", false)) << p->dump();
    const json* f = FileEntry(s, bin);
    ASSERT_NE(f, nullptr);
    EXPECT_TRUE(s.HasAccess(bin, "exec"));
    EXPECT_EQ(Str(f, "sha256"), sha) << f->dump();
  }
}

// 3. Execution without a path: a memfd (fexecve), a regular file's descriptor (execveat with
// AT_EMPTY_PATH), and a file deleted between open and execveat.
TEST_F(DigestTest, FilelessAndDescriptorExec) {
  const std::string binary = Prog("exit_with"), binary_sha = Sha256Sum(binary);
  ASSERT_TRUE(WaitUntilOld(binary));
  ASSERT_TRUE(WaitUntilOld(Prog("digest_fexec")));

  {  // memfd: a copy of exit_with, fexecve()d once it is more than two ticks old
    SCOPED_TRACE("memfd");
    TracedRun r =
        Trace({Prog("digest_fexec"), "memfd", binary, "--settle", "--", "exit_with", "0"});
    ASSERT_TRUE(CleanRun(r));
    auto fileless = r.summary.ProcessesWhere({{"fileless", true}});
    ASSERT_EQ(fileless.size(), 1u) << Dump(r.summary.processes());
    const json* p = fileless[0];
    EXPECT_EQ(Str(p, "exe").rfind("/memfd:stepseal-digest", 0), 0u) << p->dump();
    EXPECT_EQ(Str(p, "exe_sha256"), binary_sha) << p->dump();
    EXPECT_EQ(Str(p, "exe_digest_status"), "exact") << p->dump();
    const json* root = OnlyProcess(r.summary, {{"exe", Prog("digest_fexec")}});
    ASSERT_NE(root, nullptr);
    EXPECT_FALSE(root->value("fileless", false)) << root->dump();
    EXPECT_EQ(Str(root, "exe_sha256"), Sha256Sum(Prog("digest_fexec"))) << root->dump();
  }

  {  // a regular file through its descriptor: not fileless, its own digest
    SCOPED_TRACE("execveat of a regular file");
    const std::string copy = work("exit_with_copy");
    CopyFile(binary, copy);
    std::ofstream(copy, std::ios::app) << "trailing bytes make this copy's digest its own";
    const std::string copy_sha = Sha256Sum(copy);
    ASSERT_NE(copy_sha, binary_sha);
    ASSERT_TRUE(WaitUntilOld(copy));
    TracedRun r = Trace({Prog("digest_fexec"), "fd", copy, "--", "exit_with", "0"});
    ASSERT_TRUE(CleanRun(r));
    const json* p = OnlyProcess(r.summary, {{"exe", copy}});
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(Str(p, "exe_sha256"), copy_sha) << p->dump();
    EXPECT_EQ(Str(p, "exe_digest_status"), "exact") << p->dump();
    EXPECT_FALSE(p->value("fileless", false)) << p->dump();
    const json* f = FileEntry(r.summary, copy);
    ASSERT_NE(f, nullptr);
    EXPECT_TRUE(r.summary.HasAccess(copy, "exec"));
    EXPECT_EQ(Str(f, "sha256"), copy_sha) << f->dump();
  }

  {  // a file unlinked after open: executed as "PATH (deleted)", fileless
    SCOPED_TRACE("execveat of a deleted file");
    const std::string doomed = work("doomed");
    CopyFile(binary, doomed);
    std::ofstream(doomed, std::ios::app) << "the doomed copy";
    const std::string doomed_sha = Sha256Sum(doomed);
    ASSERT_NE(doomed_sha, binary_sha);
    TracedRun r =
        Trace({Prog("digest_fexec"), "deleted", doomed, "--settle", "--", "exit_with", "0"});
    ASSERT_TRUE(CleanRun(r));
    ASSERT_NE(access(doomed.c_str(), F_OK), 0) << "the step did not delete " << doomed;
    const json* p = OnlyProcess(r.summary, {{"exe", doomed + " (deleted)"}});
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(p->value("fileless", false)) << p->dump();
    EXPECT_EQ(Str(p, "exe_sha256"), doomed_sha) << p->dump();
    EXPECT_EQ(Str(p, "exe_digest_status"), "exact") << p->dump();
    // the unlink destroyed content that existed before the step
    const json* f = FileEntry(r.summary, doomed);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(Str(f, "sha256_before"), doomed_sha) << f->dump();
    EXPECT_FALSE(f->contains("sha256_after")) << f->dump();
  }
}

// 3b. A memfd executed right after it was written: its content cannot be proven by identity
// alone, but whatever stepseal reports as exact must be the bytes copied into it.
TEST_F(DigestTest, FreshMemfdExecNeverHasAWrongDigest) {
  const std::string binary = Prog("exit_with");
  TracedRun r = Trace({Prog("digest_fexec"), "memfd", binary, "--", "exit_with", "0"});
  ASSERT_TRUE(CleanRun(r));
  auto fileless = r.summary.ProcessesWhere({{"fileless", true}});
  ASSERT_EQ(fileless.size(), 1u) << Dump(r.summary.processes());
  const json* p = fileless[0];
  ASSERT_TRUE(p->contains("exe_digest_status")) << p->dump();
  if (Str(p, "exe_digest_status") == "exact")
    EXPECT_EQ(Str(p, "exe_sha256"), Sha256Sum(binary)) << p->dump();
  else
    EXPECT_FALSE(p->contains("exe_sha256")) << p->dump();
}

// 4. Appending keeps the old content (write, with before and after); O_TRUNC and an in-place
// write replace it (overwrite); a new file has no pre-image.
TEST_F(DigestTest, CreateAppendTruncateInPlace) {
  const std::map<std::string, std::string> original = {
      {"append.txt", "appended to by the step;"},
      {"trunc.txt", "emptied and rewritten by the step\n"},
      {"inplace.txt", "0123456789 rewritten in place\n"},
  };
  ASSERT_TRUE(WriteOldFiles(original));

  TracedRun r = ShInWork("printf ' more' >> append.txt && printf new > trunc.txt && "
                         "printf created > created.txt && printf XY 1<> inplace.txt");
  ASSERT_TRUE(CleanRun(r));
  const Summary& s = r.summary;
  const std::map<std::string, std::string> final_content = {
      {"append.txt", "appended to by the step; more"},
      {"trunc.txt", "new"},
      {"created.txt", "created"},
      {"inplace.txt", "XY23456789 rewritten in place\n"},
  };
  for (const auto& [name, content] : final_content) {
    SCOPED_TRACE(name);
    ASSERT_EQ(ReadFile(work(name)), content);
    const json* f = FileEntry(s, work(name));
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(Str(f, "sha256_after"), Sha256Sum(work(name))) << f->dump();
    EXPECT_EQ(Str(f, "sha256_after"), Sha256Of(content)) << f->dump();
    if (original.count(name)) {
      EXPECT_EQ(Str(f, "sha256_before"), Sha256Of(original.at(name))) << f->dump();
    } else {
      EXPECT_FALSE(f->contains("sha256_before")) << "did not exist before the step: " << f->dump();
    }
  }

  EXPECT_TRUE(s.HasAccess(work("append.txt"), "write"));
  EXPECT_TRUE(s.LacksAccess(work("append.txt"), "overwrite")) << "O_APPEND keeps the content";
  EXPECT_TRUE(s.LacksAccess(work("append.txt"), "create"));
  EXPECT_EQ(Str(s.File(work("append.txt")), "digest_status"), "exact");
  EXPECT_TRUE(s.HasAccess(work("trunc.txt"), "overwrite"));
  EXPECT_TRUE(s.LacksAccess(work("trunc.txt"), "create"));
  EXPECT_EQ(Str(s.File(work("trunc.txt")), "digest_status"), "exact");
  EXPECT_TRUE(s.HasAccess(work("created.txt"), "create"));
  EXPECT_TRUE(s.LacksAccess(work("created.txt"), "overwrite"));
  EXPECT_EQ(Str(s.File(work("created.txt")), "digest_status"), "exact");
  EXPECT_TRUE(s.HasAccess(work("inplace.txt"), "overwrite")) << "O_RDWR without O_TRUNC";
  // 1<> opens for reading too: what it read (if stepseal could prove it) is the old content
  const json* inplace = s.File(work("inplace.txt"));
  if (inplace && inplace->contains("sha256")) {
    EXPECT_EQ(Str(inplace, "sha256"), Sha256Of(original.at("inplace.txt"))) << inplace->dump();
  }
}

// 5. rename over an existing file, RENAME_EXCHANGE, unlink: pre-images of what was replaced or
// destroyed, final contents of what is left.
TEST_F(DigestTest, RenameExchangeUnlink) {
  const std::map<std::string, std::string> original = {
      {"src", "moved over dst by rename\n"},
      {"dst", "dst, replaced by the rename\n"},
      {"x", "x before the exchange\n"},
      {"y", "y before the exchange, longer\n"},
      {"gone", "deleted by the step\n"},
  };
  std::map<std::string, std::string> sha;
  for (const auto& [name, content] : original) {
    WriteFile(work(name), content);
    sha[name] = Sha256Sum(work(name));
    ASSERT_EQ(sha[name], Sha256Of(content));
  }
  TracedRun r = Trace({Prog("digest_rename"), work()});
  ASSERT_TRUE(CleanRun(r));
  const Summary& s = r.summary;
  ASSERT_EQ(Sha256Sum(work("dst")), sha["src"]);
  ASSERT_EQ(Sha256Sum(work("x")), sha["y"]);
  ASSERT_EQ(Sha256Sum(work("y")), sha["x"]);
  ASSERT_NE(access(work("gone").c_str(), F_OK), 0);
  ASSERT_NE(access(work("src").c_str(), F_OK), 0);

  // name -> {before, after}
  const std::map<std::string, std::pair<std::string, std::string>> expected = {
      {"dst", {sha["dst"], sha["src"]}},
      {"x", {sha["x"], sha["y"]}},
      {"y", {sha["y"], sha["x"]}},
  };
  for (const auto& [name, digests] : expected) {
    SCOPED_TRACE(name);
    const json* f = FileEntry(s, work(name));
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(Str(f, "sha256_before"), digests.first) << f->dump();
    EXPECT_EQ(Str(f, "sha256_after"), digests.second) << f->dump();
    EXPECT_EQ(Str(f, "sha256_after"), Sha256Sum(work(name))) << f->dump();
    EXPECT_TRUE(s.HasAccess(work(name), "rename_to"));
    EXPECT_TRUE(s.HasAccess(work(name), "overwrite"));
    EXPECT_EQ(Str(f, "digest_status"), "exact") << f->dump();
  }

  const json* src = FileEntry(s, work("src"));
  ASSERT_NE(src, nullptr);
  EXPECT_TRUE(s.HasAccess(work("src"), "rename_from"));
  EXPECT_FALSE(src->contains("sha256_after")) << "src no longer exists: " << src->dump();

  const json* gone = FileEntry(s, work("gone"));
  ASSERT_NE(gone, nullptr);
  EXPECT_TRUE(s.HasAccess(work("gone"), "delete"));
  EXPECT_EQ(Str(gone, "sha256_before"), sha["gone"]) << gone->dump();
  EXPECT_FALSE(gone->contains("sha256_after")) << gone->dump();
  EXPECT_EQ(Str(gone, "digest_status"), "exact") << gone->dump();
}

// 6. Content that appears without an ordinary write-open of its final name: O_TMPFILE + linkat,
// copy_file_range/sendfile/splice, a shared writable mapping; and copy_file_range into an
// existing file.
TEST_F(DigestTest, TmpfileLinkCopyAndMmap) {
  {
    SCOPED_TRACE("O_TMPFILE + linkat");
    TracedRun r = Trace({Prog("digest_tmpfile"), work()});
    ASSERT_TRUE(CleanRun(r));
    for (const auto& [name, content] :
         {std::pair{"via_proc", "O_TMPFILE, linked through /proc/self/fd\n"},
          std::pair{"via_empty_path", "O_TMPFILE, linked with AT_EMPTY_PATH\n"}}) {
      SCOPED_TRACE(name);
      const json* f = FileEntry(r.summary, work(name));
      ASSERT_NE(f, nullptr);
      EXPECT_TRUE(r.summary.HasAccess(work(name), "link"));
      EXPECT_EQ(Str(f, "sha256_after"), Sha256Of(content)) << f->dump();
      EXPECT_EQ(Str(f, "sha256_after"), Sha256Sum(work(name))) << f->dump();
      EXPECT_FALSE(f->contains("sha256_before")) << f->dump();
    }
  }
  {
    SCOPED_TRACE("copy_file_range, sendfile, splice into new files");
    const std::string content = "copied by copy_ops, pid " + std::to_string(getpid()) + "\n";
    WriteFile(work("src"), content);
    ASSERT_TRUE(WaitUntilOld(work("src")));
    TracedRun r = Trace({Prog("copy_ops"), work()});
    ASSERT_TRUE(CleanRun(r));
    for (const char* out : {"cfr.out", "sendfile.out", "splice.out"}) {
      SCOPED_TRACE(out);
      const json* f = FileEntry(r.summary, work(out));
      ASSERT_NE(f, nullptr);
      EXPECT_EQ(Str(f, "sha256_after"), Sha256Of(content)) << f->dump();
      EXPECT_EQ(Str(f, "sha256_after"), Sha256Sum(work(out))) << f->dump();
      EXPECT_FALSE(f->contains("sha256_before")) << f->dump();
    }
    const json* src = FileEntry(r.summary, work("src"));
    ASSERT_NE(src, nullptr);
    EXPECT_EQ(Str(src, "sha256"), Sha256Of(content)) << src->dump();
    EXPECT_EQ(Str(src, "digest_status"), "exact") << src->dump();
    EXPECT_FALSE(src->contains("sha256_after")) << src->dump();
  }
  {
    SCOPED_TRACE("copy_file_range into an existing file");
    WriteFile(work("patch"), "XYZ");
    WriteFile(work("patched"), "0123456789abcdef\n");
    const std::string before = Sha256Sum(work("patched"));
    TracedRun r = Trace({Prog("digest_copy_into"), work("patch"), work("patched"), "4"});
    ASSERT_TRUE(CleanRun(r));
    ASSERT_EQ(ReadFile(work("patched")), "0123XYZ789abcdef\n");
    const json* f = FileEntry(r.summary, work("patched"));
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(Str(f, "sha256_before"), before) << f->dump();
    EXPECT_EQ(Str(f, "sha256_after"), Sha256Of("0123XYZ789abcdef\n")) << f->dump();
    EXPECT_EQ(Str(f, "sha256_after"), Sha256Sum(work("patched"))) << f->dump();
    EXPECT_TRUE(r.summary.HasAccess(work("patched"), "overwrite"));
  }
  {
    SCOPED_TRACE("shared writable mapping of an existing file");
    const std::string shared = "shared mapping, changed by the step\n";
    const std::string private_content = "private mapping, never changed\n";
    WriteFile(work("shared"), shared);
    WriteFile(work("private"), private_content);
    ASSERT_TRUE(WaitUntilOld(work("shared")));
    ASSERT_TRUE(WaitUntilOld(work("private")));
    TracedRun r = Trace({Prog("mmap_ops"), work("shared"), work("private")});
    ASSERT_TRUE(CleanRun(r));
    const std::string changed = "MMAP" + shared.substr(4);
    ASSERT_EQ(ReadFile(work("shared")), changed);
    const json* f = FileEntry(r.summary, work("shared"));
    ASSERT_NE(f, nullptr);
    EXPECT_TRUE(r.summary.HasAccess(work("shared"), "mmap_write"));
    EXPECT_EQ(Str(f, "sha256_before"), Sha256Of(shared)) << f->dump();
    EXPECT_EQ(Str(f, "sha256_after"), Sha256Of(changed)) << f->dump();
    EXPECT_EQ(Str(f, "sha256_after"), Sha256Sum(work("shared"))) << f->dump();
    // mmap_ops opens it O_RDWR (a read of the old content) and reads it back after msync (the
    // new content, changed a moment before: not provable). Nothing else may be exact.
    for (const auto& d : ExactReadDigests(*f))
      EXPECT_TRUE(d == Sha256Of(shared) || d == Sha256Of(changed)) << d << ": " << f->dump();

    const json* p = FileEntry(r.summary, work("private"));
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(Str(p, "sha256"), Sha256Of(private_content)) << p->dump();
    EXPECT_EQ(Str(p, "digest_status"), "exact") << p->dump();
    EXPECT_FALSE(p->contains("sha256_before")) << p->dump();
    EXPECT_FALSE(p->contains("sha256_after")) << p->dump();
  }
}

// 7. Races: a file rewritten (same size, different bytes) right after the step read it is never
// reported "exact" with bytes that were not there when it was read. Every version the program
// writes is unique, and it writes "poison" versions it never reads, so a stale or late digest
// shows up as a digest of something never read.

// As fast as possible, 200 times: read, write a poison version, write the next version.
TEST_F(DigestTest, RewriteRaceFreeRunning) {
  RewriteRun r = Rewrite("free", 200);
  ExpectOnlyReadContentIsExact(r);
  EXPECT_EQ(r.read_contents.size(), 200u);
}

// Each version is stable for two ticks before the read; the poison version is written after
// the read and hashed (the program waits for stepseal's hasher, through inotify) after that: its
// timestamps differ, the identity check must catch it.
TEST_F(DigestTest, RewriteRaceAfterStableVersion) {
  RewriteRun r = Rewrite("stable", 10);
  const json* f = ExpectOnlyReadContentIsExact(r);
  ASSERT_GE(r.counters["SYNCED"], 1) << "the hasher never ran after a poison write\n"
                                     << r.run.Describe();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(Str(f, "digest_status"), "raced") << f->dump();
  EXPECT_EQ(Str(f, "digest_reason").rfind("read: ", 0), 0u) << f->dump();
}

// The version is written, read and replaced by the poison one within one coarse clock tick, at
// its start: the poison version may carry the same size, mtime and ctime as the one read.
TEST_F(DigestTest, RewriteRaceWithinOneTick) {
  RewriteRun r = Rewrite("sametick", 20);
  const json* f = ExpectOnlyReadContentIsExact(r);
  ASSERT_GE(r.counters["SYNCED"], 1) << "the hasher never ran after a poison write\n"
                                     << r.run.Describe();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(Str(f, "digest_status"), "raced") << f->dump();
  EXPECT_EQ(Str(f, "digest_reason").rfind("read: ", 0), 0u) << f->dump();
}

// The same within one coarse tick, but late in a tick whose coarse time already lags real time
// by more than a tick length (the kernel stamps files with that lagging time): the read comes
// more than "one tick" after the file's ctime, yet the rewrite keeps the very same timestamps.
TEST_F(DigestTest, RewriteRaceWhileCoarseClockLags) {
  RewriteRun r = Rewrite("lagging", 10);
  const json* f = ExpectOnlyReadContentIsExact(r);
  ASSERT_NE(f, nullptr);
  // The race this test is about must have happened, or it checked nothing.
  ASSERT_GE(r.counters["LAGGING"], 1) << "no iteration found the coarse clock lagging\n"
                                      << r.run.Describe();
  ASSERT_GE(r.counters["SYNCED"], 1) << "the hasher never ran after a poison write\n"
                                     << r.run.Describe();
  EXPECT_EQ(Str(f, "digest_status"), "raced") << f->dump();
}

// A write through a shared mapping to a page that is already dirty does not stamp the file at
// all: identity (size, mtime, ctime) cannot tell the poison version from the one read.
TEST_F(DigestTest, RewriteRaceThroughSharedMapping) {
  RewriteRun r = Rewrite("mmap", 3);
  const json* f = ExpectOnlyReadContentIsExact(r);
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(r.run.summary.HasAccess(work("rewritten"), "mmap_write"));
  // The race this test is about must have happened, or it checked nothing.
  ASSERT_GE(r.counters["SYNCED"], 1) << "the hasher never ran after a poison write\n"
                                     << r.run.Describe();
  EXPECT_EQ(Str(f, "digest_status"), "raced") << f->dump();
}

// The step opens the file, stepseal hashes it, the step rewrites it through another descriptor
// and only then reads through the first one: it never read the content at its open.
TEST_F(DigestTest, ReadThroughDescriptorOpenedBeforeRewrite) {
  RewriteRun r = Rewrite("late", 1);
  ExpectOnlyReadContentIsExact(r);
}

// 8. Digest counters.
TEST_F(DigestTest, Stats) {
  const std::string input = work("input.txt"), content(10000, 'i');
  WriteFile(input, content);
  ASSERT_TRUE(WaitUntilOld(input));

  {  // reads only: nothing for the pre-image filter to stop
    SCOPED_TRACE("cat");
    TracedRun r = Trace({"/bin/cat", input});
    ASSERT_TRUE(CleanRun(r));
    json stats = r.summary.raw().value("stats", json::object());
    EXPECT_EQ(stats.value("seccomp_notifications", -1), 0) << stats.dump();
    EXPECT_GE(stats.value("bytes_hashed", 0L), static_cast<long>(content.size())) << stats.dump();
  }

  TracedRun r = ShInWork("cat input.txt > copy1.txt && cat input.txt > copy2.txt && "
                         "cat input.txt >> copy2.txt");
  ASSERT_TRUE(CleanRun(r));
  json stats = r.summary.raw().value("stats", json::object());
  SCOPED_TRACE(stats.dump());
  // input.txt read, copy1.txt (10000 bytes) and copy2.txt (twice that) at step end, /bin/cat
  EXPECT_GE(stats.value("bytes_hashed", 0L), 4L * static_cast<long>(content.size()));
  EXPECT_GE(stats.value("unique_files_hashed", 0L), 4L);
  // three opens for writing: the filter stopped each one
  EXPECT_GE(stats.value("seccomp_notifications", 0L), 3L);
  const long requests = stats.value("digest_requests", 0L), hits = stats.value("digest_cache_hits", -1L);
  EXPECT_GT(requests, 0);
  EXPECT_GE(hits, 1) << "input.txt and /usr/bin/cat are read three times, one version each";
  EXPECT_LE(hits, requests);
  ASSERT_TRUE(stats.contains("cache_hit_rate"));
  EXPECT_NEAR(stats["cache_hit_rate"].get<double>(), static_cast<double>(hits) / requests, 1e-9);
  const json* copy2 = FileEntry(r.summary, work("copy2.txt"));
  ASSERT_NE(copy2, nullptr);
  EXPECT_EQ(Str(copy2, "sha256_after"), Sha256Of(content + content));
}

// Pre-images must not depend on the spelling of the path: a write through a symlinked
// directory, or through /dev/fd/N, replaces the same file's content.
TEST_F(DigestTest, PreImageThroughSymlinkedDirectoryAndDevFd) {
  ASSERT_EQ(mkdir(work("real").c_str(), 0755), 0);
  ASSERT_EQ(symlink("real", work("link").c_str()), 0);
  const std::map<std::string, std::string> original = {
      {"real/truncated", "truncated through a symlinked directory\n"},
      {"real/in_place", "written in place through a symlinked directory\n"},
      {"by_fd", "written in place through /dev/fd/3\n"},
  };
  ASSERT_TRUE(WriteOldFiles(original));
  TracedRun r = ShInWork("printf new > link/truncated && printf XY 1<> link/in_place && "
                         "exec 3< by_fd && printf ZZ 1<> /dev/fd/3");
  ASSERT_TRUE(CleanRun(r));
  for (const auto& [name, content] : original) {
    SCOPED_TRACE(name);
    const json* f = FileEntry(r.summary, work(name));
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(Str(f, "sha256_before"), Sha256Of(content)) << f->dump();
    EXPECT_EQ(Str(f, "sha256_after"), Sha256Sum(work(name))) << f->dump();
    EXPECT_TRUE(r.summary.HasAccess(work(name), "overwrite"));
  }
}

// A pre-image belongs to a change: a file that is only read (openat2 O_RDONLY, or a failed
// O_EXCL create of an existing lock file) has none.
TEST_F(DigestTest, NoPreImageWithoutChange) {
  const std::string a = work("read_by_openat2"), b = work("lock");
  WriteFile(a, "only read, through openat2\n");
  WriteFile(b, "an existing lock file\n");
  ASSERT_TRUE(WaitUntilOld(a));
  ASSERT_TRUE(WaitUntilOld(b));
  TracedRun r = Trace({Prog("digest_nochange"), a, b});
  ASSERT_TRUE(CleanRun(r));
  for (const auto& path : {a, b}) {
    SCOPED_TRACE(path);
    const json* f = FileEntry(r.summary, path);
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(f->value("access", json()), json::array({"read"})) << f->dump();
    EXPECT_EQ(Str(f, "sha256"), Sha256Sum(path)) << f->dump();
    EXPECT_FALSE(f->contains("sha256_before")) << "the step did not change it: " << f->dump();
    EXPECT_FALSE(f->contains("sha256_after")) << f->dump();
  }
}

}  // namespace
}  // namespace e2e
