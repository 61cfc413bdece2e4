#include "digest/digest_service.h"


#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

namespace stepseal {


namespace {
int64_t monotonic_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int64_t coarse_realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}
}  // namespace


DigestService::DigestService(int threads, Sink sink) : sink_(std::move(sink)) {
  for (int i = 0; i < threads; i++)
    threads_.emplace_back([this] {
      // The build comes first: hashing runs on the CPU time it leaves idle (SCHED_IDLE).
      // Hashing late is safe: the identity check turns any change since the event into "raced".
      sched_param sp{};
      if (sched_setscheduler(0, SCHED_IDLE, &sp) != 0)
        setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 19);
      worker();
    });
}

DigestService::~DigestService() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  if (root_fd_ >= 0) close(root_fd_);
}

void DigestService::submit(DigestRequest r) {
  {
    std::lock_guard lk(mu_);
    queue_.push_back(std::move(r));
  }
  cv_.notify_one();
}

void DigestService::drain() {
  std::unique_lock lk(mu_);
  idle_.wait(lk, [this] { return queue_.empty() && busy_ == 0; });
}

DigestStats DigestService::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

void DigestService::worker() {
  for (;;) {
    DigestRequest r;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      r = std::move(queue_.front());
      queue_.pop_front();
      busy_++;
    }
    HashOutcome o = digest(r, AT_FDCWD);
    sink_(record(r, o));
    {
      std::lock_guard lk(mu_);
      busy_--;
      if (queue_.empty() && busy_ == 0) idle_.notify_all();
    }
  }
}

DigestRecord DigestService::run_now(const DigestRequest& r, int dirfd) {
  DigestRecord j = record(r, digest(r, dirfd));
  sink_(j);
  return j;
}

DigestRecord DigestService::run_on_fd(const DigestRequest& r, int fd) {
  DigestRecord j = record(r, digest(r, AT_FDCWD, fd));
  if (r.role == DigestRole::kExec && r.trigger == "execveat") j.fileless = true;
  sink_(j);
  return j;
}

void DigestService::root_gone(const std::string& workspace) {
  drain();  // nothing in flight may use the old root
  std::lock_guard lk(mu_);
  workspace_ = workspace;
  set_root_locked(-1);
  private_gone_ = true;
}

void DigestService::set_root(int fd) {
  std::lock_guard lk(mu_);
  set_root_locked(fd);
}

void DigestService::set_root_locked(int fd) {
  if (root_fd_ >= 0) close(root_fd_);
  root_fd_ = fd;
}

