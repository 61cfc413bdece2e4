// attest_test.cpp - `stepseal keygen`, `stepseal attest` and `stepseal verify` end to end, with
// every claim checked by a tool that is not stepseal.
//
// The flow of every test, in the test's work dir (the cwd of every command):
//   stepseal run --trace s1.trace -- sh -c 'echo hi > out.txt'
//   stepseal run --trace s2.trace -- sh -c 'cat out.txt > out2.txt'
//   umoci: an image layout img, tag v1, busybox-static as /bin/busybox
//   stepseal keygen --out signing [--type ed25519]
//   stepseal attest --key signing.key --image img:v1 --out att --in-toto-link s1.trace s2.trace
// which writes att/sN.runtime-trace.intoto.json, att/sN.slsa.intoto.json, att/sN.KEYID8.link and
// attaches the envelopes to the layout. Then:
//   1. Roundtrip      verify exits 0; the key files; each Statement's type, subject (the manifest
//                     digest computed here from index.json with sha256sum), predicate type,
//                     journal head (stepseal show), /usr/bin/dash and stepseal's own digest
//                     (sha256sum); the envelopes attached to the layout are the ones written.
//   2. OpenSsl...     openssl verifies each envelope's signature over PAE built here; a flipped
//                     payload byte does not verify.
//   3. InToto...      in-toto 1.3.1's in-toto-verify accepts the links under a layout signed by a
//                     second key, and rejects a link with one digest character changed; the key
//                     id stepseal writes is the one securesystemslib computes.
//   4. Tamper*        payload, signature, subject, journal, key, image: verify exits 5 and says why.
//      JournalFileHeaderBytesAreBound: a copy of the journal with any one of its first 32 bytes
//                     flipped must not verify as the attested journal.
//   5. BadInput*      missing/corrupt keys, a layout without index.json, an unknown tag, a
//                     truncated envelope: a non-zero exit that is not a crash, and a message.
//   6. Registry...    the layout pushed to a docker-registry on 127.0.0.1 and pulled back with
//                     skopeo: verify --attached still passes against the recomputed digest.
//
// Base64 is decoded and encoded with coreutils base64(1), digests come from sha256sum(1): the
// tests do not take stepseal's word for anything they check.
//
// Needs (tools/install-deps): umoci, busybox-static, openssl, in-toto (with python3-
// securesystemslib for /usr/bin/python3), skopeo, docker-registry. Missing tools are a skip, or
// a failure with STEPSEAL_REQUIRE_PRIVILEGED=1, as for the other e2e tests.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "harness.h"
#include "oci_util.h"

#include "attest/keys.h"
#include "attest/oci.h"

