// step_output.h - a RUN's stdout or stderr: forwarded to the builder as it comes, hashed whole,
// and kept in the build record up to a cap (docs/build.md, "A RUN's output").
//
// The shim gives the container's init a pipe of its own for each stream (runc passes its stdio
// through to the init) and hands stepseal the read end with the builder's original descriptor.
// Every byte the step's processes write to the stream passes through here, on a thread of its
// own: a builder that reads slowly (or not at all) holds up the RUN's writes, as it would
// untraced, never stepseal's event pump.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "util/fd.h"

namespace stepseal::build {

inline constexpr size_t kOutputKeepCap = 16u << 20;  // bytes kept per stream and step

class StepOutput {
 public:
  // SRC: the pipe's read end; DST: the builder's descriptor (both made non-blocking here: they
  // are stepseal's alone); FILE: where the first CAP bytes are kept (created), REL its name in
  // the record. Starts forwarding at once.
  StepOutput(int src, int dst, std::string file, std::string rel, size_t cap = kOutputKeepCap);
  ~StepOutput();
  StepOutput(const StepOutput&) = delete;
  StepOutput& operator=(const StepOutput&) = delete;

  // Waits until the stream ended (every writer gone) or TIMEOUT_MS passed; then stops. The
  // record is final after this.
  void drain(int timeout_ms);
  // {sha256, bytes, file, kept_bytes, truncated, complete}: complete (and sha256 non-null) when
  // the stream was read to its end; false when a writer outlived the step or the builder would
  // not take the bytes in time. keep_failed / forward_failed: only as true.
  nlohmann::json record() const;

 private:
  void run();

  util::UniqueFd src_, dst_, keep_;
  std::string rel_;
  size_t cap_;
  std::atomic<bool> stop_{false}, done_{false};
  // written by the thread, read after it is joined
  uint64_t bytes_ = 0, kept_ = 0;
  bool eof_ = false, keep_failed_ = false, forward_failed_ = false;
  std::string digest_;  // hex, once ended
  std::thread thread_;
};

}  // namespace stepseal::build
