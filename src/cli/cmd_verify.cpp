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
  std::vector<std::string> traces, envelopes;
  bool attached = false, require_complete = false;
};

int verify(const VerifyArgs& a) {
  const std::string &pub_path = a.pub, &image_spec = a.image, &format = a.format;
  const std::vector<std::string>& traces = a.traces;
  const std::vector<std::string>& envelopes = a.envelopes;
  const bool attached = a.attached;
  const std::string& policy_path = a.require_policy;  // hardened under this policy, and it held
  const bool require_complete = a.require_complete;   // the record says it is complete
  bool unreadable = false;  // an envelope that is not even JSON: bad input, exit 3
  if (pub_path.empty() || image_spec.empty() || (envelopes.empty() && !attached))
    return usage_error("verify: needs --pub KEY --image DIR[:TAG] and envelopes (or --attached)");
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
  try {
    attest::Key key = attest::Key::load_public(pub_path);
    attest::ImageRef image = attest::resolve_image(image_spec);
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
    for (const auto& path : envelopes) inputs.emplace_back(path, slurp(path));
    if (attached) {
      size_t n = 0;
      for (const auto& m : image.manifests)
        for (auto& text : attest::attached_envelopes(image, m))
          inputs.emplace_back(image_spec + " (attached to " + m.digest.substr(0, 19) + "..., #" +
                                  std::to_string(++n) + ")",
                              std::move(text));
      if (n == 0) throw std::runtime_error("no attestations are attached to " + image_spec);
    }
    for (const auto& [path, text] : inputs) {
      json v = {{"envelope", path}};
      std::vector<std::string> failures;
      json env = json::parse(text, nullptr, false);
      try {
      if (env.is_discarded()) {
        failures.push_back("not JSON (truncated or corrupt envelope)");
        spdlog::error("{}: not a DSSE envelope: the file is not JSON (truncated or corrupt)", path);
        unreadable = true;
      } else {
        attest::EnvelopeCheck c = attest::verify_envelope(env, attest::kInTotoPayloadType, key);
        if (!c.ok) {
          failures.push_back(c.error);
        } else {
          json st = json::parse(c.payload, nullptr, false);
          if (!st.is_object() || st.value("_type", "") != attest::kStatementType) {
            failures.push_back("payload is not an in-toto Statement v1");
          } else {
            std::string type = st.value("predicateType", "");
            v["predicateType"] = type;
            if (!attest::known_predicate(type)) failures.push_back("unknown predicate type " + type);
            bool bound = false;
            for (const auto& s : st.value("subject", json::array()))
              for (const auto& m : image.manifests)
                if ("sha256:" + s.value("digest", json::object()).value("sha256", "") == m.digest)
                  bound = true;
            if (!bound)
              failures.push_back("subject digest matches no image manifest of " + image_spec);
            const attest::AttestedStep as = attest::attested_step(st);
            const std::string& step = as.step;
            const std::string& head = as.journal_head;
            v["step"] = step;
            if (!policy_sha.empty()) {
              const json& e = as.enforcement;
              std::string mode = e.is_object() ? e.value("mode", "") : "";
              std::string got = e.is_object() ? e.value("policy", json::object())
                                                    .value("digest", json::object())
                                                    .value("sha256", "")
                                              : "";
              if (mode != "hardened")
                failures.push_back("the step was not run hardened (mode: " +
                                   (mode.empty() ? std::string("not stated") : mode) + ")");
              else if (got != policy_sha)
                failures.push_back("the step ran under policy sha256 " + got.substr(0, 16) +
                                   "..., not the required " + policy_sha.substr(0, 16) + "...");
              else if (e.value("verdict", "") != "held")
                failures.push_back("the policy was violated " +
                                   std::to_string(e.value("violations", json::array()).size()) +
                                   " time(s) during the step");
            }
            if (require_complete && as.complete != true)
              failures.push_back("the record is not complete (events lost or gaps)");
            if (auto it = heads.find(step); it != heads.end()) {
              attested[step] = true;
              if (head != it->second)
                failures.push_back("the journal given for step " + step + " has chain head " +
                                   it->second.substr(0, 16) + "..., not the attested " +
                                   head.substr(0, 16) + "...");
            }
          }
        }
      }
      } catch (const std::exception& e) {  // a signed payload of an unexpected shape
        failures.push_back(std::string("malformed statement: ") + e.what());
      }
      v["ok"] = failures.empty();
      v["failures"] = failures;
      all_ok = all_ok && failures.empty();
      verdicts.push_back(v);
    }
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return exit_code::kInputUnreadable;
  }
  json unbound = json::array();
  for (const auto& [step, seen] : attested)
    if (!seen) unbound.push_back("no envelope attests step " + step + " (given with --trace)");
  all_ok = all_ok && unbound.empty();
  if (format == "json") {
    std::cout << json{{"ok", all_ok}, {"envelopes", verdicts}, {"failures", unbound}}.dump(2) << "\n";
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
      "verify", "Check attestations: signature, subject, and optionally journals and policy");
  sub->add_option("--pub", a->pub, "the public key (PEM)")->required();
  sub->add_option("--image", a->image, "the OCI layout DIR, with :TAG to pick one image")
      ->required();
  // one value per --trace: what follows it is an envelope, not another journal
  sub->add_option("--trace", a->traces,
                  "a journal whose chain head its step's envelopes must attest (repeatable)")
      ->allow_extra_args(false);
  sub->add_option("--format", a->format, "text (default) or json");
  sub->add_flag("--attached", a->attached, "also check every envelope attached in the layout");
  sub->add_option("--require-policy", a->require_policy,
                  "POLICY: the step ran --hardened under exactly this policy, and it held");
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
