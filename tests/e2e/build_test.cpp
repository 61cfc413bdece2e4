// build_test.cpp - `stepseal build` on real buildah and podman builds with runc: one journal
// per RUN, the RUN's own processes and files, digests equal to sha256sum of the true content,
// the builder's output and status passed through, and refusals of what would defeat the tracing.
//
// Each test has its own container storage (--root/--runroot under its temporary directory, the
// vfs driver) and a base image made there with no network: busybox-static added to an empty
// image. Needs buildah, podman, runc and busybox-static (tools/install-deps installs them);
// under STEPSEAL_REQUIRE_PRIVILEGED=1 a missing one fails the test.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "build_fixture.h"

namespace e2e {
namespace {


TEST_F(BuildTest, BuildahEveryRunGetsItsOwnJournal) {
  WriteDockerfile(kTwoRuns);
  CheckTwoRunBuild(Build("/usr/bin/buildah", {"bud", "--layers", "-t", "localhost/demo:1", ctx()}));
}

// --image-out and --key: the image exported to a layout, its digest computed from the layout's
// bytes, each RUN matched to its instruction and layer, and signed attestations that verify.
TEST_F(BuildTest, StepsAreMatchedToLayersAndAttestedAgainstTheImage) {
  WriteDockerfile(kTwoRuns);
  auto kg = RunCommand({STEPSEAL_BIN, "keygen", "--out", dir() / "ci"});
  ASSERT_EQ(kg.exit_code, 0) << kg.Describe();
  const std::string layout = dir() / "layout";
  std::vector<std::string> argv = {STEPSEAL_BIN, "build", "--out", rec(), "--image-out",
                                   "oci:" + layout + ":demo", "--key", dir() / "ci.key", "--"};
  for (auto& a : BuilderArgv("/usr/bin/buildah", {"bud", "--layers", "-t", "localhost/demo:1", ctx()}))
    argv.push_back(a);
  CommandResult r = RunCommand(argv, {}, 600s);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  json m = Manifest();
  ASSERT_TRUE(m.contains("image")) << m.dump(2);
  // the manifest digest is the sha256 of a blob in the layout (checked with sha256sum)
  const std::string digest = m["image"].value("manifest_digest", "");
  ASSERT_EQ(digest.rfind("sha256:", 0), 0u) << digest;
  const std::string hex = digest.substr(7);
  EXPECT_EQ(Sha256Sum(layout + "/blobs/sha256/" + hex), hex);
  // each step's layer is the config's diff_id of its history entry
  std::ifstream mf(layout + "/blobs/sha256/" + hex);
  json manifest = json::parse(mf, nullptr, false);
  ASSERT_TRUE(manifest.is_object());
  std::string cfg_hex = manifest["config"].value("digest", "").substr(7);
  std::ifstream cf(layout + "/blobs/sha256/" + cfg_hex);
  json config = json::parse(cf, nullptr, false);
  ASSERT_TRUE(config.is_object());
  const json& hist = config["history"];
  const json& diff_ids = config["rootfs"]["diff_ids"];
  ASSERT_EQ(m["steps"].size(), 2u);
  for (const json& st : m["steps"]) {
    const json& in = st["instruction"];
    ASSERT_TRUE(in.is_object()) << st.dump(2);
    size_t h = in.value("history_index", size_t{0});
    ASSERT_LT(h, hist.size());
    EXPECT_EQ(hist[h].value("created_by", ""), "/bin/sh -c " + st["argv"][2].get<std::string>());
    size_t layer = 0;  // count the non-empty entries before it
    for (size_t i = 0; i < h; i++)
      if (!hist[i].value("empty_layer", false)) layer++;
    EXPECT_EQ(in.value("layer", ""), diff_ids[layer].get<std::string>());
  }
  // each RUN's layer is explained by its trace, and holds everything the trace changed
  for (const json& st : m["steps"]) {
    const json& lc = st["layer_check"];
    ASSERT_TRUE(lc.is_object()) << st.dump(2);
    EXPECT_TRUE(lc.value("reconciled", false)) << lc.dump(2);
    EXPECT_GT(lc.value("entries", 0), 0);
  }
  EXPECT_EQ(m.value("reconciled", false), true);
  // this build's instructions: COPY, RUN, ENV, RUN; both RUNs traced
  std::vector<std::string> kinds;
  for (const json& in : m["instructions"]) kinds.push_back(in.value("kind", ""));
  EXPECT_EQ(kinds, (std::vector<std::string>{"copy", "run", "other", "run"})) << m["instructions"].dump(2);
  // the COPY's record, from its layer: the two files with their content (sha256sum of the
  // context's files) and where they came from
  const json& copy = m["instructions"][0]["contents"];
  ASSERT_TRUE(copy.is_object()) << m["instructions"][0].dump(2);
  std::map<std::string, json> added;
  for (const json& f : copy["added"]) added[f.value("path", "")] = f;
  ASSERT_EQ(added.size(), 2u) << copy.dump(2);
  EXPECT_EQ(added["/data/a.txt"].value("sha256", ""), Sha256Sum(ctx() + "/a.txt"));
  EXPECT_EQ(added["/data/b.txt"].value("sha256", ""), Sha256Sum(ctx() + "/b.txt"));
  EXPECT_EQ(added["/data/a.txt"]["context_sources"], json({"a.txt"}));
  EXPECT_TRUE(copy["replaced"].empty()) << "nothing was at /data/ before";
  // six envelopes (two per RUN, one for the COPY, the build's provenance), attached, verified against the image with the public key
  auto v = RunCommand({STEPSEAL_BIN, "verify", "--pub", dir() / "ci.pub", "--image",
                       layout + ":demo", "--attached"});
  EXPECT_EQ(v.exit_code, 0) << v.Describe();
  size_t oks = 0;
  for (size_t p = v.out.find("OK "); p != std::string::npos; p = v.out.find("OK ", p + 1)) oks++;
  EXPECT_EQ(oks, 6u) << v.out;  // two per RUN, the COPY's, the build's
}

TEST_F(BuildTest, PodmanEveryRunGetsItsOwnJournal) {
  WriteDockerfile(kTwoRuns);
  CheckTwoRunBuild(Build("/usr/bin/podman", {"build", "-t", "localhost/demo:1", ctx()}));
}

TEST_F(BuildTest, AFailingRunKeepsItsRecordAndTheBuildersStatus) {
  WriteDockerfile("FROM localhost/bbase:1\nRUN echo partial > /p.txt && exit 3\n");
  CommandResult r = Build("/usr/bin/buildah", {"bud", "--layers", "-t", "localhost/demo:1", ctx()});
  EXPECT_NE(r.exit_code, 0) << r.Describe();
  json m = Manifest();
  ASSERT_TRUE(m.is_object());
  EXPECT_EQ(m.value("exit_code", 0), r.exit_code) << "stepseal exits with the builder's status";
  ASSERT_EQ(m["steps"].size(), 1u) << m.dump(2);
  EXPECT_EQ(m["steps"][0].value("exit_code", -1), 3);
  Summary s = StepSummary(m["steps"][0]);
  EXPECT_TRUE(s.HasAccess("/p.txt", "create"));
}

// A RUN's network attempt is recorded with its destination (loopback inside the RUN's own
// network namespace: nothing listens there, so the connect is refused, and recorded as such).
TEST_F(BuildTest, ARunsConnectIsRecorded) {
  WriteDockerfile("FROM localhost/bbase:1\nRUN nc -w 2 127.0.0.1 9 </dev/null || true\n");
  CommandResult r = Build("/usr/bin/buildah", {"bud", "--layers", "-t", "localhost/net:1", ctx()});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  json m = Manifest();
  ASSERT_EQ(m["steps"].size(), 1u) << m.dump(2);
  Summary s = StepSummary(m["steps"][0]);
  EXPECT_TRUE(s.HasNetwork({{"op", "connect"}, {"address", "127.0.0.1"}, {"port", 9},
                            {"protocol", "tcp"}, {"result", "ECONNREFUSED"}}))
      << Dump(s.network());
}

TEST_F(BuildTest, ChrootIsolationIsRefusedBeforeAnythingRuns) {
  WriteDockerfile(kTwoRuns);
  CommandResult r =
      Build("/usr/bin/buildah", {"bud", "--layers", "--isolation", "chroot", "-t", "localhost/x:1", ctx()});
  EXPECT_EQ(r.exit_code, 125) << r.Describe();
  EXPECT_NE(r.err.find("--isolation oci"), std::string::npos) << r.err;
  EXPECT_NE(access(rec().c_str(), F_OK), 0) << "no record for a build that never ran";
  auto images = Builder("/usr/bin/buildah", {"images", "-q", "localhost/x:1"});
  EXPECT_NE(images.exit_code, 0) << "the build must not have run: " << images.Describe();
}

}  // namespace
}  // namespace e2e
