#include "attest/verify.h"

#include <nlohmann/json.hpp>

#include "attest/dsse.h"
#include "attest/statements.h"
#include "util/json.h"

namespace stepseal::attest {

using nlohmann::json;

namespace {

// The checks of a verified Statement ST: predicate type, subject, and REQ's requirements.
void check_statement(const json& st, const VerifyRequirements& req, EnvelopeVerdict& v) {
  std::vector<std::string>& failures = v.failures;
  v.statement = true;
  std::string type = st.value("predicateType", "");
  v.predicate_type = type;
  if (!known_predicate(type)) failures.push_back("unknown predicate type " + type);
  bool bound = false;
  for (const auto& s : st.value("subject", json::array()))
    for (const auto& m : req.manifest_digests)
      if ("sha256:" + s.value("digest", json::object()).value("sha256", "") == m) bound = true;
  if (!bound) failures.push_back("subject digest matches no image manifest of " + req.image);
  const AttestedStep as = attested_step(st);
  v.step = as.step;
  if (!req.policy_sha256.empty()) {
    const json& e = as.enforcement;
    std::string mode = e.is_object() ? e.value("mode", "") : "";
    std::string got = e.is_object() ? e.value("policy", json::object())
                                          .value("digest", json::object())
                                          .value("sha256", "")
                                    : "";
    if (mode != "hardened")
      failures.push_back("the step was not run hardened (mode: " +
                         (mode.empty() ? std::string("not stated") : mode) + ")");
    else if (got != req.policy_sha256)
      failures.push_back("the step ran under policy sha256 " + got.substr(0, 16) +
                         "..., not the required " + req.policy_sha256.substr(0, 16) + "...");
    else if (e.value("verdict", "") != "held")
      failures.push_back("the policy was violated " +
                         std::to_string(e.value("violations", json::array()).size()) +
                         " time(s) during the step");
  }
  if (req.require_complete && as.complete != true)
    failures.push_back("the record is not complete (events lost or gaps)");
  if (auto it = req.journal_heads.find(as.step); it != req.journal_heads.end())
    if (as.journal_head != it->second)
      failures.push_back("the journal given for step " + as.step + " has chain head " +
                         it->second.substr(0, 16) + "..., not the attested " +
                         as.journal_head.substr(0, 16) + "...");
}

}  // namespace

EnvelopeVerdict verify_statement_envelope(std::string_view text, const Key& key,
                                          const VerifyRequirements& req) {
  EnvelopeVerdict v;
  if (text.size() > kMaxEnvelopeBytes) {
    v.unreadable = true;
    v.failures.push_back("envelope is " + std::to_string(text.size()) + " bytes, over the limit of " +
                         std::to_string(kMaxEnvelopeBytes >> 20) + " MiB");
    return v;
  }
  std::string why;
  json env = util::parse_strict_json(text, &why);
  if (env.is_discarded()) {
    // not JSON, or nested too deep: bad input (exit 3); a key twice: a refused envelope (exit 5)
    v.unreadable = why.rfind("duplicate key", 0) != 0;
    v.failures.push_back(why.rfind("not JSON", 0) == 0 ? "not JSON (truncated or corrupt envelope)"
                                                        : "envelope refused: " + why);
    return v;
  }
  try {
    EnvelopeCheck c = verify_envelope(env, kInTotoPayloadType, key);
    if (!c.ok) {
      v.failures.push_back(c.error);
      return v;
    }
    json st = util::parse_strict_json(c.payload, &why);
    if (st.is_discarded() && why.rfind("not JSON", 0) != 0) {
      v.failures.push_back("payload refused: " + why);
      return v;
    }
    std::string shadow = util::shadowing_member(st, {"_type", "subject", "predicateType", "predicate"});
    if (st.is_object() && st.contains("subject") && st["subject"].is_array())
      for (const auto& sub : st["subject"])
        if (shadow.empty()) shadow = util::shadowing_member(sub, {"name", "digest"});
    if (!shadow.empty()) {
      v.failures.push_back("payload refused: member \"" + shadow.substr(0, 80) +
                           "\" reads as a Statement field in case-insensitive JSON parsers (Go's)");
      return v;
    }
    if (!st.is_object() || st.value("_type", "") != kStatementType) {
      v.failures.push_back("payload is not an in-toto Statement v1");
      return v;
    }
    check_statement(st, req, v);
    v.signed_statement = st;
  } catch (const std::exception& e) {  // a signed payload of an unexpected shape
    v.failures.push_back(std::string("malformed statement: ") + e.what());
  }
  return v;
}

}  // namespace stepseal::attest
