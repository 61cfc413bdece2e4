#include "cli/build_attest.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "attest/build_statements.h"
#include "attest/dsse.h"
#include "attest/keys.h"
#include "attest/oci.h"
#include "build/registry_push.h"
#include "cli/attest_files.h"
#include "cli/commands.h"
#include "digest/file_hash.h"
#include "util/exit_codes.h"
#include "util/hex.h"
#include "util/subprocess.h"

namespace stepseal::cli {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string file_sha256(const std::string& path) {
  return hash_path(AT_FDCWD, path, true, std::nullopt).sha256;
}

json dependency(const std::string& name, const std::string& path) {
  json d = {{"name", name}, {"uri", "file://" + path}};
  std::string h = path.empty() ? "" : file_sha256(path);
  if (!h.empty()) d["digest"] = {{"sha256", h}};
  return d;
}

// Signs STATEMENT into DIR/NAME (the envelope as written: its bytes are what the provenance
// lists by digest).
AttestRequest::Made sign_to(const fs::path& dir, const std::string& name, const std::string& step,
                            const json& statement, const attest::Key& key) {
  json env = attest::sign_envelope(statement.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), attest::kInTotoPayloadType, key);
  std::string text = env.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  spit(dir / name, text);
  return {name, step, statement.value("predicateType", ""), std::move(text)};
}

// build.json's "envelopes": every signed file of the record, by digest.
json envelope_list(const std::vector<AttestRequest::Made>& made) {
  json listed = json::array();
  for (const auto& e : made)
    listed.push_back({{"file", "attestations/" + e.file}, {"step", e.step},
                      {"predicateType", e.predicate_type}, {"sha256", util::sha256_hex(e.envelope)}});
  return listed;
}

// What the build's provenance is made of (attest/build_statements.h): the record, the step
// envelopes (HISTORY_OF: step -> its instruction), the builder's binaries by digest.
attest::BuildContext build_context(const json& m, const std::vector<AttestRequest::Made>& made,
                                   const std::map<std::string, json>& history_of,
                                   const std::string& event, const std::string& builder_id) {
  attest::BuildContext bc;
  bc.record = m;
  for (const auto& e : made) {
    auto h = history_of.find(e.step);
    bc.steps.push_back({e.file, e.step, e.predicate_type, util::sha256_hex(e.envelope),
                        h != history_of.end() ? h->second : json()});
  }
  const json builder = m.value("builder", json::object());
  const json argv = builder.value("argv", json::array());
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  bc.builder_dependencies = json::array(
      {dependency(builder.value("name", ""),
                  util::find_in_path(argv.empty() ? builder.value("name", "") : argv[0].get<std::string>())),
       dependency("runtime", builder.value("runtime", "")),
       dependency("stepseal-runtime", (fs::path(self).parent_path() / "stepseal-runtime").string())});
  // a sterile build: the program every RUN started with, as build.json names it
  if (m.contains("sterile") && m["sterile"].is_object())
    bc.builder_dependencies.push_back(
        dependency("stepseal-seal", m["sterile"].value("seal", json::object()).value("path", "")));
  bc.event = event;
  bc.builder_id = builder_id;
  bc.stepseal_sha256 = file_sha256("/proc/self/exe");
  bc.stepseal_version = m.value("stepseal_version", "");
  return bc;
}

// A build that made no image (the builder failed, or the image could not be exported): each
// RUN's journal signed, and the build's provenance, with the journals themselves as the subject.
// Nothing is attached or pushed; `verify --artifact steps/NN.journal ...` checks them.
int attest_journals_only(const BuildAttestOptions& o, json& m, const std::string& record_path) {
  const fs::path rec_dir(o.out_dir);
  const std::string out = (rec_dir / "attestations").string();
  std::vector<attest::Subject> subjects;
  AttestRequest req;
  for (const auto& st : m.value("steps", json::array())) {
    const std::string rel = st.value("journal", "");
    const std::string journal = (rec_dir / rel).string();
    subjects.push_back({rel, "sha256:" + file_sha256(journal)});
    req.artifact_subjects.emplace_back(rel, subjects.back().digest);
    req.traces.push_back(journal);
    req.build[journal] = {{"step", st.value("step", 0)}, {"instruction", nullptr},
                          {"stdout", st.value("stdout", json())}, {"stderr", st.value("stderr", json())}};
  }
  if (subjects.empty()) {
    spdlog::warn("the build made no image and traced no RUN: nothing to sign");
    return exit_code::kOk;
  }
  std::vector<AttestRequest::Made> made;
  req.key = o.key;
  req.event = job_event(o.event);
  req.builder_id = o.builder_id;
  req.out = out;
  req.attach = "none";
  req.made = &made;
  if (int rc = attest_journals(req); rc != 0) return rc;
  try {
    attest::Key key = attest::Key::load_private(o.key);
    const size_t steps = made.size();
    attest::BuildContext bc = build_context(m, made, {}, req.event, o.builder_id);
    made.push_back(sign_to(out, "build.slsa.intoto.json", "build", attest::build_provenance(subjects, bc), key));
    m["attestations"] = {{"envelopes", envelope_list(made)}, {"event", req.event}, {"subject", "journals"}};
    spit(record_path, m.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    spdlog::info("no image: signed {} step attestation(s) and the build's provenance with the "
                 "step journals as subject (not attached)", steps);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return exit_code::kInputUnreadable;
  }
  return exit_code::kOk;
}

}  // namespace

