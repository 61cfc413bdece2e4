// policy_fuzz - the policy parser (src/policy/policy.h): a policy file as `run --policy` reads it.
// Invariants: an accepted policy's canonical form is accepted again and is a fixed point (the
// same canonical JSON, the same policy_sha256 attestations carry); the queries run on it.
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "policy/policy.h"

namespace pol = stepseal::policy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto& s = stepseal::fuzz::scratch();
  const std::string path = s.write("policy.json", in);
  pol::Policy p;
  try {
    p = pol::load_policy(path);
  } catch (const pol::PolicyError& e) {
    FUZZ_CHECK(std::string(e.what()).find(path) != std::string::npos,
               std::string("an error that does not name the file: ") + e.what());
    return 0;
  }
  const nlohmann::json canon = pol::to_json(p);
  pol::Policy again;
  try {
    again = pol::parse_policy(canon, "canonical");
  } catch (const pol::PolicyError& e) {
    stepseal::fuzz::fail("the canonical form of an accepted policy is refused", e.what());
  }
  FUZZ_CHECK(pol::to_json(again) == canon, canon.dump());
  FUZZ_CHECK(pol::policy_sha256(again) == pol::policy_sha256(p), canon.dump());

  // The queries the verdict asks, on a few fixed inputs.
  (void)pol::network_allowed(p, std::string_view("10.0.0.1"), 443, pol::Protocol::kTcp);
  (void)pol::network_allowed(p, std::string_view("::1"), 53, pol::Protocol::kUdp);
  (void)pol::dns_name_allowed(p, "deb.debian.org");
  (void)pol::env_allowed(p, "PATH");
  (void)pol::path_writable(p, "/work/out/x", "/work");
  (void)pol::loopback_only(p);
  (void)pol::exec_allowlist_enforced(p);
  (void)pol::dns_names_enforced(p);
  for (const auto& w : p.filesystem.writable) (void)pol::expand_path(w, "/work");
  return 0;
}
