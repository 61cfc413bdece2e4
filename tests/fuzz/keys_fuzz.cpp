// keys_fuzz - the PEM key loaders (src/attest/keys.h) and base64, as `attest --key` and
// `verify --key` read them.
// Invariants: a loaded private key signs and its own public half verifies; a loaded public key
// has a key id; every error names the file. Base64 has one form per alphabet and padding style:
// a string that decodes, normalised to the standard padded form, is exactly the encoding of
// what it decodes to (so no two normalised strings decode to the same bytes), and every byte
// string round-trips.
#include <cstdint>
#include <string>

#include "attest/keys.h"
#include "fuzz_util.h"

namespace at = stepseal::attest;

namespace {

std::string normalised(std::string_view b64) {
  std::string s(b64);
  for (char& c : s) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (s.size() % 4) s.push_back('=');
  return s;
}

void check_base64(std::string_view in) {
  FUZZ_CHECK(at::base64_decode(at::base64_encode(in)) == in, "base64 does not round-trip");
  std::string bytes;
  try {
    bytes = at::base64_decode(in);
  } catch (const at::KeyError&) {
    return;
  }
  FUZZ_CHECK(normalised(in) == at::base64_encode(bytes),
             "two base64 forms of the same bytes: " + std::string(in.substr(0, 200)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  check_base64(in);
  auto& s = stepseal::fuzz::scratch();
  const std::string path = s.write("key.pem", in);
  auto names_file = [&](const at::KeyError& e) {
    FUZZ_CHECK(std::string(e.what()).find(path) != std::string::npos,
               std::string("a key error that does not name the file: ") + e.what());
  };
  try {
    at::Key k = at::Key::load_private(path);
    FUZZ_CHECK(k.has_private(), "a private key without its private half");
    const std::string sig = k.sign("stepseal fuzz");
    FUZZ_CHECK(k.verify("stepseal fuzz", sig), "a loaded key's own signature does not verify");
    FUZZ_CHECK(!k.verify("stepseal fuzz!", sig), "a signature verifies another message");
    FUZZ_CHECK(k.keyid().size() == 64, k.keyid());
  } catch (const at::KeyError& e) {
    names_file(e);
  }
  try {
    at::Key k = at::Key::load_public(path);
    FUZZ_CHECK(k.keyid().size() == 64, k.keyid());
    (void)k.intoto_public();
    (void)k.public_pem();
  } catch (const at::KeyError& e) {
    names_file(e);
  }
  return 0;
}
