// Hostile input (issue 14): what a verifier, a journal reader and the policy parser must refuse
// or bound, each found or sharpened by the fuzzers (tests/fuzz). Parser differentials with other
// in-toto verifiers (duplicate keys, second spellings of base64, conflicting signatures), size
// limits, and resource limits on journals and policies.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>

#include "attest/dsse.h"
#include "attest/keys.h"
#include "attest/statements.h"
#include "attest/verify.h"
#include "journal/journal.h"
#include "journal_fixtures.h"
#include "policy/policy.h"
#include "util/json.h"

namespace stepseal {
namespace {

using nlohmann::json;
namespace at = attest;

const std::string kManifest = "sha256:" + std::string(64, 'a');

json Statement() {
  return json{{"_type", at::kStatementType},
              {"subject", {{{"name", "img"}, {"digest", {{"sha256", std::string(64, 'a')}}}}}},
              {"predicateType", at::kRuntimeTrace},
              {"predicate", json::object()}};
}

class Strictness : public testing::Test {
 protected:
  at::Key key_ = at::Key::generate(at::KeyType::kEcdsaP256);
  at::Key other_ = at::Key::generate(at::KeyType::kEcdsaP256);
  at::VerifyRequirements req_ = [] {
    at::VerifyRequirements r;
    r.manifest_digests = {kManifest};
    r.image = "img";
    return r;
  }();