HashOutcome DigestService::digest(const DigestRequest& r, int dirfd, int fd) {
  HashOutcome o;
  bool cached = false;
  {
    std::unique_lock lk(mu_);
    stats_.requests++;
    // Two workers asked for the same version at once: the second waits for the first's result
    // instead of reading the file again.
    if (r.expected && fd < 0) hashed_.wait(lk, [&] { return !hashing_.count(*r.expected); });
    if (r.expected) {
      if (auto it = cache_.find(*r.expected); it != cache_.end()) {
        stats_.cache_hits++;
        o.status = DigestStatus::kExact;
        o.sha256 = it->second.sha256;
        // the cached hash proves this identity's content at the time it was verified (the
        // no-writer window ends there: docs/digests.md)
        o.verified_ns = it->second.verified_ns;
        o.id = r.expected;
        cached = true;
      } else {
        hashing_[*r.expected]++;
      }
    }
  }
  if (!cached) {
    // Read the coarse clock (the source of file times) before the file: once it is past the
    // file's ctime, any change during or after the hash moves ctime, so the identity checks in
    // hash_fd() see it. A file changed within the current tick is hashed again a tick later.
    int64_t coarse_ns = 0;
    for (int attempt = 0;; attempt++) {
      coarse_ns = coarse_realtime_ns();
      if (fd >= 0)
        o = hash_fd(fd, r.expected);
      else if (private_gone_)  // stepseal's view is not the step's: never hash in its place
        o.reason = "the step's mount namespace ended before the digest could be taken";
      else if (root_fd_ >= 0 && r.path.starts_with('/'))
        o = hash_path(root_fd_, r.path.size() > 1 ? r.path.substr(1) : ".", r.follow, r.expected,
                      /*in_root=*/true, r.prefix_len);
      else
        o = hash_path(dirfd, r.path, r.follow, r.expected, /*in_root=*/false, r.prefix_len);
      if (o.status != DigestStatus::kExact || !o.id || coarse_ns > o.id->ctime_ns) break;
      if (attempt == 3) {
        o.status = DigestStatus::kRaced;
        o.reason = "the file kept changing within the clock tick of the hash";
        o.sha256.clear();
        break;
      }
      while (coarse_realtime_ns() <= o.id->ctime_ns) {
        timespec ms{0, 1000000};
        nanosleep(&ms, nullptr);
      }
    }
    std::lock_guard lk(mu_);
    if (r.expected && --hashing_[*r.expected] <= 0) {
      hashing_.erase(*r.expected);
      hashed_.notify_all();
    }
    if (o.bytes && o.id && counted_.emplace(*o.id, true).second) stats_.unique_files_hashed++;
    stats_.bytes_hashed += o.bytes;
    if (o.status == DigestStatus::kExact && o.id && coarse_ns > o.id->ctime_ns)
      cache_[*o.id] = Cached{o.sha256, o.verified_ns};
  }
  // The bytes hashed are the bytes at the event only if nothing could have changed them since
  // without changing the identity. A same-tick rewrite can keep mtime, ctime and size.
  if (o.status == DigestStatus::kExact && r.check_visibility && !r.change_visible) {
    o.status = DigestStatus::kRaced;
    o.code = DigestReasonCode::kUnobserved;
    o.reason = "changed just before the event, with its timestamps not yet observed: a rewrite "
               "since could keep them, so the content at the event cannot be proven";
    // ... unless no writer could have made one: the model checks that against the events.
    // Taken after the hash and its last identity check (or the cache lookup).
    // The window ends when the hash's last identity check was made with the file open (the
    // inode's number could not pass to a new file before); a cache hit has only now.
    if (r.no_writer && r.seq)
      o.proof = NoWriterProof{r.seq,
                              o.verified_ns ? o.verified_ns
                                            : static_cast<uint64_t>(monotonic_now_ns()),
                              o.sha256};
    o.sha256.clear();
  }
  return o;
}

DigestRecord DigestService::record(const DigestRequest& r, const HashOutcome& o) {
  DigestRecord d;
  d.role = r.role;
  d.path = r.path;
  d.pid = r.pid;
  d.ts_ns = r.ts_ns;
  d.status = o.status;
  d.sha256 = o.sha256;
  d.reason = o.reason;
  // the reason for programs: the model branches on it, never on the text
  if (!o.reason.empty()) d.reason_code = o.code == DigestReasonCode::kNone ? DigestReasonCode::kOther : o.code;
  d.trigger = r.trigger;
  d.proof = o.proof;
  if (r.prefix_len && !o.prefix_sha256.empty()) d.prefix = DigestPrefix{r.prefix_len, o.prefix_sha256};
  auto inode = [](const FileId& f) {
    Inode n;
    n.dev = f.dev;
    n.ino = f.ino;
    n.size = f.size;
    n.mtime_ns = f.mtime_ns;
    n.ctime_ns = f.ctime_ns;
    return n;
  };
  // "id": the version the event saw (or, without an event, the one hashed); "found_id": what
  // was there instead when that differs
  if (r.expected) {
    d.id = inode(*r.expected);
    if (o.id && !(*o.id == *r.expected)) d.found_id = inode(*o.id);
  } else if (o.id) {
    d.id = inode(*o.id);
  }
  return d;
}

}  // namespace stepseal
