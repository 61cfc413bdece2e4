// Statements and verify, without root, files or a registry: a summary replayed from synthetic
// records is made into both Statements, signed, and checked by verify_statement_envelope() the
// way `stepseal verify` checks it. Each check must pass the genuine envelope and fail the one
// thing changed.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <map>
#include <fcntl.h>

#include <nlohmann/json.hpp>

#include "attest/dsse.h"
#include "attest/keys.h"
#include "attest/statements.h"
#include "attest/verify.h"
#include "distill/summary.h"
#include "replay/record_source.h"
#include "replay/step_record.h"
#include "util/hex.h"

namespace stepseal::attest {
namespace {

using nlohmann::json;
using journal::Record;
using journal::RecordType;

const std::string kManifest = "sha256:" + std::string(64, 'a');
const std::string kHead = std::string(64, 'b');

// A summary as `show` makes it, of a one-process step, bound to chain head kHead.
json Summary(bool complete = true, json start_extra = json::object()) {
  std::vector<Record> r;
  r.push_back({RecordType::HEADER, 0, {{"realtime_minus_monotonic_ns", 0}}, std::nullopt});
  json start = {{"argv", {"/bin/true"}}, {"cwd", "/w"}, {"spawner_pid", 10}};
  start.update(start_extra);
  r.push_back({RecordType::STEP_START, 0, start, std::nullopt});
  Event fork;
  fork.kind = Kind::FORK;
  fork.pid = fork.tid = 10;
  fork.args[0] = fork.args[1] = 100;
  r.push_back({RecordType::EVENT, 0, json(), fork});
  Event exec;
  exec.kind = Kind::EXEC;
  exec.pid = exec.tid = 100;
  exec.obj = "/bin/true";
  exec.argv = {"/bin/true"};
  r.push_back({RecordType::EVENT, 0, json(), exec});
  json counters = complete ? json::object() : json({{"lost_ringbuf", {1}}});
  r.push_back({RecordType::STEP_END, 0, {{"exit_code", 0}, {"counters", counters}}, std::nullopt});
  SyntheticSource src(std::move(r));
  json s = summary_json(replay_step(src));
  s["journal"]["sha256_head"] = kHead;  // as a real journal's chain head would be
  return s;
}

class VerifyStatements : public testing::Test {
 protected:
  Key key_ = Key::generate(KeyType::kEcdsaP256);
  std::vector<Subject> subjects_ = {{"oci:img:v1", kManifest}};

  std::string Envelope(const json& statement, const Key& key) const {
    return sign_envelope(statement.dump(), kInTotoPayloadType, key).dump();
  }
  std::string Signed(const json& summary, bool slsa = false) const {
    StepContext ctx{summary, json::object(), "compile"};
    return Envelope(slsa ? slsa_statement(subjects_, ctx) : runtime_trace_statement(subjects_, ctx),
                    key_);
  }
  VerifyRequirements Req() const {
    VerifyRequirements r;
    r.manifest_digests = {kManifest};
    r.image = "img:v1";
    return r;
  }
};

TEST_F(VerifyStatements, BothStatementsOfAGenuineStepPass) {
  for (bool slsa : {false, true}) {
    EnvelopeVerdict v = verify_statement_envelope(Signed(Summary(), slsa), key_, Req());
    EXPECT_TRUE(v.ok()) << testing::PrintToString(v.failures);
    EXPECT_TRUE(v.statement);
    EXPECT_EQ(v.step, "compile");
    EXPECT_EQ(v.predicate_type, slsa ? kSlsaProvenance : kRuntimeTrace);
    EXPECT_TRUE(known_predicate(v.predicate_type));
  }
}

TEST_F(VerifyStatements, TheStatementsCarryTheRecord) {
  StepContext ctx{Summary(), json::object(), "compile"};
  const json rt = runtime_trace_statement(subjects_, ctx);
  EXPECT_EQ(rt["_type"], kStatementType);
  EXPECT_EQ(rt["subject"][0]["digest"]["sha256"], std::string(64, 'a'));
  const AttestedStep as = attested_step(rt);
  EXPECT_EQ(as.step, "compile");
  EXPECT_EQ(as.journal_head, kHead);
  EXPECT_EQ(as.complete, true);
  const AttestedStep ss = attested_step(slsa_statement(subjects_, ctx));
  EXPECT_EQ(ss.journal_head, kHead);
  EXPECT_EQ(attested_step(runtime_trace_statement(
                              subjects_, StepContext{Summary(false), json::object(), "x"}))
                .complete,
            false);
}

TEST_F(VerifyStatements, AChangedPayloadFails) {
  json env = json::parse(Signed(Summary()));
  std::string payload = env["payload"];
  payload[payload.size() / 2] = payload[payload.size() / 2] == 'A' ? 'B' : 'A';
  env["payload"] = payload;
  EXPECT_FALSE(verify_statement_envelope(env.dump(), key_, Req()).ok());
}

TEST_F(VerifyStatements, AnotherKeyFails) {
  const Key other = Key::generate(KeyType::kEd25519);
  EXPECT_FALSE(verify_statement_envelope(Signed(Summary()), other, Req()).ok());
}

TEST_F(VerifyStatements, AnotherImageFails) {
  VerifyRequirements req = Req();
  req.manifest_digests = {"sha256:" + std::string(64, 'c')};
  EnvelopeVerdict v = verify_statement_envelope(Signed(Summary()), key_, req);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.failures[0].find("subject digest matches no image manifest"), std::string::npos);
}

TEST_F(VerifyStatements, AnotherJournalFails) {
  VerifyRequirements req = Req();
  req.journal_heads["compile"] = std::string(64, 'd');
  EXPECT_FALSE(verify_statement_envelope(Signed(Summary()), key_, req).ok());
  req.journal_heads["compile"] = kHead;
  EXPECT_TRUE(verify_statement_envelope(Signed(Summary()), key_, req).ok());
}

TEST_F(VerifyStatements, RequiredCompletenessAndPolicyAreEnforced) {
  VerifyRequirements req = Req();
  req.require_complete = true;
  EXPECT_TRUE(verify_statement_envelope(Signed(Summary()), key_, req).ok());
  EXPECT_FALSE(verify_statement_envelope(Signed(Summary(false)), key_, req).ok());
  req = Req();
  req.policy_sha256 = std::string(64, 'e');
  EnvelopeVerdict v = verify_statement_envelope(Signed(Summary()), key_, req);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.failures[0].find("not run hardened"), std::string::npos) << v.failures[0];
}

