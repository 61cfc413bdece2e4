#include "cli/attest_files.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "util/file_io.h"

namespace stepseal::cli {

namespace fs = std::filesystem;

std::string slurp(const std::string& path, size_t max_bytes) {
  auto s = util::try_read_file(path, max_bytes);
  if (!s)
    throw std::runtime_error("cannot read " + path + ": " +
                             (errno == EFBIG ? "larger than the limit of " +
                                                   std::to_string(max_bytes >> 20) + " MiB"
                                             : std::string(std::strerror(errno))));
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

}  // namespace stepseal::cli
