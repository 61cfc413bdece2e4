// build_attest_test.cpp - `stepseal build --key --push` on a real buildah build (and podman):
// one signed attestation per COPY and RUN bound to the exported image, the RUNs' before and
// after digests equal to sha256sum of the true content, their stdout by digest, a connect
// recorded, verify --require-complete passing; the image and its attestations pushed to a
// docker-registry on loopback and pulled back with skopeo, the registry's digest the attested
// one; and three tampers (a layer changed, two attestations swapped, the tag moved to another
// image), each failing verify with its own message.
#include "build_fixture.h"
#include "oci_util.h"

namespace e2e {
namespace {

class BuildAttestTest : public BuildTest {
 protected:
  static constexpr const char* kDockerfile =
      "FROM localhost/bbase:1\n"
      "COPY a.txt b.txt /data/\n"
      "RUN echo built > /data/out.txt && cat /data/a.txt\n"
      "ENV STAGE=demo\n"
      "RUN echo changed > /data/a.txt && rm /data/b.txt\n"
      "RUN nc -w 2 127.0.0.1 9 </dev/null || true\n";

  // the file access of PATH in a runtime-trace statement, or null
  static json Access(const json& st, const std::string& path) {
    for (const auto& f : st["predicate"]["monitorLog"]["fileAccess"])
      if (f.value("name", "") == path) return f;
    return nullptr;
  }

