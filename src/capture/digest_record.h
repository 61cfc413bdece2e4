// digest_record.h - a DIGEST record: what stepseal read of one file's content, typed.
//
// Made by the digest stage (digest service, digest plan, pre-image monitor), journaled as JSON,
// read back by replay into the model. encode_digest() and decode_digest() are the only code that
// knows the JSON form (docs/journal.md, "DIGEST"); everything else uses this struct and its
// enums.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "capture/digest_codes.h"
#include "capture/event.h"

namespace stepseal {

enum class DigestRole {
  kContent,  // a file as the step read it
  kExec,     // a binary (or script) as the kernel executed it
  kBefore,   // a file as it was just before the step changed or removed it
  kAfter,    // a file the step wrote, as it is when the step has ended
  kUnknown,  // a role a newer writer added: read, and ignored by the model
};
const char* role_name(DigestRole r);
DigestRole role_from_name(std::string_view n);

enum class DigestStatus { kExact, kRaced, kUnavailable };
const char* status_name(DigestStatus s);
// An unknown status (a newer writer's) reads as unavailable: never as exact.
DigestStatus status_from_name(std::string_view n);

// Evidence that a content or exec digest of kind "unobserved" is the content the event saw after
// all (docs/digests.md, "No writer"): no file had write access to it when the event's inode was
// read, and nothing may have been granted write access to it between then and verified_ns. The
// model checks the second half against the events (Model::finish); only then is it exact.
struct NoWriterProof {
  uint32_t event_seq = 0;    // the event's seq (ss_inode.seq)
  uint64_t verified_ns = 0;  // monotonic time by which the hash was done and its identity checked
  std::string sha256;        // the digest it would prove
};

// The digest of a file's first `len` bytes, taken with an after-digest (docs/digests.md,
// "Appends").
struct DigestPrefix {
  uint64_t len = 0;
  std::string sha256;
};

struct DigestRecord {
  DigestRole role = DigestRole::kContent;
  std::string path;
  uint32_t pid = 0;
  uint64_t ts_ns = 0;  // monotonic time of the event or notification it answers
  DigestStatus status = DigestStatus::kUnavailable;
  std::string sha256;  // exact only
  std::string reason;  // for people; may be reworded
  DigestReasonCode reason_code = DigestReasonCode::kNone;  // for programs: what the model uses
  std::string trigger;   // before: the call about to change the file
  bool fileless = false;  // an executable with no path (memfd, deleted file): hashed via /proc
  std::optional<Inode> id;        // the version the digest is of (dev, ino, size, mtime, ctime)
  std::optional<Inode> found_id;  // what was there instead, when that differs from the event's
  std::string alias;              // pre-images: the path as the call spelled it, if it differs
  std::optional<NoWriterProof> proof;  // raced "unobserved" records only
  std::optional<DigestPrefix> prefix;  // after-digests of files opened with O_APPEND

  bool exact() const { return status == DigestStatus::kExact; }
};

// The one encoder and the one decoder of the journal's JSON form. The decoder accepts every
// record any stepseal wrote: older ones without "reason_code" (mapped from the text once, by
// legacy_reason_code), newer ones with fields or values it does not know (ignored, or read as
// the least a reader may assume).
nlohmann::json encode_digest(const DigestRecord& d);
DigestRecord decode_digest(const nlohmann::json& j);

}  // namespace stepseal
