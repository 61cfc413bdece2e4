// Decoder: kernel records (struct ss_event + blobs) built by hand, as the probes would send them.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>

#include "capture/decoder.h"

namespace stepseal {
namespace {

// Builds a raw record the way bpf/helpers.h does: header, then blobs in slot order.
struct RawRecord {
  ss_event ev{};
  std::string blobs[SS_MAX_BLOBS];

  RawRecord(uint16_t kind, int64_t ret = 0) {
    ev.kind = kind;
    ev.ret = ret;
    ev.pid = 42;
    ev.tid = 42;
  }
  // components leaf first, each NUL terminated
  RawRecord& path(int slot, std::initializer_list<const char*> leaf_first, uint8_t extra = 0) {
    std::string b;
    for (const char* c : leaf_first) b.append(c, strlen(c) + 1);
    blobs[slot] = b;
    ev.blob_flags[slot] = SS_BF_PATH | extra;
    return *this;
  }
  RawRecord& str(int slot, const std::string& s) {
    blobs[slot] = s + std::string(1, '\0');
    return *this;
  }
  RawRecord& bytes(int slot, const std::string& s) {
    blobs[slot] = s;
    return *this;
  }
  std::string build() {
    std::string out(sizeof ev, '\0');
    for (int i = 0; i < SS_MAX_BLOBS; i++) ev.blob_len[i] = static_cast<uint16_t>(blobs[i].size());
    size_t total = sizeof ev;
    for (auto& b : blobs) total += b.size();
    ev.size = static_cast<uint32_t>(total);
    memcpy(out.data(), &ev, sizeof ev);
    for (auto& b : blobs) out += b;
    return out;
  }
};

Event decode_ok(const std::string& raw) {
  DecodeError err;
  auto e = decode_event(raw.data(), raw.size(), &err);
  EXPECT_TRUE(e.has_value()) << err.what;
  return e.value_or(Event{});
}

TEST(JoinPath, ResolvesRelativeArgumentsLexically) {
  EXPECT_EQ(join_path("/a/b", "c"), "/a/b/c");
  EXPECT_EQ(join_path("/a/b", "./c/../d"), "/a/b/d");
  EXPECT_EQ(join_path("/a/b", "../../../x"), "/x");
  EXPECT_EQ(join_path("/a/b", "/abs//p/"), "/abs/p");
  EXPECT_EQ(join_path("/a/b", ""), "/a/b");  // AT_EMPTY_PATH: the directory fd itself
  EXPECT_EQ(join_path("/", "."), "/");
}

TEST(RenderPath, ReversesComponentsAndMarksPseudoFiles) {
  std::string b("cat\0bin\0usr\0", 12);
  EXPECT_EQ(render_path(b, SS_BF_PATH, 0, 0), "/usr/bin/cat");
  EXPECT_EQ(render_path({}, SS_BF_PATH, 0, 0), "/");
  std::string memfd("memfd:blob\0", 11);
  EXPECT_EQ(render_path(memfd, SS_BF_PATH | SS_BF_PSEUDO, S_IFREG, 7), "/memfd:blob (deleted)");
  std::string empty("\0", 1);
  EXPECT_EQ(render_path(empty, SS_BF_PATH | SS_BF_PSEUDO, S_IFIFO, 99), "pipe:[99]");
  std::string tmp("#123\0tmp\0", 9);
  EXPECT_EQ(render_path(tmp, SS_BF_PATH | SS_BF_DELETED, 0, 0), "/tmp/#123 (deleted)");
}

TEST(Decoder, SuccessfulOpenUsesTheKernelObjectPath) {
  RawRecord r(SS_K_OPEN, 3);
  r.ev.args[0] = static_cast<uint64_t>(-100);
  r.ev.args[2] = O_RDONLY;
  r.path(SS_B_OBJ, {"stdio.h", "include", "usr"}).str(SS_B_STR1, "/usr/include/./stdio.h");
  Event e = decode_ok(r.build());
  EXPECT_EQ(e.kind, Kind::OPEN);
  EXPECT_EQ(e.obj, "/usr/include/stdio.h");
  EXPECT_EQ(e.raw, "/usr/include/./stdio.h");
  EXPECT_EQ(e.path, "/usr/include/stdio.h");
}

TEST(Decoder, FailedRelativeOpenJoinsTheDirectoryTheKernelWalked) {
  RawRecord r(SS_K_OPEN, -2);
  r.path(SS_B_DIR1, {"build", "src"}).str(SS_B_STR1, "../include/missing.h");
  Event e = decode_ok(r.build());
  EXPECT_TRUE(e.obj.empty());
  EXPECT_EQ(e.path, "/src/include/missing.h");
  EXPECT_EQ(e.err(), 2);
}

TEST(Decoder, ExecCarriesExeCwdArgvAndScriptInterpreter) {
  RawRecord r(SS_K_EXEC);
  r.path(SS_B_OBJ, {"dash", "bin", "usr"})
      .path(SS_B_DIR1, {"work"})
      .str(SS_B_STR1, "./build.sh")
      .str(SS_B_STR2, "/bin/sh")
      .bytes(SS_B_EXTRA, std::string("/bin/sh\0./build.sh\0-x\0", 22));
  Event e = decode_ok(r.build());
  EXPECT_EQ(e.obj, "/usr/bin/dash");
  EXPECT_EQ(e.cwd, "/work");
  EXPECT_EQ(e.path, "/work/build.sh");
  EXPECT_EQ(e.raw2, "/bin/sh");
  EXPECT_EQ(e.argv, (std::vector<std::string>{"/bin/sh", "./build.sh", "-x"}));
}

TEST(Decoder, RenameResolvesBothSides) {
  RawRecord r(SS_K_RENAME);
  r.path(SS_B_DIR1, {"a"}).str(SS_B_STR1, "x").path(SS_B_DIR2, {"b"}).str(SS_B_STR2, "y");
  Event e = decode_ok(r.build());
  EXPECT_EQ(e.path, "/a/x");
  EXPECT_EQ(e.path2, "/b/y");
}

TEST(Decoder, RejectsMalformedRecords) {
  DecodeError err;
  std::string tiny(10, '\0');
  EXPECT_FALSE(decode_event(tiny.data(), tiny.size(), &err));
  RawRecord r(SS_K_OPEN);
  r.str(SS_B_STR1, "x");
  std::string raw = r.build();
  ss_event ev;
  memcpy(&ev, raw.data(), sizeof ev);
  ev.blob_len[SS_B_STR1] = 500;  // overruns the record
  memcpy(raw.data(), &ev, sizeof ev);
  EXPECT_FALSE(decode_event(raw.data(), raw.size(), &err));
  EXPECT_NE(err.what.find("overruns"), std::string::npos);
  ev.blob_len[SS_B_STR1] = 2;
  ev.kind = 999;
  memcpy(raw.data(), &ev, sizeof ev);
  EXPECT_FALSE(decode_event(raw.data(), raw.size(), &err));
  EXPECT_NE(err.what.find("unknown event kind"), std::string::npos);
}

}  // namespace
}  // namespace stepseal