namespace e2e {
namespace {

namespace fs = std::filesystem;

// An in-toto layout expiry one day from now, in its RFC 3339 form (UTC, seconds).
std::string ExpiresTomorrow() {
  const time_t t = time(nullptr) + 24 * 3600;
  struct tm utc{};
  gmtime_r(&t, &utc);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

constexpr const char* kStatementType = "https://in-toto.io/Statement/v1";
constexpr const char* kRuntimeTrace = "https://in-toto.io/attestation/runtime-trace/v0.2";
constexpr const char* kSlsa = "https://slsa.dev/provenance/v1";
constexpr const char* kPayloadType = "application/vnd.in-toto+json";
constexpr int kExitVerifyFailed = 5;

const char* const kSteps[] = {"s1", "s2"};
const char* const kKinds[] = {"runtime-trace", "slsa"};

// A command's failure that is a clean refusal: it finished, with a non-zero exit status that is
// not a signal (134 abort, 139 segfault, ...).
testing::AssertionResult FailedCleanly(const std::vector<std::string>& argv,
                                       const CommandResult& r) {
  if (!r.timed_out && r.exit_code > 0 && r.exit_code < 128) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "expected a clean non-zero exit from " << Join(argv)
                                     << "\n" << r.Describe();
}

testing::AssertionResult Mentions(const std::string& text, const std::string& what) {
  if (text.find(what) != std::string::npos) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "\"" << what << "\" not in:\n" << text.substr(0, 4000);
}

json ParseOrNull(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? json() : j;
}

// The descriptor in an index's "manifests" that describes an attestation, not an image.
bool IsAttestationDescriptor(const json& d) {
  if (d.value("annotations", json::object()).value("vnd.docker.reference.type", "") ==
      "attestation-manifest")
    return true;
  const json& p = d.value("platform", json::object());
  if (p.value("os", "") == "unknown" && p.value("architecture", "") == "unknown") return true;
  return d.contains("artifactType");
}

class AttestTest : public E2ETest {
 protected:
  void SetUp() override {
    E2ETest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    RequireTools({"/usr/bin/umoci", "/bin/busybox", "/usr/bin/base64", "/usr/bin/sha256sum"});
  }

  // Skips (or fails, where privileged tests are required) unless the tools are installed.
  void RequireTools(const std::vector<std::string>& tools) {
    for (const auto& tool : tools) {
      if (access(tool.c_str(), X_OK) == 0) continue;
      if (PrivilegeRequired())
        FAIL() << tool << " is missing (tools/install-deps installs it)";
      else
        GTEST_SKIP() << tool << " is missing (tools/install-deps installs it)";
    }
  }

  void RequireSecureSystemsLib() {
    RequireTools({"/usr/bin/python3", "/usr/bin/in-toto-sign", "/usr/bin/in-toto-verify"});
    if (IsSkipped() || HasFatalFailure()) return;
    CommandResult r = RunCommand({"/usr/bin/python3", "-c", "import securesystemslib"});
    if (r.exit_code == 0) return;
    if (PrivilegeRequired())
      FAIL() << "/usr/bin/python3 cannot import securesystemslib\n" << r.Describe();
    else
      GTEST_SKIP() << "/usr/bin/python3 cannot import securesystemslib";
  }

  std::string W(const std::string& name) const { return work(name); }

  // stepseal ARGS, run in the work dir.
  CommandResult Stepseal(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {STEPSEAL_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, {.cwd = work()}, 120s);
  }

  // Any program, run in the work dir.
  CommandResult Tool(const std::vector<std::string>& argv) const {
    return RunCommand(argv, {.cwd = work()}, 120s);
  }

  // --- the flow ----------------------------------------------------------------------------

  // Traces the two steps, builds img:v1, makes the key SIGNING (type KEY_TYPE) and attests.
  // Call as ASSERT_NO_FATAL_FAILURE(Prepare(...)).
  void Prepare(const std::string& key_type = "ecdsa") {
    TraceStep("s1", "echo hi > out.txt");
    TraceStep("s2", "cat out.txt > out2.txt");
    ASSERT_NO_FATAL_FAILURE(BuildBusyboxLayout(dir(), W("img"), "v1"));
    subject_ = ManifestDigest(W("img"), "v1");
    ASSERT_EQ(subject_.size(), 7u + 64u) << subject_;

    std::vector<std::string> keygen = {"keygen", "--out", "signing"};
    if (key_type != "ecdsa") keygen.insert(keygen.end(), {"--type", key_type});
    CommandResult k = Stepseal(keygen);
    ASSERT_EQ(k.exit_code, 0) << k.Describe();

    CommandResult a = Stepseal({"attest", "--key", "signing.key", "--image", "img:v1", "--out",
                                "att", "--in-toto-link", "s1.trace", "s2.trace"});
    ASSERT_EQ(a.exit_code, 0) << a.Describe();
    for (const char* step : kSteps)
      for (const char* kind : kKinds)
        ASSERT_TRUE(fs::is_regular_file(W(Envelope(step, kind)))) << Envelope(step, kind);
    // the link files are named after the key id in their own signature
    for (const char* step : kSteps) {
      std::vector<std::string> links;
      for (const auto& e : fs::directory_iterator(W("att"))) {
        std::string n = e.path().filename();
        if (n.rfind(std::string(step) + ".", 0) == 0 && n.size() > 5 &&
            n.compare(n.size() - 5, 5, ".link") == 0)
          links.push_back(n);
      }
      ASSERT_EQ(links.size(), 1u) << step;
      json link = ParseOrNull(ReadFile(W("att/" + links[0])));
      ASSERT_TRUE(link.is_object()) << links[0];
      keyid_ = link["signatures"][0].value("keyid", "");
      ASSERT_EQ(keyid_.size(), 64u) << link.dump();
      EXPECT_EQ(links[0], std::string(step) + "." + keyid_.substr(0, 8) + ".link");
      link_[step] = "att/" + links[0];
    }
    // the layout still names the same image manifest after the attestations were attached
    EXPECT_EQ(ManifestDigest(W("img"), "v1"), subject_);
  }

  void TraceStep(const std::string& step, const std::string& script) {
    CommandResult r =
        Stepseal({"run", "--trace", step + ".trace", "--", "sh", "-c", script});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    json summary = ShowJson(step + ".trace");
    ASSERT_TRUE(summary.value("complete", false)) << Dump(summary);
    heads_[step] = summary.value("journal", json::object()).value("sha256_head", "");
    ASSERT_EQ(heads_[step].size(), 64u) << Dump(summary);
  }

  json ShowJson(const std::string& trace) const {
    CommandResult r = Stepseal({"show", trace, "--format", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    return ParseOrNull(r.out);
  }

  static std::string Envelope(const std::string& step, const std::string& kind) {
    return "att/" + step + "." + kind + ".intoto.json";
  }

  std::vector<std::string> AllEnvelopes() const {
    std::vector<std::string> all;
    for (const char* step : kSteps)
      for (const char* kind : kKinds) all.push_back(Envelope(step, kind));
    return all;
  }

  // "sha256:<hex>" of the image manifest TAG names in LAYOUT, found without stepseal: the blob
  // the tagged descriptor of index.json names, or, when that blob is an image index (as after
  // BuildKit-style attachment), its first entry that is not an attestation; hashed by sha256sum.
  std::string ManifestDigest(const std::string& layout, const std::string& tag) const {
    json index = ParseOrNull(ReadFile(layout + "/index.json"));
    if (!index.is_object()) return "no index.json";
    for (const auto& d : index.value("manifests", json::array())) {
      if (d.value("annotations", json::object()).value("org.opencontainers.image.ref.name", "") !=
          tag)
        continue;
      std::string digest = d.value("digest", "");
      std::string blob = layout + "/blobs/sha256/" + digest.substr(digest.find(':') + 1);
      EXPECT_EQ("sha256:" + Sha256Sum(blob), digest) << "the layout's own blob is corrupt";
      if (d.value("mediaType", "") != "application/vnd.oci.image.index.v1+json")
        return "sha256:" + Sha256Sum(blob);
      for (const auto& m : ParseOrNull(ReadFile(blob)).value("manifests", json::array())) {
        if (IsAttestationDescriptor(m)) continue;
        std::string md = m.value("digest", "");
        return "sha256:" + Sha256Sum(layout + "/blobs/sha256/" + md.substr(md.find(':') + 1));
      }
      return "index without an image manifest";
    }
    return "tag " + tag + " not in index.json";
  }

  // --- base64 with coreutils ---------------------------------------------------------------

  std::string B64Decode(const std::string& text) const {
    const std::string in = dir() / "b64.in";
    WriteFile(in, text);
    CommandResult r = RunCommand({"/usr/bin/base64", "-d", in});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    return r.out;
  }

  std::string B64Encode(const std::string& bytes) const {
    const std::string in = dir() / "b64.in";
    WriteFile(in, bytes);
    CommandResult r = RunCommand({"/usr/bin/base64", "-w0", in});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    return r.out;
  }

  // The envelope at PATH (relative to the work dir) and its decoded payload, parsed.
  json ReadEnvelope(const std::string& path) const { return ParseOrNull(ReadFile(W(path))); }
  std::string PayloadOf(const json& envelope) const {
    return B64Decode(envelope.value("payload", ""));
  }

  // --- verify ------------------------------------------------------------------------------

  // stepseal verify --format json ARGS: the exit code and the parsed verdict.
  struct Verdict {
    CommandResult run;
    json j;
    std::string Describe() const { return run.Describe(); }
    // every failure message, of the envelopes and overall, one per line
    std::string Failures() const {
      std::string all;
      if (!j.is_object()) return all;
      for (const auto& e : j.value("envelopes", json::array()))
        for (const auto& f : e.value("failures", json::array()))
          all += e.value("envelope", "") + ": " + f.get<std::string>() + "\n";
      for (const auto& f : j.value("failures", json::array())) all += f.get<std::string>() + "\n";
      return all;
    }
  };

  Verdict VerifyJson(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {"verify", "--format", "json"};
    argv.insert(argv.end(), args.begin(), args.end());
    Verdict v;
    v.run = Stepseal(argv);
    v.j = ParseOrNull(v.run.out);
    return v;
  }

  // Checks that a verification failed: exit 5, "ok": false, and an envelope failure (or an
  // overall one) containing WHAT.
  void ExpectRejected(const Verdict& v, const std::string& what) const {
    EXPECT_EQ(v.run.exit_code, kExitVerifyFailed) << v.Describe();
    ASSERT_TRUE(v.j.is_object()) << v.Describe();
    EXPECT_EQ(v.j.value("ok", true), false) << v.Describe();
    EXPECT_TRUE(Mentions(v.Failures(), what)) << v.Describe();
  }

  // A copy of s2.trace with the byte at OFFSET flipped, as DIR/s2.trace (so it is for step s2).
  std::string FlippedJournal(const std::string& dir, size_t offset) const {
    std::string bytes = ReadFile(W("s2.trace"));
    EXPECT_LT(offset, bytes.size());
    if (offset < bytes.size()) bytes[offset] ^= 0x01;
    fs::create_directories(W(dir));
    WriteFile(W(dir + "/s2.trace"), bytes);
    return dir + "/s2.trace";
  }

  std::string subject_;  // "sha256:<hex>" of img:v1's manifest
  std::string keyid_;    // as written in the links' signatures
  std::map<std::string, std::string> heads_;  // step -> journal.sha256_head (stepseal show)
  std::map<std::string, std::string> link_;   // step -> att/STEP.KEYID8.link
};

std::string KeyTypeName(const testing::TestParamInfo<std::string>& info) { return info.param; }

class AttestKeysTest : public AttestTest, public testing::WithParamInterface<std::string> {};

// ---------------------------------------------------------------------------------------------
// 1. keygen, attest, verify

TEST_P(AttestKeysTest, Roundtrip) {
  RequireTools({"/usr/bin/openssl"});  // the key files are checked against openssl below
  if (IsSkipped() || HasFatalFailure()) return;
  ASSERT_NO_FATAL_FAILURE(Prepare(GetParam()));

  // the key files: PKCS#8 private key 0600, SubjectPublicKeyInfo public key that openssl
  // derives from the private one
  struct stat st{};
  ASSERT_EQ(stat(W("signing.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u) << std::oct << (st.st_mode & 07777);
  const std::string priv = ReadFile(W("signing.key")), pub = ReadFile(W("signing.pub"));
  EXPECT_TRUE(Mentions(priv, "-----BEGIN PRIVATE KEY-----"));
  EXPECT_TRUE(Mentions(pub, "-----BEGIN PUBLIC KEY-----"));
  {
    CommandResult derived =
        Tool({"/usr/bin/openssl", "pkey", "-in", W("signing.key"), "-pubout"});
    EXPECT_EQ(derived.exit_code, 0) << derived.Describe();
    EXPECT_EQ(derived.out, pub);
    CommandResult text = Tool({"/usr/bin/openssl", "pkey", "-pubin", "-in", W("signing.pub"),
                               "-noout", "-text"});
    EXPECT_TRUE(Mentions(text.out, GetParam() == "ecdsa" ? "prime256v1" : "ED25519"))
        << text.Describe();
  }

  // verify: the envelopes written, bound to s2's journal
  {
    std::vector<std::string> args = {"verify", "--pub", "signing.pub", "--image", "img:v1"};
    for (const auto& e : AllEnvelopes()) args.push_back(e);
    args.insert(args.end(), {"--trace", "s2.trace"});
    CommandResult r = Stepseal(args);
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
  }
  // the same as JSON, bound to both journals
  {
    std::vector<std::string> args = {"--pub", "signing.pub", "--image", "img:v1",
                                     "--trace", "s1.trace", "--trace", "s2.trace"};
    for (const auto& e : AllEnvelopes()) args.push_back(e);
    Verdict v = VerifyJson(args);
    EXPECT_EQ(v.run.exit_code, 0) << v.Describe();
    ASSERT_TRUE(v.j.is_object()) << v.Describe();
    EXPECT_EQ(v.j.value("ok", false), true) << v.Describe();
    EXPECT_EQ(v.j.value("failures", json()), json::array()) << v.Describe();
    const json& envs = v.j.value("envelopes", json::array());
    ASSERT_EQ(envs.size(), 4u) << v.Describe();
    size_t i = 0;
    for (const char* step : kSteps)
      for (const char* kind : kKinds) {
        const json& e = envs[i++];
        EXPECT_EQ(e.value("envelope", ""), Envelope(step, kind));
        EXPECT_EQ(e.value("ok", false), true) << e.dump();
        EXPECT_EQ(e.value("failures", json()), json::array()) << e.dump();
        EXPECT_EQ(e.value("predicateType", ""),
                  std::string(kind) == "slsa" ? kSlsa : kRuntimeTrace);
        EXPECT_EQ(e.value("step", ""), step);
      }
  }

  // each envelope and its Statement, checked field by field
  const std::string sh = Canonical("/bin/sh");  // /usr/bin/dash on Debian
  const std::string sh_digest = Sha256Sum(sh), stepseal_digest = Sha256Sum(STEPSEAL_BIN);
  std::set<std::string> events;
  for (const char* step : kSteps) {
    for (const char* kind : kKinds) {
      SCOPED_TRACE(Envelope(step, kind));
      json env = ReadEnvelope(Envelope(step, kind));
      ASSERT_TRUE(env.is_object());
      EXPECT_EQ(env.value("payloadType", ""), kPayloadType);
      ASSERT_EQ(env.value("signatures", json::array()).size(), 1u) << env.dump();
      EXPECT_EQ(env["signatures"][0].value("keyid", ""), keyid_);
      json st = ParseOrNull(PayloadOf(env));
      ASSERT_TRUE(st.is_object()) << PayloadOf(env);
      // no made-up locations: identifiers are URNs, or the operator's
      EXPECT_EQ(PayloadOf(env).find("github.com/stepseal"), std::string::npos);
      EXPECT_EQ(st.value("_type", ""), kStatementType);
      const json& subjects = st.value("subject", json::array());
      ASSERT_EQ(subjects.size(), 1u) << Dump(st);
      EXPECT_EQ("sha256:" + subjects[0].value("digest", json::object()).value("sha256", ""),
                subject_);
      const json& p = st.value("predicate", json::object());
      if (std::string(kind) == "runtime-trace") {
        EXPECT_EQ(st.value("predicateType", ""), kRuntimeTrace);
        EXPECT_EQ(p.value("completeness", json::object())
                      .value("journal", json::object())
                      .value("sha256_head", ""),
                  heads_[step]);
        // monitoredProcess.event identifies the job: the CI's run URL, else a generated urn:uuid,
        // the same for every step of one attest; hostID is a URI
        const std::string ev = p.value("monitoredProcess", json::object()).value("event", "");
        EXPECT_TRUE((ev.rfind("urn:uuid:", 0) == 0 && ev.size() == 45) ||
                    ev.find("://") != std::string::npos)
            << ev;
        events.insert(ev);
        EXPECT_EQ(p.value("monitor", json::object()).value("type", ""),
                  "urn:stepseal:monitor:ebpf-raw-tracepoints:v1");
        EXPECT_EQ(p.value("monitoredProcess", json::object()).value("hostID", "").rfind("urn:", 0),
                  0u);
        EXPECT_EQ(p.value("step", json::object()).value("name", ""), step);
      } else {
        EXPECT_EQ(st.value("predicateType", ""), kSlsa);
        const json& bd = p.value("buildDefinition", json::object());
        bool found_sh = false;
        for (const auto& d : bd.value("resolvedDependencies", json::array()))
          if (d.value("name", "") == sh) {
            found_sh = true;
            EXPECT_EQ(d.value("digest", json::object()).value("sha256", ""), sh_digest)
                << d.dump();
          }
        EXPECT_TRUE(found_sh) << sh << " is not a resolved dependency: "
                              << Dump(bd.value("resolvedDependencies", json::array()));
        const json& rd = p.value("runDetails", json::object());
        const json& deps =
            rd.value("builder", json::object()).value("builderDependencies", json::array());
        ASSERT_FALSE(deps.empty()) << Dump(rd);
        EXPECT_EQ(deps[0].value("digest", json::object()).value("sha256", ""), stepseal_digest);
        EXPECT_EQ(rd.value("builder", json::object()).value("id", ""),
                  "urn:stepseal:binary:sha256:" + stepseal_digest);
        const json& bp = rd.value("byproducts", json::array());
        ASSERT_FALSE(bp.empty()) << Dump(rd);
        EXPECT_EQ(bp[0].value("digest", json::object()).value("sha256", ""), heads_[step]);
      }
    }
  }

  EXPECT_EQ(events.size(), 1u) << "one job, one event identity";

  // the envelopes attached to the layout are the ones written, and verify --attached passes
  {
    Verdict v = VerifyJson({"--pub", "signing.pub", "--image", "img:v1", "--attached",
                            "--trace", "s1.trace", "--trace", "s2.trace"});
    EXPECT_EQ(v.run.exit_code, 0) << v.Describe();
    EXPECT_EQ(v.j.value("ok", false), true) << v.Describe();
    EXPECT_EQ(v.j.value("envelopes", json::array()).size(), 4u) << v.Describe();

    namespace oci = stepseal::attest;
    oci::ImageRef ref = oci::resolve_image(W("img") + ":v1");
    ASSERT_EQ(ref.manifests.size(), 1u);
    EXPECT_EQ(ref.manifests[0].digest, subject_);
    std::multiset<json> attached, written;
    for (const auto& text : oci::attached_envelopes(ref, ref.manifests[0]))
      attached.insert(ParseOrNull(text));
    for (const auto& e : AllEnvelopes()) written.insert(ReadEnvelope(e));
    EXPECT_EQ(attached, written);
  }
}

// ---------------------------------------------------------------------------------------------
// 2. openssl verifies the signatures over PAE

TEST_P(AttestKeysTest, OpenSslVerifiesTheSignatureOverPae) {
  RequireTools({"/usr/bin/openssl"});
  if (IsSkipped() || HasFatalFailure()) return;
  ASSERT_NO_FATAL_FAILURE(Prepare(GetParam()));

  // openssl's verdict on SIG over MESSAGE with signing.pub
  auto openssl_verify = [&](const std::string& message, const std::string& sig) {
    WriteFile(W("pae.bin"), message);
    WriteFile(W("sig.bin"), sig);
    std::vector<std::string> argv =
        GetParam() == "ecdsa"
            ? std::vector<std::string>{"/usr/bin/openssl", "dgst", "-sha256", "-verify",
                                       "signing.pub", "-signature", "sig.bin", "pae.bin"}
            : std::vector<std::string>{"/usr/bin/openssl", "pkeyutl", "-verify", "-pubin",
                                       "-inkey", "signing.pub", "-rawin", "-in", "pae.bin",
                                       "-sigfile", "sig.bin"};
    return Tool(argv);
  };

  for (const auto& path : AllEnvelopes()) {
    SCOPED_TRACE(path);
    json env = ReadEnvelope(path);
    ASSERT_TRUE(env.is_object());
    const std::string type = env.value("payloadType", "");
    const std::string body = PayloadOf(env);
    ASSERT_FALSE(body.empty());
    ASSERT_EQ(env.value("signatures", json::array()).size(), 1u);
    const std::string sig = B64Decode(env["signatures"][0].value("sig", ""));
    if (GetParam() == "ed25519") EXPECT_EQ(sig.size(), 64u);
    else EXPECT_EQ(static_cast<unsigned char>(sig.at(0)), 0x30u);  // a DER SEQUENCE

    auto pae = [](const std::string& t, const std::string& b) {
      return "DSSEv1 " + std::to_string(t.size()) + " " + t + " " + std::to_string(b.size()) +
             " " + b;
    };
    CommandResult good = openssl_verify(pae(type, body), sig);
    EXPECT_EQ(good.exit_code, 0) << good.Describe();

    std::string tampered = body;
    tampered[tampered.size() / 2] ^= 0x01;
    CommandResult bad = openssl_verify(pae(type, tampered), sig);
    EXPECT_NE(bad.exit_code, 0) << "openssl accepted a tampered payload\n" << bad.Describe();
    EXPECT_GE(bad.exit_code, 0) << bad.Describe();
  }
}

// ---------------------------------------------------------------------------------------------
// 3. in-toto-verify accepts the links

// /usr/bin/python3 + securesystemslib: the securesystemslib public key (with the "keyid"
// securesystemslib computes) for the PEM public key in argv[1]; with argv[2], a private key file
// for in-toto-sign (the same, plus keyval.private = the PEM private key in argv[2]).
constexpr const char* kSslibKeyScript = R"PY(
import json, sys
from securesystemslib import keys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
pem = open(sys.argv[1], "rb").read()
k = serialization.load_pem_public_key(pem)
if isinstance(k, ed25519.Ed25519PublicKey):
    raw = k.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    meta = {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": raw.hex()}}
else:
    meta = {"keytype": "ecdsa", "scheme": "ecdsa-sha2-nistp256", "keyval": {"public": pem.decode()}}
meta["keyid_hash_algorithms"] = ["sha256", "sha512"]
key, _ = keys.format_metadata_to_key(meta)
meta["keyid"] = key["keyid"]
if len(sys.argv) > 2:
    meta["keyval"]["private"] = open(sys.argv[2]).read()
print(json.dumps(meta))
)PY";

TEST_P(AttestKeysTest, InTotoVerifyAcceptsTheLinks) {
  RequireSecureSystemsLib();
  if (IsSkipped() || HasFatalFailure()) return;
  ASSERT_NO_FATAL_FAILURE(Prepare(GetParam()));

  // the step key as securesystemslib sees it: its key id must be the one stepseal signed with
  CommandResult step_key = Tool({"/usr/bin/python3", "-c", kSslibKeyScript, W("signing.pub")});
  ASSERT_EQ(step_key.exit_code, 0) << step_key.Describe();
  json key = ParseOrNull(step_key.out);
  ASSERT_TRUE(key.is_object()) << step_key.Describe();
  EXPECT_EQ(key.value("keyid", ""), keyid_)
      << "securesystemslib computes another key id for signing.pub than the one stepseal wrote "
         "in the links: "
      << key.dump();
  EXPECT_EQ(stepseal::attest::Key::load_public(W("signing.pub")).keyid(), keyid_);

  // the layout owner: a second stepseal key (ECDSA), in securesystemslib's JSON key format,
  // which is what in-toto-sign/in-toto-verify -t ecdsa read (they do not read PEM)
  CommandResult ok = Stepseal({"keygen", "--out", "owner"});
  ASSERT_EQ(ok.exit_code, 0) << ok.Describe();
  CommandResult owner_pub = Tool({"/usr/bin/python3", "-c", kSslibKeyScript, W("owner.pub")});
  CommandResult owner_key =
      Tool({"/usr/bin/python3", "-c", kSslibKeyScript, W("owner.pub"), W("owner.key")});
  ASSERT_EQ(owner_pub.exit_code, 0) << owner_pub.Describe();
  ASSERT_EQ(owner_key.exit_code, 0) << owner_key.Describe();
  EXPECT_EQ(ParseOrNull(owner_pub.out).value("keyid", ""),
            stepseal::attest::Key::load_public(W("owner.pub")).keyid());
  WriteFile(W("owner.sslib.pub"), owner_pub.out);
  WriteFile(W("owner.sslib.key"), owner_key.out);
  ASSERT_EQ(chmod(W("owner.sslib.key").c_str(), 0600), 0);

  // the layout: both steps, by the step key, anything allowed
  json layout_key = key;  // in-toto needs the "keyid" inside the key too
  json steps = json::array();
  for (const char* step : kSteps)
    steps.push_back({{"_type", "step"},
                     {"name", step},
                     {"threshold", 1},
                     {"pubkeys", json::array({keyid_})},
                     {"expected_command", json::array()},
                     {"expected_materials", json::array({json::array({"ALLOW", "*"})})},
                     {"expected_products", json::array({json::array({"ALLOW", "*"})})}});
  json layout = {{"signed",
                  {{"_type", "layout"},
                   {"expires", ExpiresTomorrow()},  // never a fixed date: the clock moves
                   {"readme", ""},
                   {"keys", {{keyid_, layout_key}}},
                   {"steps", steps},
                   {"inspect", json::array()}}},
                 {"signatures", json::array()}};
  WriteFile(W("root.layout"), layout.dump(2));
  CommandResult sign = Tool({"/usr/bin/in-toto-sign", "-f", "root.layout", "-k",
                             "owner.sslib.key", "-t", "ecdsa", "-o", "root.layout"});
  ASSERT_EQ(sign.exit_code, 0) << sign.Describe();

  CommandResult verify = Tool({"/usr/bin/in-toto-verify", "-l", "root.layout", "-k",
                               "owner.sslib.pub", "-t", "ecdsa", "--link-dir", "att"});
  EXPECT_EQ(verify.exit_code, 0) << verify.Describe();

  // one hex character of one digest in s1's link changed: the link's signature no longer
  // verifies, in-toto skips it and the step lacks its threshold of links
  ASSERT_EQ(mkdir(W("tampered").c_str(), 0755), 0);
  for (const char* step : kSteps) {
    std::string text = ReadFile(W(link_[step]));
    if (std::string(step) == "s1") {
      json link = ParseOrNull(text);
      ASSERT_TRUE(link.is_object());
      std::string digest;
      for (const char* part : {"products", "materials"}) {
        const json entries = link["signed"].value(part, json::object());
        for (const auto& [path, d] : entries.items())
          if (digest.empty()) digest = d.value("sha256", "");
      }
      ASSERT_EQ(digest.size(), 64u) << Dump(link);
      std::string changed = digest;
      changed[0] = changed[0] == '0' ? '1' : '0';
      size_t at = text.find(digest);
      ASSERT_NE(at, std::string::npos);
      text.replace(at, digest.size(), changed);
      ASSERT_TRUE(ParseOrNull(text).is_object());
    }
    WriteFile(W("tampered/" + fs::path(link_[step]).filename().string()), text);
  }
  CommandResult rejected = Tool({"/usr/bin/in-toto-verify", "-l", "root.layout", "-k",
                                 "owner.sslib.pub", "-t", "ecdsa", "--link-dir", "tampered"});
  EXPECT_EQ(rejected.exit_code, 1) << "in-toto-verify accepted a tampered link\n"
                                   << rejected.Describe();
  EXPECT_TRUE(Mentions(rejected.err + rejected.out, "Step 's1'")) << rejected.Describe();
}

// ---------------------------------------------------------------------------------------------
// 4. tampering

class AttestTamperTest : public AttestKeysTest {
 protected:
  // ENVELOPE with its payload replaced by BODY (base64 by coreutils), written to tampered/NAME.
  std::string WriteWithPayload(json envelope, const std::string& body, const std::string& name) {
    envelope["payload"] = B64Encode(body);
    return WriteEnvelope(envelope, name);
  }
  std::string WriteEnvelope(const json& envelope, const std::string& name) {
    fs::create_directories(W("tampered"));
    WriteFile(W("tampered/" + name), envelope.dump(2) + "\n");
    return "tampered/" + name;
  }
};

TEST_P(AttestTamperTest, PayloadByteFlipped) {
  ASSERT_NO_FATAL_FAILURE(Prepare(GetParam()));
  for (const auto& path : AllEnvelopes()) {
    SCOPED_TRACE(path);
    json env = ReadEnvelope(path);
    std::string body = PayloadOf(env);
    ASSERT_FALSE(body.empty());
    body[body.size() / 2] ^= 0x01;
    std::string t = WriteWithPayload(env, body, "payload.intoto.json");
    Verdict v = VerifyJson({"--pub", "signing.pub", "--image", "img:v1", t});
    ASSERT_NO_FATAL_FAILURE(ExpectRejected(v, "no signature verifies with key " + keyid_));
    EXPECT_TRUE(Mentions(v.Failures(), "altered")) << v.Describe();
  }
}

TEST_P(AttestTamperTest, SignatureByteFlipped) {
  ASSERT_NO_FATAL_FAILURE(Prepare(GetParam()));
  for (const auto& path : AllEnvelopes()) {
    SCOPED_TRACE(path);
    json env = ReadEnvelope(path);
    std::string sig = B64Decode(env["signatures"][0].value("sig", ""));
    ASSERT_FALSE(sig.empty());
    sig[sig.size() / 2] ^= 0x01;
    env["signatures"][0]["sig"] = B64Encode(sig);
    std::string t = WriteEnvelope(env, "sig.intoto.json");
    Verdict v = VerifyJson({"--pub", "signing.pub", "--image", "img:v1", t});
    ASSERT_NO_FATAL_FAILURE(ExpectRejected(v, "no signature verifies with key " + keyid_));
  }
}

TEST_P(AttestTamperTest, SubjectDigestChangedInThePayload) {
  ASSERT_NO_FATAL_FAILURE(Prepare(GetParam()));
  const std::string hex = subject_.substr(7);
  const std::string other = Sha256Of("another image");
  for (const auto& path : AllEnvelopes()) {
    SCOPED_TRACE(path);
    json env = ReadEnvelope(path);
    std::string body = PayloadOf(env);
    size_t at = body.find("\"sha256\":\"" + hex + "\"");
    ASSERT_NE(at, std::string::npos) << body.substr(0, 400);
    body.replace(body.find(hex, at), hex.size(), other);
    ASSERT_TRUE(ParseOrNull(body).is_object());
    std::string t = WriteWithPayload(env, body, "subject.intoto.json");
    Verdict v = VerifyJson({"--pub", "signing.pub", "--image", "img:v1", t});
    ASSERT_NO_FATAL_FAILURE(ExpectRejected(v, "no signature verifies with key " + keyid_));
  }
}

TEST_P(AttestTamperTest, JournalByteFlipped) {
  ASSERT_NO_FATAL_FAILURE(Prepare(GetParam()));
  const size_t size = fs::file_size(W("s2.trace"));
  ASSERT_GT(size, 200u);
  // in the HEADER record's JSON, in the middle, the last byte (the TRAILER's payload)
  for (size_t offset : {size_t{40}, size / 2, size - 1}) {
    SCOPED_TRACE("offset " + std::to_string(offset));
    std::string copy = FlippedJournal("flipped-" + std::to_string(offset), offset);
    Verdict v = VerifyJson({"--pub", "signing.pub", "--image", "img:v1",
                            Envelope("s2", "runtime-trace"), Envelope("s2", "slsa"), "--trace",
                            copy});
    // a damaged journal is refused outright (exit 4), with the reader's finding on stderr
    EXPECT_EQ(v.run.exit_code, 4) << v.Describe();
    EXPECT_TRUE(Mentions(v.run.err, "the journal is damaged")) << v.Describe();
  }
  // an intact journal of another run, given for s2
  fs::create_directories(W("other"));
  fs::copy_file(W("s1.trace"), W("other/s2.trace"));
  Verdict v = VerifyJson({"--pub", "signing.pub", "--image", "img:v1",
                          Envelope("s2", "runtime-trace"), Envelope("s2", "slsa"), "--trace",
                          "other/s2.trace"});
  ASSERT_NO_FATAL_FAILURE(ExpectRejected(v, "the journal given for step s2 has chain head " +
                                                heads_["s1"].substr(0, 16)));
}

// Every byte of the file header (the 16 magic bytes) and of the first frame's header: a journal
// that differs from the attested one in any of them must not verify as the attested journal.
TEST_F(AttestTest, JournalFileHeaderBytesAreBound) {
  ASSERT_NO_FATAL_FAILURE(Prepare());
  std::vector<size_t> accepted;  // offsets whose flipped copy verified as the attested journal
  for (size_t offset = 0; offset < 32; ++offset) {
    SCOPED_TRACE("offset " + std::to_string(offset));
    std::string copy = FlippedJournal("flipped-" + std::to_string(offset), offset);
    Verdict v = VerifyJson({"--pub", "signing.pub", "--image", "img:v1",
                            Envelope("s2", "runtime-trace"), Envelope("s2", "slsa"), "--trace",
                            copy});
    if (v.run.exit_code == 0) {
      accepted.push_back(offset);
      continue;
    }
    EXPECT_TRUE(FailedCleanly({"stepseal", "verify"}, v.run));
    // exit 3 (not a journal: stderr) or exit 5 (the head differs: the verdict)
    EXPECT_TRUE(Mentions(v.run.err + v.Failures(), "journal")) << v.Describe();
  }
  std::string offsets;
  for (size_t o : accepted) offsets += " " + std::to_string(o);
  EXPECT_TRUE(accepted.empty())
      << "copies of s2.trace with one of these bytes flipped verify as the attested journal"
         " (exit 0):"
      << offsets;
}

TEST_P(AttestTamperTest, WrongKey) {
  ASSERT_NO_FATAL_FAILURE(Prepare(GetParam()));
  CommandResult k = Stepseal({"keygen", "--out", "other", "--type", GetParam()});
  ASSERT_EQ(k.exit_code, 0) << k.Describe();
  const std::string other = stepseal::attest::Key::load_public(W("other.pub")).keyid();
  std::vector<std::string> args = {"--pub", "other.pub", "--image", "img:v1"};
  for (const auto& e : AllEnvelopes()) args.push_back(e);
  Verdict v = VerifyJson(args);
  ASSERT_NO_FATAL_FAILURE(ExpectRejected(v, "no signature verifies with key " + other));
  EXPECT_TRUE(Mentions(v.Failures(), "signed by keyid " + keyid_)) << v.Describe();
  for (const auto& e : v.j.value("envelopes", json::array()))
    EXPECT_EQ(e.value("ok", true), false) << e.dump();
}

TEST_P(AttestTamperTest, DifferentImage) {
  ASSERT_NO_FATAL_FAILURE(Prepare(GetParam()));
  ASSERT_NO_FATAL_FAILURE(
      BuildBusyboxLayout(dir(), W("img2"), "v1", {{"/etc/extra", "one more file\n"}}));
  ASSERT_NE(ManifestDigest(W("img2"), "v1"), subject_);
  std::vector<std::string> args = {"--pub", "signing.pub", "--image", "img2:v1"};
  for (const auto& e : AllEnvelopes()) args.push_back(e);
  Verdict v = VerifyJson(args);
  ASSERT_NO_FATAL_FAILURE(ExpectRejected(v, "subject digest matches no image manifest of img2:v1"));
  for (const auto& e : v.j.value("envelopes", json::array()))
    EXPECT_EQ(e.value("ok", true), false) << e.dump();
}

// ---------------------------------------------------------------------------------------------
// 5. bad input

class AttestBadInputTest : public AttestTest {
 protected:
  void SetUp() override {
    AttestTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_NO_FATAL_FAILURE(Prepare());
  }

  // stepseal ARGS must fail cleanly and say WHAT on stderr.
  void ExpectRefused(const std::vector<std::string>& args, const std::string& what) {
    SCOPED_TRACE(Join(args));
    CommandResult r = Stepseal(args);
    EXPECT_TRUE(FailedCleanly(args, r));
    EXPECT_TRUE(Mentions(r.err, what)) << r.Describe();
  }

  void Attest(const std::string& key, const std::string& image, const std::string& what) {
    fs::remove_all(W("att-bad"));
    ExpectRefused({"attest", "--key", key, "--image", image, "--out", "att-bad", "s1.trace"},
                  what);
  }
  void Verify(const std::string& pub, const std::string& image, const std::string& envelope,
              const std::string& what) {
    ExpectRefused({"verify", "--pub", pub, "--image", image, envelope}, what);
  }

  // LEN bytes that are not PEM (no '-', so no "-----BEGIN").
  static std::string RandomBytes(size_t len) {
    std::mt19937 gen(12345);
    std::string s(len, '\0');
    for (auto& c : s) {
      c = static_cast<char>(gen() & 0xff);
      if (c == '-') c = '+';
    }
    return s;
  }
};

TEST_F(AttestBadInputTest, MissingKeyFile) {
  Attest("missing.key", "img:v1", "key file missing.key does not exist");
  Verify("missing.pub", "img:v1", Envelope("s1", "slsa"), "key file missing.pub does not exist");
}

TEST_F(AttestBadInputTest, CorruptKeyFile) {
  WriteFile(W("random.key"), RandomBytes(300));
  WriteFile(W("random.pub"), RandomBytes(300));
  Attest("random.key", "img:v1", "key file random.key is not a PEM file");
  Verify("random.pub", "img:v1", Envelope("s1", "slsa"), "key file random.pub is not a PEM file");
  // PEM armour around garbage
  WriteFile(W("garbage.key"), "-----BEGIN PRIVATE KEY-----\nAAAAbm90IGEga2V5IGF0IGFsbA==\n"
                              "-----END PRIVATE KEY-----\n");
  WriteFile(W("garbage.pub"), "-----BEGIN PUBLIC KEY-----\nAAAAbm90IGEga2V5IGF0IGFsbA==\n"
                              "-----END PUBLIC KEY-----\n");
  Attest("garbage.key", "img:v1", "key file garbage.key is corrupt");
  Verify("garbage.pub", "img:v1", Envelope("s1", "slsa"), "key file garbage.pub is corrupt");
}

TEST_F(AttestBadInputTest, LayoutWithoutIndexJson) {
  ASSERT_EQ(RunCommand({"/bin/cp", "-a", W("img"), W("noindex")}).exit_code, 0);
  ASSERT_EQ(unlink(W("noindex/index.json").c_str()), 0);
  Attest("signing.key", "noindex:v1", "noindex is not an OCI image layout: it has no index.json");
  Verify("signing.pub", "noindex:v1", Envelope("s1", "slsa"),
         "noindex is not an OCI image layout: it has no index.json");
}

TEST_F(AttestBadInputTest, TagDoesNotExist) {
  Attest("signing.key", "img:nope", "tag \"nope\" not found");
  Verify("signing.pub", "img:nope", Envelope("s1", "slsa"), "tag \"nope\" not found");
}

TEST_F(AttestBadInputTest, TruncatedEnvelope) {
  const std::string whole = ReadFile(W(Envelope("s1", "slsa")));
  WriteFile(W("half.intoto.json"), whole.substr(0, whole.size() / 2));
  std::vector<std::string> args = {"verify", "--pub", "signing.pub", "--image", "img:v1",
                                   "half.intoto.json"};
  CommandResult r = Stepseal(args);
  EXPECT_TRUE(FailedCleanly(args, r));
  EXPECT_TRUE(Mentions(r.err + r.out, "half.intoto.json")) << r.Describe();
  EXPECT_TRUE(Mentions(r.err + r.out, "truncated")) << r.Describe();
  // the acceptance criterion: the message is on stderr
  EXPECT_TRUE(Mentions(r.err, "truncated")) << "the problem is not reported on stderr\n"
                                            << r.Describe();
}

// ---------------------------------------------------------------------------------------------
// 6. through a registry and back

TEST_F(AttestTest, RegistryRoundTripKeepsTheAttestationsVerifiable) {
  RequireTools({"/usr/bin/skopeo", "/usr/bin/docker-registry"});
  if (IsSkipped() || HasFatalFailure()) return;
  ASSERT_NO_FATAL_FAILURE(Prepare());

  {
    Registry registry(dir());
    ASSERT_TRUE(registry.ready()) << registry.log();
    const std::string remote = "docker://" + registry.host() + "/step:v1";
    ASSERT_RUNS({"/usr/bin/skopeo", "copy", "--all", "--dest-tls-verify=false",
                 "oci:" + W("img") + ":v1", remote});
    ASSERT_RUNS({"/usr/bin/skopeo", "copy", "--all", "--src-tls-verify=false", remote,
                 "oci:" + W("back") + ":v1"});
  }  // the registry is stopped here

  // the pulled image is the same manifest, by a digest computed from the pulled bytes
  EXPECT_EQ(ManifestDigest(W("back"), "v1"), subject_);
  Verdict v = VerifyJson({"--pub", "signing.pub", "--image", "back:v1", "--attached", "--trace",
                          "s1.trace", "--trace", "s2.trace"});
  EXPECT_EQ(v.run.exit_code, 0) << v.Describe();
  ASSERT_TRUE(v.j.is_object()) << v.Describe();
  EXPECT_EQ(v.j.value("ok", false), true) << v.Describe();
  std::multiset<std::pair<std::string, std::string>> seen;  // (step, predicateType)
  for (const auto& e : v.j.value("envelopes", json::array())) {
    EXPECT_EQ(e.value("ok", false), true) << e.dump();
    seen.insert({e.value("step", ""), e.value("predicateType", "")});
  }
  EXPECT_EQ(seen, (std::multiset<std::pair<std::string, std::string>>{
                      {"s1", kRuntimeTrace}, {"s1", kSlsa}, {"s2", kRuntimeTrace}, {"s2", kSlsa}}))
      << v.Describe();
  // the text form agrees
  CommandResult text = Stepseal({"verify", "--pub", "signing.pub", "--image", "back:v1",
                                 "--attached", "--trace", "s1.trace", "--trace", "s2.trace"});
  EXPECT_EQ(text.exit_code, 0) << text.Describe();
}

INSTANTIATE_TEST_SUITE_P(Attest, AttestKeysTest, testing::Values("ecdsa", "ed25519"),
                         KeyTypeName);
INSTANTIATE_TEST_SUITE_P(Attest, AttestTamperTest, testing::Values("ecdsa", "ed25519"),
                         KeyTypeName);

}  // namespace
}  // namespace e2e
