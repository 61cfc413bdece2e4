// dsse.h - DSSE envelopes (secure-systems-lab/dsse v1): what is signed is PAE, not the JSON.
//   PAE = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body   (lengths as ASCII decimal)
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "attest/keys.h"

namespace stepseal::attest {

inline constexpr std::string_view kInTotoPayloadType = "application/vnd.in-toto+json";

std::string pae(std::string_view type, std::string_view body);

// {"payloadType", "payload": base64(body), "signatures": [{"keyid", "sig": base64(sig)}]}
nlohmann::json sign_envelope(std::string_view body, std::string_view type, const Key& key);

struct EnvelopeCheck {
  bool ok = false;
  std::string error;    // why not, in plain words ("signature does not verify with key ...")
  std::string payload;  // decoded body, when the envelope parsed
  std::string payload_type;
};

// Limits on what one envelope may make a verifier read: beyond them it is refused, saying so.
inline constexpr size_t kMaxEnvelopeBytes = size_t{128} << 20;  // the JSON text (payload in it)
inline constexpr size_t kMaxSignatures = 64;

// Checks shape, payloadType (must equal `expected_type`), base64 (one spelling: keys.h), and
// that a signature verifies with `key` over PAE. Strict where verifiers could disagree: every
// signature entry must be well formed, a keyid may sign once, and a signature that names `key`
// must verify; otherwise the envelope is refused as a whole ("conflicting signatures"). Key
// uniqueness within objects is the parser's (util::parse_strict_json).
EnvelopeCheck verify_envelope(const nlohmann::json& envelope, std::string_view expected_type,
                              const Key& key);

}  // namespace stepseal::attest
