// stepseal keygen --out PREFIX [--type ecdsa|ed25519]
#include <spdlog/spdlog.h>

#include <memory>

#include "attest/keys.h"
#include "cli/commands.h"
#include "util/exit_codes.h"

namespace stepseal::cli {

namespace {

struct KeygenArgs {
  std::string out, type = "ecdsa";
};

int keygen(const KeygenArgs& a) {
  const std::string& out = a.out;
  const std::string& type = a.type;
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

}  // namespace

CLI::App* add_keygen(CLI::App& app, int& rc) {
  auto a = std::make_shared<KeygenArgs>();
  CLI::App* sub = app.add_subcommand("keygen", "Write a new signing key pair.\nstepseal keygen --out PREFIX [--type ecdsa|ed25519]");
  sub->add_option("--out", a->out, "PREFIX: writes PREFIX.key (private, PEM, 0600) and PREFIX.pub")
      ->required()
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->add_option("--type", a->type, "ecdsa (P-256, the default) or ed25519")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  sub->footer("Exit status: 0 written; 3 the key could not be written; 125 bad arguments.");
  sub->callback([a, &rc] {
    set_verbosity(0);
    rc = keygen(*a);
  });
  return sub;
}

}  // namespace stepseal::cli
