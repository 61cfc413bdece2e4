// oci_fuzz - the OCI image layout reader (src/attest/oci.h: index.json, nested indexes,
// manifests, configs, attached attestations) and the whole `verify --attached` path on it: each
// attached envelope checked (verify.h), and a build's checks (verify_build.h) on those that pass.
//
// Input: parts separated by "\n--part--\n" (fuzz_util.h). Part 0 is index.json; parts 1..N are
// blobs, stored under blobs/sha256/<their real digest>. So that the fuzzer can make consistent
// layouts, in every part "@@K" is replaced by the hex digest of blob K and "##K" by its size
// (K one digit; blobs are filled in from the last, so a blob can name the blobs after it). A
// blob that starts with "SIGN:" is replaced by a DSSE envelope of the rest, signed with the test
// key, so the statements behind the signature are fuzzed too. oci-layout is always valid.
// Invariants: every manifest resolved has the digest and size of the bytes stored for it; no
// attached envelope whose bytes were not signed is accepted; errors are OciError (never another
// exception, a crash or a hang).
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "attest/dsse.h"
#include "attest/keys.h"
#include "attest/oci.h"
#include "attest/verify.h"
#include "attest/verify_build.h"
#include "fuzz_util.h"
#include "util/hex.h"

namespace at = stepseal::attest;
using nlohmann::json;

namespace {

using stepseal::util::sha256_hex;

void substitute(std::string& part, const std::vector<std::string>& digests,
                const std::vector<size_t>& sizes) {
  for (size_t k = 1; k < digests.size() && k <= 9; ++k) {
    if (digests[k].empty()) continue;
    for (auto [marker, value] : {std::pair{std::string("@@") + char('0' + k), digests[k]},
                                 std::pair{std::string("##") + char('0' + k),
                                           std::to_string(sizes[k])}}) {
      for (size_t at = part.find(marker); at != std::string::npos; at = part.find(marker, at)) {
        part.replace(at, marker.size(), value);
        at += value.size();
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parts = stepseal::fuzz::split_parts(
      std::string_view(reinterpret_cast<const char*>(data), size), 12);
  auto& s = stepseal::fuzz::scratch();
  s.reset();
  const at::Key& key = stepseal::fuzz::test_key();
  std::vector<std::string> digests(parts.size()), sizes_s;
  std::vector<size_t> sizes(parts.size(), 0);
  std::vector<bool> signed_here(parts.size(), false);
  for (size_t k = parts.size(); k-- > 1;) {
    substitute(parts[k], digests, sizes);
    if (parts[k].rfind("SIGN:", 0) == 0) {
      parts[k] = at::sign_envelope(std::string_view(parts[k]).substr(5), at::kInTotoPayloadType,
                                   key).dump();
      signed_here[k] = true;
    }
    digests[k] = sha256_hex(parts[k]);
    sizes[k] = parts[k].size();
    s.write("layout/blobs/sha256/" + digests[k], parts[k]);
  }
  substitute(parts[0], digests, sizes);
  s.write("layout/index.json", parts[0]);
  s.write("layout/oci-layout", R"({"imageLayoutVersion":"1.0.0"})");
  const std::string dir = s.path("layout");

  for (const std::string spec : {dir, dir + ":latest"}) {
    at::ImageRef image;
    try {
      image = at::resolve_image(spec);
    } catch (const at::OciError& e) {
      if (stepseal::fuzz::debug()) std::fprintf(stderr, "%s: refused: %s\n", spec.c_str(), e.what());
      continue;
    }
    FUZZ_CHECK(!image.manifests.empty(), "an image of no manifests");
    at::VerifyRequirements req;
    req.image = spec;
    for (const auto& m : image.manifests) {
      const std::string hex = m.digest.substr(7);
      bool stored = false;
      for (size_t k = 1; k < parts.size(); ++k)
        if (digests[k] == hex) {
          stored = true;
          FUZZ_CHECK(sizes[k] == m.size, m.digest);
        }
      FUZZ_CHECK(stored && m.digest.rfind("sha256:", 0) == 0, "a manifest that is not a stored blob: " + m.digest);
      req.manifest_digests.push_back(m.digest);
    }
    try {
      std::vector<at::CheckedEnvelope> checked;
      for (const auto& m : image.manifests) {
        at::ImageContents c = at::image_contents(image, m);
        (void)at::history_layer_index(c.config, 0);
        (void)at::history_layer_index(c.config, 3);
        for (const auto& text : at::attached_envelopes(image, m)) {
          at::EnvelopeVerdict v = at::verify_statement_envelope(text, key, req);
          if (stepseal::fuzz::debug())
            std::fprintf(stderr, "%s: envelope %s%s\n", spec.c_str(), v.ok() ? "accepted" : "refused: ",
                         v.ok() ? "" : v.failures.front().c_str());
          if (!v.ok()) continue;
          bool ours = false;
          for (size_t k = 1; k < parts.size(); ++k) ours |= signed_here[k] && parts[k] == text;
          FUZZ_CHECK(ours, "an attached envelope the harness did not sign was accepted");
          checked.push_back({"attached", sha256_hex(text), v.signed_statement});
        }
      }
      for (const auto& m : image.manifests)
        for (bool reconciled : {false, true}) {
          auto failures = at::check_build(image, m, checked, reconciled);
          if (stepseal::fuzz::debug())
            std::fprintf(stderr, "%s: build check: %zu failures%s%s\n", spec.c_str(), failures.size(),
                         failures.empty() ? "" : ", first: ", failures.empty() ? "" : failures[0].c_str());
        }
    } catch (const at::OciError& e) {
      if (stepseal::fuzz::debug()) std::fprintf(stderr, "%s: refused: %s\n", spec.c_str(), e.what());
    }
  }
  return 0;
}
