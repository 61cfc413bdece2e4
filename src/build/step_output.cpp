#include "build/step_output.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "util/file_io.h"
#include "util/hex.h"

namespace stepseal::build {

StepOutput::StepOutput(int src, int dst, std::string file, std::string rel, size_t cap)
    : src_(src), dst_(dst), rel_(std::move(rel)), cap_(cap) {
  fcntl(src_.get(), F_SETFL, fcntl(src_.get(), F_GETFL) | O_NONBLOCK);
  keep_.reset(open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  keep_failed_ = keep_.get() < 0;
  md_ = EVP_MD_CTX_new();
  if (md_) EVP_DigestInit_ex(md_, EVP_sha256(), nullptr);
}

StepOutput::~StepOutput() {
  if (md_) EVP_MD_CTX_free(md_);
}

bool StepOutput::pump() {
  if (eof_) return false;
  char buf[65536];
  // at most 1 MiB a call: a RUN that writes without pause must not keep the caller (the event
  // pump) from the ring
  for (int rounds = 0; rounds < 16; rounds++) {
    ssize_t n = read(src_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    if (n <= 0) break;  // end of stream (or an error: nothing more can come)
    const size_t len = static_cast<size_t>(n);
    bytes_ += len;
    if (md_) EVP_DigestUpdate(md_, buf, len);
    // the builder gets every byte (it may print them), whatever happens to the kept copy
    if (!forward_failed_ && dst_.get() >= 0 && !util::write_all(dst_.get(), buf, len))
      forward_failed_ = true;
    if (keep_.get() >= 0 && kept_ < cap_) {
      size_t k = std::min<uint64_t>(len, cap_ - kept_);
      if (util::write_all(keep_.get(), buf, k)) kept_ += k;
      else keep_failed_ = true;
    }
    if (rounds == 15) return true;  // more may be there: the next readiness brings it
  }
  eof_ = true;
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int dl = 0;
  if (md_ && EVP_DigestFinal_ex(md_, d, &dl) == 1)
    digest_ = util::hex(std::string_view(reinterpret_cast<const char*>(d), dl));
  dst_.reset();
  if (keep_.get() >= 0 && fsync(keep_.get()) != 0) keep_failed_ = true;
  keep_.reset();
  return false;
}

void StepOutput::drain(int timeout_ms) {
  struct timespec t0{};
  clock_gettime(CLOCK_MONOTONIC, &t0);
  while (!eof_) {
    struct timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > 5 * timeout_ms) break;
    pollfd p{src_.get(), POLLIN, 0};
    int r = poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;  // a writer outlived the step: the stream is cut here
    pump();
  }
  src_.reset();
  dst_.reset();
}

nlohmann::json StepOutput::record() const {
  nlohmann::json r = {{"bytes", bytes_},
                      {"file", rel_},
                      {"kept_bytes", kept_},
                      {"truncated", bytes_ > kept_},
                      {"complete", eof_}};
  if (keep_failed_) r["keep_failed"] = true;
  r["sha256"] = eof_ ? nlohmann::json(digest_) : nlohmann::json(nullptr);
  return r;
}

}  // namespace stepseal::build
