// stepseal verify --pub PUB --image DIR[:TAG] [--trace T]... [--attached] [--require-policy P]
//                 [--require-complete] [--format text|json] [ENVELOPE...]
#include <spdlog/spdlog.h>

#include <iostream>
#include <map>
#include <memory>

#include "attest/dsse.h"
#include "attest/keys.h"
#include "attest/oci.h"
#include "attest/statements.h"
#include "attest/verify.h"
#include "attest/verify_build.h"
#include "util/hex.h"
#include "cli/attest_files.h"
#include "cli/commands.h"
#include "distill/summary.h"
#include "policy/policy.h"
#include "util/exit_codes.h"

namespace stepseal::cli {

using nlohmann::json;

namespace {

struct VerifyArgs {
  std::string pub, image, format = "text", require_policy;
  std::vector<std::string> traces, envelopes, artifacts;
  bool attached = false, require_complete = false, require_reconciled = false;
};

int verify(const VerifyArgs& a) {
  const std::string &pub_path = a.pub, &image_spec = a.image, &format = a.format;
  const std::vector<std::string>& traces = a.traces;
  const std::vector<std::string>& envelopes = a.envelopes;
  const bool attached = a.attached;
  const std::string& policy_path = a.require_policy;  // hardened under this policy, and it held
  const bool require_complete = a.require_complete;   // the record says it is complete
  bool unreadable = false;  // an envelope that is not even JSON: bad input, exit 3
  if (pub_path.empty() || (image_spec.empty() == a.artifacts.empty()) || (envelopes.empty() && !attached))
    return usage_error("verify: needs --pub KEY, --image DIR[:TAG] or --artifact FILE (not both), "
                       "and envelopes (or --attached)");
  if (attached && image_spec.empty()) return usage_error("verify: --attached needs --image");
  if (format != "text" && format != "json")
    return usage_error("verify: --format must be text or json");

  std::string policy_sha;
  if (!policy_path.empty()) {
    try {
      policy_sha = policy::policy_sha256(policy::load_policy(policy_path));
    } catch (const policy::PolicyError& e) {
      std::cerr << "stepseal: invalid policy: " << e.what() << "\n";
      return exit_code::kUsage;
    }
  }

  json verdicts = json::array();
  bool all_ok = true;
  std::map<std::string, std::string> heads;  // step name -> chain head of the journal given
  std::map<std::string, bool> attested;
  json build_failures = json::array();
  try {
    attest::Key key = attest::Key::load_public(pub_path);
    attest::ImageRef image;
    if (!image_spec.empty()) image = attest::resolve_image(image_spec);
    // each --trace binds the envelopes of its step (named after the trace file) to its journal
    for (const auto& t : traces) {
      StepRecord rec = load_step(t);
      if (!rec.read.intact) {
        spdlog::error("{}: the journal is damaged: {}", t, rec.read.problem);
        return exit_code::kJournalDamaged;
      }
      heads[step_name(t)] = journal::to_hex(rec.read.head);
      attested[step_name(t)] = false;
    }
    // (name, JSON text) of every envelope to check: files given, and with --attached, every
    // envelope the layout holds for the image's manifests
    std::vector<std::pair<std::string, std::string>> inputs;
    for (const auto& path : envelopes) inputs.emplace_back(path, slurp(path, attest::kMaxEnvelopeBytes));
    if (attached) {
      size_t n = 0;
      for (const auto& m : image.manifests)
        for (auto& text : attest::attached_envelopes(image, m))
          inputs.emplace_back(image_spec + " (attached to " + m.digest.substr(0, 19) + "..., #" +
                                  std::to_string(++n) + ")",
                              std::move(text));
      if (n == 0) throw std::runtime_error("no attestations are attached to " + image_spec);
    }
    attest::VerifyRequirements req;
    for (const auto& m : image.manifests) req.manifest_digests.push_back(m.digest);
    req.image = image_spec;
    // a failed build's attestations name its journals (no image was made): the files themselves
    for (const auto& f : a.artifacts) {
      req.manifest_digests.push_back("sha256:" + util::sha256_hex(slurp(f)));
      req.image += (req.image.empty() ? "" : ", ") + f;
    }
    req.policy_sha256 = policy_sha;
    req.require_complete = require_complete;
    req.journal_heads = heads;
    std::vector<attest::CheckedEnvelope> checked;  // the envelopes that passed, with statements
    for (const auto& [path, text] : inputs) {
      attest::EnvelopeVerdict ev = attest::verify_statement_envelope(text, key, req);
      if (ev.unreadable) {
        spdlog::error("{}: not a DSSE envelope: {}", path, ev.failures.empty() ? "unreadable" : ev.failures.front());
        unreadable = true;
      }
      if (heads.count(ev.step)) attested[ev.step] = true;
      json v = {{"envelope", path}};
      if (ev.statement) {
        v["predicateType"] = ev.predicate_type;
        v["step"] = ev.step;
      }
      v["ok"] = ev.ok();
      v["failures"] = ev.failures;
      if (ev.ok() && ev.signed_statement.is_object())
        checked.push_back({path, util::sha256_hex(text), ev.signed_statement});
      all_ok = all_ok && ev.ok();
      verdicts.push_back(v);
    }
    // a build's attestations: the image layer by layer, each step in its place, the provenance's
    // list (attest/verify_build.h)
    bool build = false;
    for (const auto& c : checked) build |= attest::is_build_statement(c.statement);
    if (build || a.require_reconciled)
      for (const auto& m : image.manifests) {
        std::vector<attest::CheckedEnvelope> mine;
        for (const auto& c : checked)
          for (const auto& s : c.statement.value("subject", json::array()))
            if ("sha256:" + s.value("digest", json::object()).value("sha256", "") == m.digest) {
              mine.push_back(c);
              break;
            }
        if (!build || mine.empty()) {  // another image in the layout, or no build at all
          build_failures.push_back("no attestation of a build names the image " + m.digest);
          continue;
        }
        for (auto& f : attest::check_build(image, m, mine, a.require_reconciled))
          build_failures.push_back(std::move(f));
      }
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return exit_code::kInputUnreadable;
  }
  json unbound = build_failures;
  for (const auto& [step, seen] : attested)
    if (!seen) unbound.push_back("no envelope attests step " + step + " (given with --trace)");
  all_ok = all_ok && unbound.empty();
  if (format == "json") {
    std::cout << json{{"ok", all_ok}, {"envelopes", verdicts}, {"failures", unbound}}.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    for (const auto& v : verdicts) {
      std::cout << (v["ok"].get<bool>() ? "OK    " : "FAIL  ") << v["envelope"].get<std::string>();
      if (v.contains("predicateType")) std::cout << "  (" << v["predicateType"].get<std::string>() << ")";
      std::cout << "\n";
      for (const auto& f : v["failures"]) std::cout << "      " << f.get<std::string>() << "\n";
    }
    for (const auto& f : unbound) std::cout << "FAIL  " << f.get<std::string>() << "\n";
  }
  if (unreadable) return exit_code::kInputUnreadable;
  return all_ok ? exit_code::kOk : exit_code::kVerifyFailed;
}

}  // namespace

CLI::App* add_verify(CLI::App& app, int& rc) {
  auto a = std::make_shared<VerifyArgs>();
  CLI::App* sub = app.add_subcommand(
      "verify", "Check attestations: signature, subject, and optionally journals and policy.\nstepseal verify --pub PUB --image DIR[:TAG] [OPTIONS] [ENVELOPE...]");
  sub->add_option("--pub", a->pub, "the public key (PEM)")->required()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_option("--image", a->image, "the OCI layout DIR, with :TAG to pick one image")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_option("--artifact", a->artifacts,
                  "instead of --image: a file the subject must name by its SHA-256 (a failed "
                  "build's step journals; repeatable)")
      ->allow_extra_args(false);
  // one value per --trace: what follows it is an envelope, not another journal
  sub->add_option("--trace", a->traces,
                  "a journal whose chain head its step's envelopes must attest (repeatable)")
      ->allow_extra_args(false);
  sub->add_option("--format", a->format, "text (default) or json")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_flag("--attached", a->attached, "also check every envelope attached in the layout");
  sub->add_flag("--require-reconciled", a->require_reconciled,
                "stepseal build: fail unless every RUN's layer is explained by its trace (no "
                "unexplained, differing or missing files)");
  sub->add_option("--require-policy", a->require_policy,
                  "POLICY: the step ran --hardened under exactly this policy, and it held")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_flag("--require-complete", a->require_complete, "the record must be complete");
  sub->add_option("envelopes", a->envelopes, "DSSE envelope files");
  sub->footer("Exit status: 0 every envelope passed; 5 some check failed (each failure is\n"
              "printed); 3 a key, layout or envelope could not be read; 4 a journal given with\n"
              "--trace is damaged; 125 bad arguments or an invalid policy.");
  sub->callback([a, &rc] {
    set_verbosity(0);
    rc = verify(*a);
  });
  return sub;
}

}  // namespace stepseal::cli
