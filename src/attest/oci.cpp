// oci.cpp - reading an OCI image layout, and writing attestations back into it.
//
// Every blob this file reads is re-hashed: the digest a descriptor names is compared with the
// sha256 of the exact bytes on disk (and the size with the file's size) before the bytes are
// used. Nothing a builder reported about the image is trusted.
//
// Two ways of attaching DSSE envelopes to an image manifest M (both may be written):
//
//  BuildKit style (AttachOptions::buildkit)
//    An "attestation manifest" (an OCI image manifest whose layers are the envelopes) is put in
//    the image index that the image's index.json entry points to, next to M, as BuildKit does:
//      platform {"architecture":"unknown","os":"unknown"}
//      annotations {"vnd.docker.reference.type":"attestation-manifest",
//                   "vnd.docker.reference.digest": M's digest}
//    If that entry points at M itself (a single-platform image), a new image index holding M's
//    descriptor (with the platform from M's config) and the attestation manifest is written and
//    the entry is repointed to it. M's bytes are never rewritten, so M's digest - the subject of
//    the attestations - is unchanged. Because the attestation lives inside the tagged index,
//    `skopeo copy --all oci:DIR:TAG docker://...` carries it to a registry and back.
//
//  OCI 1.1 referrers (AttachOptions::referrers)
//    An artifact manifest {"artifactType": kDsseMediaType, "config": the empty descriptor,
//    "layers": the envelopes, "subject": M's descriptor} added to index.json's top level with no
//    tag. Note: a layout with such an entry has more than one top-level entry, so tools that take
//    "the only image" of an untagged layout (skopeo's oci:DIR) need a tag; resolve_image() here
//    skips these entries.
//
// Layer media type. BuildKit's unsigned attestations use application/vnd.in-toto+json layers
// holding bare Statements; Docker's signed variant names layers application/vnd.in-toto.<pred>+dsse.
// Layers written here hold DSSE envelopes and are typed with the generic DSSE envelope media type
// "application/vnd.dsse.envelope.v1+json" (the one sigstore tooling uses), with the predicate type
// in the annotation "in-toto.io/predicate-type", so no short name has to be invented for a
// predicate URI. When reading, both application/vnd.dsse.envelope.v1+json and
// application/vnd.in-toto.*+dsse layers are taken as envelopes.
//
// Every write is atomic: blobs and index.json are written to a temporary file in the same
// directory, flushed, and renamed into place.
#include "attest/oci.h"
#include "attest/dsse.h"
#include "util/json.h"
#include "util/file_io.h"
#include "util/hex.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <random>
#include <set>

