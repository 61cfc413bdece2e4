#include "digest/digest_plan.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace stepseal {

namespace {
constexpr int64_t kStale = 2'000'000'000;  // 2 s, see content()
constexpr uint64_t kFmodeCreated = 1u << 20;
constexpr uint64_t kRenameExchange = 2;
constexpr uint64_t kOPath = 010000000;

bool under(const std::string& p, const char* dir) {
  size_t n = strlen(dir);
  return p.compare(0, n, dir) == 0 && (p.size() == n || p[n] == '/');
}
}  // namespace

bool hashable_path(const std::string& p) {
  return !p.empty() && p[0] == '/' && !under(p, "/proc") && !under(p, "/sys") &&
         !under(p, "/dev") && p.find(" (deleted)") == std::string::npos;
}

void DigestPlan::content(DigestRole role, const std::string& path, const Event& e) {
  if (!(e.flags & SS_F_HAS_INO) || !S_ISREG(e.ino.mode)) return;
  DigestRequest r;
  r.role = role;
  r.path = path;
  r.pid = e.pid;
  r.ts_ns = e.ts_ns;
  r.expected = FileId{e.ino.dev, e.ino.ino, e.ino.size, e.ino.mtime_ns, e.ino.ctime_ns};
  r.check_visibility = true;
  r.no_writer = e.ino.flags & SS_INO_NO_WRITER;
  r.seq = e.seq;
  // Content no hash of stepseal's can vouch for: recorded as such, and never opened (a FUSE
  // server of the step's would see the hashing thread's reads, and could stall it).
  auto refuse = [&](DigestReasonCode code, const char* why) {
    std::string key = std::string("refused:") + std::to_string(static_cast<int>(role)) + path +
                      ':' + std::to_string(e.ino.dev) + ':' + std::to_string(e.ino.ino);
    lookups_++;
    if (!requested_.insert(std::move(key)).second) {
      repeats_++;
      return;
    }
    HashOutcome o;
    o.code = code;
    o.reason = why;
    o.id = r.expected;
    digests_->emit(DigestService::record(r, o));
  };
  if (e.ino.flags & SS_INO_READER_DEPENDENT)
    return refuse(DigestReasonCode::kReaderDependent,
                  "on a file system that may serve each reader other bytes (FUSE, network): "
                  "what stepseal would read proves nothing about what the step read");
  if (e.blob_flags[SS_B_OBJ] & SS_BF_FOREIGN)
    return refuse(DigestReasonCode::kForeignNamespace,
                  "reached in another mount namespace (/proc/PID/root, a detached mount): the "
                  "name means another file in stepseal's view");
  // Whether any change after the event must move ctime. A rewrite stamped with the same coarse
  // clock value as the last change keeps size, mtime and ctime. That cannot happen:
  //  - once the ctime has been queried (multigrain timestamps: the kernel then gives the next
  //    change a strictly later time), or
  //  - when the last change lies kStale in the past: the coarse clock would have to have stood
  //    still that long on a CPU that runs processes. It stalls for a tick or a few (idle CPUs,
  //    a preempted VM: up to ~7 ms measured here), not for seconds.
  int64_t event_real = static_cast<int64_t>(e.ts_ns) + offset_;
  r.change_visible = (e.ino.flags & SS_INO_CHANGE_VISIBLE) || event_real - e.ino.ctime_ns > kStale;
  // A version already asked for provably needs no second request; one that could not be
  // proven may be provable at this event.
  std::string key = std::to_string(static_cast<int>(role)) + (r.change_visible ? "v:" : "?:") + path + ':' +
                    std::to_string(e.ino.dev) + ':' + std::to_string(e.ino.ino) + ':' +
                    std::to_string(e.ino.size) + ':' + std::to_string(e.ino.mtime_ns) + ':' +
                    std::to_string(e.ino.ctime_ns);
  lookups_++;
  // the kernel saw a regular file: under /dev too (a tmpfs file, a sterile build's
  // stepseal-seal); hash_path opens nothing else
  const bool hashable = hashable_path(path) ||
                        (under(path, "/dev") && path.find(" (deleted)") == std::string::npos);
  if (hashable && !requested_.insert(std::move(key)).second) {
    repeats_++;
    return;
  }

  if (hashable) {
    digests_->submit(std::move(r));
  } else if (role == DigestRole::kExec && e.kind == Kind::EXEC) {
    // Fileless execution (memfd, a deleted file): the content lives only as long as the
    // process, so hash it now through /proc/PID/exe, checked against the exec's identity.
    r.path = "/proc/" + std::to_string(e.pid) + "/exe";
    int fd = open(r.path.c_str(), O_RDONLY | O_CLOEXEC);
    r.path = path;
    r.trigger = "exec";
    if (fd < 0) {
      HashOutcome o;
      o.reason = "fileless binary gone before it could be hashed";
      auto rec = DigestService::record(r, o);
      rec.fileless = true;
      digests_->emit(rec);
      return;
    }
    auto rec = DigestService::record(r, digests_->digest(r, AT_FDCWD, fd));
    close(fd);
    rec.fileless = true;
    digests_->emit(rec);
  }
}

