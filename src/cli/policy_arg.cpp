// The --policy a command enforces (run --hardened, build): one loader, one message.
#include <limits.h>
#include <stdlib.h>

#include <iostream>

#include "cli/commands.h"
#include "harden/net_guard.h"

namespace stepseal::cli {

std::optional<policy::Policy> load_enforced_policy(
    const std::string& path, std::string* real_path,
    const std::function<void(const policy::Policy&)>& check) {
  std::optional<policy::Policy> p;
  try {
    p = policy::load_policy(path);
    kernel_net_rules(*p);  // what the kernel table can hold is part of validity
    if (check) check(*p);
  } catch (const policy::PolicyError& e) {
    std::cerr << "stepseal: invalid policy: " << e.what() << "\n";
    return std::nullopt;
  }
  char real[PATH_MAX] = {};
  *real_path = realpath(path.c_str(), real) ? real : path;
  return p;
}

}  // namespace stepseal::cli