namespace stepseal::attest {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
constexpr const char* kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
constexpr const char* kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
constexpr const char* kOciConfig = "application/vnd.oci.image.config.v1+json";
constexpr const char* kDockerConfig = "application/vnd.docker.container.image.v1+json";
constexpr const char* kEmptyMediaType = "application/vnd.oci.empty.v1+json";
constexpr const char* kEmptyJson = "{}";
constexpr const char* kDsseMediaType = "application/vnd.dsse.envelope.v1+json";

constexpr const char* kRefName = "org.opencontainers.image.ref.name";
constexpr const char* kRefType = "vnd.docker.reference.type";
constexpr const char* kRefDigest = "vnd.docker.reference.digest";
constexpr const char* kAttestationManifest = "attestation-manifest";
constexpr const char* kPredicateTypeAnnotation = "in-toto.io/predicate-type";

// Limits on what a layout may make stepseal read (a layout can come from anyone: a registry, a
// build of someone else's). Beyond them the layout is refused with an OciError saying which.
// Manifests, indexes and configs are small (registries accept manifests up to 4 MiB); anything
// bigger is not read into memory.
constexpr uintmax_t kMaxJsonBlob = 8u << 20;
constexpr uintmax_t kMaxIndexJson = 16u << 20;  // index.json, which lists every tag of the layout
constexpr size_t kMaxIndexEntries = 10000;      // descriptors in one index
// Everything one resolve reads from blobs, envelopes included: a layout of many descriptors
// naming the same large blob is refused, not hashed a thousand times.
constexpr uint64_t kMaxLayoutRead = uint64_t{1} << 30;
// How deep image indexes may nest inside one another.
constexpr int kMaxIndexDepth = 4;

std::string sha256_hex(std::string_view bytes) {
  try {
    return util::sha256_hex(bytes);
  } catch (const std::runtime_error& e) {
    throw OciError(e.what());
  }
}

std::string sha256_digest(std::string_view bytes) { return "sha256:" + sha256_hex(bytes); }

bool is_lower_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// The hex part of a "sha256:<hex>" digest; a clear error for anything else.
std::string digest_hex(const std::string& digest, const std::string& where) {
  auto colon = digest.find(':');
  if (colon == std::string::npos || colon == 0)
    throw OciError("malformed digest \"" + digest + "\" in " + where +
                   " (expected \"sha256:<64 hex digits>\")");
  std::string algorithm = digest.substr(0, colon), hex = digest.substr(colon + 1);
  if (algorithm != "sha256")
    throw OciError("unsupported digest algorithm \"" + algorithm + "\" (" + digest + ") in " +
                   where + ": stepseal verifies sha256 digests only");
  if (!is_lower_hex64(hex))
    throw OciError("malformed digest \"" + digest + "\" in " + where +
                   " (expected \"sha256:<64 lowercase hex digits>\")");
  return hex;
}

std::string read_whole_file(const fs::path& path, uintmax_t max_bytes = kMaxJsonBlob) {
  auto s = util::try_read_file(path.string(), max_bytes);
  if (!s)
    throw OciError("cannot read " + path.string() + ": " +
                   (errno == EFBIG ? "larger than the limit of " + std::to_string(max_bytes >> 20) + " MiB"
                                   : std::string(std::strerror(errno))));
  return *s;
}

// Strict: nesting bounded, a key twice in an object refused (util/json.h).
json parse_json(const std::string& text, const std::string& what) {
  std::string why;
  json j = util::parse_strict_json(text, &why);
  if (j.is_discarded()) throw OciError(what + " is not valid JSON: " + why);
  return j;
}

// The "manifests" of an index, refused when there are more than anyone needs.
const json& index_entries(const json& index, const std::string& where) {
  const json& m = index["manifests"];
  if (m.size() > kMaxIndexEntries)
    throw OciError(where + " lists " + std::to_string(m.size()) + " manifests; stepseal reads at most " +
                   std::to_string(kMaxIndexEntries) + " in one index");
  return m;
}

std::string str_field(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string annotation(const json& descriptor, const char* key) {
  if (!descriptor.is_object()) return "";
  auto it = descriptor.find("annotations");
  return it != descriptor.end() ? str_field(*it, key) : "";
}

bool is_manifest_type(const std::string& mt) { return mt == kOciManifest || mt == kDockerManifest; }
bool is_index_type(const std::string& mt) { return mt == kOciIndex || mt == kDockerList; }

// A descriptor that describes an attestation rather than an image: BuildKit's attestation
// manifests (by annotation, or by the unknown/unknown platform they carry) and artifacts such as
// OCI 1.1 referrers (they name an artifactType).
bool is_cosign_att(const json& d) {
  const std::string t = annotation(d, kRefName);
  return t.size() == 7 + 64 + 4 && t.rfind("sha256-", 0) == 0 && t.compare(71, 4, ".att") == 0;
}

bool is_attestation_descriptor(const json& d) {
  if (annotation(d, kRefType) == kAttestationManifest || is_cosign_att(d)) return true;
  if (d.is_object() && d.contains("platform") && d["platform"].is_object() &&
      str_field(d["platform"], "os") == "unknown" &&
      str_field(d["platform"], "architecture") == "unknown")
    return true;
  return !str_field(d, "artifactType").empty();
}

// --- the layout on disk ------------------------------------------------------------------------

struct Layout {
  fs::path dir;

  fs::path blob_path(const std::string& hex) const { return dir / "blobs" / "sha256" / hex; }

  // The bytes of the blob a descriptor names, after checking they hash to its digest and have
  // its size. WHERE says which descriptor, for error messages.
  // bytes of blobs read, against kMaxLayoutRead: shared by every Layout of one ImageRef, so a
  // command that reads the layout once per manifest still has one budget
  std::shared_ptr<uint64_t> read_so_far = std::make_shared<uint64_t>(0);

  std::string read_blob(const json& descriptor, const std::string& where,
                        uintmax_t max_bytes = kMaxJsonBlob) const {
    if (!descriptor.is_object()) throw OciError("descriptor in " + where + " is not an object");
    std::string digest = str_field(descriptor, "digest");
    if (digest.empty()) throw OciError("descriptor in " + where + " has no digest");
    std::string hex = digest_hex(digest, where);
    fs::path path = blob_path(hex);
    std::error_code ec;
    if (!fs::is_regular_file(path, ec))
      throw OciError("blob " + digest + " (named by " + where + ") is missing: no file " +
                     path.string());
    uintmax_t size_on_disk = fs::file_size(path, ec);
    if (!ec && size_on_disk > max_bytes)
      throw OciError("blob " + digest + " (named by " + where + ") is " +
                     std::to_string(size_on_disk) + " bytes, over the limit of " +
                     std::to_string(max_bytes >> 20) + " MiB for " +
                     (max_bytes == kMaxJsonBlob ? "a manifest or config" : "an attestation"));
    // Checked before reading with the size stat gives, and counted after with the bytes read (a
    // file that grew, or one stat could not size).
    auto over_budget = [&](uint64_t more) {
      if (*read_so_far + more > kMaxLayoutRead)
        throw OciError("the blobs the layout " + dir.string() + " makes stepseal read add up to more than " +
                       std::to_string(kMaxLayoutRead >> 20) + " MiB (at " + digest + ", named by " +
                       where + "): refusing to read more");
    };
    if (!ec) over_budget(size_on_disk);
    std::string bytes = read_whole_file(path, max_bytes);
    over_budget(bytes.size());
    *read_so_far += bytes.size();
    std::string actual = sha256_digest(bytes);
    if (actual != digest)
      throw OciError("blob " + digest + " is corrupt: its bytes hash to " + actual + " (file " +
                     path.string() + ", named by " + where + ")");
    auto size = descriptor.find("size");
    if (size == descriptor.end() || !size->is_number_unsigned() ||
        size->get<uint64_t>() != bytes.size())
      throw OciError("blob " + digest + " has " + std::to_string(bytes.size()) +
                     " bytes but its descriptor in " + where + " says size " +
                     (size == descriptor.end() ? std::string("(none)") : size->dump()));
    return bytes;
  }

  json read_json_blob(const json& descriptor, const std::string& where) const {
    std::string bytes = read_blob(descriptor, where);
    json j = parse_json(bytes, "blob " + str_field(descriptor, "digest") + " (named by " + where + ")");
    if (!j.is_object())
      throw OciError("blob " + str_field(descriptor, "digest") + " (named by " + where +
                     ") is not a JSON object");
    return j;
  }

  void check_oci_layout_file() const {
    fs::path p = dir / "oci-layout";
    std::error_code ec;
    if (!fs::is_regular_file(p, ec))
      throw OciError(dir.string() + " is not an OCI image layout: it has no oci-layout file");
    json j = parse_json(read_whole_file(p), p.string());
    std::string version = str_field(j, "imageLayoutVersion");
    if (version != "1.0.0")
      throw OciError(p.string() + ": unsupported imageLayoutVersion \"" + version +
                     "\" (expected \"1.0.0\")");
  }

  json read_index_json() const {
    fs::path p = dir / "index.json";
    std::error_code ec;
    if (!fs::is_regular_file(p, ec))
      throw OciError(dir.string() + " is not an OCI image layout: it has no index.json");
    json j = parse_json(read_whole_file(p, kMaxIndexJson), p.string());
    if (!j.is_object() || !j.contains("manifests") || !j["manifests"].is_array())
      throw OciError(p.string() + " is not an image index: it has no \"manifests\" array");
    (void)index_entries(j, p.string());
    return j;
  }

  // Writes BYTES to a temporary file in DIR, flushes it and renames it to NAME.
  static void write_atomically(const fs::path& dir, const std::string& name,
                               const std::string& bytes) {
    static std::atomic<unsigned> counter{0};
    std::random_device rd;
    std::string tmp_name = ".stepseal-tmp-" + std::to_string(getpid()) + "-" +
                           std::to_string(counter++) + "-" + std::to_string(rd());
    fs::path tmp = dir / tmp_name, dest = dir / name;
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) throw OciError("cannot create " + tmp.string() + ": " + std::strerror(errno));
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        throw OciError("cannot write " + tmp.string() + ": " + std::strerror(err));
      }
      done += static_cast<size_t>(n);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      throw OciError("cannot write " + tmp.string() + ": " + std::strerror(err));
    }
    if (::rename(tmp.c_str(), dest.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      throw OciError("cannot rename " + tmp.string() + " to " + dest.string() + ": " +
                     std::strerror(err));
    }
  }

