// cmd_attest.cpp - `stepseal keygen`, `stepseal attest`, `stepseal verify`.
//
//   journal -> summary -> Statements (runtime-trace, SLSA) -> DSSE envelopes -> OCI layout
#include <spdlog/spdlog.h>
#include "util/file_io.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "attest/dsse.h"
#include "attest/keys.h"
#include "attest/oci.h"
#include "attest/statements.h"
#include "cli/commands.h"
#include "util/exit_codes.h"
#include "policy/policy.h"
#include "distill/summary.h"

namespace stepseal {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string slurp(const std::string& path) {
  auto s = util::try_read_file(path);
  if (!s) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
  return *s;
}

void spit(const fs::path& path, const std::string& data) {
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << data;
    if (!f) throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::rename(tmp, path);
}

std::string step_name(const std::string& trace) { return fs::path(trace).stem().string(); }

}  // namespace

int cmd_keygen(const std::vector<std::string>& args) {
  std::string out, type = "ecdsa";
  for (size_t i = 0; i < args.size(); i++) {
    if (args[i] == "--out" && i + 1 < args.size()) out = args[++i];
    else if (args[i] == "--type" && i + 1 < args.size()) type = args[++i];
    else return usage_error("keygen: unknown argument '" + args[i] + "'");
  }
  if (out.empty()) return usage_error("keygen: --out PREFIX is required");
  if (type != "ecdsa" && type != "ed25519")
    return usage_error("keygen: --type must be ecdsa or ed25519, not '" + type + "'");
  try {
    attest::Key key = attest::Key::generate(type == "ecdsa" ? attest::KeyType::kEcdsaP256
                                                            : attest::KeyType::kEd25519);
    key.write(out);
    spdlog::info("wrote {}.key (private, 0600) and {}.pub; key id {}", out, out, key.keyid());
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return exit_code::kInputUnreadable;
  }
  return exit_code::kOk;
}

int cmd_attest(const std::vector<std::string>& args) {
  std::string key_path, image_spec, out_dir, attach = "both";
  bool link = false;
  std::vector<std::string> traces;
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a == "--key" && i + 1 < args.size()) key_path = args[++i];
    else if (a == "--image" && i + 1 < args.size()) image_spec = args[++i];
    else if (a == "--out" && i + 1 < args.size()) out_dir = args[++i];
    else if (a == "--attach" && i + 1 < args.size()) attach = args[++i];
    else if (a == "--in-toto-link") link = true;
    else if (!a.empty() && a[0] == '-') return usage_error("attest: unknown option '" + a + "'");
    else traces.push_back(a);
  }
  if (key_path.empty() || image_spec.empty() || out_dir.empty() || traces.empty())
    return usage_error("attest: needs --key KEY --image DIR[:TAG] --out DIR and traces");
  if (attach != "both" && attach != "buildkit" && attach != "referrers" && attach != "none")
    return usage_error("attest: --attach must be both, buildkit, referrers or none");
  try {
    attest::Key key = attest::Key::load_private(key_path);
    attest::ImageRef image = attest::resolve_image(image_spec);
    std::vector<attest::Subject> subjects;
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
        json env = attest::sign_envelope(statement.dump(), attest::kInTotoPayloadType, key);
        fs::path file = fs::path(out_dir) / (ctx.step_name + "." + suffix + ".intoto.json");
        spit(file, env.dump(2) + "\n");
        made.push_back({env.dump(), statement["predicateType"]});
        spdlog::info("{}: wrote {}", trace, file.string());
      }
      if (link) {
        json l = attest::intoto_link(ctx, key);
        fs::path file = fs::path(out_dir) / (ctx.step_name + "." + key.keyid().substr(0, 8) + ".link");
        spit(file, l.dump(2) + "\n");
        spdlog::info("{}: wrote {}", trace, file.string());
      }
    }
    if (attach != "none") {
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

int cmd_verify(const std::vector<std::string>& args) {
  std::string pub_path, image_spec, format = "text";
  std::vector<std::string> traces;
  std::vector<std::string> envelopes;
  bool attached = false;
  std::string policy_path;        // --require-policy: hardened under this policy, and it held
  bool require_complete = false;  // --require-complete: the record says it is complete
  bool unreadable = false;  // an envelope that is not even JSON: bad input, exit 3
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a == "--pub" && i + 1 < args.size()) pub_path = args[++i];
    else if (a == "--image" && i + 1 < args.size()) image_spec = args[++i];
    else if (a == "--trace" && i + 1 < args.size()) traces.push_back(args[++i]);
    else if (a == "--format" && i + 1 < args.size()) format = args[++i];
    else if (a == "--attached") attached = true;
    else if (a == "--require-policy" && i + 1 < args.size()) policy_path = args[++i];
    else if (a == "--require-complete") require_complete = true;
    else if (!a.empty() && a[0] == '-') return usage_error("verify: unknown option '" + a + "'");
    else envelopes.push_back(a);
  }
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

}  // namespace stepseal
