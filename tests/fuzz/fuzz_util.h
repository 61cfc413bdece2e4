// fuzz_util.h - what the libFuzzer harnesses of tests/fuzz share: a scratch directory on tmpfs
// for parsers that read files, input split into parts, the fixed test key, and invariant checks
// that abort (so libFuzzer keeps the input as a crash).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "attest/keys.h"

namespace stepseal::fuzz {

// A broken invariant: say which, and abort (libFuzzer saves the input as a crash).
[[noreturn]] inline void fail(const char* what, const std::string& detail = "") {
  std::fprintf(stderr, "\nINVARIANT BROKEN: %s\n%s\n", what, detail.c_str());
  std::fflush(stderr);
  std::abort();
}
#define FUZZ_CHECK(cond, detail)                               \
  do {                                                         \
    if (!(cond)) ::stepseal::fuzz::fail(#cond, (detail));      \
  } while (0)

// STEPSEAL_FUZZ_DEBUG=1: the harnesses say how far an input got (to check a new seed reaches
// what it was made for).
inline bool debug() {
  static const bool on = std::getenv("STEPSEAL_FUZZ_DEBUG") != nullptr;
  return on;
}

// A directory of this process on /dev/shm (memory, not disk), emptied by reset() before each
// input and removed at exit.
class Scratch {
 public:
  Scratch() {
    const char* base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
    dir_ = std::string(base) + "/stepseal-fuzz-" + std::to_string(getpid());
    std::filesystem::create_directories(dir_);
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void reset() {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir_, ec))
      std::filesystem::remove_all(e.path(), ec);
  }
  // Writes BYTES to DIR/NAME (parents made) and returns its path.
  std::string write(const std::string& name, std::string_view bytes) {
    std::filesystem::path p = std::filesystem::path(dir_) / name;
    std::filesystem::create_directories(p.parent_path());
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) fail("scratch file cannot be written", p.string());
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
      if (n <= 0) fail("scratch file cannot be written", p.string());
      off += static_cast<size_t>(n);
    }
    ::close(fd);
    return p.string();
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

inline Scratch& scratch() {
  static Scratch s;
  return s;
}

// Input of several parts: separated by kPartSeparator (in every dictionary that needs it).
inline constexpr std::string_view kPartSeparator = "\n--part--\n";
inline std::vector<std::string> split_parts(std::string_view in, size_t max_parts = 64) {
  std::vector<std::string> parts;
  while (parts.size() + 1 < max_parts) {
    size_t at = in.find(kPartSeparator);
    if (at == std::string_view::npos) break;
    parts.emplace_back(in.substr(0, at));
    in.remove_prefix(at + kPartSeparator.size());
  }
  parts.emplace_back(in);
  return parts;
}

// The test key of the harnesses and their seeds (an ECDSA P-256 key made for this purpose only:
// never trust it for anything).
inline constexpr const char* kTestPrivatePem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgZi6sZzz+ieOpDrfM\n"
    "t/RqNiDpkyqmKZJWE6Dj1eITH0mhRANCAATM0BYWGvF3cVs/6GBC777R8Wm4QfG0\n"
    "xZiM9sKbtOhQ3vLvXVVJe+T5Hr9Xc5ls4rNsKmF06exZLu9mDolk5nuP\n"
    "-----END PRIVATE KEY-----\n";

// The test key, loaded once.
inline const attest::Key& test_key() {
  static attest::Key k = attest::Key::load_private(scratch().write("test.key", kTestPrivatePem));
  return k;
}

}  // namespace stepseal::fuzz
