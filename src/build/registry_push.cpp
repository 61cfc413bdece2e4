#include "build/registry_push.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "util/hex.h"
#include "util/subprocess.h"

namespace stepseal::build {

using json = nlohmann::json;

namespace {

std::vector<std::string> skopeo(const PushTarget& t, std::vector<std::string> args) {
  std::vector<std::string> argv = {"skopeo", args[0]};
  if (!t.tls_verify)
    argv.push_back(args[0] == "copy" ? "--dest-tls-verify=false" : "--tls-verify=false");
  argv.insert(argv.end(), args.begin() + 1, args.end());
  return argv;
}

// The raw manifest the registry serves for REF (a tag or a digest), or nullopt.
std::optional<std::string> raw_manifest(const PushTarget& t, const std::string& ref) {
  std::string out;
  int rc = util::run_command(skopeo(t, {"inspect", "--raw", "docker://" + t.repository + ref}), &out,
                             4u << 20);
  if (rc != 0) return std::nullopt;
  return out;
}

}  // namespace

std::optional<PushTarget> parse_push_target(const std::string& spec, std::string* why) {
  const std::string prefix = "docker://";
  if (spec.rfind(prefix, 0) != 0) {
    *why = "--push wants docker://HOST/NAME[:TAG], not '" + spec + "'";
    return std::nullopt;
  }
  std::string rest = spec.substr(prefix.size());
  if (rest.find('@') != std::string::npos) {
    *why = "--push wants a tag, not a digest: the registry's digest is checked against the image";
    return std::nullopt;
  }
  PushTarget t;
  t.tag = "latest";
  auto slash = rest.rfind('/');
  auto colon = rest.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    t.tag = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
  }
  t.repository = rest;
  // HOST[:PORT]/NAME, the host named: "localhost:5000" alone is no registry (skopeo would take
  // it for docker.io/library/localhost, tag 5000), nor is a bare "demo"
  const auto first = t.repository.find('/');
  const std::string host = first == std::string::npos ? "" : t.repository.substr(0, first);
  if (host.empty() || (host.find('.') == std::string::npos && host.find(':') == std::string::npos &&
                       host != "localhost")) {
    *why = "--push: '" + spec + "' names no registry host: docker://HOST[:PORT]/NAME[:TAG]";
    return std::nullopt;
  }
  if (t.repository.empty() || t.repository.back() == '/' || t.tag.empty() ||
      t.tag.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
          std::string::npos) {
    *why = "--push: '" + spec + "' is not docker://HOST/NAME[:TAG]";
    return std::nullopt;
  }
  return t;
}

std::optional<std::string> push_layout(const std::string& layout, const std::string& tag,
                                       const PushTarget& to, const std::string& to_tag, bool all) {
  std::vector<std::string> args = {"copy", "--quiet", "--preserve-digests"};
  if (all) args.push_back("--all");
  args.push_back("oci:" + layout + ":" + tag);
  args.push_back("docker://" + to.repository + ":" + to_tag);
  spdlog::info("pushing oci:{}:{} to docker://{}:{}", layout, tag, to.repository, to_tag);
  int rc = util::run_command(skopeo(to, args));
  if (rc != 0)
    return "skopeo could not push oci:" + layout + ":" + tag + " to docker://" + to.repository +
           ":" + to_tag + " (exit " + std::to_string(rc) + ")";
  return std::nullopt;
}

std::optional<json> check_pushed(const PushTarget& to, const std::string& subject, bool allow_index,
                                 std::string* why) {
  auto top = raw_manifest(to, ":" + to.tag);
  if (!top) {
    *why = "the registry does not serve " + to.ref() + " after the push";
    return std::nullopt;
  }
  const std::string top_digest = "sha256:" + util::sha256_hex(*top);
  json parsed = json::parse(*top, nullptr, false);
  const std::string mt = parsed.is_object() ? parsed.value("mediaType", "") : "";
  if (top_digest != subject && !allow_index) {
    *why = "the registry serves " + to.ref() + " as " + top_digest + ", not the pushed image " + subject;
    return std::nullopt;
  }
  if (top_digest != subject) {
    bool listed = false;
    if (parsed.is_object() && parsed.contains("manifests") && parsed["manifests"].is_array())
      for (const auto& d : parsed["manifests"])
        listed |= d.is_object() && d.value("digest", "") == subject;
    if (!listed) {
      *why = "the registry serves " + to.ref() + " as " + top_digest +
             ", which is not the attested image " + subject + " nor an index that lists it";
      return std::nullopt;
    }
  }
  auto m = raw_manifest(to, "@" + subject);
  if (!m) {
    *why = "the registry has no manifest " + subject + " in " + to.repository;
    return std::nullopt;
  }
  if (std::string got = "sha256:" + util::sha256_hex(*m); got != subject) {
    *why = "the registry answers " + to.repository + "@" + subject + " with a manifest whose digest is " + got;
    return std::nullopt;
  }
  return json{{"reference", to.ref()},
              {"manifest_digest", subject},
              {"tag_digest", top_digest},
              {"tag_media_type", mt}};
}

}  // namespace stepseal::build