  json Envelope(const std::string& body) {
    return at::sign_envelope(body, at::kInTotoPayloadType, key_);
  }
  at::EnvelopeVerdict Verify(const std::string& text) {
    return at::verify_statement_envelope(text, key_, req_);
  }
  static std::string Failures(const at::EnvelopeVerdict& v) {
    std::string s;
    for (const auto& f : v.failures) s += f + "; ";
    return s;
  }
};

TEST_F(Strictness, TheGenuineEnvelopeVerifies) {
  auto v = Verify(Envelope(Statement().dump()).dump());
  EXPECT_TRUE(v.ok()) << Failures(v);
}

TEST_F(Strictness, AKeyTwiceInTheEnvelopeIsRefused) {
  // Another verifier that keeps the first "payloadType" would read another envelope.
  json env = Envelope(Statement().dump());
  std::string text = env.dump();
  text.insert(1, R"("payloadType":"text/plain",)");
  auto v = Verify(text);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(Failures(v).find("duplicate key \"payloadType\""), std::string::npos) << Failures(v);
}

TEST_F(Strictness, AKeyTwiceInTheSignedPayloadIsRefused) {
  // Signed, so the signature holds: the payload itself reads two ways.
  std::string body = Statement().dump();
  body.insert(1, R"("predicateType":"https://example.com/other",)");
  auto v = Verify(Envelope(body).dump());
  ASSERT_FALSE(v.ok());
  EXPECT_NE(Failures(v).find("payload refused: duplicate key \"predicateType\""), std::string::npos)
      << Failures(v);
  EXPECT_FALSE(v.statement);
}

TEST_F(Strictness, ASecondSpellingOfThePayloadIsRefused) {
  json env = Envelope("a");
  ASSERT_EQ(env["payload"], "YQ==");
  // "YR==" decodes to "a" in a lenient decoder: its last bits are not zero.
  env["payload"] = "YR==";
  at::EnvelopeCheck c = at::verify_envelope(env, at::kInTotoPayloadType, key_);
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.error.find("non-zero bits"), std::string::npos) << c.error;
}

TEST_F(Strictness, Base64MixingBothAlphabetsIsRefused) {
  EXPECT_EQ(at::base64_decode("+/+/"), at::base64_decode("-_-_"));  // each alphabet alone is fine
  try {
    at::base64_decode("+_+_");
    FAIL() << "mixed alphabets accepted";
  } catch (const at::KeyError& e) {
    EXPECT_NE(std::string(e.what()).find("mixes the standard"), std::string::npos) << e.what();
  }
}

TEST_F(Strictness, TheSameKeyidSigningTwiceIsRefused) {
  json env = Envelope(Statement().dump());
  env["signatures"].push_back(env["signatures"][0]);  // both verify: still two answers to one key
  auto v = Verify(env.dump());
  ASSERT_FALSE(v.ok());
  EXPECT_NE(Failures(v).find("conflicting signatures: keyid " + key_.keyid() + " signs twice"),
            std::string::npos)
      << Failures(v);
}

TEST_F(Strictness, ASignatureNamingTheKeyThatDoesNotVerifyIsRefusedEvenBesideAGoodOne) {
  // A verifier checking only the first signature that names its key would refuse this envelope;
  // stepseal, finding a good one later, would have accepted it.
  const std::string body = Statement().dump();
  json good = Envelope(body);
  json bad_sig = {{"keyid", key_.keyid()},
                  {"sig", at::base64_encode(other_.sign(at::pae(at::kInTotoPayloadType, body)))}};
  json sig_by_good = good["signatures"][0];
  sig_by_good["keyid"] = "";  // a good signature without a keyid hint
  json env = good;
  env["signatures"] = json::array({bad_sig, sig_by_good});
  auto v = Verify(env.dump());
  ASSERT_FALSE(v.ok());
  EXPECT_NE(Failures(v).find("conflicting signatures: signature #1 names key"), std::string::npos)
      << Failures(v);
  // The same good signature alone verifies: the refusal is the conflict's.
  env["signatures"] = json::array({sig_by_good});
  EXPECT_TRUE(Verify(env.dump()).ok());
}

TEST_F(Strictness, AnotherKeysSignatureBesideOursIsAccepted) {
  const std::string body = Statement().dump();
  json env = Envelope(body);
  env["signatures"].push_back(
      {{"keyid", other_.keyid()},
       {"sig", at::base64_encode(other_.sign(at::pae(at::kInTotoPayloadType, body)))}});
  auto v = Verify(env.dump());
  EXPECT_TRUE(v.ok()) << Failures(v);
}

TEST_F(Strictness, AMalformedSignatureEntryRefusesTheEnvelope) {
  json env = Envelope(Statement().dump());
  for (json bad : {json(42), json{{"keyid", 7}, {"sig", "AAAA"}}, json{{"keyid", "x"}},
                   json{{"keyid", "x"}, {"sig", "not base64!"}}}) {
    json e = env;
    e["signatures"].push_back(bad);
    auto v = Verify(e.dump());
    EXPECT_FALSE(v.ok()) << bad.dump();
    EXPECT_NE(Failures(v).find("signature #2"), std::string::npos) << Failures(v);
  }
}

TEST_F(Strictness, TooManySignaturesAreRefused) {
  json env = Envelope(Statement().dump());
  for (size_t i = 0; i < at::kMaxSignatures; ++i)
    env["signatures"].push_back({{"keyid", "k" + std::to_string(i)}, {"sig", "AAAA"}});
  auto v = Verify(env.dump());
  ASSERT_FALSE(v.ok());
  EXPECT_NE(Failures(v).find("at most 64 are read"), std::string::npos) << Failures(v);
}

TEST_F(Strictness, AnEnvelopeOverTheSizeLimitIsRefusedUnread) {
  std::string text = Envelope(Statement().dump()).dump();
  text.append(at::kMaxEnvelopeBytes, ' ');  // still valid JSON: whitespace after the object
  auto v = Verify(text);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(Failures(v).find("over the limit of 128 MiB"), std::string::npos) << Failures(v);
}

TEST(StrictJson, NumbersTooLargeForADoubleAreAnErrorNotACrash) {
  std::string why;
  EXPECT_TRUE(util::parse_strict_json(R"({"a": 1e4649})", &why).is_discarded());
  EXPECT_NE(why.find("not JSON"), std::string::npos) << why;
}

// --- keys ---------------------------------------------------------------------------------------

std::string WriteTemp(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + "hostile_" + std::to_string(getpid()) + "_" + name;
  std::ofstream(path) << text;
  return path;
}

TEST(HostileKeys, APrivateKeyWhosePublicHalfIsAnothersIsRefused) {
  // Found by keys_fuzz: the private scalar changed, the embedded public key left as it was. It
  // loaded, signed with one key and named another, so no signature it made ever verified.
  const std::string path =
      std::string(STEPSEAL_SOURCE_DIR) + "/tests/fuzz/regressions/keys/mismatched-public";
  ASSERT_TRUE(std::ifstream(path).good()) << path;
  try {
    at::Key::load_private(path);
    FAIL() << "an inconsistent key pair loaded";
  } catch (const at::KeyError& e) {
    EXPECT_NE(std::string(e.what()).find(path + " is inconsistent"), std::string::npos) << e.what();
  }
}

// --- journals -----------------------------------------------------------------------------------

std::string JournalPath(const std::string& name) { return fixtures::temp_path("hostile-" + name); }

template <typename Fill>
journal::ReadResult ReadCrafted(const std::string& name, Fill fill, std::vector<Event>* events) {
  const std::string path = JournalPath(name);
  {
    journal::Writer w(path);
    fill(w);
    w.finish(json::object());
  }
  return journal::read(path, [&](const journal::Record& r) {
    if (r.event) events->push_back(*r.event);
  });
}

TEST(HostileJournalLimits, AStringIdNear2To32IsMalformedNotAnAllocation) {
  Event e = fixtures::sample_event(1);
  std::string payload;
  journal::encode_event_payload(e, [](const std::string&) { return 0xFFFFFFFFu; }, &payload);
  std::vector<Event> events;
  auto r = ReadCrafted("bigid", [&](journal::Writer& w) {
    w.append_raw(static_cast<uint16_t>(journal::RecordType::STRING), 0, "x", 1);
    w.append_raw(static_cast<uint16_t>(journal::RecordType::EVENT), 0, payload.data(), payload.size());
  }, &events);
  EXPECT_TRUE(events.empty());
  EXPECT_FALSE(r.intact);
  EXPECT_NE(r.problem.find("undecodable record of type 3"), std::string::npos) << r.problem;
}

TEST(HostileJournalLimits, ATrailerDeclaring2To32StringsIsNotIntact) {
  const std::string path = JournalPath("trailer");
  {
    journal::Writer w(path);
    w.append_event(fixtures::sample_event(1));
    json t = {{"records", 3}, {"events", 1}, {"strings", uint64_t{1} << 32},
              {"chain_head_before", std::string(64, '0')}};
    std::string text = t.dump();
    w.append_raw(static_cast<uint16_t>(journal::RecordType::TRAILER), 0, text.data(), text.size());
    w.flush();
  }
  auto r = journal::read(path, [](const journal::Record&) {});
  EXPECT_FALSE(r.intact);
}

TEST(HostileJournalLimits, AVarintOf20BytesIsMalformed) {
  std::string payload(20, '\x80');
  std::vector<Event> events;
  auto r = ReadCrafted("varint", [&](journal::Writer& w) {
    w.append_raw(static_cast<uint16_t>(journal::RecordType::EVENT), 0, payload.data(), payload.size());
  }, &events);
  EXPECT_TRUE(events.empty());
  EXPECT_FALSE(r.intact);
  EXPECT_NE(r.problem.find("undecodable record of type 3"), std::string::npos) << r.problem;
}

TEST(HostileJournalLimits, AOneMiBPathIsReadWithinTheEventBudget) {
  Event e = fixtures::sample_event(1);
  e.path = "/" + std::string((1u << 20) - 1, 'p');  // exactly kMaxEventStrings with nothing else
  e.obj.clear();
  e.raw.clear();
  e.cwd.clear();
  e.path2.clear();
  e.raw2.clear();
  e.argv.clear();
  std::vector<Event> events;
  auto r = ReadCrafted("mibpath", [&](journal::Writer& w) { w.append_event(e); }, &events);
  ASSERT_EQ(events.size(), 1u) << r.problem;
  EXPECT_EQ(events[0].path.size(), 1u << 20);
  // One byte more than an event may refer to: malformed, not read.
  e.path += "q";
  events.clear();
  r = ReadCrafted("mibpath2", [&](journal::Writer& w) { w.append_event(e); }, &events);
  EXPECT_TRUE(events.empty());
  EXPECT_FALSE(r.intact);
}

// --- policies -----------------------------------------------------------------------------------

TEST(HostilePolicy, NestedTenThousandDeepIsRefusedWithAReason) {
  std::string text = R"({"version": 1, "network": )";
  for (int i = 0; i < 10000; ++i) text += "[";
  for (int i = 0; i < 10000; ++i) text += "]";
  text += "}";
  const std::string path = WriteTemp("deep.json", text);
  try {
    policy::load_policy(path);
    FAIL() << "a 10,000-deep policy loaded";
  } catch (const policy::PolicyError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": nested deeper than 64 levels"), std::string::npos)
        << e.what();
  }
}