TEST_F(VerifyStatements, BadInputIsAVerdictNeverACrash) {
  EnvelopeVerdict v = verify_statement_envelope("{not json", key_, Req());
  EXPECT_TRUE(v.unreadable);
  EXPECT_FALSE(v.ok());
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EnvelopeVerdict too_deep = verify_statement_envelope(deep, key_, Req());
  EXPECT_TRUE(too_deep.unreadable) << "a 100000-deep document is not an envelope";
  for (const char* bad : {"{}", "[]", "null", R"({"payload": 5, "payloadType": [], "signatures": {}})"})
    EXPECT_FALSE(verify_statement_envelope(bad, key_, Req()).ok()) << bad;
  // a signed payload that is not a Statement
  EnvelopeVerdict not_statement =
      verify_statement_envelope(Envelope(json{{"hello", 1}}, key_), key_, Req());
  EXPECT_FALSE(not_statement.ok());
  EXPECT_FALSE(not_statement.statement);
  // a signed Statement of an unknown predicate type, and of odd shapes
  json odd = {{"_type", kStatementType}, {"predicateType", "https://example.com/x"},
              {"subject", {{{"digest", {{"sha256", std::string(64, 'a')}}}}}}};
  EnvelopeVerdict unknown = verify_statement_envelope(Envelope(odd, key_), key_, Req());
  EXPECT_FALSE(unknown.ok());
  odd["subject"] = "not an array";
  odd["predicate"] = 42;
  EXPECT_FALSE(verify_statement_envelope(Envelope(odd, key_), key_, Req()).ok());
}

}  // namespace
}  // namespace stepseal::attest

namespace stepseal::attest {
namespace {

// The operator's identities win over stepseal's defaults, and the defaults name no location.
TEST(StatementIdentities, EventAndBuilderIdAreTheOperatorsWhenGiven) {
  nlohmann::json summary = {{"step", {{"argv", {"make"}}}}, {"complete", true}};
  nlohmann::json header = {{"stepseal_sha256", "abc"}};
  StepContext plain{summary, header, "compile"};
  auto rt = runtime_trace_statement({{"img", "sha256:00"}}, plain);
  EXPECT_EQ(rt["predicate"]["monitoredProcess"]["event"], "compile");
  EXPECT_EQ(rt["predicate"]["monitor"]["configSource"]["uri"], "urn:stepseal:binary:sha256:abc");
  auto slsa = slsa_statement({{"img", "sha256:00"}}, plain);
  EXPECT_EQ(slsa["predicate"]["runDetails"]["builder"]["id"], "urn:stepseal:binary:sha256:abc");
  EXPECT_EQ(slsa["predicate"]["buildDefinition"]["buildType"], "urn:stepseal:buildtype:traced-step:v1");
  StepContext set = plain;
  set.event = "https://ci.example/runs/7/attempts/2";
  set.builder_id = "https://ci.example/runners/hardened";
  EXPECT_EQ(runtime_trace_statement({{"img", "sha256:00"}}, set)["predicate"]["monitoredProcess"]["event"],
            set.event);
  EXPECT_EQ(slsa_statement({{"img", "sha256:00"}}, set)["predicate"]["runDetails"]["builder"]["id"],
            set.builder_id);
}

TEST(StatementIdentities, TheCisOwnRunIdentifiesTheJob) {
  // this process's own CI variables are set aside, and put back
  const char* keys[] = {"GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID",
                        "GITHUB_RUN_ATTEMPT", "CI_JOB_URL"};
  std::map<std::string, std::string> saved;
  for (const char* k : keys)
    if (const char* v = getenv(k)) saved[k] = v;
  for (const char* k : keys) unsetenv(k);
  EXPECT_EQ(ci_event(), "");
  setenv("GITHUB_SERVER_URL", "https://github.example", 1);
  setenv("GITHUB_REPOSITORY", "org/repo", 1);
  setenv("GITHUB_RUN_ID", "42", 1);
  setenv("GITHUB_RUN_ATTEMPT", "3", 1);
  EXPECT_EQ(ci_event(), "https://github.example/org/repo/actions/runs/42/attempts/3");
  for (const char* k : keys) unsetenv(k);
  setenv("CI_JOB_URL", "https://gitlab.example/g/p/-/jobs/9", 1);
  EXPECT_EQ(ci_event(), "https://gitlab.example/g/p/-/jobs/9");
  for (const char* k : keys) unsetenv(k);
  for (const auto& [k, v] : saved) setenv(k.c_str(), v.c_str(), 1);
}

}  // namespace
}  // namespace stepseal::attest