  // Everything the acceptance asks of the attestations of kDockerfile's build.
  void CheckAttestations(const json& m) {
    const std::string subject = m["image"].value("manifest_digest", "");
    ASSERT_EQ(subject.rfind("sha256:", 0), 0u) << m.dump(2);
    ASSERT_EQ(m["steps"].size(), 3u) << m.dump(2);
    const std::string att = rec() + "/attestations/";
    // every RUN: its runtime trace names its instruction and layer, and the image
    for (const json& step : m["steps"]) {
      char name[16];
      snprintf(name, sizeof name, "%02d", step.value("step", 0));
      json st = Statement(att + name + ".runtime-trace.intoto.json");
      EXPECT_EQ(st.value("predicateType", ""), "https://in-toto.io/attestation/runtime-trace/v0.2");
      EXPECT_EQ(st["subject"][0]["digest"].value("sha256", ""), subject.substr(7));
      const json& in = st["predicate"]["build"]["instruction"];
      EXPECT_EQ(in.value("created_by", ""), "/bin/sh -c " + step["argv"][2].get<std::string>());
      EXPECT_EQ(in.value("layer", ""), step["instruction"].value("layer", "x")) << in.dump();
      EXPECT_EQ(st["predicate"]["completeness"].value("complete", false), true)
          << st["predicate"]["completeness"].dump(2);
    }
    // RUN 1: its stdout by digest, kept in the record
    json s1 = Statement(att + "01.runtime-trace.intoto.json");
    EXPECT_EQ(s1["predicate"]["build"]["stdout"].value("sha256", ""), Sha256Of("hello\n"));
    EXPECT_EQ(ReadFile(rec() + "/steps/01.stdout"), "hello\n");
    EXPECT_EQ(Access(s1, "/data/out.txt")["annotations"].value("sha256_after", ""), Sha256Of("built\n"));
    // RUN 2: what it overwrote and removed, before (from the lower layers) and after
    json s2 = Statement(att + "02.runtime-trace.intoto.json");
    json a = Access(s2, "/data/a.txt"), b = Access(s2, "/data/b.txt");
    ASSERT_TRUE(a.is_object() && b.is_object()) << Dump(s2["predicate"]["monitorLog"]["fileAccess"]);
    EXPECT_EQ(a["annotations"].value("sha256_before", ""), Sha256Sum(ctx() + "/a.txt"));
    EXPECT_EQ(a["annotations"].value("before_source", ""), "lower_layers");
    EXPECT_EQ(a["annotations"].value("sha256_after", ""), Sha256Of("changed\n"));
    EXPECT_EQ(b["annotations"].value("sha256_before", ""), Sha256Sum(ctx() + "/b.txt"));
    EXPECT_TRUE(Contains(b["annotations"]["access"], "delete")) << b.dump();
    // RUN 3: the connect, in runtime-trace v0.2's shape
    json s3 = Statement(att + "03.runtime-trace.intoto.json");
    bool connect = false;
    for (const auto& n : s3["predicate"]["monitorLog"]["network"])
      connect |= n.value("op", "") == "connect" && n.value("ip", "") == "127.0.0.1" &&
                 n.value("port", 0) == 9 && n["invokingProcess"].value("exe", "") == "/bin/busybox";
    EXPECT_TRUE(connect) << Dump(s3["predicate"]["monitorLog"]["network"]);
    // the COPY: both files with sha256sum's digests, and where they came from
    int copy_index = -1;
    for (const json& in : m["instructions"])
      if (in.value("kind", "") == "copy") copy_index = in.value("history_index", -1);
    ASSERT_GE(copy_index, 0) << m["instructions"].dump(2);
    char cname[64];
    snprintf(cname, sizeof cname, "copy-%02d.layer-contents.intoto.json", copy_index);
    json c = Statement(att + cname);
    EXPECT_EQ(c.value("predicateType", ""), "urn:stepseal:predicate:layer-contents:v1");
    EXPECT_EQ(c["subject"][0]["digest"].value("sha256", ""), subject.substr(7));
    EXPECT_NE(c["predicate"]["build"]["instruction"].value("created_by", "").find("COPY"), std::string::npos);
    std::map<std::string, std::string> added;
    for (const auto& f : c["predicate"]["added"]) added[f.value("path", "")] = f.value("sha256", "");
    EXPECT_EQ(added, (std::map<std::string, std::string>{{"/data/a.txt", Sha256Sum(ctx() + "/a.txt")},
                                                          {"/data/b.txt", Sha256Sum(ctx() + "/b.txt")}}));
    // the whole build: lists every envelope by the sha256 of its file
    json p = Statement(att + "build.slsa.intoto.json");
    EXPECT_EQ(p["predicate"]["buildDefinition"].value("buildType", ""), "urn:stepseal:buildtype:container-build:v1");
    size_t listed = 0;
    for (const auto& bp : p["predicate"]["runDetails"]["byproducts"]) {
      EXPECT_EQ(bp["digest"].value("sha256", ""), Sha256Sum(att + bp.value("name", "")));
      listed++;
    }
    EXPECT_EQ(listed, 7u);  // two per RUN and the COPY's
  }
};

TEST_F(BuildAttestTest, EveryInstructionSignedPushedAndPulledBack) {
  if (access("/usr/bin/skopeo", X_OK) != 0 || access("/usr/bin/docker-registry", X_OK) != 0) {
    if (PrivilegeRequired()) FAIL() << "skopeo or docker-registry is missing";
    GTEST_SKIP() << "skopeo or docker-registry is missing";
  }
  WriteDockerfile(kDockerfile);
  Registry registry(dir());
  ASSERT_TRUE(registry.ready()) << registry.log();
  const std::string repo = registry.host() + "/demo";
  CommandResult r = SignedBuild("/usr/bin/buildah", {"bud", "--layers", "--no-cache", "-t", "localhost/demo:1", ctx()},
                                {"--push", "docker://" + repo + ":1", "--push-tls-verify", "off"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  json m = Manifest();
  ASSERT_NO_FATAL_FAILURE(CheckAttestations(m));
  const std::string subject = m["image"].value("manifest_digest", "");
  CommandResult v = Verify(layout() + ":demo", {"--attached", "--require-complete", "--require-reconciled"});
  EXPECT_EQ(v.exit_code, 0) << v.Describe();

  // the registry serves the attested manifest (read back here with skopeo, hashed here)
  EXPECT_EQ(m["push"].value("manifest_digest", ""), subject) << m.dump(2);
  CommandResult raw = RunCommand({"/usr/bin/skopeo", "inspect", "--raw", "--tls-verify=false",
                                  "docker://" + repo + "@" + subject});
  ASSERT_EQ(raw.exit_code, 0) << raw.Describe();
  EXPECT_EQ("sha256:" + Sha256Of(raw.out), subject);
  // pulled back into a fresh layout, the tag's index and the .att tag: verify passes there
  const std::string att_tag = "sha256-" + subject.substr(7) + ".att";
  for (const std::string& t : {std::string("1"), att_tag}) {
    CommandResult cp = RunCommand({"/usr/bin/skopeo", "copy", "--all", "--src-tls-verify=false",
                                   "docker://" + repo + ":" + t, "oci:" + dir() / "back" + ":" + (t == "1" ? "demo" : t)},
                                  {}, 300s);
    ASSERT_EQ(cp.exit_code, 0) << cp.Describe();
  }
  CommandResult back = Verify(dir() / "back:demo", {"--attached", "--require-complete"});
  EXPECT_EQ(back.exit_code, 0) << back.Describe();
  size_t oks = 0;
  for (size_t p = back.out.find("OK "); p != std::string::npos; p = back.out.find("OK ", p + 1)) oks++;
  EXPECT_EQ(oks, 8u) << back.out;  // 3 RUNs x 2, the COPY, the build
  // only the .att tag (BuildKit's manifest removed from the index): the same envelopes
  CommandResult only_att = RunCommand({"/usr/bin/skopeo", "copy", "--src-tls-verify=false",
                                       "docker://" + repo + ":" + att_tag,
                                       "oci:" + dir() / "attonly" + ":" + att_tag}, {}, 300s);
  ASSERT_EQ(only_att.exit_code, 0) << only_att.Describe();
  json idx = json::parse(ReadFile(dir() / "attonly/index.json"), nullptr, false);
  ASSERT_TRUE(idx.is_object());
  json att_manifest = json::parse(ReadFile(dir() / "attonly/blobs/sha256/" +
                                           idx["manifests"][0].value("digest", "").substr(7)), nullptr, false);
  ASSERT_TRUE(att_manifest.is_object());
  EXPECT_EQ(att_manifest["layers"].size(), 8u);
  for (const auto& l : att_manifest["layers"]) {
    EXPECT_EQ(l.value("mediaType", ""), "application/vnd.dsse.envelope.v1+json");
    EXPECT_FALSE(l["annotations"].value("predicateType", "").empty()) << l.dump();
  }
}

TEST_F(BuildAttestTest, TamperedLayerSwappedAttestationsAndMovedTagEachFailVerify) {
  WriteDockerfile(kDockerfile);
  CommandResult r = SignedBuild("/usr/bin/buildah", {"bud", "--layers", "--no-cache", "-t", "localhost/demo:1", ctx()});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  json m = Manifest();
  const std::string subject = m["image"].value("manifest_digest", "");
  ASSERT_EQ(Verify(layout() + ":demo", {"--attached", "--require-complete"}).exit_code, 0);
  const std::string copy = dir() / "copy";

  // 1. a layer changed after the build (its blob rewritten in place)
  ASSERT_EQ(RunCommand({"/bin/cp", "-a", layout(), copy}).exit_code, 0);
  json manifest = json::parse(ReadFile(copy + "/blobs/sha256/" + subject.substr(7)), nullptr, false);
  ASSERT_TRUE(manifest.is_object());
  const std::string blob = copy + "/blobs/sha256/" + manifest["layers"].back().value("digest", "").substr(7);
  ASSERT_EQ(mkdir((dir() / "evil").c_str(), 0755), 0);
  WriteFile(dir() / "evil/added", "not from the build\n");
  ASSERT_EQ(RunCommand({"/bin/tar", "-cf", blob, "-C", dir() / "evil", "."}).exit_code, 0);
  CommandResult t1 = Verify(copy + ":demo", {"--attached"});
  EXPECT_EQ(t1.exit_code, 5) << t1.Describe();
  EXPECT_NE(t1.out.find("changed after the build"), std::string::npos) << t1.out;

  // 2. two steps' attestations swapped (the files of the record)
  const std::string att = rec() + "/attestations/";
  ASSERT_EQ(rename((att + "01.runtime-trace.intoto.json").c_str(), (att + "x").c_str()), 0);
  ASSERT_EQ(rename((att + "02.runtime-trace.intoto.json").c_str(), (att + "01.runtime-trace.intoto.json").c_str()), 0);
  ASSERT_EQ(rename((att + "x").c_str(), (att + "02.runtime-trace.intoto.json").c_str()), 0);
  CommandResult t2 = Verify(layout() + ":demo", {att + "01.runtime-trace.intoto.json",
                                                 att + "02.runtime-trace.intoto.json",
                                                 att + "build.slsa.intoto.json"});
  EXPECT_EQ(t2.exit_code, 5) << t2.Describe();
  EXPECT_NE(t2.out.find("is not the envelope the build provenance lists as 01.runtime-trace.intoto.json"),
            std::string::npos) << t2.out;
  EXPECT_EQ(t2.out.find("changed after the build"), std::string::npos) << "the layout was not touched";

  // 3. the tag moved to another image (the base image, exported beside it)
  CommandResult base = Builder("/usr/bin/buildah", {"push", "--quiet", "localhost/bbase:1",
                                                    "oci:" + layout() + ":base"});
  ASSERT_EQ(base.exit_code, 0) << base.Describe();
  json idx = json::parse(ReadFile(layout() + "/index.json"), nullptr, false);
  ASSERT_TRUE(idx.is_object());
  json base_entry, *demo = nullptr;
  for (auto& e : idx["manifests"]) {
    const std::string t = e.value("annotations", json::object()).value("org.opencontainers.image.ref.name", "");
    if (t == "base") base_entry = e;
    if (t == "demo") demo = &e;
  }
  ASSERT_TRUE(base_entry.is_object() && demo) << idx.dump(2);
  *demo = base_entry;
  (*demo)["annotations"]["org.opencontainers.image.ref.name"] = "demo";
  WriteFile(layout() + "/index.json", idx.dump());
  CommandResult t3 = Verify(layout() + ":demo", {"--attached"});
  EXPECT_NE(t3.exit_code, 0) << t3.Describe();
  EXPECT_NE(t3.err.find("no attestations are attached"), std::string::npos) << t3.Describe();
  CommandResult t3b = Verify(layout() + ":demo", {att + "build.slsa.intoto.json"});
  EXPECT_EQ(t3b.exit_code, 5) << t3b.Describe();
  EXPECT_NE(t3b.out.find("subject digest matches no image manifest"), std::string::npos) << t3b.out;
}

TEST_F(BuildAttestTest, PodmanBuildIsSignedAndVerifies) {
  WriteDockerfile(kDockerfile);
  CommandResult r = SignedBuild("/usr/bin/podman", {"build", "--no-cache", "-t", "localhost/demo:1", ctx()});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  json m = Manifest();
  ASSERT_NO_FATAL_FAILURE(CheckAttestations(m));
  CommandResult v = Verify(layout() + ":demo", {"--attached", "--require-complete", "--require-reconciled"});
  EXPECT_EQ(v.exit_code, 0) << v.Describe();
}

// verify --require-reconciled rejects a build whose layers the trace does not account for: here
// a build traced with --digests off, whose layer files have no traced content to compare.
TEST_F(BuildAttestTest, RequireReconciledRejectsALayerTheTraceCannotAccountFor) {
  WriteDockerfile("FROM localhost/bbase:1\nRUN echo made > /made.txt\n");
  CommandResult r = SignedBuild("/usr/bin/buildah", {"bud", "--layers", "--no-cache", "-t", "localhost/demo:1", ctx()},
                                {"--digests", "off"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  json m = Manifest();
  const json& lc = m["steps"][0]["layer_check"];
  EXPECT_EQ(lc.value("reconciled", true), false) << lc.dump(2);
  EXPECT_EQ(lc["content_unverified"][0].value("path", ""), "/made.txt") << lc.dump(2);
  EXPECT_EQ(lc["content_unverified"][0].value("layer_sha256", ""), Sha256Of("made\n"));
  CommandResult plain = Verify(layout() + ":demo", {"--attached"});
  EXPECT_EQ(plain.exit_code, 0) << "signatures and bindings hold: " << plain.Describe();
  CommandResult strict = Verify(layout() + ":demo", {"--attached", "--require-reconciled"});
  EXPECT_EQ(strict.exit_code, 5) << strict.Describe();
  EXPECT_NE(strict.out.find("its layer and its trace disagree: content_unverified /made.txt"), std::string::npos)
      << strict.out;
}

// A build that fails still gets its record and its attestations: each RUN's journal signed, and
// the build's provenance saying it failed, with the journals as the subject (no image exists).
TEST_F(BuildAttestTest, AFailedBuildIsSignedOverItsJournals) {
  WriteDockerfile("FROM localhost/bbase:1\nRUN echo partial > /p.txt && echo oops >&2 && exit 3\n");
  CommandResult r = SignedBuild("/usr/bin/buildah", {"bud", "--layers", "-t", "localhost/demo:1", ctx()});
  ASSERT_NE(r.exit_code, 0) << r.Describe();
  json m = Manifest();
  ASSERT_TRUE(m.is_object());
  EXPECT_EQ(m.value("exit_code", 0), r.exit_code) << "stepseal exits with the builder's status";
  EXPECT_FALSE(m.contains("image"));
  EXPECT_EQ(m["steps"][0]["stderr"].value("sha256", ""), Sha256Of("oops\n"));
  const std::string att = rec() + "/attestations/";
  json p = Statement(att + "build.slsa.intoto.json");
  EXPECT_EQ(p["predicate"]["buildDefinition"]["internalParameters"].value("exitCode", 0), r.exit_code);
  EXPECT_EQ(p["subject"][0].value("name", ""), "steps/01.journal");
  EXPECT_EQ(p["subject"][0]["digest"].value("sha256", ""), Sha256Sum(rec() + "/steps/01.journal"));
  std::vector<std::string> argv = {STEPSEAL_BIN, "verify", "--pub", dir() / "ci.pub", "--artifact",
                                   rec() + "/steps/01.journal", att + "01.runtime-trace.intoto.json",
                                   att + "01.slsa.intoto.json", att + "build.slsa.intoto.json"};
  CommandResult v = RunCommand(argv);
  EXPECT_EQ(v.exit_code, 0) << v.Describe();
  // another journal in its place fails
  WriteFile(dir() / "other.journal", "not the journal\n");
  argv[5] = dir() / "other.journal";
  CommandResult bad = RunCommand(argv);
  EXPECT_EQ(bad.exit_code, 5) << bad.Describe();
  EXPECT_NE(bad.out.find("subject digest matches no image manifest"), std::string::npos) << bad.out;
}

}  // namespace
}  // namespace e2e