TEST(HostilePolicy, ANumberBeyondADoubleIsAnErrorNotACrash) {
  // Found by policy_fuzz: 1e4649 threw an exception nobody caught (std::terminate).
  const std::string path = WriteTemp("bignum.json", R"({"version": 1e4649})");
  try {
    policy::load_policy(path);
    FAIL() << "accepted";
  } catch (const policy::PolicyError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": not valid JSON"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace stepseal

namespace stepseal {
namespace {

// Go's encoding/json (cosign, in-toto-golang) matches member names case-insensitively, the last
// match winning: a second member that folds to a known one is another envelope there.
TEST_F(Strictness, AMemberThatReadsAsAnotherInGoIsRefused) {
  json env = Envelope(Statement().dump());
  json other = Envelope(R"({"_type":"https://in-toto.io/Statement/v1"})");
  for (const char* name : {"Payload", "PAYLOADTYPE", "Signatures", "payloadType\xc5\xbf"}) {
    json e = env;
    e[name] = other["payload"];
    auto v = Verify(e.dump());
    if (std::string(name) == "payloadType\xc5\xbf") {  // folds to "payloadtypes": no field
      EXPECT_TRUE(v.ok()) << Failures(v);
      continue;
    }
    ASSERT_FALSE(v.ok()) << name;
    EXPECT_NE(Failures(v).find("in case-insensitive JSON parsers"), std::string::npos) << Failures(v);
  }
  // "\xe2\x84\xaa" is the Kelvin sign, which Go folds to 'k': "\xe2\x84\xaa" "eyid" is "keyid"
  json e = env;
  e["signatures"][0]["\xe2\x84\xaa" "eyid"] = "someone-else";
  auto v = Verify(e.dump());
  ASSERT_FALSE(v.ok());
  EXPECT_NE(Failures(v).find("signature #1: member"), std::string::npos) << Failures(v);
}

TEST_F(Strictness, AStatementFieldThatReadsAsAnotherInGoIsRefused) {
  json st = Statement();
  st["PredicateType"] = "https://example.com/other";
  auto v = Verify(Envelope(st.dump()).dump());
  ASSERT_FALSE(v.ok());
  EXPECT_NE(Failures(v).find("payload refused: member \"PredicateType\""), std::string::npos)
      << Failures(v);
  st = Statement();
  st["subject"][0]["Digest"] = {{"sha256", std::string(64, 'c')}};
  v = Verify(Envelope(st.dump()).dump());
  ASSERT_FALSE(v.ok());
  EXPECT_NE(Failures(v).find("member \"Digest\""), std::string::npos) << Failures(v);
}

}  // namespace
}  // namespace stepseal