  // Stores BYTES as a blob (unless an intact copy is there already) and returns its descriptor.
  json write_blob(const std::string& bytes, const std::string& media_type) const {
    std::string hex = sha256_hex(bytes);
    fs::path path = blob_path(hex);
    std::error_code ec;
    bool present = fs::is_regular_file(path, ec) && fs::file_size(path, ec) == bytes.size() &&
                   !ec && sha256_hex(read_whole_file(path)) == hex;
    if (!present) {
      fs::create_directories(path.parent_path(), ec);
      if (ec) throw OciError("cannot create " + path.parent_path().string() + ": " + ec.message());
      write_atomically(path.parent_path(), hex, bytes);
    }
    return json{{"mediaType", media_type}, {"digest", "sha256:" + hex}, {"size", bytes.size()}};
  }

  void write_index_json(const json& index) const {
    write_atomically(dir, "index.json", index.dump());
  }
};

// An exclusive flock(2) on the layout directory for as long as it lives, so two stepseal
// processes attaching to one layout do not lose each other's index.json update. (Other tools do
// not take it; it only orders stepseal's own writers.)
class LayoutLock {
 public:
  explicit LayoutLock(const fs::path& dir) {
    fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) throw OciError("cannot open " + dir.string() + ": " + std::strerror(errno));
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd_);
      throw OciError("cannot lock " + dir.string() + ": " + std::strerror(err));
    }
  }
  ~LayoutLock() { ::close(fd_); }
  LayoutLock(const LayoutLock&) = delete;
  LayoutLock& operator=(const LayoutLock&) = delete;

 private:
  int fd_ = -1;
};

