#include "digest/digest_plan.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace stepseal {

namespace {
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
  std::string key = std::to_string(static_cast<int>(role)) + ':' + path + ':' +
                    std::to_string(e.ino.dev) + ':' + std::to_string(e.ino.ino) + ':' +
                    std::to_string(e.ino.size) + ':' + std::to_string(e.ino.mtime_ns) + ':' +
                    std::to_string(e.ino.ctime_ns);
  lookups_++;
  if (hashable_path(path) && !requested_.insert(std::move(key)).second) {
    repeats_++;
    return;
  }
  // The clock-tick check is needed only when a change after the event could leave ctime as it
  // was; once the ctime has been queried (multigrain), the kernel rules that out.
  r.event_realtime_ns =
      (e.ino.flags & SS_INO_CHANGE_VISIBLE) ? 0 : static_cast<int64_t>(e.ts_ns) + offset_;
  if (hashable_path(path)) {
    digests_->submit(std::move(r));
  } else if (role == DigestRole::kExec) {
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
      rec["fileless"] = true;
      digests_->emit(rec);
      return;
    }
    auto rec = DigestService::record(r, digests_->digest(r, AT_FDCWD, fd));
    close(fd);
    rec["fileless"] = true;
    digests_->emit(rec);
  }
}

void DigestPlan::on_event(const Event& e) {
  if (e.failed()) return;
  auto changed = [&](const std::string& p) {
    if (!p.empty() && p[0] == '/' && p.find(" (deleted)") == std::string::npos) changed_.insert(p);
  };
  switch (e.kind) {
    case Kind::EXEC:
    case Kind::EXEC_INTERP: content(DigestRole::kExec, e.obj, e); break;
    case Kind::OPEN: {
      uint64_t flags = e.args[2];
      if (flags & kOPath) break;
      // what an open reads is what was there, unless the open itself created or emptied it
      bool emptied = (e.args[4] & kFmodeCreated) || (flags & O_TRUNC);
      if ((flags & O_ACCMODE) != O_WRONLY && !emptied) content(DigestRole::kContent, e.obj, e);
      if ((flags & O_ACCMODE) != O_RDONLY || (e.args[4] & kFmodeCreated) || (flags & O_TRUNC))
        changed(e.obj);
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
    digests_->submit(std::move(r));
  }
  digests_->drain();
}

}  // namespace stepseal