int attest_build(const BuildAttestOptions& o) {
  const fs::path rec_dir(o.out_dir);
  const std::string record_path = (rec_dir / "build.json").string();
  json m;
  try {
    m = json::parse(slurp(record_path));
  } catch (const std::exception& e) {
    spdlog::error("cannot read back {}: {}", record_path, e.what());
    return exit_code::kInternal;
  }
  std::optional<build::PushTarget> target;
  if (!o.push.empty()) {
    std::string why;
    target = build::parse_push_target(o.push, &why);
    if (!target) return usage_error("build: " + why);
    target->tls_verify = o.push_tls_verify;
  }
  if (!m.contains("image") || !m["image"].is_object() || !m["image"].contains("manifest_digest")) {
    if (target) spdlog::warn("no image was built (exit {}): nothing is pushed", m.value("exit_code", -1));
    return attest_journals_only(o, m, record_path);
  }
  const json image_rec = m.value("image", json::object());
  const std::string layout = image_rec.value("layout", ""), tag = image_rec.value("tag", "");
  const std::string out = (rec_dir / "attestations").string();
  const std::string event = job_event(o.event);
  try {
    attest::Key key = attest::Key::load_private(o.key);
    attest::ImageRef image = attest::resolve_image(layout + ":" + tag);
    if (image.manifests.size() != 1) throw std::runtime_error("the exported layout holds several images");
    const attest::ImageManifest& manifest = image.manifests[0];
    if (manifest.digest != image_rec.value("manifest_digest", ""))
      throw std::runtime_error("the layout " + layout + ":" + tag + " no longer holds the built image " +
                               image_rec.value("manifest_digest", "") + " (it holds " + manifest.digest + ")");
    const std::vector<attest::Subject> subjects = {{"oci:" + layout + ":" + tag, manifest.digest}};

    // 1. every traced RUN, as `attest` signs a journal
    std::vector<AttestRequest::Made> made;
    AttestRequest req;
    req.key = o.key;
    req.event = event;
    req.builder_id = o.builder_id;
    req.image = layout + ":" + tag;
    req.out = out;
    req.attach = "none";
    req.made = &made;
    std::map<std::string, json> history_of;  // step name -> history index
    for (const auto& st : m.value("steps", json::array())) {
      std::string journal = (rec_dir / st.value("journal", "")).string();
      req.traces.push_back(journal);
      json b = {{"step", st.value("step", 0)},
                {"instruction", st.value("instruction", json())},
                {"image", image_rec},
                {"layer_check", st.value("layer_check", json())},
                {"preimages", st.value("preimages", json::array())},
                {"stdout", st.value("stdout", json())},
                {"stderr", st.value("stderr", json())}};
      req.build[journal] = b;
      history_of[step_name(journal)] =
          st["instruction"].is_object() ? st["instruction"].value("history_index", json()) : json();
    }
    if (!req.traces.empty())
      if (int rc = attest_journals(req); rc != 0) return rc;
    fs::create_directories(out);

    // 2. every COPY/ADD, from its layer
    for (const auto& in : m.value("instructions", json::array())) {
      if (in.value("kind", "") != "copy" || !in.contains("contents")) continue;
      const int h = in.value("history_index", 0);
      const std::string name = attest::layer_step_name(h);
      made.push_back(sign_to(out, name + ".layer-contents.intoto.json", name,
                             attest::layer_statement(subjects, in, image_rec, event), key));
      history_of[name] = h;
    }

    // 3. the image pushed by stepseal, and the registry's digest checked
    json push = nullptr;
    if (target) {
      if (auto err = build::push_layout(layout, tag, *target, target->tag, false)) {
        spdlog::error("{}", *err);
        return exit_code::kPushFailed;
      }
      std::string why;
      auto got = build::check_pushed(*target, manifest.digest, false, &why);
      if (!got) {
        spdlog::error("push: {}", why);
        m["push"] = {{"reference", target->ref()}, {"error", why}};
        spit(record_path, m.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
        return exit_code::kPushFailed;
      }
      push = *got;
    }

    // 4. the whole build
    attest::BuildContext bc = build_context(m, made, history_of, event, o.builder_id);
    bc.push = push;
    made.push_back(sign_to(out, "build.slsa.intoto.json", "build", attest::build_provenance(subjects, bc), key));

    // 5. attached in every form, and pushed
    std::vector<attest::Attestation> all;
    for (const auto& e : made) all.push_back({e.envelope, e.predicate_type});
    attest::AttachOptions ao;
    ao.cosign_tag = ao.cosign_replace = true;
    attest::attach(image, manifest, all, ao);
    const std::string att_tag = attest::cosign_att_tag(manifest.digest);
    spdlog::info("attached {} attestations to {} in {} (BuildKit style, OCI referrers, tag {})",
                 all.size(), manifest.digest, layout, att_tag);
    m["attestations"] = {{"envelopes", envelope_list(made)}, {"cosign_tag", att_tag}, {"event", event}};
    if (target) {
      for (auto err : {build::push_layout(layout, att_tag, *target, att_tag, false),
                       build::push_layout(layout, tag, *target, target->tag, true)})
        if (err) {
          spdlog::error("{}", *err);
          m["push"] = push;
          m["push"]["error"] = *err;
          spit(record_path, m.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
          return exit_code::kPushFailed;
        }
      std::string why;
      auto again = build::check_pushed(*target, manifest.digest, true, &why);
      if (!again) {
        spdlog::error("push: after the attestations: {}", why);
        m["push"] = push;
        m["push"]["error"] = why;
        spit(record_path, m.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
        return exit_code::kPushFailed;
      }
      m["push"] = *again;
      m["push"]["attestations_tag"] = target->repository + ":" + att_tag;
      spdlog::info("pushed {} ({}), its attestations as {}:{}; the registry serves {}",
                   target->ref(), manifest.digest, target->repository, att_tag, (*again)["tag_digest"].get<std::string>());
    }
    spit(record_path, m.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return exit_code::kInputUnreadable;
  }
  return exit_code::kOk;
}

}  // namespace stepseal::cli
