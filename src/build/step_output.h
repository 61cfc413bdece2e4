// step_output.h - a RUN's stdout or stderr: forwarded to the builder as it comes, hashed whole,
// and kept in the build record up to a cap (docs/build.md, "A RUN's output").
//
// The shim gives the container's init a pipe of its own for each stream (runc passes its stdio
// through to the init) and hands stepseal the read end with the builder's original descriptor.
// Every byte the step's processes write to the stream passes through here.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "util/fd.h"

namespace stepseal::build {

inline constexpr size_t kOutputKeepCap = 16u << 20;  // bytes kept per stream and step

class StepOutput {
 public:
  // SRC: the pipe's read end (made non-blocking here); DST: the builder's descriptor; FILE: where
  // the first CAP bytes are kept (created), REL its name in the record.
  StepOutput(int src, int dst, std::string file, std::string rel, size_t cap = kOutputKeepCap);
  ~StepOutput();
  StepOutput(const StepOutput&) = delete;
  StepOutput& operator=(const StepOutput&) = delete;

  int fd() const { return src_.get(); }
  // Reads what is there: forwarded, hashed, kept. False at end of stream (every writer gone);
  // the descriptor stays open (for the caller's epoll) until drain() or the destructor.
  bool pump();
  // Reads until end of stream or TIMEOUT_MS without data; then the stream is closed.
  void drain(int timeout_ms);
  bool ended() const { return eof_; }
  // {sha256, bytes, file, kept_bytes, truncated, complete}: complete (and sha256 non-null) when
  // the stream was read to its end; false when a writer outlived the step. keep_failed: true
  // when the kept copy could not be written.
  nlohmann::json record() const;

 private:
  util::UniqueFd src_, dst_, keep_;
  std::string rel_;
  size_t cap_;
  uint64_t bytes_ = 0, kept_ = 0;
  bool eof_ = false, keep_failed_ = false, forward_failed_ = false;
  EVP_MD_CTX* md_ = nullptr;
  std::string digest_;  // hex, once ended
};

}  // namespace stepseal::build
