// digest_service.h - hashes files off the event path, once per file version.
//
// The capture loop submits requests and returns at once; worker threads hash. A cache keyed by
// file identity (dev, ino, size, mtime, ctime) means each version of a file is read once per run,
// however many times the build opens it. Results go to a sink (the journal) as DIGEST records
// (typed: capture/digest_record.h).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "digest/file_hash.h"

namespace stepseal {

struct DigestRequest {
  DigestRole role = DigestRole::kContent;
  std::string path;
  uint32_t pid = 0;
  uint64_t ts_ns = 0;               // monotonic time of the event or notification
  std::optional<FileId> expected;   // identity the kernel reported at the event
  // For content and exec digests: whether any change to the file after the event is certain to
  // change its identity (see DigestPlan). Without that, the hash cannot prove the content.
  bool change_visible = false;
  bool check_visibility = false;    // set for content and exec requests
  // The event saw no writer (SS_INO_NO_WRITER) and has a seq: an unobserved version's hash is
  // kept with a proof for the model to check (docs/digests.md, "No writer").
  bool no_writer = false;
  uint32_t seq = 0;
  // After-digests of a file the step opened with O_APPEND: also the digest of its first
  // prefix_len bytes (its size before the step appended), so the model can tell an append from
  // a rewrite (pwritev2 RWF_NOAPPEND and fallocate can change earlier bytes).
  uint64_t prefix_len = 0;
  bool follow = true;
  std::string trigger;              // before: the system call that is about to change the file
};

struct DigestStats {
  uint64_t requests = 0, cache_hits = 0, unique_files_hashed = 0, bytes_hashed = 0;
};

class DigestService {
 public:
  using Sink = std::function<void(const DigestRecord& record)>;

  DigestService(int threads, Sink sink);
  ~DigestService();

  void submit(DigestRequest r);  // asynchronous
  DigestRecord run_now(const DigestRequest& r, int dirfd = -100);  // synchronous, also sinks
  DigestRecord run_on_fd(const DigestRequest& r, int fd);           // an already open file
  void drain();                  // returns once every submitted request has been sunk
  void emit(const DigestRecord& record) { sink_(record); }
  DigestStats stats() const;
  // The step's root directory (an O_PATH fd, owned by the service) when it runs in its own mount
  // namespace: absolute paths are then resolved there, not in stepseal's view. The fd keeps the
  // step's mounts (its private /tmp) readable after the namespace is gone, for final digests.
  // Call before any request.
  void set_root(int fd);
  // The step's mount namespace ended before the final digests: paths are resolved in stepseal's
  // view again, and files on the step's private tmpfs directories are "unavailable".
  void root_gone(const std::string& workspace);  // the workspace is the host's, still readable

  // The outcome for one request: cached by identity, hashed otherwise (from `fd` if >= 0).
  HashOutcome digest(const DigestRequest& r, int dirfd, int fd = -1);
  // The DIGEST record of one outcome (capture/digest_record.h: journaled by encode_digest).
  static DigestRecord record(const DigestRequest& r, const HashOutcome& o);

 private:
  void worker();
  void set_root_locked(int fd);

  Sink sink_;
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
  std::condition_variable cv_, idle_;
  std::deque<DigestRequest> queue_;
  size_t busy_ = 0;
  bool stop_ = false;
  // identity -> sha256 (exact only) and when that hash was verified (HashOutcome::verified_ns)
  struct Cached {
    std::string sha256;
    uint64_t verified_ns = 0;
  };
  std::unordered_map<FileId, Cached, FileIdHash> cache_;
  std::unordered_map<FileId, int, FileIdHash> hashing_;  // identities being hashed right now
  std::condition_variable hashed_;
  DigestStats stats_;
  int root_fd_ = -1;
  bool private_gone_ = false;
  std::string workspace_;
  std::unordered_map<FileId, bool, FileIdHash> counted_;  // distinct versions hashed
};

}  // namespace stepseal
