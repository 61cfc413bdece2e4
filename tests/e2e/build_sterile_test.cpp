// build_sterile_test.cpp - `stepseal build --policy` (a sterile build) on real buildah and podman
// builds with runc: every RUN starts behind stepseal-seal (the deny-list as a stacked seccomp
// filter), under the network guard on a cgroup of stepseal's, with the environment cut to the
// allowlist and the policy's capabilities; each RUN's journal and attestation carry its verdict,
// and the build's exit status says whether the policy held.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "build_fixture.h"

namespace e2e {
namespace {

class SterileBuildTest : public BuildTest {
 protected:
  // what a build of busybox's needs: writing into the image's root-owned directories
  // EXEC: the policy's "exec" object, if any
  std::string WritePolicy(const std::string& exec = "") {
    const std::string p = dir() / "policy.json";
    WriteFile(p, std::string(R"({"version": 1,
      "environment": {"allow": ["PATH", "HOME", "KEEP"]},
      "privileges": {"capabilities": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER"]})") +
                     (exec.empty() ? "" : ",\n\"exec\": " + exec) + "}");
    return p;
  }
  static std::string ReadAll(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // the process that ran PATH in a step's summary, or null
  static json Process(const Summary& s, const std::string& exe) {
    for (const auto& p : s.processes())
      if (p.value("exe", "") == exe) return p;
    return nullptr;
  }
};

TEST_F(SterileBuildTest, EveryRunIsConfinedAndJudgedByThePolicy) {
  WriteDockerfile(
      "FROM localhost/bbase:1\n"
      "ENV SECRET=s3cr3t KEEP=yes\n"
      "RUN env && echo made > /made.txt\n"
      "RUN unshare -n true; nc -w 2 127.0.0.1 9 </dev/null; touch /s; chmod 4755 /s; "
      "echo x > /proc/sys/kernel/hostname; echo tried > /tried.txt\n");
  CommandResult r = SignedBuild("/usr/bin/buildah",
                                {"bud", "--layers", "--no-cache", "-t", "localhost/demo:1", ctx()},
                                {"--policy", WritePolicy()});
  // the build succeeded (each RUN's last command did), but the second RUN broke the policy
  ASSERT_EQ(r.exit_code, 118) << r.Describe();
  json m = Manifest();
  ASSERT_TRUE(m.is_object());
  EXPECT_EQ(m.value("exit_code", -1), 0) << "the builder's own status";
  ASSERT_TRUE(m["sterile"].is_object()) << m.dump(2);
  EXPECT_FALSE(m["sterile"].value("held", true));
  EXPECT_EQ(m["sterile"].value("seal", json::object()).value("sha256", ""),
            Sha256Sum(std::filesystem::path(STEPSEAL_BIN).parent_path() / "stepseal-seal"));
  ASSERT_EQ(m["steps"].size(), 2u) << m.dump(2);
  const json& first = m["steps"][0]["sterile"];
  const json& second = m["steps"][1]["sterile"];
  ASSERT_TRUE(first.is_object() && second.is_object()) << m["steps"].dump(2);

  // the first RUN kept the policy: its environment cut to the allowlist (the Dockerfile's
  // SECRET and buildah's HOSTNAME gone, KEEP there), its instruction the Dockerfile's own
  EXPECT_TRUE(first["verdict"].value("held", false)) << first.dump(2);
  EXPECT_EQ(first["env_dropped"], json({"HOSTNAME", "SECRET"}));
  const std::string out = ReadAll(rec() + "/" + m["steps"][0]["stdout"].value("file", ""));
  EXPECT_NE(out.find("KEEP=yes"), std::string::npos) << out;
  EXPECT_EQ(out.find("SECRET"), std::string::npos) << out;
  EXPECT_EQ(m["steps"][0]["argv"], json({"/bin/sh", "-c", "env && echo made > /made.txt"}));
  EXPECT_TRUE(m["steps"][0]["instruction"].is_object()) << "matched to its history entry";

  // the second: unshare refused, the connect refused by the network guard, and a setuid
  // chmod refused by the seal's filter (the builder's own seccomp profile allows that one: only
  // the stacked deny-list refuses it). The write to /proc/sys, read-only by the builder's own
  // doing, is no refusal of the policy's.
  const json& v = second["verdict"];
  EXPECT_FALSE(v.value("held", true)) << second.dump(2);
  EXPECT_EQ(v["rules"].value("seccomp.deny:unshare", 0), 1) << v.dump(2);
  EXPECT_EQ(v["rules"].value("network.allow", 0), 1) << v.dump(2);
  EXPECT_EQ(v["rules"].value("filesystem.setuid", 0), 1) << v.dump(2);
  EXPECT_EQ(v.value("blocked", 0), 3) << v.dump(2);
  EXPECT_EQ(second.value("network_namespace", ""), "own");

  // the kernel saw the seal run first, and hashed it: the very file beside stepseal
  Summary s = StepSummary(m["steps"][1]);
  EXPECT_EQ(s.raw().value("mode", ""), "hardened") << s.raw().dump(2).substr(0, 2000);
  json seal = Process(s, "/dev/.stepseal-seal");
  ASSERT_FALSE(seal.is_null()) << s.processes().dump(2);
  EXPECT_EQ(seal.value("exe_sha256", ""), m["sterile"]["seal"].value("sha256", "x")) << seal.dump();
  // ... and nothing of it reached the layer (it sits on the container's /dev tmpfs)
  EXPECT_TRUE(m["steps"][1]["layer_check"].value("reconciled", false))
      << m["steps"][1]["layer_check"].dump(2);

  // the step's attestation carries the verdict, as run --hardened's does
  json st = Statement(rec() + "/attestations/02.runtime-trace.intoto.json");
  const json& enf = st["predicate"]["enforcement"];
  EXPECT_EQ(enf.value("mode", ""), "hardened") << enf.dump(2);
  EXPECT_EQ(enf.value("verdict", ""), "violated") << enf.dump(2);
  EXPECT_EQ(enf["policy"]["digest"].value("sha256", ""), m["sterile"].value("policy_sha256", "x"));
  json st1 = Statement(rec() + "/attestations/01.runtime-trace.intoto.json");
  EXPECT_EQ(st1["predicate"]["enforcement"].value("verdict", ""), "held");

  // no cgroup of stepseal's is left behind
  for (const json& step : m["steps"]) {
    const std::string cg = step["sterile"].value("cgroup", "");
    ASSERT_FALSE(cg.empty());
    struct stat st_{};
    EXPECT_NE(stat(cg.c_str(), &st_), 0) << cg << " is still there";
  }
}

// podman too; a RUN that keeps the policy: exit 0, and the signed build verifies complete. The
// RUN overwrites a file of a lower layer: a RUN's journal has no pre-images, which the image's
// lower layers supply, so its record is complete (and the build does not exit 119). The policy
// has an exec allowlist: the seal every RUN starts with is allowed by its digest, implicitly.
TEST_F(SterileBuildTest, PodmanBuildThatKeepsThePolicySucceedsAndVerifies) {
  WriteDockerfile("FROM localhost/bbase:1\nCOPY a.txt /data/\n"
                  "RUN echo made > /made.txt && echo changed > /data/a.txt && cat /made.txt\n");
  CommandResult r = SignedBuild("/usr/bin/podman",
                                {"build", "--no-cache", "-t", "localhost/demo:1", ctx()},
                                {"--policy", WritePolicy(R"({"allow": [{"path": "/bin/busybox"}]})")});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  json m = Manifest();
  EXPECT_TRUE(m["sterile"].value("held", false)) << m.dump(2);
  ASSERT_EQ(m["steps"].size(), 1u);
  EXPECT_TRUE(m["steps"][0]["sterile"]["verdict"].value("held", false));
  EXPECT_TRUE(m["steps"][0]["sterile"]["verdict"].value("complete", false))
      << m["steps"][0]["sterile"].dump(2);
  bool replaced = false;
  for (const json& p : m["steps"][0]["preimages"])
    replaced |= p.value("path", "") == "/data/a.txt" &&
                p.value("sha256_before", "") == Sha256Sum(ctx() + "/a.txt");
  EXPECT_TRUE(replaced) << m["steps"][0]["preimages"].dump(2);
  auto v = Verify(layout() + ":demo", {"--attached", "--require-complete"});
  EXPECT_EQ(v.exit_code, 0) << v.Describe();
}

TEST_F(SterileBuildTest, ABadPolicyIsRefusedBeforeTheBuild) {
  WriteDockerfile("FROM localhost/bbase:1\nRUN echo never > /never.txt\n");
  WriteFile(dir() / "bad.json", R"({"version": 1, "network": {"defualt": "deny"}})");
  CommandResult r = RunCommand({STEPSEAL_BIN, "build", "--out", rec(), "--policy",
                                dir() / "bad.json", "--", "/usr/bin/buildah", "bud", ctx()});
  EXPECT_EQ(r.exit_code, 125) << r.Describe();
  EXPECT_NE(r.err.find("invalid policy"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("default"), std::string::npos) << "suggests the right key: " << r.err;
  struct stat st{};
  EXPECT_NE(stat(rec().c_str(), &st), 0) << "nothing was recorded: the build never started";
  // a RUN taken from the cache would never run under the policy: --no-cache is required
  CommandResult cached = RunCommand({STEPSEAL_BIN, "build", "--out", rec(), "--policy",
                                     WritePolicy(), "--", "/usr/bin/buildah", "bud", "--layers", ctx()});
  EXPECT_EQ(cached.exit_code, 125) << cached.Describe();
  EXPECT_NE(cached.err.find("--no-cache"), std::string::npos) << cached.err;
  EXPECT_NE(stat(rec().c_str(), &st), 0);
}

}  // namespace
}  // namespace e2e
