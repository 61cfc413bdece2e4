// oci.h - the image an attestation is bound to, read from an OCI image layout on disk, and the
// attestations written back into it.
//
// The subject digest is computed here from the layout's bytes: sha256 of the exact manifest blob
// that index.json (and the tag, if given) points to. A builder's report is never used.
#pragma once

#include <stdexcept>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace stepseal::attest {

class OciError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ImageManifest {
  std::string digest;     // "sha256:<hex>" of the manifest blob's bytes (recomputed here)
  std::string media_type;
  uint64_t size = 0;
  nlohmann::json platform;  // {"os", "architecture", ...} when known, else null
};

struct ImageRef {
  std::string layout;  // directory
  std::string tag;     // may be empty: then index.json must name exactly one image
  // Every image manifest the reference covers: one for a single-platform image, one per
  // platform for a multi-platform index (attestation manifests excluded).
  std::vector<ImageManifest> manifests;
  std::string index_digest;  // "sha256:<hex>" of the image index blob, when the tag names one
  // Bytes of blobs read from the layout for this reference so far, by every function given it
  // (oci.cpp, kMaxLayoutRead): one budget per command, however often it reads the layout.
  std::shared_ptr<uint64_t> read_budget;
};

// Parses "DIR" or "DIR:TAG". Throws OciError with a precise message: no index.json, tag not
// found, several images and no tag, a blob missing, a blob whose bytes do not match its digest.
ImageRef resolve_image(const std::string& spec);

struct AttachOptions {
  bool buildkit = true;   // attestation manifest in the index, vnd.docker.reference.* annotations
  bool referrers = true;  // OCI 1.1 artifact manifest with "subject"
  // cosign's tag form, which admission controllers (Kyverno, policy-controller, Conforma) read:
  // a manifest tagged "sha256-<hex of the image manifest digest>.att" whose layers are the
  // envelopes (application/vnd.dsse.envelope.v1+json, annotation "predicateType"). Envelopes
  // already under that tag are kept, unless cosign_replace (a build's attestations are a set:
  // a rebuild into the same layout replaces them).
  bool cosign_tag = false;
  bool cosign_replace = false;
};

// The cosign attachment tag of MANIFEST_DIGEST ("sha256:<hex>"): "sha256-<hex>.att".
std::string cosign_att_tag(const std::string& manifest_digest);

// Stores each DSSE envelope (JSON text) as a layer blob (mediaType
// "application/vnd.in-toto.<predicate-short>+dsse", annotation in-toto.io/predicate-type) and
// records them in the layout for `manifest`. index.json is replaced atomically. The layout stays
// valid for skopeo and umoci.
struct Attestation {
  std::string envelope_json;
  std::string predicate_type;
};
void attach(const ImageRef& image, const ImageManifest& manifest,
            const std::vector<Attestation>& attestations, const AttachOptions& opts);

// The manifest and the config of one image of the layout, each read through its digest (the
// bytes re-hashed). Throws OciError.
struct ImageContents {
  nlohmann::json manifest, config;
};
ImageContents image_contents(const ImageRef& image, const ImageManifest& manifest);

// The position in an image config's rootfs.diff_ids (and so in the manifest's layers) of history
// entry H's layer: the entries without empty_layer before it. nullopt for an empty_layer entry,
// an H past the history, or a position past the diff_ids.
std::optional<size_t> history_layer_index(const nlohmann::json& config, size_t h);

// The DSSE envelopes attached to `manifest` in the layout (both styles), as JSON text.
std::vector<std::string> attached_envelopes(const ImageRef& image, const ImageManifest& manifest);

}  // namespace stepseal::attest