// "DIR" or "DIR:TAG": split at the last ':' only when what comes before it is a layout.
std::pair<std::string, std::string> split_spec(const std::string& spec) {
  auto colon = spec.rfind(':');
  if (colon != std::string::npos && colon > 0) {
    fs::path dir = spec.substr(0, colon);
    std::error_code ec;
    if (fs::is_directory(dir, ec) &&
        (fs::exists(dir / "oci-layout", ec) || fs::exists(dir / "index.json", ec)))
      return {spec.substr(0, colon), spec.substr(colon + 1)};
  }
  return {spec, ""};
}

std::string list_tags(const json& index) {
  std::set<std::string> tags;
  for (const auto& d : index["manifests"]) {
    std::string t = annotation(d, kRefName);
    if (!t.empty()) tags.insert(t);
  }
  if (tags.empty()) return "the layout has no tags";
  std::string s = "available tags: ";
  bool first = true;
  for (const auto& t : tags) {
    s += (first ? "" : ", ") + t;
    first = false;
  }
  return s;
}

// The position in index.json's "manifests" of the entry the reference names: the entry tagged
// TAG, or, without a tag, the only entry that is not an attestation.
size_t find_image_entry(const Layout& layout, const json& index, const std::string& tag) {
  const json& manifests = index["manifests"];
  std::optional<size_t> found;
  if (!tag.empty()) {
    for (size_t i = 0; i < manifests.size(); ++i) {
      if (annotation(manifests[i], kRefName) != tag) continue;
      if (found && str_field(manifests[*found], "digest") != str_field(manifests[i], "digest"))
        throw OciError("tag \"" + tag + "\" names two different descriptors in " +
                       (layout.dir / "index.json").string() + " (" +
                       str_field(manifests[*found], "digest") + " and " +
                       str_field(manifests[i], "digest") + ")");
      if (!found) found = i;
    }
    if (!found)
      throw OciError("tag \"" + tag + "\" not found in " + (layout.dir / "index.json").string() +
                     "; " + list_tags(index));
    return *found;
  }
  std::vector<size_t> images;
  for (size_t i = 0; i < manifests.size(); ++i) {
    if (is_attestation_descriptor(manifests[i])) continue;
    // an OCI 1.1 referrer written by another tool may not say so in its descriptor
    if (str_field(manifests[i], "mediaType") == kOciManifest) {
      try {
        json m = layout.read_json_blob(manifests[i], "index.json");
        if (m.contains("subject")) continue;
      } catch (const OciError&) {
        // not readable: counted as an image; the error comes when (if) it is resolved
      }
    }
    images.push_back(i);
  }
  if (images.size() != 1)
    throw OciError(std::to_string(images.size()) + " images in the layout " + layout.dir.string() +
                   "; name one with DIR:TAG (" + list_tags(index) + ")");
  return images[0];
}

