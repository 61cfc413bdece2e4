// oci_e2e_test.cpp - attestations in a real OCI image layout, checked with the real tools.
//
// A layout is built from busybox-static with umoci, resolved with attest::resolve_image(), and
// given two DSSE envelopes with attest::attach(). Then:
//   1. umoci and skopeo still read it (umoci ls, umoci stat, skopeo inspect);
//   2. it is pushed with `skopeo copy --all` to a docker-registry (distribution 2.8) started on
//      127.0.0.1 on a free port with its storage in the test's temp dir, pulled back into a
//      second layout, and attached_envelopes() there must give the same envelopes for the same
//      subject digest.
//
// What the tools of Debian 12 (umoci 0.4.7, skopeo 1.9, distribution 2.8) do with each style:
//   BuildKit style  survives the registry round trip: the attestation manifest is an entry of
//                   the tagged image index, which `skopeo copy --all` copies whole.
//                   umoci 0.4.7 cannot stat (or unpack) such a tag: it resolves a tag to every
//                   manifest under it and calls an index with two manifests "ambiguous" - as for
//                   any multi-platform image. `umoci ls` and skopeo are fine.
//   referrers       do not survive: the artifact is an untagged top-level entry of index.json,
//                   outside what `skopeo copy oci:DIR:TAG` copies, and neither skopeo 1.9 nor
//                   distribution 2.8 knows the referrers API. Locally every tool reads the layout.
//
// Needs the Debian packages umoci, skopeo, docker-registry and busybox-static (tools/install-deps).
// Runs in the E2ETest fixture for the skip/fail rule; missing tools are a skip, or a failure with
// STEPSEAL_REQUIRE_PRIVILEGED=1.
#include <unistd.h>

#include "harness.h"
#include "oci_util.h"

#include "attest/oci.h"

namespace e2e {
namespace {

class OciE2ETest : public E2ETest {
 protected:
  // Skips (or fails, where privileged tests are required) unless the tools are installed.
  void RequireTools() {
    for (const char* tool : {"/usr/bin/umoci", "/usr/bin/skopeo", "/usr/bin/docker-registry",
                             "/bin/busybox"}) {
      if (access(tool, X_OK) == 0) continue;
      if (PrivilegeRequired())
        FAIL() << tool << " is missing (tools/install-deps installs it)";
      else
        GTEST_SKIP() << tool << " is missing (tools/install-deps installs it)";
    }
  }
};



namespace oci = stepseal::attest;

const std::string kEnvelopeA =
    R"({"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]})";
const std::string kEnvelopeB =
    R"({"payloadType":"application/vnd.in-toto+json","payload":"eyJhIjoxfQ==","signatures":[]})";

std::vector<oci::Attestation> TwoEnvelopes() {
  return {{kEnvelopeA, "https://slsa.dev/provenance/v1"},
          {kEnvelopeB, "https://in-toto.io/attestation/runtime-trace/v0.1"}};
}

// Attaches TwoEnvelopes() to SUBJECT of LAYOUT:TAG in the style OPTS names and checks the
// layout afterwards: still one image, the same manifest, both envelopes read back in order.
// *ATTACHED receives the layout as resolved after the attachment. (Fatal failures return:
// callers check HasFatalFailure().)
void AttachTwoAndReadBack(const std::string& layout, const std::string& tag,
                          const oci::ImageRef& ref, const oci::ImageManifest& subject,
                          const oci::AttachOptions& opts, oci::ImageRef* attached) {
  oci::attach(ref, subject, TwoEnvelopes(), opts);
  *attached = oci::resolve_image(layout + ":" + tag);
  ASSERT_EQ(attached->manifests.size(), 1u);
  EXPECT_EQ(attached->manifests[0].digest, subject.digest);
  EXPECT_EQ(oci::attached_envelopes(*attached, subject),
            std::vector<std::string>({kEnvelopeA, kEnvelopeB}));
}

// The layout's image after the local checks: umoci ls names TAG, skopeo inspect reports the
// image, and (when UMOCI_STAT) umoci stat reads it.
void CheckToolsReadTheLayout(const std::string& layout, const std::string& tag,
                             const std::string& digest, bool umoci_stat) {
  testing::AssertionResult ok = testing::AssertionSuccess();
  CommandResult ls = Run({"/usr/bin/umoci", "ls", "--layout", layout}, &ok);
  EXPECT_TRUE(ok);
  EXPECT_EQ(ls.out, tag + "\n");
  CommandResult inspect = Run({"/usr/bin/skopeo", "inspect", "oci:" + layout + ":" + tag}, &ok);
  EXPECT_TRUE(ok);
  json j = json::parse(inspect.out, nullptr, false);
  // for an index, skopeo inspect shows the index's digest and this machine's platform's image
  EXPECT_TRUE(j.is_object() && j.contains("Digest") && j.contains("Layers")) << inspect.out;
  CommandResult raw =
      Run({"/usr/bin/skopeo", "inspect", "--raw", "oci:" + layout + ":" + tag}, &ok);
  EXPECT_TRUE(ok);
  // the exact bytes the tag names: the manifest itself, or an index listing it
  EXPECT_TRUE("sha256:" + Sha256Of(raw.out) == digest || raw.out.find(digest) != std::string::npos)
      << raw.out;
  CommandResult stat = RunCommand({"/usr/bin/umoci", "stat", "--image", layout + ":" + tag});
  if (umoci_stat)
    EXPECT_EQ(stat.exit_code, 0) << stat.Describe();
  else  // umoci 0.4.7 and a tag naming an index of several manifests (see the top)
    EXPECT_TRUE(stat.exit_code == 0 || stat.err.find("ambiguous") != std::string::npos)
        << stat.Describe();
}

