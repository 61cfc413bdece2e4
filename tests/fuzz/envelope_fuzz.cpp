// envelope_fuzz - the DSSE envelope reader and the checks of `stepseal verify` on one envelope
// (src/attest/dsse.h, verify.h), against the harnesses' test key.
//
// The first byte picks what the rest is:
//   even  an envelope (JSON text), checked as it is
//   odd   a payload, signed here with the test key into an envelope first, so the fuzzer
//         reaches the Statement checks behind the signature
// Invariants: an envelope is never accepted once its payload, its payloadType or its signature
// was changed (one byte of the payload flipped, the payload re-encoded); canonical JSON is a
// fixed point (canonical_json(parse(canonical_json(j))) == canonical_json(j)).
#include <cstdint>
#include <string>

#include "attest/dsse.h"
#include "attest/keys.h"
#include "attest/verify.h"
#include "fuzz_util.h"
#include "util/json.h"

namespace at = stepseal::attest;
using nlohmann::json;

namespace {

const at::VerifyRequirements& requirements() {
  static at::VerifyRequirements r = [] {
    at::VerifyRequirements q;
    q.manifest_digests = {"sha256:" + std::string(64, 'a')};
    q.image = "fuzz";
    q.require_complete = true;
    return q;
  }();
  return r;
}

void check_canonical(const json& j) {
  std::string c1;
  try {
    c1 = at::canonical_json(j);
  } catch (const at::KeyError&) {
    return;  // floats: not canonical JSON
  }
  // securesystemslib's canonical form escapes only '"' and '\\': a control character stays raw,
  // which JSON proper does not allow. Such a form is not JSON, and cannot be parsed back.
  for (unsigned char ch : c1)
    if (ch < 0x20) return;
  json back = json::parse(c1, nullptr, false);
  FUZZ_CHECK(!back.is_discarded(), "canonical JSON that does not parse: " + c1.substr(0, 200));
  FUZZ_CHECK(at::canonical_json(back) == c1, "canonical JSON is not a fixed point: " + c1.substr(0, 200));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const at::Key& key = stepseal::fuzz::test_key();
  std::string text;
  if (data[0] & 1)
    text = at::sign_envelope(rest, at::kInTotoPayloadType, key).dump();
  else
    text = std::string(rest);

  at::EnvelopeVerdict v = at::verify_statement_envelope(text, key, requirements());
  json env = stepseal::util::parse_bounded_json(text);
  if (!env.is_discarded()) check_canonical(env);
  if (v.statement) check_canonical(v.signed_statement);

  // Whatever the signature check said, a changed payload must fail it.
  if (!env.is_object() || !env.contains("payload") || !env["payload"].is_string()) return 0;
  std::string body;
  try {
    body = at::base64_decode(env["payload"].get<std::string>());
  } catch (const at::KeyError&) {
    return 0;
  }
  at::EnvelopeCheck c = at::verify_envelope(env, at::kInTotoPayloadType, key);
  if (!c.ok) return 0;
  FUZZ_CHECK(c.payload == body, "the checked payload is not the envelope's");
  const size_t at_byte = size % (body.size() + 1);
  std::string changed = body;
  if (at_byte < changed.size())
    changed[at_byte] = static_cast<char>(changed[at_byte] ^ 0x01);
  else
    changed.push_back(' ');
  json tampered = env;
  tampered["payload"] = at::base64_encode(changed);
  FUZZ_CHECK(!at::verify_envelope(tampered, at::kInTotoPayloadType, key).ok,
             "an envelope with a changed payload verified");
  FUZZ_CHECK(!at::verify_statement_envelope(tampered.dump(), key, requirements()).ok(),
             "an envelope with a changed payload passed verify");
  json retyped = env;
  retyped["payloadType"] = "application/vnd.in-toto+jsonx";
  FUZZ_CHECK(!at::verify_envelope(retyped, at::kInTotoPayloadType, key).ok,
             "an envelope with another payloadType verified");
  return 0;
}
