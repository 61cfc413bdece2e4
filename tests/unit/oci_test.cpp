// OCI image layouts built by hand in a temp dir: resolving references (tags, multi-platform
// indexes, the errors for broken layouts) and attaching DSSE envelopes in both styles.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "attest/oci.h"
#include "attest/verify_build.h"

namespace stepseal::attest {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string Sha256Hex(const std::string& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr);
  std::string s;
  for (unsigned i = 0; i < n; ++i) {
    static const char* hex = "0123456789abcdef";
    s += hex[md[i] >> 4];
    s += hex[md[i] & 15];
  }
  return s;
}

std::string Slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void Spit(const fs::path& p, const std::string& s) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << s;
}

// The message of the OciError FN throws, or "" (and a test failure) if it throws none.
template <typename Fn>
std::string ErrorOf(Fn fn) {
  try {
    fn();
  } catch (const OciError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no OciError thrown";
  return "";
}

const std::string kEnvelopeA =
    R"({"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]})";
const std::string kEnvelopeB =
    R"({"payload":"eyJhIjoxfQ==","payloadType":"application/vnd.in-toto+json","signatures":[{"keyid":"k","sig":"c2ln"}]})";

// An OCI image layout under a fresh temp dir, with helpers to add blobs and index entries.
class LayoutBuilder {
 public:
  LayoutBuilder() {
    std::string tmpl = (fs::path(::testing::TempDir()) / "stepseal-oci-XXXXXX").string();
    root_ = mkdtemp(tmpl.data()) ? tmpl : "";
    dir_ = fs::path(root_) / "layout";
    fs::create_directories(dir_ / "blobs" / "sha256");
    Spit(dir_ / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
    index_ = {{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.index.v1+json"},
              {"manifests", json::array()}};
    WriteIndex();
  }
  ~LayoutBuilder() {
    std::error_code ec;
    if (!root_.empty()) fs::remove_all(root_, ec);
  }

  std::string dir() const { return dir_.string(); }
  fs::path BlobPath(const std::string& digest) const {
    return dir_ / "blobs" / "sha256" / digest.substr(7);
  }

  json Blob(const std::string& bytes, const std::string& media_type) {
    std::string hex = Sha256Hex(bytes);
    Spit(dir_ / "blobs" / "sha256" / hex, bytes);
    return {{"mediaType", media_type}, {"digest", "sha256:" + hex}, {"size", bytes.size()}};
  }

  // A single-platform image: a config, one layer, a manifest. Returns the manifest descriptor.
  json Image(const std::string& arch, const std::string& layer_content) {
    json config = {{"architecture", arch},
                   {"os", "linux"},
                   {"rootfs", {{"type", "layers"}, {"diff_ids", json::array()}}}};
    json config_desc = Blob(config.dump(), "application/vnd.oci.image.config.v1+json");
    json layer = Blob(layer_content, "application/vnd.oci.image.layer.v1.tar");
    json manifest = {{"schemaVersion", 2},
                     {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                     {"config", config_desc},
                     {"layers", json::array({layer})}};
    return Blob(manifest.dump(2), "application/vnd.oci.image.manifest.v1+json");
  }

  void Add(json descriptor, const std::string& tag = "") {
    if (!tag.empty()) descriptor["annotations"]["org.opencontainers.image.ref.name"] = tag;
    index_["manifests"].push_back(descriptor);
    WriteIndex();
  }

  void WriteIndex() { Spit(dir_ / "index.json", index_.dump()); }
  json IndexJson() const { return json::parse(Slurp(dir_ / "index.json")); }

 private:
  std::string root_;
  fs::path dir_;
  json index_;
};

// A multi-platform image index (amd64, arm64) holding also a BuildKit attestation manifest.
struct MultiPlatform {
  json amd64, arm64, attestation, index;
};
MultiPlatform AddMultiPlatform(LayoutBuilder& b, const std::string& tag) {
  MultiPlatform mp;
  mp.amd64 = b.Image("amd64", "amd64 layer");
  mp.amd64["platform"] = {{"architecture", "amd64"}, {"os", "linux"}};
  mp.arm64 = b.Image("arm64", "arm64 layer");
  mp.arm64["platform"] = {{"architecture", "arm64"}, {"os", "linux"}, {"variant", "v8"}};
  json empty = b.Blob("{}", "application/vnd.oci.empty.v1+json");
  json layer = b.Blob(R"({"_type":"https://in-toto.io/Statement/v1"})",
                      "application/vnd.in-toto+json");
  json att = {{"schemaVersion", 2},
              {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
              {"config", empty},
              {"layers", json::array({layer})}};
  mp.attestation = b.Blob(att.dump(), "application/vnd.oci.image.manifest.v1+json");
  mp.attestation["platform"] = {{"architecture", "unknown"}, {"os", "unknown"}};
  mp.attestation["annotations"] = {{"vnd.docker.reference.type", "attestation-manifest"},
                                   {"vnd.docker.reference.digest", mp.amd64["digest"]}};
  json index = {{"schemaVersion", 2},
                {"mediaType", "application/vnd.oci.image.index.v1+json"},
                {"manifests", json::array({mp.amd64, mp.arm64, mp.attestation})}};
  mp.index = b.Blob(index.dump(), "application/vnd.oci.image.index.v1+json");
  b.Add(mp.index, tag);
  return mp;
}

// --- resolving ---------------------------------------------------------------------------------

TEST(OciResolve, TaggedSingleManifest) {
  LayoutBuilder b;
  json m = b.Image("amd64", "layer");
  b.Add(m, "v1");
  ImageRef ref = resolve_image(b.dir() + ":v1");
  EXPECT_EQ(ref.layout, b.dir());
  EXPECT_EQ(ref.tag, "v1");
  EXPECT_EQ(ref.index_digest, "");
  ASSERT_EQ(ref.manifests.size(), 1u);
  EXPECT_EQ(ref.manifests[0].digest, m["digest"]);
  EXPECT_EQ(ref.manifests[0].digest, "sha256:" + Sha256Hex(Slurp(b.BlobPath(m["digest"]))));
  EXPECT_EQ(ref.manifests[0].size, m["size"].get<uint64_t>());
  EXPECT_EQ(ref.manifests[0].media_type, "application/vnd.oci.image.manifest.v1+json");
  // known from the config blob
  EXPECT_EQ(ref.manifests[0].platform, json({{"architecture", "amd64"}, {"os", "linux"}}));
}

TEST(OciResolve, NoTagTakesTheOnlyImage) {
  LayoutBuilder b;
  json m = b.Image("amd64", "layer");
  b.Add(m, "v1");
  ImageRef ref = resolve_image(b.dir());
  EXPECT_EQ(ref.tag, "");
  ASSERT_EQ(ref.manifests.size(), 1u);
  EXPECT_EQ(ref.manifests[0].digest, m["digest"]);
}

TEST(OciResolve, ADirectoryWithAColonInItsNameIsNotSplit) {
  LayoutBuilder b;
  b.Add(b.Image("amd64", "layer"), "v1");
  fs::path renamed = fs::path(b.dir()).parent_path() / "img:v1";
  fs::rename(b.dir(), renamed);
  // ".../img" is no layout, so ".../img:v1" is the directory itself
  ImageRef ref = resolve_image(renamed.string());
  EXPECT_EQ(ref.layout, renamed.string());
  EXPECT_EQ(ref.tag, "");
  EXPECT_EQ(ref.manifests.size(), 1u);
  fs::rename(renamed, b.dir());
}

TEST(OciResolve, TagNotFoundListsTheTags) {
  LayoutBuilder b;
  b.Add(b.Image("amd64", "one"), "v1");
  b.Add(b.Image("amd64", "two"), "v2");
  std::string e = ErrorOf([&] { resolve_image(b.dir() + ":nope"); });
  EXPECT_NE(e.find("tag \"nope\" not found"), std::string::npos) << e;
  EXPECT_NE(e.find("v1, v2"), std::string::npos) << e;
}

TEST(OciResolve, SeveralImagesNeedATag) {
  LayoutBuilder b;
  b.Add(b.Image("amd64", "one"), "v1");
  b.Add(b.Image("amd64", "two"), "v2");
  std::string e = ErrorOf([&] { resolve_image(b.dir()); });
  EXPECT_NE(e.find("2 images in the layout"), std::string::npos) << e;
  EXPECT_NE(e.find("DIR:TAG"), std::string::npos) << e;
  // with a tag each resolves
  EXPECT_EQ(resolve_image(b.dir() + ":v2").manifests.size(), 1u);
}

TEST(OciResolve, MissingIndexJson) {
  LayoutBuilder b;
  fs::remove(fs::path(b.dir()) / "index.json");
  std::string e = ErrorOf([&] { resolve_image(b.dir()); });
  EXPECT_NE(e.find("no index.json"), std::string::npos) << e;
}

TEST(OciResolve, InvalidIndexJson) {
  LayoutBuilder b;
  Spit(fs::path(b.dir()) / "index.json", "{\"manifests\": [");
  std::string e = ErrorOf([&] { resolve_image(b.dir()); });
  EXPECT_NE(e.find("index.json is not valid JSON"), std::string::npos) << e;
}

TEST(OciResolve, MissingOrWrongOciLayoutFile) {
  LayoutBuilder b;
  b.Add(b.Image("amd64", "layer"), "v1");
  Spit(fs::path(b.dir()) / "oci-layout", R"({"imageLayoutVersion":"2.0.0"})");
  std::string e = ErrorOf([&] { resolve_image(b.dir() + ":v1"); });
  EXPECT_NE(e.find("imageLayoutVersion"), std::string::npos) << e;
  fs::remove(fs::path(b.dir()) / "oci-layout");
  e = ErrorOf([&] { resolve_image(b.dir()); });
  EXPECT_NE(e.find("no oci-layout"), std::string::npos) << e;
}

TEST(OciResolve, MissingBlob) {
  LayoutBuilder b;
  json m = b.Image("amd64", "layer");
  b.Add(m, "v1");
  fs::remove(b.BlobPath(m["digest"]));
  std::string e = ErrorOf([&] { resolve_image(b.dir() + ":v1"); });
  EXPECT_NE(e.find("blob " + m["digest"].get<std::string>()), std::string::npos) << e;
  EXPECT_NE(e.find("is missing"), std::string::npos) << e;
}

TEST(OciResolve, CorruptBlob) {
  LayoutBuilder b;
  json m = b.Image("amd64", "layer");
  b.Add(m, "v1");
  std::string bytes = Slurp(b.BlobPath(m["digest"]));
  bytes[bytes.size() / 2] ^= 1;  // same size, other bytes
  Spit(b.BlobPath(m["digest"]), bytes);
  std::string e = ErrorOf([&] { resolve_image(b.dir() + ":v1"); });
  EXPECT_NE(e.find("blob " + m["digest"].get<std::string>() +
                   " is corrupt: its bytes hash to sha256:" + Sha256Hex(bytes)),
            std::string::npos)
      << e;
}

TEST(OciResolve, SizeMustMatchTheDescriptor) {
  LayoutBuilder b;
  json m = b.Image("amd64", "layer");
  m["size"] = m["size"].get<uint64_t>() + 1;
  b.Add(m, "v1");
  std::string e = ErrorOf([&] { resolve_image(b.dir() + ":v1"); });
  EXPECT_NE(e.find("says size"), std::string::npos) << e;
}

TEST(OciResolve, OnlySha256Digests) {
  LayoutBuilder b;
  b.Add({{"mediaType", "application/vnd.oci.image.manifest.v1+json"},
         {"digest", "sha512:" + std::string(128, 'a')},
         {"size", 10}},
        "v1");
  std::string e = ErrorOf([&] { resolve_image(b.dir() + ":v1"); });
  EXPECT_NE(e.find("unsupported digest algorithm \"sha512\""), std::string::npos) << e;
}

TEST(OciResolve, MultiPlatformIndexLeavesOutAttestations) {
  LayoutBuilder b;
  MultiPlatform mp = AddMultiPlatform(b, "multi");
  for (const std::string& spec : {b.dir() + ":multi", b.dir()}) {
    ImageRef ref = resolve_image(spec);
    EXPECT_EQ(ref.index_digest, mp.index["digest"]);
    ASSERT_EQ(ref.manifests.size(), 2u);
    EXPECT_EQ(ref.manifests[0].digest, mp.amd64["digest"]);
    EXPECT_EQ(ref.manifests[0].platform, mp.amd64["platform"]);
    EXPECT_EQ(ref.manifests[1].digest, mp.arm64["digest"]);
    EXPECT_EQ(ref.manifests[1].platform["variant"], "v8");
  }
}

TEST(OciResolve, CorruptEntryOfAnIndex) {
  LayoutBuilder b;
  MultiPlatform mp = AddMultiPlatform(b, "multi");
  Spit(b.BlobPath(mp.arm64["digest"]), "{}");
  std::string e = ErrorOf([&] { resolve_image(b.dir() + ":multi"); });
  EXPECT_NE(e.find("is corrupt: its bytes hash to sha256:" + Sha256Hex("{}")), std::string::npos)
      << e;
}

// --- attaching ---------------------------------------------------------------------------------

std::vector<Attestation> TwoAttestations() {
  return {{kEnvelopeA, "https://slsa.dev/provenance/v1"},
          {kEnvelopeB, "https://in-toto.io/attestation/runtime-trace/v0.1"}};
}

TEST(OciAttach, BuildKitStyleRoundTripOnASingleManifest) {
  LayoutBuilder b;
  json m = b.Image("amd64", "layer");
  b.Add(m, "v1");
  const std::string manifest_bytes = Slurp(b.BlobPath(m["digest"]));
  ImageRef ref = resolve_image(b.dir() + ":v1");
  attach(ref, ref.manifests[0], TwoAttestations(), {.buildkit = true, .referrers = false});

  // the subject is untouched: same bytes, same digest
  EXPECT_EQ(Slurp(b.BlobPath(m["digest"])), manifest_bytes);
  ImageRef again = resolve_image(b.dir() + ":v1");
  ASSERT_EQ(again.manifests.size(), 1u);
  EXPECT_EQ(again.manifests[0].digest, m["digest"]);
  EXPECT_EQ(again.manifests[0].platform, json({{"architecture", "amd64"}, {"os", "linux"}}));
  EXPECT_FALSE(again.index_digest.empty());  // the tag names an index now

  // index.json: still one entry, tagged, pointing at an index holding the image and attestation
  json index = b.IndexJson();
  ASSERT_EQ(index["manifests"].size(), 1u);
  json entry = index["manifests"][0];
  EXPECT_EQ(entry["mediaType"], "application/vnd.oci.image.index.v1+json");
  EXPECT_EQ(entry["annotations"]["org.opencontainers.image.ref.name"], "v1");
  json inner = json::parse(Slurp(b.BlobPath(entry["digest"])));
  ASSERT_EQ(inner["manifests"].size(), 2u);
  EXPECT_EQ(inner["manifests"][0]["digest"], m["digest"]);
  EXPECT_EQ(inner["manifests"][0]["platform"]["architecture"], "amd64");
  json att = inner["manifests"][1];
  EXPECT_EQ(att["platform"], json({{"architecture", "unknown"}, {"os", "unknown"}}));
  EXPECT_EQ(att["annotations"]["vnd.docker.reference.type"], "attestation-manifest");
  EXPECT_EQ(att["annotations"]["vnd.docker.reference.digest"], m["digest"]);
  json att_manifest = json::parse(Slurp(b.BlobPath(att["digest"])));
  EXPECT_EQ(att_manifest["config"]["mediaType"], "application/vnd.oci.empty.v1+json");
  EXPECT_EQ(att_manifest["config"]["digest"], "sha256:" + Sha256Hex("{}"));
  EXPECT_EQ(Slurp(b.BlobPath(att_manifest["config"]["digest"])), "{}");
  ASSERT_EQ(att_manifest["layers"].size(), 2u);
  EXPECT_EQ(att_manifest["layers"][0]["mediaType"], "application/vnd.dsse.envelope.v1+json");
  EXPECT_EQ(att_manifest["layers"][0]["annotations"]["in-toto.io/predicate-type"],
            "https://slsa.dev/provenance/v1");

  EXPECT_EQ(attached_envelopes(again, again.manifests[0]),
            std::vector<std::string>({kEnvelopeA, kEnvelopeB}));
  // the untagged form finds the same image
  EXPECT_EQ(resolve_image(b.dir()).manifests[0].digest, m["digest"]);
}

TEST(OciAttach, ReferrersRoundTrip) {
  LayoutBuilder b;
  json m = b.Image("amd64", "layer");
  b.Add(m, "v1");
  const std::string manifest_bytes = Slurp(b.BlobPath(m["digest"]));
  ImageRef ref = resolve_image(b.dir() + ":v1");
  attach(ref, ref.manifests[0], TwoAttestations(), {.buildkit = false, .referrers = true});

  EXPECT_EQ(Slurp(b.BlobPath(m["digest"])), manifest_bytes);
  json index = b.IndexJson();
  ASSERT_EQ(index["manifests"].size(), 2u);
  json tagged = m;
  tagged["annotations"]["org.opencontainers.image.ref.name"] = "v1";
  EXPECT_EQ(index["manifests"][0], tagged);  // the tag's entry is unchanged
  json ref_desc = index["manifests"][1];
  EXPECT_FALSE(ref_desc.contains("annotations"));  // no tag
  EXPECT_EQ(ref_desc["artifactType"], "application/vnd.dsse.envelope.v1+json");
  json artifact = json::parse(Slurp(b.BlobPath(ref_desc["digest"])));
  EXPECT_EQ(artifact["artifactType"], "application/vnd.dsse.envelope.v1+json");
  EXPECT_EQ(artifact["subject"]["digest"], m["digest"]);
  EXPECT_EQ(artifact["subject"]["size"], m["size"]);
  EXPECT_EQ(artifact["config"]["mediaType"], "application/vnd.oci.empty.v1+json");

  for (const std::string& spec : {b.dir() + ":v1", b.dir()}) {  // the referrer is no image
    ImageRef again = resolve_image(spec);
    ASSERT_EQ(again.manifests.size(), 1u);
    EXPECT_EQ(again.manifests[0].digest, m["digest"]);
    EXPECT_EQ(attached_envelopes(again, again.manifests[0]),
              std::vector<std::string>({kEnvelopeA, kEnvelopeB}));
  }
}

TEST(OciAttach, BothStylesAreFoundOnceAndAttachingTwiceAddsNothing) {
  LayoutBuilder b;
  b.Add(b.Image("amd64", "layer"), "v1");
  ImageRef ref = resolve_image(b.dir() + ":v1");
  attach(ref, ref.manifests[0], TwoAttestations(), {});
  json after_first = b.IndexJson();
  ImageRef again = resolve_image(b.dir() + ":v1");
  attach(again, again.manifests[0], TwoAttestations(), {});
  EXPECT_EQ(b.IndexJson(), after_first);
  EXPECT_EQ(after_first["manifests"].size(), 2u);  // the tagged index, the referrer
  // the same envelope blobs, found through both styles, are returned once each
  EXPECT_EQ(attached_envelopes(again, again.manifests[0]),
            std::vector<std::string>({kEnvelopeA, kEnvelopeB}));
  // no temp files left behind
  for (const auto& e : fs::recursive_directory_iterator(b.dir()))
    EXPECT_EQ(e.path().filename().string().find(".stepseal-tmp"), std::string::npos) << e.path();
}

TEST(OciAttach, ConcurrentAttachesLoseNothing) {
  LayoutBuilder b;
  b.Add(b.Image("amd64", "layer"), "v1");
  const ImageRef ref = resolve_image(b.dir() + ":v1");
  std::vector<std::string> envelopes;
  for (int i = 0; i < 6; ++i)
    envelopes.push_back(R"({"payloadType":"application/vnd.in-toto+json","payload":"e)" +
                        std::to_string(i) + R"(","signatures":[]})");
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (const auto& e : envelopes)
    threads.emplace_back([&, e] {
      try {
        // each writer resolves afresh, as separate stepseal processes would
        ImageRef mine = resolve_image(b.dir() + ":v1");
        attach(mine, mine.manifests[0], {{e, "https://slsa.dev/provenance/v1"}}, {});
      } catch (const OciError&) {
        ++failures;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  std::vector<std::string> found = attached_envelopes(ref, ref.manifests[0]);
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, envelopes);
}

TEST(OciAttach, ToOnePlatformOfAnIndex) {
  LayoutBuilder b;
  MultiPlatform mp = AddMultiPlatform(b, "multi");
  ImageRef ref = resolve_image(b.dir() + ":multi");
  ASSERT_EQ(ref.manifests.size(), 2u);
  const ImageManifest arm64 = ref.manifests[1];
  attach(ref, arm64, {{kEnvelopeA, "https://slsa.dev/provenance/v1"}}, {});

  ImageRef again = resolve_image(b.dir() + ":multi");
  ASSERT_EQ(again.manifests.size(), 2u);  // the new attestation manifest is left out too
  EXPECT_EQ(again.manifests[0].digest, mp.amd64["digest"]);
  EXPECT_EQ(again.manifests[1].digest, mp.arm64["digest"]);
  EXPECT_NE(again.index_digest, ref.index_digest);  // a new index with one more entry
  json inner = json::parse(Slurp(b.BlobPath(again.index_digest)));
  ASSERT_EQ(inner["manifests"].size(), 4u);
  EXPECT_EQ(inner["manifests"][3]["annotations"]["vnd.docker.reference.digest"], arm64.digest);

  EXPECT_EQ(attached_envelopes(again, again.manifests[1]), std::vector<std::string>({kEnvelopeA}));
  // amd64's pre-existing attestation holds a bare Statement, not an envelope
  EXPECT_TRUE(attached_envelopes(again, again.manifests[0]).empty());
}

TEST(OciAttach, UntaggedSingleManifestGetsWrappedToo) {
  LayoutBuilder b;
  json m = b.Image("arm64", "layer");
  b.Add(m);
  ImageRef ref = resolve_image(b.dir());
  attach(ref, ref.manifests[0], {{kEnvelopeB, "https://slsa.dev/provenance/v1"}},
         {.buildkit = true, .referrers = false});
  json index = b.IndexJson();
  ASSERT_EQ(index["manifests"].size(), 1u);  // still "the only image" for skopeo's oci:DIR
  ImageRef again = resolve_image(b.dir());
  ASSERT_EQ(again.manifests.size(), 1u);
  EXPECT_EQ(again.manifests[0].digest, m["digest"]);
  EXPECT_EQ(again.manifests[0].platform["architecture"], "arm64");
  EXPECT_EQ(attached_envelopes(again, again.manifests[0]), std::vector<std::string>({kEnvelopeB}));
}

TEST(OciAttach, ErrorsForAForeignManifestAndForNonEnvelopes) {
  LayoutBuilder b;
  b.Add(b.Image("amd64", "layer"), "v1");
  ImageRef ref = resolve_image(b.dir() + ":v1");
  ImageManifest stranger = ref.manifests[0];
  stranger.digest = "sha256:" + std::string(64, '0');
  std::string e = ErrorOf([&] { attach(ref, stranger, TwoAttestations(), {}); });
  EXPECT_NE(e.find("is not part of the image"), std::string::npos) << e;
  e = ErrorOf([&] { attach(ref, ref.manifests[0], {{"[1,2]", "p"}}, {}); });
  EXPECT_NE(e.find("not a DSSE envelope"), std::string::npos) << e;
  EXPECT_TRUE(attached_envelopes(ref, ref.manifests[0]).empty());
}

TEST(OciAttach, TheLayoutChangedSinceResolving) {
  LayoutBuilder b;
  b.Add(b.Image("amd64", "first"), "v1");
  ImageRef ref = resolve_image(b.dir() + ":v1");
  // retag v1 to another image
  json index = b.IndexJson();
  json other = b.Image("amd64", "second");
  other["annotations"]["org.opencontainers.image.ref.name"] = "v1";
  index["manifests"][0] = other;
  Spit(fs::path(b.dir()) / "index.json", index.dump());
  std::string e = ErrorOf([&] {
    attach(ref, ref.manifests[0], TwoAttestations(), {.buildkit = true, .referrers = false});
  });
  EXPECT_NE(e.find("no longer names manifest"), std::string::npos) << e;
}

}  // namespace
}  // namespace stepseal::attest

namespace stepseal::attest {
namespace {

// Limits on what a layout can make stepseal read (issue 14): refused quickly, saying which.
TEST(OciLimits, AnIndexOfAHundredThousandManifestsIsRefused) {
  LayoutBuilder b;
  json image = b.Image("amd64", "layer");
  json index = b.IndexJson();
  for (int i = 0; i < 100000; ++i) index["manifests"].push_back(image);
  Spit(fs::path(b.dir()) / "index.json", index.dump());
  // refused before any entry is read: the message names the count, not a blob
  std::string e = ErrorOf([&] { resolve_image(b.dir()); });
  EXPECT_NE(e.find("lists 100000 manifests; stepseal reads at most 10000 in one index"),
            std::string::npos) << e;
}

TEST(OciLimits, AManifestOverTheLimitIsRefusedUnread) {
  LayoutBuilder b;
  json big = b.Blob(std::string(9u << 20, ' ') + "{}", "application/vnd.oci.image.manifest.v1+json");
  b.Add(big, "latest");
  std::string e = ErrorOf([&] { resolve_image(b.dir() + ":latest"); });
  EXPECT_NE(e.find("over the limit of 8 MiB for a manifest or config"), std::string::npos) << e;
}

TEST(OciLimits, ADuplicateKeyInAManifestIsRefused) {
  LayoutBuilder b;
  json m = b.Blob(R"({"schemaVersion":2,"schemaVersion":3,"config":{},"layers":[]})",
                  "application/vnd.oci.image.manifest.v1+json");
  b.Add(m, "latest");
  std::string e = ErrorOf([&] { resolve_image(b.dir() + ":latest"); });
  EXPECT_NE(e.find("duplicate key \"schemaVersion\""), std::string::npos) << e;
}

}  // namespace
}  // namespace stepseal::attest

namespace stepseal::attest {
namespace {

TEST(OciLimits, AManifestNamedTenThousandTimesIsOneImageReadOnce) {
  LayoutBuilder b;
  json image = b.Image("amd64", "layer");
  json nested = {{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.image.index.v1+json"},
                 {"manifests", json::array()}};
  for (int i = 0; i < 10000; ++i) nested["manifests"].push_back(image);
  b.Add(b.Blob(nested.dump(), "application/vnd.oci.image.index.v1+json"), "latest");
  ImageRef ref = resolve_image(b.dir() + ":latest");
  ASSERT_EQ(ref.manifests.size(), 1u);
  EXPECT_EQ(ref.manifests[0].digest, image["digest"]);
}

TEST(OciLimits, ALayerBlobThatIsNotAPlainFileOfItsSizeIsAFailureNotAHang) {
  // check_build hashes every layer: a symlink to /dev/zero used to hash forever, a FIFO to
  // block in open(2)
  for (const char* kind : {"symlink", "fifo", "longer"}) {
    SCOPED_TRACE(kind);
    LayoutBuilder b;
    json image = b.Image("amd64", "layer bytes");
    b.Add(image, "latest");
    ImageRef ref = resolve_image(b.dir() + ":latest");
    json manifest = json::parse(Slurp(b.BlobPath(image["digest"])));
    const fs::path layer = b.BlobPath(manifest["layers"][0]["digest"]);
    fs::remove(layer);
    if (std::string(kind) == "symlink") fs::create_symlink("/dev/zero", layer);
    if (std::string(kind) == "fifo") {
      ASSERT_EQ(mkfifo(layer.c_str(), 0600), 0);
    }
    if (std::string(kind) == "longer") Spit(layer, "layer bytes and more");
    std::vector<std::string> f = check_build(ref, ref.manifests[0], {}, false);
    std::string all;
    for (const auto& x : f) all += x + "\n";
    const std::string want = std::string(kind) == "symlink" ? "is a symbolic link in"
                             : std::string(kind) == "fifo"  ? "is not a regular file in"
                                                            : "changed after the build: its blob has 20 bytes, not the 11";
    EXPECT_NE(all.find(want), std::string::npos) << all;
  }
}

}  // namespace
}  // namespace stepseal::attest
