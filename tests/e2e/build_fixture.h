// build_fixture.h - the fixture of the `stepseal build` e2e tests: a container storage of the
// test's own (--root/--runroot under its temporary directory, the vfs driver), a base image made
// there with no network (busybox-static added to an empty image), a build context with a.txt and
// b.txt, and helpers to run the builder with and without stepseal. Needs buildah, podman, runc and
// busybox-static (tools/install-deps installs them); under STEPSEAL_REQUIRE_PRIVILEGED=1 a
// missing one fails the test.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "harness.h"

namespace e2e {

class BuildTest : public E2ETest {
 protected:
  void SetUp() override {
    E2ETest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (const char* tool : {"/usr/bin/buildah", "/usr/bin/podman", "/usr/sbin/runc", "/bin/busybox"})
      if (access(tool, X_OK) != 0) {
        if (PrivilegeRequired()) FAIL() << tool << " is missing: tools/install-deps installs it";
        GTEST_SKIP() << tool << " is missing";
      }
    storage_ = {"--root", dir() / "storage", "--runroot", dir() / "run", "--storage-driver", "vfs"};
    // the base image: busybox-static in an empty image, its applets linked (no network needed)
    auto c = Builder("/usr/bin/buildah", {"from", "scratch"});
    ASSERT_EQ(c.exit_code, 0) << c.Describe();
    std::string ctr = c.out.substr(0, c.out.find('\n'));
    auto add = Builder("/usr/bin/buildah", {"add", ctr, "/bin/busybox", "/bin/busybox"});
    ASSERT_EQ(add.exit_code, 0) << add.Describe();
    auto inst = Builder("/usr/bin/buildah", {"run", "--isolation", "chroot", ctr, "/bin/busybox",
                                    "--install", "-s", "/bin"});
    ASSERT_EQ(inst.exit_code, 0) << inst.Describe();
    // made at the epoch, as a reproducible base image is: its history is then older than any
    // build's, whatever second the build starts in (build.md, which entries a build made)
    auto commit = Builder("/usr/bin/buildah",
                          {"commit", "--rm", "--timestamp", "0", ctr, "localhost/bbase:1"});
    ASSERT_EQ(commit.exit_code, 0) << commit.Describe();
    ASSERT_EQ(mkdir(ctx().c_str(), 0755), 0);
    WriteFile(ctx() + "/a.txt", "hello\n");
    WriteFile(ctx() + "/b.txt", "world\n");
  }

  std::string ctx() const { return dir() / "ctx"; }
  std::string rec() const { return dir() / "rec"; }

