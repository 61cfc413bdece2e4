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

// Checks shape, payloadType (must equal `expected_type`), base64, and that at least one
// signature verifies with `key` over PAE.
EnvelopeCheck verify_envelope(const nlohmann::json& envelope, std::string_view expected_type,
                              const Key& key);

}  // namespace stepseal::attest
