#include "cli/replay_io.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

#include "forensics/case_index.h"
#include "util/exit_codes.h"

namespace stepseal::cli {

bool write_output(const std::string& path, const std::function<void(std::ostream&)>& fn) {
  if (path.empty() || path == "-") {
    fn(std::cout);
    return static_cast<bool>(std::cout.flush());
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) {
      spdlog::error("cannot write {}: {}", tmp, strerror(errno));
      return false;
    }
    fn(f);
    if (!f.flush()) {
      spdlog::error("cannot write {}: {}", tmp, strerror(errno));
      return false;
    }
  }
  if (rename(tmp.c_str(), path.c_str()) < 0) {
    spdlog::error("cannot write {}: {}", path, strerror(errno));
    unlink(tmp.c_str());
    return false;
  }
  return true;
}

std::optional<int> replay_failure(const std::function<void()>& fn) {
  try {
    fn();
    return std::nullopt;
  } catch (const forensics::InputError& e) {
    spdlog::error("{}", e.what());
    return exit_code::kInputUnreadable;
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return exit_code::kInternal;
  }
}

}  // namespace stepseal::cli