// What kind of manifest a descriptor names: its mediaType, or, when it has none, the blob's.
std::string kind_of(const json& descriptor, const json& blob) {
  std::string mt = str_field(descriptor, "mediaType");
  if (mt.empty()) mt = str_field(blob, "mediaType");
  if (mt.empty()) {
    if (blob.contains("manifests")) return kOciIndex;
    if (blob.contains("layers") || blob.contains("config")) return kOciManifest;
  }
  return mt;
}

// The platform of a single-platform image, from its config blob; null when unknown.
json platform_from_config(const Layout& layout, const json& manifest, const std::string& where) {
  if (!manifest.contains("config") || !manifest["config"].is_object()) return nullptr;
  const json& config_desc = manifest["config"];
  std::string mt = str_field(config_desc, "mediaType");
  if (mt != kOciConfig && mt != kDockerConfig) return nullptr;
  json config = layout.read_json_blob(config_desc, "the config of " + where);
  std::string os = str_field(config, "os"), arch = str_field(config, "architecture");
  if (os.empty() || arch.empty()) return nullptr;
  json platform = {{"architecture", arch}, {"os", os}};
  std::string variant = str_field(config, "variant");
  if (!variant.empty()) platform["variant"] = variant;
  std::string os_version = str_field(config, "os.version");
  if (!os_version.empty()) platform["os.version"] = os_version;
  return platform;
}

// Adds to OUT every image manifest listed in INDEX (the parsed blob WHERE names), attestation
// manifests excluded; nested indexes are followed.
void collect_from_index(const Layout& layout, const json& index, const std::string& where,
                        int depth, std::vector<ImageManifest>& out, std::set<std::string>& seen) {
  if (!index.is_object() || !index.contains("manifests") || !index["manifests"].is_array())
    throw OciError(where + " is not an image index: it has no \"manifests\" array");
  for (const auto& d : index_entries(index, where)) {
    if (is_attestation_descriptor(d)) continue;
    std::string digest = str_field(d, "digest");
    std::string child_where = "image index " + where + " (entry " + digest + ")";
    std::string bytes = layout.read_blob(d, child_where);
    json blob = parse_json(bytes, "blob " + digest);
    std::string mt = kind_of(d, blob);
    if (is_manifest_type(mt)) {
      const std::string got = sha256_digest(bytes);
      if (!seen.insert(got).second) continue;  // named twice: one image, read once
      if (out.size() >= kMaxIndexEntries)
        throw OciError(where + ": the image has more than " + std::to_string(kMaxIndexEntries) + " manifests");
      ImageManifest m;
      m.digest = got;
      m.media_type = mt;
      m.size = bytes.size();
      m.platform = d.contains("platform") && d["platform"].is_object() ? d["platform"] : json();
      out.push_back(std::move(m));
    } else if (is_index_type(mt)) {
      if (depth >= kMaxIndexDepth)
        throw OciError("image indexes nest more than " + std::to_string(kMaxIndexDepth) +
                       " deep at " + digest);
      collect_from_index(layout, blob, digest, depth + 1, out, seen);
    } else {
      throw OciError("entry " + digest + " of image index " + where +
                     " has unsupported media type \"" + mt + "\"");
    }
  }
}

// The descriptors of every manifest and index reachable from index.json, top-level first.
void reachable_descriptors(const Layout& layout, const json& index, int depth,
                           std::vector<json>& out, std::set<std::string>& seen) {
  for (const auto& d : index["manifests"]) {
    std::string digest = str_field(d, "digest");
    if (digest.empty() || !seen.insert(digest).second) continue;
    out.push_back(d);
    if (!is_index_type(str_field(d, "mediaType")) || depth >= kMaxIndexDepth) continue;
    json child = layout.read_json_blob(d, "image index " + digest);
    if (child.contains("manifests") && child["manifests"].is_array() &&
        index_entries(child, "image index " + digest).is_array())
      reachable_descriptors(layout, child, depth + 1, out, seen);
  }
}