void DigestPlan::on_event(const Event& e) {
  if (e.failed()) return;
  // names in another mount namespace: the after-digest would hash stepseal's file of that name
  const bool foreign = names_elsewhere(e);
  auto changed = [&](const std::string& p) {
    if (!foreign && !p.empty() && p[0] == '/' && p.find(" (deleted)") == std::string::npos)
      changed_.insert(p);
  };
  switch (e.kind) {
    case Kind::EXEC:
    case Kind::EXEC_INTERP: content(DigestRole::kExec, e.obj, e); break;
    case Kind::OPEN: {
      uint64_t flags = e.args[2];
      if (flags & kOPath) break;
      if (open_uncertain(e)) {
        // the descriptor read at sys_exit was not the file opened: nothing of it is hashed;
        // a write changed whatever the requested name led to
        if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) changed(e.path);
        break;
      }
      // what an open reads is what was there, unless the open itself created or emptied it
      bool emptied = (e.args[4] & kFmodeCreated) || (flags & O_TRUNC);
      if ((flags & O_ACCMODE) != O_WRONLY && !emptied) content(DigestRole::kContent, e.obj, e);
      if ((flags & O_ACCMODE) != O_RDONLY || (e.args[4] & kFmodeCreated) || (flags & O_TRUNC))
        changed(e.obj);
      // an append to content that was there: the after-digest also covers the old length
      if ((flags & O_APPEND) && (flags & O_ACCMODE) != O_RDONLY && !emptied &&
          (e.flags & SS_F_HAS_INO) && S_ISREG(e.ino.mode) && e.ino.size > 0)
        appended_.emplace(e.obj, static_cast<uint64_t>(e.ino.size));
      break;
    }
    case Kind::RENAME:
      changed(e.path2);
      if (e.args[4] & kRenameExchange) changed(e.path);
      break;
    case Kind::LINK:
    case Kind::SYMLINK: changed(e.path2); break;
    case Kind::TRUNCATE: changed(e.obj.empty() ? e.path : e.obj); break;
    case Kind::COPY: changed(e.path2); break;
    case Kind::MMAP_WRITE: changed(e.obj); break;
    default: break;
  }
}

void DigestPlan::finish() {
  digests_->drain();
  for (const auto& p : changed_) {
    if (!hashable_path(p)) continue;
    DigestRequest r;
    r.role = DigestRole::kAfter;
    r.path = p;
    r.follow = false;  // the name the step wrote; a symlink is reported as one
    if (auto a = appended_.find(p); a != appended_.end()) r.prefix_len = a->second;
    digests_->submit(std::move(r));
  }
  digests_->drain();
}

}  // namespace stepseal
