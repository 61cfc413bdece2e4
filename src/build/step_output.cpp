#include "build/step_output.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <memory>

#include "util/hex.h"

namespace stepseal::build {

namespace {

// Writes all of BUF to the non-blocking FD, waiting for room in slices of 100 ms so that STOP is
// seen. False if it cannot (an error, or stopped).
bool write_fully(int fd, const char* buf, size_t len, const std::atomic<bool>& stop) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n > 0) {
      buf += n;
      len -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return false;
    if (stop.load()) return false;
    pollfd p{fd, POLLOUT, 0};
    poll(&p, 1, 100);
  }
  return true;
}

}  // namespace

StepOutput::StepOutput(int src, int dst, std::string file, std::string rel, size_t cap)
    : src_(src), dst_(dst), rel_(std::move(rel)), cap_(cap) {
  fcntl(src_.get(), F_SETFL, fcntl(src_.get(), F_GETFL) | O_NONBLOCK);
  if (dst_.get() >= 0) fcntl(dst_.get(), F_SETFL, fcntl(dst_.get(), F_GETFL) | O_NONBLOCK);
  keep_.reset(open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  keep_failed_ = keep_.get() < 0;
  thread_ = std::thread([this] { run(); });
}

StepOutput::~StepOutput() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void StepOutput::run() {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (md) EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr);
  char buf[65536];
  while (!stop_.load()) {
    ssize_t n = read(src_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{src_.get(), POLLIN, 0};
      poll(&p, 1, 100);
      continue;
    }
    if (n <= 0) {  // end of stream (or an error: nothing more can come)
      eof_ = true;
      break;
    }
    const size_t len = static_cast<size_t>(n);
    bytes_ += len;
    if (md) EVP_DigestUpdate(md.get(), buf, len);
    if (keep_.get() >= 0 && kept_ < cap_) {
      size_t k = std::min<uint64_t>(len, cap_ - kept_);
      if (write(keep_.get(), buf, k) == static_cast<ssize_t>(k)) kept_ += k;
      else keep_failed_ = true;
    }
    // the builder gets every byte (it may print them); one it does not read stops only this
    if (!forward_failed_ && dst_.get() >= 0 && !write_fully(dst_.get(), buf, len, stop_))
      forward_failed_ = true;
  }
  if (eof_) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    if (md && EVP_DigestFinal_ex(md.get(), d, &dl) == 1) digest_ = util::hex(d, dl);
  }
  if (keep_.get() >= 0 && fsync(keep_.get()) != 0) keep_failed_ = true;
  done_ = true;
}

void StepOutput::drain(int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!done_.load() && std::chrono::steady_clock::now() < deadline) {
    pollfd none{-1, 0, 0};
    poll(&none, 0, 10);
  }
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  src_.reset();
  dst_.reset();
  keep_.reset();
}

nlohmann::json StepOutput::record() const {
  nlohmann::json r = {{"bytes", bytes_},
                      {"file", rel_},
                      {"kept_bytes", kept_},
                      {"truncated", bytes_ > kept_},
                      {"complete", eof_}};
  r["sha256"] = eof_ ? nlohmann::json(digest_) : nlohmann::json(nullptr);
  if (keep_failed_) r["keep_failed"] = true;
  if (forward_failed_) r["forward_failed"] = true;
  return r;
}

}  // namespace stepseal::build
