// dsse.cpp - see dsse.h and https://github.com/secure-systems-lab/dsse/blob/master/protocol.md
#include "attest/dsse.h"

#include "util/json.h"

#include <exception>
#include <set>
#include <string>
#include <vector>

namespace stepseal::attest {
namespace {

std::string describe_type(const nlohmann::json& j) { return j.type_name(); }

}  // namespace

std::string pae(std::string_view type, std::string_view body) {
  std::string out = "DSSEv1 ";
  out += std::to_string(type.size());
  out.push_back(' ');
  out.append(type);
  out.push_back(' ');
  out += std::to_string(body.size());
  out.push_back(' ');
  out.append(body);
  return out;
}

nlohmann::json sign_envelope(std::string_view body, std::string_view type, const Key& key) {
  std::string sig = key.sign(pae(type, body));
  return nlohmann::json{
      {"payloadType", std::string(type)},
      {"payload", base64_encode(body)},
      {"signatures", nlohmann::json::array({{{"keyid", key.keyid()}, {"sig", base64_encode(sig)}}})},
  };
}

EnvelopeCheck verify_envelope(const nlohmann::json& envelope, std::string_view expected_type,
                              const Key& key) {
  EnvelopeCheck r;
  auto fail = [&r](std::string why) {
    r.ok = false;
    r.error = std::move(why);
    return r;
  };
  try {
    if (!envelope.is_object())
      return fail("envelope is not a JSON object (it is " + describe_type(envelope) + ")");

    if (auto m = util::shadowing_member(envelope, {"payloadType", "payload", "signatures"}); !m.empty())
      return fail("envelope member \"" + m.substr(0, 80) +
                  "\" reads as one of payloadType, payload, signatures in case-insensitive JSON"
                  " parsers (Go's): refused");
    auto pt = envelope.find("payloadType");
    if (pt == envelope.end()) return fail("envelope has no payloadType");
    if (!pt->is_string())
      return fail("envelope payloadType is not a string (it is " + describe_type(*pt) + ")");
    r.payload_type = pt->get<std::string>();
    if (r.payload_type != expected_type)
      return fail("payloadType is " + r.payload_type + ", expected " + std::string(expected_type));

    auto pl = envelope.find("payload");
    if (pl == envelope.end()) return fail("envelope has no payload");
    if (!pl->is_string())
      return fail("envelope payload is not a string (it is " + describe_type(*pl) + ")");
    std::string body;
    try {
      body = base64_decode(pl->get_ref<const std::string&>());
    } catch (const KeyError& e) {
      return fail(std::string("envelope payload is not base64: ") + e.what());
    }
    r.payload = body;

    auto sigs = envelope.find("signatures");
    if (sigs == envelope.end() || !sigs->is_array() || sigs->empty())
      return fail("envelope has no signatures");
    if (sigs->size() > kMaxSignatures)
      return fail("envelope has " + std::to_string(sigs->size()) + " signatures; at most " +
                  std::to_string(kMaxSignatures) + " are read");

    // Every entry is read, and the envelope is judged as a whole: a verifier that stops at the
    // first signature it likes, and one that checks the first naming its key, must never
    // disagree. So a malformed entry, a keyid named twice, or a signature that names this key
    // and does not verify refuses the envelope, whatever the other entries say.
    const std::string want = key.keyid();
    const std::string message = pae(r.payload_type, body);
    size_t verified = 0;
    std::string bad_ours;  // the first entry naming this key that does not verify
    std::set<std::string> keyids;
    std::vector<std::string> other_keyids;
    for (size_t i = 0; i < sigs->size(); ++i) {
      const auto& s = (*sigs)[i];
      const std::string which = "signature #" + std::to_string(i + 1);
      if (!s.is_object()) return fail(which + " is not an object (expected {\"keyid\", \"sig\"})");
      if (auto m = util::shadowing_member(s, {"keyid", "sig"}); !m.empty())
        return fail(which + ": member \"" + m.substr(0, 80) +
                    "\" reads as keyid or sig in case-insensitive JSON parsers (Go's): refused");
      std::string keyid;
      if (auto k = s.find("keyid"); k != s.end()) {
        if (!k->is_string()) return fail(which + ": keyid is not a string");
        keyid = k->get<std::string>();
      }
      if (!keyid.empty() && !keyids.insert(keyid).second)
        return fail("conflicting signatures: keyid " + keyid.substr(0, 80) + " signs twice");
      auto sg = s.find("sig");
      if (sg == s.end() || !sg->is_string()) return fail(which + " has no \"sig\" string");
      std::string raw;
      try {
        raw = base64_decode(sg->get_ref<const std::string&>());
      } catch (const KeyError& e) {
        return fail(which + ": sig is not base64: " + e.what());
      }
      // The keyid is only a hint (DSSE): every signature is tried against the key.
      if (key.verify(message, raw)) {
        ++verified;
      } else if (keyid == want) {
        if (bad_ours.empty()) bad_ours = which;
      } else if (!keyid.empty() && other_keyids.size() < 5) {
        other_keyids.push_back(keyid.substr(0, 80));
      }
    }
    if (verified > 0 && !bad_ours.empty())
      return fail("conflicting signatures: " + bad_ours + " names key " + want +
                  " and does not verify, while another signature does");
    if (verified > 0) {
      r.ok = true;
      r.error.clear();
      return r;
    }
    std::string why = "no signature verifies with key " + want;
    if (!bad_ours.empty()) {
      why += " (" + bad_ours + " names it: the payload, payloadType or signature was altered)";
    } else if (!other_keyids.empty()) {
      why += " (the envelope is signed by keyid";
      why += other_keyids.size() == 1 ? " " : "s ";
      for (size_t i = 0; i < other_keyids.size(); ++i) why += (i ? ", " : "") + other_keyids[i];
      why += ")";
    } else {
      why += " (the payload, payloadType or signature was altered, or another key signed it)";
    }
    return fail(why);
  } catch (const std::exception& e) {
    return fail(std::string("envelope cannot be checked: ") + e.what());
  } catch (...) {
    return fail("envelope cannot be checked");
  }
}

}  // namespace stepseal::attest
