// commands.h - the subcommands main() dispatches to.
#pragma once

#include <string>
#include <vector>

namespace stepseal {

int usage_error(const std::string& msg);
int cmd_keygen(const std::vector<std::string>& args);
int cmd_attest(const std::vector<std::string>& args);
int cmd_verify(const std::vector<std::string>& args);

}  // namespace stepseal