// Pushes LAYOUT:TAG to a fresh registry with skopeo copy --all and pulls it back into BACK:TAG.
void RoundTrip(const TempDir& dir, const std::string& layout, const std::string& back,
               const std::string& tag) {
  Registry registry(dir);
  ASSERT_TRUE(registry.ready()) << registry.log();
  const std::string remote = "docker://" + registry.host() + "/stepseal-test:" + tag;
  ASSERT_RUNS({"/usr/bin/skopeo", "copy", "--all", "--dest-tls-verify=false",
               "oci:" + layout + ":" + tag, remote});
  ASSERT_RUNS({"/usr/bin/skopeo", "copy", "--all", "--src-tls-verify=false", remote,
               "oci:" + back + ":" + tag});
}

TEST_F(OciE2ETest, BuildKitStyleSurvivesARegistryRoundTrip) {
  RequireTools();
  if (IsSkipped() || HasFatalFailure()) return;
  const std::string layout = dir() / "layout", back = dir() / "pulled";
  BuildBusyboxLayout(dir(), layout, "v1");
  if (HasFatalFailure()) return;

  oci::ImageRef ref = oci::resolve_image(layout + ":v1");
  ASSERT_EQ(ref.manifests.size(), 1u);
  const oci::ImageManifest subject = ref.manifests[0];
  EXPECT_EQ(subject.digest, "sha256:" + Sha256Of(ReadFile(layout + "/blobs/sha256/" +
                                                          subject.digest.substr(7))));
  CheckToolsReadTheLayout(layout, "v1", subject.digest, /*umoci_stat=*/true);

  oci::ImageRef attached;
  AttachTwoAndReadBack(layout, "v1", ref, subject, {.buildkit = true, .referrers = false},
                       &attached);
  if (HasFatalFailure()) return;
  CheckToolsReadTheLayout(layout, "v1", subject.digest, /*umoci_stat=*/false);

  RoundTrip(dir(), layout, back, "v1");
  if (HasFatalFailure()) return;
  oci::ImageRef pulled = oci::resolve_image(back + ":v1");
  ASSERT_EQ(pulled.manifests.size(), 1u);
  EXPECT_EQ(pulled.manifests[0].digest, subject.digest);  // skopeo kept the manifest's bytes
  EXPECT_EQ(pulled.index_digest, attached.index_digest);
  EXPECT_EQ(oci::attached_envelopes(pulled, pulled.manifests[0]),
            std::vector<std::string>({kEnvelopeA, kEnvelopeB}));
}

TEST_F(OciE2ETest, ReferrersStayInTheLayout) {
  RequireTools();
  if (IsSkipped() || HasFatalFailure()) return;
  const std::string layout = dir() / "layout", back = dir() / "pulled";
  BuildBusyboxLayout(dir(), layout, "v1");
  if (HasFatalFailure()) return;

  oci::ImageRef ref = oci::resolve_image(layout + ":v1");
  ASSERT_EQ(ref.manifests.size(), 1u);
  const oci::ImageManifest subject = ref.manifests[0];
  oci::ImageRef attached;
  AttachTwoAndReadBack(layout, "v1", ref, subject, {.buildkit = false, .referrers = true},
                       &attached);
  if (HasFatalFailure()) return;
  // the tag still names the manifest itself, so even umoci stat reads it
  CheckToolsReadTheLayout(layout, "v1", subject.digest, /*umoci_stat=*/true);

  RoundTrip(dir(), layout, back, "v1");
  if (HasFatalFailure()) return;
  oci::ImageRef pulled = oci::resolve_image(back + ":v1");
  ASSERT_EQ(pulled.manifests.size(), 1u);
  EXPECT_EQ(pulled.manifests[0].digest, subject.digest);
  // what skopeo 1.9 and distribution 2.8 do: the untagged referrer is not copied
  EXPECT_TRUE(oci::attached_envelopes(pulled, pulled.manifests[0]).empty())
      << "referrers now survive the round trip: update this test and the notes at the top";
}

TEST_F(OciE2ETest, BothStylesTogetherRoundTripOnce) {
  RequireTools();
  if (IsSkipped() || HasFatalFailure()) return;
  const std::string layout = dir() / "layout", back = dir() / "pulled";
  BuildBusyboxLayout(dir(), layout, "v1");
  if (HasFatalFailure()) return;

  oci::ImageRef ref = oci::resolve_image(layout + ":v1");
  ASSERT_EQ(ref.manifests.size(), 1u);
  const oci::ImageManifest subject = ref.manifests[0];
  oci::attach(ref, subject, TwoEnvelopes(), {.buildkit = true, .referrers = true});
  // the same two envelope blobs, reachable both ways, are listed once
  EXPECT_EQ(oci::attached_envelopes(oci::resolve_image(layout + ":v1"), subject),
            std::vector<std::string>({kEnvelopeA, kEnvelopeB}));
  // the untagged form still finds the one image (the referrer is not counted as one)
  EXPECT_EQ(oci::resolve_image(layout).manifests.at(0).digest, subject.digest);

  RoundTrip(dir(), layout, back, "v1");
  if (HasFatalFailure()) return;
  oci::ImageRef pulled = oci::resolve_image(back + ":v1");
  ASSERT_EQ(pulled.manifests.size(), 1u);
  EXPECT_EQ(pulled.manifests[0].digest, subject.digest);
  EXPECT_EQ(oci::attached_envelopes(pulled, pulled.manifests[0]),
            std::vector<std::string>({kEnvelopeA, kEnvelopeB}));
}


}  // namespace
}  // namespace e2e
