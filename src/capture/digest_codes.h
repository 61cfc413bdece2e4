// digest_codes.h - why a digest is not exact, as a code the model can branch on. The reason's
// text is for people and may be reworded; the code is what DIGEST records carry for programs
// ("reason_code", docs/journal.md) and what the model compares.
#pragma once

#include <string_view>

namespace stepseal {

enum class DigestReasonCode {
  kNone,        // exact: no reason
  kNotRegular,  // a device, FIFO or socket: no content to hash (not a failure)
  kSymlink,     // a symbolic link, not followed (not a failure)
  kGone,        // the file no longer exists
  kUnobserved,  // changed just before the event, its times not yet observed: the hash may be
                // of a later same-time rewrite (a "proof" may still show it is not: digests.md)
  kReaderDependent,  // on a file system that may serve other readers other bytes (FUSE, NFS)
  kForeignNamespace, // named in another mount namespace than stepseal resolves it in
  kOther,       // any other reason: its text says which
};

inline const char* reason_code_name(DigestReasonCode c) {
  switch (c) {
    case DigestReasonCode::kNone: return "";
    case DigestReasonCode::kNotRegular: return "not_regular";
    case DigestReasonCode::kSymlink: return "symlink";
    case DigestReasonCode::kGone: return "gone";
    case DigestReasonCode::kUnobserved: return "unobserved";
    case DigestReasonCode::kReaderDependent: return "reader_dependent";
    case DigestReasonCode::kForeignNamespace: return "foreign_namespace";
    case DigestReasonCode::kOther: return "other";
  }
  return "other";
}

// A record's "reason_code"; an unknown name (a newer writer's) reads as kOther.
inline DigestReasonCode reason_code_from_name(std::string_view n) {
  if (n.empty()) return DigestReasonCode::kNone;
  if (n == "not_regular") return DigestReasonCode::kNotRegular;
  if (n == "symlink") return DigestReasonCode::kSymlink;
  if (n == "gone") return DigestReasonCode::kGone;
  if (n == "unobserved") return DigestReasonCode::kUnobserved;
  if (n == "reader_dependent") return DigestReasonCode::kReaderDependent;
  if (n == "foreign_namespace") return DigestReasonCode::kForeignNamespace;
  return DigestReasonCode::kOther;
}

// DIGEST records written before reason codes existed carry the text only: the code each of
// their texts stood for. The one place the old English texts are compared.
inline DigestReasonCode legacy_reason_code(std::string_view reason) {
  if (reason.empty()) return DigestReasonCode::kNone;
  if (reason == "not a regular file") return DigestReasonCode::kNotRegular;
  if (reason == "a symbolic link") return DigestReasonCode::kSymlink;
  if (reason == "no longer exists") return DigestReasonCode::kGone;
  return DigestReasonCode::kOther;
}

}  // namespace stepseal
