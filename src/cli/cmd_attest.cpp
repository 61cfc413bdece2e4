// stepseal attest --key KEY --image DIR[:TAG] --out DIR [--attach ...] [--in-toto-link] TRACE...
#include <spdlog/spdlog.h>

#include <filesystem>
#include <map>
#include <memory>
#include <set>

#include <openssl/rand.h>

#include <cstdio>

#include "attest/dsse.h"
#include "attest/keys.h"
#include "attest/oci.h"
#include "attest/statements.h"
#include "cli/attest_files.h"
#include "cli/commands.h"
#include "distill/summary.h"
#include "util/exit_codes.h"

namespace stepseal::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// A random (version 4) UUID as a URN: a job identity when the CI gives none.
std::string random_urn() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("no random bytes for an event id");
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char s[37];
  snprintf(s, sizeof s, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
           b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
           b[14], b[15]);
  return std::string("urn:uuid:") + s;
}

}  // namespace

std::string job_event(const std::string& given) {
  if (!given.empty()) return given;
  if (!attest::ci_event().empty()) return attest::ci_event();
  return random_urn();
}

int attest_journals(const AttestRequest& a) {
  const std::string &key_path = a.key, &image_spec = a.image, &out_dir = a.out, &attach = a.attach;
  const bool link = a.link;
  const std::vector<std::string>& traces = a.traces;
  const bool artifacts = !a.artifact_subjects.empty();
  if (key_path.empty() || (image_spec.empty() && !artifacts) || out_dir.empty() || traces.empty())
    return usage_error("attest: needs --key KEY --image DIR[:TAG] --out DIR and traces");
  if (attach != "both" && attach != "buildkit" && attach != "referrers" && attach != "none")
    return usage_error("attest: --attach must be both, buildkit, referrers or none");
  try {
    attest::Key key = attest::Key::load_private(key_path);
    // one identity for the job, every step of this invocation shares it
    const std::string event = job_event(a.event);
    attest::ImageRef image;
    if (!artifacts) image = attest::resolve_image(image_spec);
    std::vector<attest::Subject> subjects;
    for (const auto& [name, digest] : a.artifact_subjects) subjects.push_back({name, digest});
    for (const auto& m : image.manifests) {
      std::string name = "oci:" + image.layout + (image.tag.empty() ? "" : ":" + image.tag);
      if (m.platform.is_object())
        name += "@" + m.platform.value("os", "") + "/" + m.platform.value("architecture", "");
      subjects.push_back({name, m.digest});
    }
    fs::create_directories(out_dir);
    std::vector<attest::Attestation> made;
    std::set<std::string> names;
    for (const auto& trace : traces) {
      StepRecord rec = load_step(trace);
      if (!rec.read.intact) {
        spdlog::error("{}: the journal is damaged ({}); refusing to attest it", trace,
                      rec.read.problem);
        return exit_code::kJournalDamaged;
      }
      // Paths and argv are bytes; JSON (and canonical JSON) want UTF-8: invalid sequences
      // become U+FFFD here, as in `show`. The journal keeps the exact bytes.
      json summary = json::parse(summary_json(rec).dump(-1, ' ', false, json::error_handler_t::replace));
      json header = rec.header;  // what the recording was made with; the binary's digest is
      if (rec.end.contains("stepseal_sha256"))  // written with the step's end
        header["stepseal_sha256"] = rec.end["stepseal_sha256"];
      attest::StepContext ctx{summary, header, step_name(trace)};
      ctx.event = event;
      ctx.builder_id = a.builder_id;
      if (auto b = a.build.find(trace); b != a.build.end()) {
        ctx.build = b->second;
        // a RUN of stepseal build: what it replaced, from the image's lower layers
        if (ctx.build.contains("preimages"))
          apply_layer_preimages(ctx.summary, ctx.build["preimages"]);
      }
      if (!names.insert(ctx.step_name).second) {
        spdlog::error("{}: another trace is also named {}: step names come from file names and "
                      "must differ", trace, ctx.step_name);
        return exit_code::kUsage;
      }
      if (!ctx.summary.value("complete", false))
        spdlog::warn("{}: the record is incomplete; the attestation says so", trace);
      for (auto [statement, suffix] :
           {std::pair{attest::runtime_trace_statement(subjects, ctx), "runtime-trace"},
            std::pair{attest::slsa_statement(subjects, ctx), "slsa"}}) {
        json env = attest::sign_envelope(statement.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), attest::kInTotoPayloadType, key);
        fs::path file = fs::path(out_dir) / (ctx.step_name + "." + suffix + ".intoto.json");
        const std::string text = env.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        spit(file, text);
        made.push_back({env.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), statement["predicateType"]});
        if (a.made)
          a.made->push_back({file.filename().string(), ctx.step_name,
                             statement["predicateType"], text});
        spdlog::info("{}: wrote {}", trace, file.string());
      }
      if (link) {
        json l = attest::intoto_link(ctx, key);
        fs::path file = fs::path(out_dir) / (ctx.step_name + "." + key.keyid().substr(0, 8) + ".link");
        spit(file, l.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
        spdlog::info("{}: wrote {}", trace, file.string());
      }
    }
    if (attach != "none" && !artifacts) {
      attest::AttachOptions o{attach != "referrers", attach != "buildkit"};
      for (const auto& m : image.manifests) attest::attach(image, m, made, o);
      spdlog::info("attached {} attestations to {} image manifest(s) in {}", made.size(),
                   image.manifests.size(), image.layout);
    }
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return exit_code::kInputUnreadable;
  }
  return exit_code::kOk;
}

CLI::App* add_attest(CLI::App& app, int& rc) {
  auto a = std::make_shared<AttestRequest>();
  CLI::App* sub = app.add_subcommand(
      "attest", "Sign each journal as in-toto attestations bound to an OCI image.\nstepseal attest --key KEY --image DIR[:TAG] --out DIR [OPTIONS] TRACE...");
  sub->add_option("--key", a->key, "the private signing key (PEM)")->required()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_option("--image", a->image, "the OCI layout DIR, with :TAG to pick one image")
      ->required()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_option("--out", a->out, "directory for the envelopes (created if missing)")
      ->required()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_option("--attach", a->attach,
                  "how to attach them to the layout: both (default), buildkit, referrers, none")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_flag("--in-toto-link", a->link, "also write STEP.KEYID8.link for in-toto-verify");
  sub->add_option("--event", a->event,
                  "the job's unique identity (runtime-trace monitoredProcess.event; default: the "
                  "GitHub Actions run or GitLab job URL, else a generated urn:uuid)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_option("--builder-id", a->builder_id,
                  "SLSA builder.id: your CI's identity (default: this stepseal binary, "
                  "urn:stepseal:binary:sha256:...)")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_option("traces", a->traces, "journals to attest, one step each (named after the file)")
      ->required();
  sub->footer("Exit status: 0 signed; 3 a key, layout or journal could not be read;\n"
              "4 a journal is damaged (it is not attested); 125 bad arguments.");
  sub->callback([a, &rc] {
    set_verbosity(0);
    rc = attest_journals(*a);
  });
  return sub;
}

}  // namespace stepseal::cli
