#include "attest/verify_build.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <openssl/evp.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>

#include "attest/build_statements.h"
#include "util/fd.h"
#include "util/hex.h"

namespace stepseal::attest {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// "sha256:<hex>" of a layer blob, streamed; empty with *WHY if it cannot be read as one. The
// layout may be anyone's: the blob must be a regular file (not a symlink to /dev/zero, not a
// FIFO) of the size the attested manifest gives, and no more than that is read.
std::string layer_digest(const fs::path& p, uint64_t want_size, std::string* why) {
  const util::UniqueFd fd(::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    *why = errno == ENOENT ? "is missing from" : errno == ELOOP ? "is a symbolic link in" : "cannot be read in";
    return "";
  }
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    *why = "is not a regular file in";
    return "";
  }
  if (static_cast<uint64_t>(st.st_size) != want_size) {  // a changed layer, told without hashing it
    *why = "changed after the build: its blob has " + std::to_string(st.st_size) +
           " bytes, not the " + std::to_string(want_size) + " the attested manifest names";
    return "";
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1) {
    *why = "cannot be hashed in";
    return "";
  }
  std::vector<char> buf(1 << 20);
  uint64_t left = want_size;
  while (left > 0) {
    const ssize_t n = ::read(fd.get(), buf.data(), std::min<uint64_t>(buf.size(), left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *why = "cannot be read in";
      return "";
    }
    EVP_DigestUpdate(md.get(), buf.data(), static_cast<size_t>(n));
    left -= static_cast<uint64_t>(n);
  }
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(md.get(), d, &n);
  return "sha256:" + util::hex(d, n);
}

const json& build_of(const json& st) {
  static const json none;
  auto p = st.find("predicate");
  if (p == st.end() || !p->is_object()) return none;
  auto it = p->find("build");
  return it != p->end() && it->is_object() ? *it : none;
}

bool is_provenance(const json& st) {
  return st.value("predicate", json::object()).value("buildDefinition", json::object())
             .value("buildType", "") == kBuildType;
}

std::string short_digest(const std::string& d) { return d.substr(0, 19) + "..."; }

}  // namespace

bool is_build_statement(const json& st) {
  const json& b = build_of(st);
  return (b.is_object() && b.value("instruction", json()).is_object()) || is_provenance(st);
}