bool is_envelope_layer(const json& layer) {
  std::string mt = str_field(layer, "mediaType");
  if (mt == kDsseMediaType) return true;
  const std::string prefix = "application/vnd.in-toto.", suffix = "+dsse";
  return mt.size() > prefix.size() + suffix.size() && mt.compare(0, prefix.size(), prefix) == 0 &&
         mt.compare(mt.size() - suffix.size(), suffix.size(), suffix) == 0;
}

json descriptor_of(const ImageManifest& m) {
  return json{{"mediaType", m.media_type.empty() ? std::string(kOciManifest) : m.media_type},
              {"digest", m.digest},
              {"size", m.size}};
}

}  // namespace

ImageRef resolve_image(const std::string& spec) {
  if (spec.empty()) throw OciError("empty image reference (expected DIR or DIR:TAG)");
  auto [dir, tag] = split_spec(spec);
  if (tag.empty() && !spec.empty() && spec.back() == ':' && dir != spec)
    throw OciError("empty tag in image reference \"" + spec + "\"");
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw OciError("image layout " + dir + " does not exist or is not a directory");
  Layout layout{dir};
  layout.check_oci_layout_file();
  json index = layout.read_index_json();

  ImageRef ref;
  ref.layout = dir;
  ref.tag = tag;
  ref.read_budget = layout.read_so_far;
  const json& entry = index["manifests"][find_image_entry(layout, index, tag)];
  std::string where = tag.empty() ? "index.json" : "index.json (tag \"" + tag + "\")";
  std::string bytes = layout.read_blob(entry, where);
  json blob = parse_json(bytes, "blob " + str_field(entry, "digest"));
  if (!blob.is_object()) throw OciError("blob " + str_field(entry, "digest") + " is not a JSON object");
  std::string mt = kind_of(entry, blob);
  if (is_manifest_type(mt)) {
    ImageManifest m;
    m.digest = sha256_digest(bytes);
    m.media_type = mt;
    m.size = bytes.size();
    if (entry.contains("platform") && entry["platform"].is_object())
      m.platform = entry["platform"];
    else
      m.platform = platform_from_config(layout, blob, "manifest " + m.digest);
    ref.manifests.push_back(std::move(m));
  } else if (is_index_type(mt)) {
    ref.index_digest = sha256_digest(bytes);
    std::set<std::string> seen;
    collect_from_index(layout, blob, ref.index_digest, 1, ref.manifests, seen);
    if (ref.manifests.empty())
      throw OciError("image index " + ref.index_digest + " holds no image manifests");
  } else {
    throw OciError(where + " names " + str_field(entry, "digest") +
                   " with unsupported media type \"" + mt + "\"");
  }
  return ref;
}

std::string cosign_att_tag(const std::string& manifest_digest) {
  return "sha256-" + digest_hex(manifest_digest, "the image manifest") + ".att";
}

