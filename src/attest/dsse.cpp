// dsse.cpp - see dsse.h and https://github.com/secure-systems-lab/dsse/blob/master/protocol.md
#include "attest/dsse.h"

#include <exception>
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

    const std::string want = key.keyid();
    const std::string message = pae(r.payload_type, body);
    size_t ours = 0;      // signatures claiming our keyid (or naming none)
    size_t malformed = 0;  // entries that are not {"sig": base64}
    std::vector<std::string> other_keyids;
    for (const auto& s : *sigs) {
      if (!s.is_object()) {
        ++malformed;
        continue;
      }
      std::string keyid;
      if (auto k = s.find("keyid"); k != s.end() && k->is_string()) keyid = k->get<std::string>();
      if (keyid.empty() || keyid == want)
        ++ours;
      else if (other_keyids.size() < 5)
        other_keyids.push_back(keyid.substr(0, 80));
      auto sg = s.find("sig");
      if (sg == s.end() || !sg->is_string()) {
        ++malformed;
        continue;
      }
      std::string raw;
      try {
        raw = base64_decode(sg->get_ref<const std::string&>());
      } catch (const KeyError&) {
        ++malformed;
        continue;
      }
      // The keyid is only a hint (DSSE): every signature is tried against the key.
      if (key.verify(message, raw)) {
        r.ok = true;
        r.error.clear();
        return r;
      }
    }

    std::string why = "no signature verifies with key " + want;
    if (ours > 0) {
      why += " (" + std::to_string(ours) + " signature" + (ours == 1 ? "" : "s") +
             " by this key checked: the payload, payloadType or signature was altered)";
    } else if (!other_keyids.empty()) {
      why += " (the envelope is signed by keyid";
      why += other_keyids.size() == 1 ? " " : "s ";
      for (size_t i = 0; i < other_keyids.size(); ++i) why += (i ? ", " : "") + other_keyids[i];
      why += ")";
    }
    if (malformed > 0)
      why += "; " + std::to_string(malformed) + " signature entr" + (malformed == 1 ? "y" : "ies") +
             " malformed (not {\"sig\": base64})";
    return fail(why);
  } catch (const std::exception& e) {
    return fail(std::string("envelope cannot be checked: ") + e.what());
  } catch (...) {
    return fail("envelope cannot be checked");
  }
}

}  // namespace stepseal::attest