std::vector<std::string> check_build(const ImageRef& image, const ImageManifest& manifest,
                                     const std::vector<CheckedEnvelope>& envelopes,
                                     bool require_reconciled) {
  std::vector<std::string> f;
  const ImageContents c = image_contents(image, manifest);

  // layers: the bytes of every blob are the ones the manifest (the subject) names
  const json layers = c.manifest.value("layers", json::array());
  for (size_t i = 0; i < layers.size(); i++) {
    const std::string d = layers[i].value("digest", "");
    if (d.rfind("sha256:", 0) != 0 || !util::is_sha256_hex(d.substr(7))) {
      f.push_back("layer " + std::to_string(i) + " of the image has no sha256 digest");
      continue;
    }
    const json size = layers[i].value("size", json());
    if (!size.is_number_unsigned()) {
      f.push_back("layer " + std::to_string(i) + " of the image has no size");
      continue;
    }
    std::string why;
    const std::string got = layer_digest(fs::path(image.layout) / "blobs" / "sha256" / d.substr(7),
                                         size.get<uint64_t>(), &why);
    if (got.empty() && why.rfind("changed", 0) == 0)
      f.push_back("layer " + std::to_string(i) + " " + why);
    else if (got.empty())
      f.push_back("layer " + std::to_string(i) + " (" + short_digest(d) + ") " + why + " " + image.layout);
    else if (got != d)
      f.push_back("layer " + std::to_string(i) + " changed after the build: its blob hashes to " +
                  short_digest(got) + ", not the " + short_digest(d) + " the attested manifest names");
  }

  // instructions: history entry and layer, as each step attestation names them
  const json history = c.config.value("history", json::array());
  const json diff_ids = c.config.value("rootfs", json::object()).value("diff_ids", json::array());
  auto layer_at = [&](size_t h) -> json {  // the diff_id of history entry H, null if empty
    auto k = history_layer_index(c.config, h);
    return k ? diff_ids[*k] : json(nullptr);
  };
  std::map<std::string, const CheckedEnvelope*> by_digest, all;  // instruction-bound ones; all
  const CheckedEnvelope* provenance = nullptr;
  std::set<int64_t> attested_instructions;
  for (const auto& e : envelopes) {
    if (is_provenance(e.statement)) {
      if (provenance && provenance->sha256 != e.sha256)
        f.push_back(e.where + ": a second build provenance (" + provenance->where + " is one)");
      provenance = &e;
      continue;
    }
    all[e.sha256] = &e;
    const json& b = build_of(e.statement);
    if (!b.is_object() || !b.value("instruction", json()).is_object()) continue;
    by_digest[e.sha256] = &e;
    const json& in = b["instruction"];
    const std::string step = attested_step(e.statement).step;
    if (!in.contains("history_index") || !in["history_index"].is_number_unsigned() ||
        in["history_index"].get<size_t>() >= history.size()) {
      f.push_back(e.where + " (step " + step + "): names no instruction of the image");
      continue;
    }
    const size_t h = in["history_index"];
    attested_instructions.insert(static_cast<int64_t>(h));
    const std::string created_by = history[h].value("created_by", "");
    const json layer = layer_at(h);
    if (in.value("created_by", "") != created_by || in.value("layer", json()) != layer)
      f.push_back(e.where + " (step " + step + ") attests instruction #" + std::to_string(h) +
                  " as '" + in.value("created_by", "") + "' with layer " +
                  in.value("layer", json()).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + ", but the image's instruction #" +
                  std::to_string(h) + " is '" + created_by + "' with layer " + layer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                  ": the attestation belongs to another step or image");
    if (require_reconciled && e.statement.value("predicateType", "") != kLayerContents) {
      const json& lc = b.value("layer_check", json());
      if (!lc.is_object()) {
        f.push_back(e.where + " (step " + step + "): its layer was not checked against its trace");
      } else if (!lc.value("reconciled", false)) {
        std::string what;
        for (const char* k : {"unexplained", "content_differs", "content_unverified", "missing"})
          for (const auto& x : lc.value(k, json::array()))
            what += std::string(what.empty() ? "" : ", ") + k + " " +
                    (x.is_object() ? x.value("path", x.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) : x.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        f.push_back(e.where + " (step " + step + "): its layer and its trace disagree: " + what);
      }
    }
  }

  // provenance: the step attestations it lists are exactly these
  if (!provenance) {
    if (!by_digest.empty()) f.push_back("no build provenance among the attestations: the step attestations cannot be told complete");
    return f;
  }
  std::set<std::string> listed;
  for (const auto& s : provenance_steps(provenance->statement)) {
    if (s.predicate_type == kSlsaProvenance && s.step == "build") continue;
    listed.insert(s.sha256);
    // an envelope under a listed file name must be the one listed under it (files swapped)
    for (const auto& e : envelopes)
      if (fs::path(e.where).filename() == s.file && e.sha256 != s.sha256)
        f.push_back(e.where + " is not the envelope the build provenance lists as " + s.file +
                    " (step " + s.step + "): its sha256 is " + e.sha256.substr(0, 16) +
                    "..., the provenance's " + s.sha256.substr(0, 16) + "...");
    auto it = all.find(s.sha256);
    if (it == all.end()) {
      f.push_back("the build provenance lists " + s.file + " (step " + s.step + ", sha256 " +
                  s.sha256.substr(0, 16) + "...), which is not among the attestations");
      continue;
    }
    const json& b = build_of(it->second->statement);
    const json hi = b.is_object() && b.value("instruction", json()).is_object()
                        ? b["instruction"].value("history_index", json())
                        : s.history_index;
    if (attested_step(it->second->statement).step != s.step || hi != s.history_index)
      f.push_back(it->second->where + " attests step " + attested_step(it->second->statement).step +
                  ", but the build provenance lists it as step " + s.step);
  }
  for (const auto& [d, e] : all)
    if (!listed.count(d))
      f.push_back(e->where + " (step " + attested_step(e->statement).step +
                  ") is not one of the attestations the build provenance lists");
  // every RUN and COPY of the build has its attestation
  const json ip = provenance->statement["predicate"]["buildDefinition"].value("internalParameters", json::object());
  for (const auto& in : ip.value("instructions", json::array())) {
    const std::string kind = in.value("kind", "");
    if ((kind == "run" && in.value("step", json()).is_number()) || kind == "copy")
      if (!attested_instructions.count(in.value("history_index", int64_t{-1})))
        f.push_back("instruction #" + std::to_string(in.value("history_index", -1)) + " ('" +
                    in.value("created_by", "") + "') has no step attestation");
  }
  return f;
}

}  // namespace stepseal::attest
