// registry_push.h - `stepseal build --push docker://REF`: stepseal pushes the image (and its
// attestations) itself, with skopeo, and reads the manifest back from the registry: the digest
// the registry serves must be the attested subject. A builder's report of what it pushed is
// never used.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace stepseal::build {

struct PushTarget {
  std::string repository;  // "127.0.0.1:5000/demo" (no transport, no tag)
  std::string tag;         // "1"
  bool tls_verify = true;  // false: plain http or an unverified certificate (a loopback registry)
  std::string ref() const { return "docker://" + repository + ":" + tag; }
};

// Parses "docker://HOST[:PORT]/NAME[:TAG]" (TAG default "latest"). A digest reference, another
// transport or an empty name is an error: nullopt and WHY set.
std::optional<PushTarget> parse_push_target(const std::string& spec, std::string* why);

// skopeo copy [--all] --preserve-digests oci:LAYOUT:TAG docker://REPOSITORY:TO_TAG. Returns an
// error message, or nullopt.
std::optional<std::string> push_layout(const std::string& layout, const std::string& tag,
                                       const PushTarget& to, const std::string& to_tag, bool all);

// What the registry serves for TAG now, checked against the attested manifest SUBJECT
// ("sha256:<hex>"): the tag names SUBJECT itself (or, with ALLOW_INDEX, after the BuildKit-style
// index was pushed, an index that lists it), and the manifest
// fetched by SUBJECT hashes to SUBJECT. On success {reference, manifest_digest, tag_digest,
// tag_media_type}; else nullopt and WHY says what the registry answered.
std::optional<nlohmann::json> check_pushed(const PushTarget& to, const std::string& subject,
                                           bool allow_index, std::string* why);

}  // namespace stepseal::build