  std::vector<std::string> BuilderArgv(const std::string& tool, std::vector<std::string> args) {
    std::vector<std::string> argv = {tool};
    argv.insert(argv.end(), storage_.begin(), storage_.end());
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  CommandResult Builder(const std::string& tool, std::vector<std::string> args) {
    return RunCommand(BuilderArgv(tool, std::move(args)), {}, 300s);
  }

  // stepseal build --out REC -- TOOL (storage) ARGS...
  CommandResult Build(const std::string& tool, std::vector<std::string> args) {
    std::vector<std::string> argv = {STEPSEAL_BIN, "build", "--out", rec(), "--"};
    auto b = BuilderArgv(tool, std::move(args));
    argv.insert(argv.end(), b.begin(), b.end());
    return RunCommand(argv, {}, 600s);
  }

  json Manifest() {
    std::ifstream in(rec() + "/build.json");
    return json::parse(in, nullptr, false);
  }

  std::string layout() const { return dir() / "layout"; }

  // stepseal build --image-out LAYOUT:demo --key ci.key [EXTRA] -- TOOL ... ARGS
  CommandResult SignedBuild(const std::string& tool, std::vector<std::string> args,
                            std::vector<std::string> extra = {}) {
    auto kg = RunCommand({STEPSEAL_BIN, "keygen", "--out", dir() / "ci"});
    EXPECT_EQ(kg.exit_code, 0) << kg.Describe();
    std::vector<std::string> argv = {STEPSEAL_BIN, "build", "--out", rec(), "--image-out",
                                     "oci:" + layout() + ":demo", "--key", dir() / "ci.key"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("--");
    for (auto& a : BuilderArgv(tool, std::move(args))) argv.push_back(a);
    return RunCommand(argv, {}, 600s);
  }

  CommandResult Verify(const std::string& image, std::vector<std::string> extra) {
    std::vector<std::string> argv = {STEPSEAL_BIN, "verify", "--pub", dir() / "ci.pub", "--image", image};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv, {}, 120s);
  }

  json Statement(const std::string& envelope_path) {
    std::ifstream in(envelope_path);
    json env = json::parse(in, nullptr, false);
    EXPECT_TRUE(env.is_object()) << envelope_path;
    if (!env.is_object()) return json::object();
    const std::string b64 = dir() / "b64.in";
    WriteFile(b64, env.value("payload", ""));
    CommandResult r = RunCommand({"/usr/bin/base64", "-d", b64});
    json st = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(st.is_object()) << envelope_path;
    return st.is_object() ? st : json::object();
  }

  Summary StepSummary(const json& step) {
    CommandResult r = Show(rec() + "/" + step.value("journal", ""));
    json j = json::parse(r.out, nullptr, false);
    EXPECT_TRUE(j.is_object()) << r.Describe();
    return Summary(j.is_object() ? j : json::object());
  }

  void WriteDockerfile(const std::string& text) { WriteFile(ctx() + "/Dockerfile", text); }

  // Checks what the two-RUN Dockerfile below must give, whichever builder ran it.
  void CheckTwoRunBuild(const CommandResult& r) {
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    EXPECT_NE(r.out.find("hello"), std::string::npos) << "the RUN's output reaches the builder's";
    json m = Manifest();
    ASSERT_TRUE(m.is_object()) << "build.json";
    EXPECT_EQ(m.value("format", ""), "stepseal-build");
    EXPECT_EQ(m.value("exit_code", -1), 0);
    ASSERT_EQ(m["steps"].size(), 2u) << m.dump(2);  // the two RUNs; COPY and ENV run nothing
    const json& s1 = m["steps"][0];
    const json& s2 = m["steps"][1];
    EXPECT_EQ(s1["argv"], json({"/bin/sh", "-c", "echo built > /data/out.txt && cat /data/a.txt"}));
    EXPECT_EQ(s2["argv"], json({"/bin/sh", "-c", "echo changed > /data/a.txt && rm /data/b.txt"}));
    EXPECT_EQ(s1.value("exit_code", -1), 0);
    EXPECT_EQ(s1.value("lost_events", 1), 0);

    Summary one = StepSummary(s1);
    EXPECT_TRUE(one.HasAccess("/data/out.txt", "create"));
    const json* out = one.File("/data/out.txt");
    ASSERT_NE(out, nullptr);
    EXPECT_EQ(out->value("sha256_after", ""), Sha256Of("built\n")) << "hashed in the container";
    const json* bb = one.File("/bin/busybox");
    ASSERT_NE(bb, nullptr);
    EXPECT_EQ(bb->value("sha256", ""), Sha256Sum("/bin/busybox"));
    EXPECT_TRUE(one.LacksAccess("/data/a.txt", "write")) << "step 1 only read a.txt";
    EXPECT_FALSE(one.File("/data/b.txt")) << "step 2's work is not in step 1's journal";
    EXPECT_EQ(one.raw().value("complete", false), true) << Dump(one.raw()["gaps"]);

    Summary two = StepSummary(s2);
    EXPECT_TRUE(two.HasAccess("/data/a.txt", "overwrite"));
    EXPECT_TRUE(two.HasAccess("/data/b.txt", "delete"));
    const json* a = two.File("/data/a.txt");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->value("sha256_after", ""), Sha256Of("changed\n"));
    EXPECT_FALSE(two.File("/data/out.txt")) << "step 1's work is not in step 2's journal";
    // no pre-images inside a container yet: said, never silently absent
    bool flagged = false;
    for (const auto& g : two.gaps())
      if (g.value("kind", "") == "preimage_unavailable" && g.value("count", 0) == 2) flagged = true;
    EXPECT_TRUE(flagged) << Dump(two.gaps());
    EXPECT_EQ(two.raw().value("complete", true), false);
  }

  static constexpr const char* kTwoRuns =
      "FROM localhost/bbase:1\n"
      "COPY a.txt b.txt /data/\n"
      "RUN echo built > /data/out.txt && cat /data/a.txt\n"
      "ENV X=1\n"
      "RUN echo changed > /data/a.txt && rm /data/b.txt\n";

  std::vector<std::string> storage_;
};

}  // namespace e2e