void attach(const ImageRef& image, const ImageManifest& manifest,
            const std::vector<Attestation>& attestations, const AttachOptions& opts) {
  if (attestations.empty() || (!opts.buildkit && !opts.referrers && !opts.cosign_tag)) return;
  bool covered = false;
  for (const auto& m : image.manifests) covered |= m.digest == manifest.digest;
  if (!covered)
    throw OciError("manifest " + manifest.digest + " is not part of the image " + image.layout +
                   (image.tag.empty() ? "" : ":" + image.tag));
  digest_hex(manifest.digest, "the manifest to attach to");

  Layout layout{image.layout, image.read_budget ? image.read_budget : std::make_shared<uint64_t>(0)};
  layout.check_oci_layout_file();
  LayoutLock lock(layout.dir);
  json index = layout.read_index_json();

  // the blobs shared by both styles: the empty config and one layer per envelope
  json empty = layout.write_blob(kEmptyJson, kEmptyMediaType);
  json layers = json::array();
  for (const auto& a : attestations) {
    json parsed = parse_json(a.envelope_json, "DSSE envelope");
    if (!parsed.is_object() || !parsed.contains("payload") || !parsed.contains("payloadType"))
      throw OciError("not a DSSE envelope (no payloadType/payload): " +
                     a.envelope_json.substr(0, 200));
    json layer = layout.write_blob(a.envelope_json, kDsseMediaType);
    if (!a.predicate_type.empty())
      layer["annotations"] = {{kPredicateTypeAnnotation, a.predicate_type}};
    layers.push_back(std::move(layer));
  }

  if (opts.buildkit) {
    json att = {{"schemaVersion", 2}, {"mediaType", kOciManifest}, {"config", empty},
                {"layers", layers}};
    json att_desc = layout.write_blob(att.dump(), kOciManifest);
    att_desc["platform"] = {{"architecture", "unknown"}, {"os", "unknown"}};
    att_desc["annotations"] = {{kRefType, kAttestationManifest}, {kRefDigest, manifest.digest}};

    // the entry of index.json the image was resolved from, as it is now
    size_t pos = find_image_entry(layout, index, image.tag);
    json& entry = index["manifests"][pos];
    std::string where = "index.json entry " + str_field(entry, "digest");
    std::string bytes = layout.read_blob(entry, where);
    json blob = parse_json(bytes, "blob " + str_field(entry, "digest"));
    std::string mt = kind_of(entry, blob);
    json new_index;
    if (is_manifest_type(mt)) {
      if (sha256_digest(bytes) != manifest.digest)
        throw OciError(where + " no longer names manifest " + manifest.digest +
                       " (the layout changed since it was resolved)");
      json inner = descriptor_of(manifest);
      inner["mediaType"] = mt;
      json platform = manifest.platform.is_object()
                          ? manifest.platform
                          : platform_from_config(layout, blob, "manifest " + manifest.digest);
      if (platform.is_object()) inner["platform"] = platform;
      if (entry.contains("annotations") && entry["annotations"].is_object()) {
        json kept = entry["annotations"];
        kept.erase(kRefName);
        if (!kept.empty()) inner["annotations"] = kept;
      }
      new_index = {{"schemaVersion", 2}, {"mediaType", kOciIndex},
                   {"manifests", json::array({inner, att_desc})}};
    } else if (is_index_type(mt)) {
      bool listed = false, already = false;
      for (const auto& d : blob["manifests"]) {
        listed |= str_field(d, "digest") == manifest.digest;
        already |= str_field(d, "digest") == str_field(att_desc, "digest") &&
                   annotation(d, kRefDigest) == manifest.digest;
      }
      if (!listed)
        throw OciError("image index " + sha256_digest(bytes) + " (" + where +
                       ") does not list manifest " + manifest.digest +
                       " (the layout changed since it was resolved)");
      if (!already) {
        new_index = blob;
        new_index["manifests"].push_back(att_desc);
      }
    } else {
      throw OciError(where + " has unsupported media type \"" + mt + "\"");
    }
    if (!new_index.is_null()) {
      json index_desc = layout.write_blob(new_index.dump(), is_index_type(mt) ? mt : kOciIndex);
      entry["mediaType"] = index_desc["mediaType"];
      entry["digest"] = index_desc["digest"];
      entry["size"] = index_desc["size"];
      entry.erase("platform");  // a platform describes one manifest, not the index now here
    }
  }

  if (opts.referrers) {
    json subject = descriptor_of(manifest);
    json ref = {{"schemaVersion", 2}, {"mediaType", kOciManifest}, {"artifactType", kDsseMediaType},
                {"config", empty},    {"layers", layers},          {"subject", subject}};
    json ref_desc = layout.write_blob(ref.dump(), kOciManifest);
    ref_desc["artifactType"] = kDsseMediaType;
    bool already = false;
    for (const auto& d : index["manifests"]) already |= str_field(d, "digest") == ref_desc["digest"];
    if (!already) index["manifests"].push_back(ref_desc);
  }

  if (opts.cosign_tag) {
    const std::string tag = cosign_att_tag(manifest.digest);
    json att_layers = json::array();
    std::set<std::string> have;
    json& entries = index["manifests"];
    for (size_t i = 0; i < entries.size(); i++) {
      if (annotation(entries[i], kRefName) != tag) continue;
      if (!opts.cosign_replace) {
        json old = layout.read_json_blob(entries[i], "manifest tagged " + tag);
        for (const auto& l : old.value("layers", json::array()))
          if (have.insert(str_field(l, "digest")).second) att_layers.push_back(l);
      }
      entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(i--));
    }
    for (const auto& l : layers) {
      if (!have.insert(str_field(l, "digest")).second) continue;
      json layer = l;
      if (layer.contains("annotations"))
        layer["annotations"] = {{"predicateType", layer["annotations"].value(kPredicateTypeAnnotation, "")}};
      att_layers.push_back(layer);
    }
    // an image config naming each envelope layer (uncompressed: its diff_id is its digest)
    json diff_ids = json::array();
    for (const auto& l : att_layers) diff_ids.push_back(l["digest"]);
    json config = {{"architecture", ""}, {"os", ""}, {"config", json::object()},
                   {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
    json config_desc = layout.write_blob(config.dump(), "application/vnd.oci.image.config.v1+json");
    json att = {{"schemaVersion", 2}, {"mediaType", kOciManifest}, {"config", config_desc},
                {"layers", att_layers}};
    json att_desc = layout.write_blob(att.dump(), kOciManifest);
    att_desc["annotations"] = {{kRefName, tag}};
    entries.push_back(att_desc);
  }

  layout.write_index_json(index);
}

std::vector<std::string> attached_envelopes(const ImageRef& image, const ImageManifest& manifest) {
  Layout layout{image.layout, image.read_budget ? image.read_budget : std::make_shared<uint64_t>(0)};
  layout.check_oci_layout_file();
  json index = layout.read_index_json();

  std::vector<json> descriptors;
  std::set<std::string> seen;
  reachable_descriptors(layout, index, 1, descriptors, seen);
  std::set<std::string> top_level;
  for (const auto& d : index["manifests"]) top_level.insert(str_field(d, "digest"));

  std::vector<std::string> envelopes;
  std::set<std::string> taken;  // layer digests
  auto take_layers = [&](const json& m, const std::string& where) {
    if (!m.contains("layers") || !m["layers"].is_array()) return;
    for (const auto& layer : m["layers"]) {
      if (!is_envelope_layer(layer)) continue;
      std::string digest = str_field(layer, "digest");
      if (taken.count(digest)) continue;
      envelopes.push_back(layout.read_blob(layer, "layer of " + where, kMaxEnvelopeBytes));
      taken.insert(digest);
    }
  };

  for (const auto& d : descriptors) {
    std::string digest = str_field(d, "digest");
    std::string mt = str_field(d, "mediaType");
    if (annotation(d, kRefType) == kAttestationManifest) {  // BuildKit style
      if (annotation(d, kRefDigest) != manifest.digest) continue;
      take_layers(layout.read_json_blob(d, "attestation manifest " + digest),
                  "attestation manifest " + digest);
      continue;
    }
    if (is_cosign_att(d)) {  // cosign's tag form: only the tag of this manifest
      if (annotation(d, kRefName) == "sha256-" + digest_hex(manifest.digest, "the image manifest") + ".att")
        take_layers(layout.read_json_blob(d, "manifest " + digest), "manifest " + digest);
      continue;
    }
    // OCI 1.1 referrers: artifacts at the top level or anything naming an artifactType
    if (mt != kOciManifest || (!top_level.count(digest) && str_field(d, "artifactType").empty()))
      continue;
    if (digest == manifest.digest) continue;
    json m = layout.read_json_blob(d, "manifest " + digest);
    if (!m.contains("subject") || str_field(m["subject"], "digest") != manifest.digest) continue;
    take_layers(m, "referrer " + digest);
  }
  return envelopes;
}

std::optional<size_t> history_layer_index(const json& config, size_t h) {
  const json history = config.value("history", json::array());
  const json rootfs = config.value("rootfs", json::object());
  const size_t layers = rootfs.is_object() ? rootfs.value("diff_ids", json::array()).size() : 0;
  if (!history.is_array() || h >= history.size() || !history[h].is_object() ||
      history[h].value("empty_layer", false))
    return std::nullopt;
  size_t k = 0;
  for (size_t i = 0; i < h; i++)
    k += history[i].is_object() && history[i].value("empty_layer", false) ? 0 : 1;
  if (k >= layers) return std::nullopt;
  return k;
}

ImageContents image_contents(const ImageRef& image, const ImageManifest& manifest) {
  Layout layout{image.layout, image.read_budget ? image.read_budget : std::make_shared<uint64_t>(0)};
  json desc = {{"mediaType", manifest.media_type}, {"digest", manifest.digest},
               {"size", manifest.size}};
  ImageContents c;
  c.manifest = layout.read_json_blob(desc, "the image " + manifest.digest);
  if (!c.manifest.contains("config") || !c.manifest["config"].is_object())
    throw OciError("the manifest " + manifest.digest + " has no config descriptor");
  c.config = layout.read_json_blob(c.manifest["config"], "the config of " + manifest.digest);
  return c;
}

}  // namespace stepseal::attest
