// verify.h - what `stepseal verify` checks in one envelope, without any file or terminal: the
// DSSE signature, that the payload is an in-toto Statement v1 of a known predicate type, that
// its subject is one of the image's manifests, and what the caller requires on top (the policy,
// completeness, the journal chain head of its step).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "attest/keys.h"

namespace stepseal::attest {

struct VerifyRequirements {
  std::vector<std::string> manifest_digests;  // "sha256:<hex>" of every manifest of the image
  std::string image;                          // the image as the user named it, for messages
  std::string policy_sha256;   // non-empty: the step ran hardened under this policy, and it held
  bool require_complete = false;
  std::map<std::string, std::string> journal_heads;  // step name -> chain head (hex) it must attest
};

struct EnvelopeVerdict {
  bool unreadable = false;             // not even JSON: bad input rather than a failed check
  std::vector<std::string> failures;   // empty: the envelope passed
  bool statement = false;              // the payload is a signed in-toto Statement v1
  std::string predicate_type;          // when the payload is a Statement
  std::string step;                    // the step it attests, when the payload is a Statement
  nlohmann::json signed_statement;     // the Statement, when the signature held
  bool ok() const { return failures.empty(); }
};

// Checks one envelope (its JSON text) against KEY and REQ. Never throws on bad input: every
// problem is a failure in the verdict.
EnvelopeVerdict verify_statement_envelope(std::string_view text, const Key& key,
                                          const VerifyRequirements& req);

}  // namespace stepseal::attest
