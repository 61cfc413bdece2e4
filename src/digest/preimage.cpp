#include "digest/preimage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "capture/decoder.h"
#include "digest/digest_plan.h"

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1
#endif

namespace stepseal {

namespace {

constexpr uint64_t kAtFdcwd = static_cast<uint64_t>(-100);
constexpr uint64_t kAtEmptyPath = 0x1000;
constexpr uint64_t kAtRemovedir = 0x200;
constexpr uint64_t kRenameNoreplace = 1;

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

int install_preimage_filter() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) return -ENOMEM;
  // The filter only observes: it must not change what the step may do. libseccomp sets
  // no_new_privs by default, which would stop setuid programs in the step; root needs no NNP.
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  // int 0x80 (i386) and x32 calls must not bypass the filter, nor be killed by it
  for (uint32_t arch : {SCMP_ARCH_X86, SCMP_ARCH_X32}) {
    if (rc < 0) break;
    rc = seccomp_arch_add(ctx, arch);
    if (rc == -EEXIST) rc = 0;
  }
  if (rc < 0) {
    seccomp_release(ctx);
    return rc;
  }
  auto notify = [&](const char* name, unsigned n = 0, const scmp_arg_cmp* cmp = nullptr) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) return 0;  // not a call on this architecture
    int r = seccomp_rule_add_array(ctx, SCMP_ACT_NOTIFY, nr, n, cmp);
    return r == -EDOM ? 0 : r;  // not on the other architecture
  };
  // open/openat: only when writing or truncating (flags is arg 1 / arg 2)
  for (auto [name, arg] : {std::pair{"open", 1u}, std::pair{"openat", 2u}})
    for (uint64_t bit : {uint64_t{O_WRONLY}, uint64_t{O_RDWR}, uint64_t{O_TRUNC}}) {
      scmp_arg_cmp c{arg, SCMP_CMP_MASKED_EQ, bit, bit};
      if (rc >= 0) rc = notify(name, 1, &c);
    }
  for (const char* name : {"creat", "openat2", "truncate", "ftruncate", "truncate64",
                           "ftruncate64", "rename", "renameat", "renameat2", "unlink", "unlinkat",
                           "execveat"})
    if (rc >= 0) rc = notify(name);
  if (rc >= 0) rc = seccomp_load(ctx);
  int fd = rc >= 0 ? seccomp_notify_fd(ctx) : rc;
  seccomp_release(ctx);
  return fd;
}

PreimageMonitor::PreimageMonitor(DigestService* digests)
    : wake_fd_(eventfd(0, EFD_CLOEXEC)), digests_(digests) {
  thread_ = std::thread([this] { loop(); });
}

void PreimageMonitor::attach(int notify_fd) {
  // A notified call costs 60-80 us with the default cross-CPU wake-up, 11-12 us with this.
  uint64_t flags = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
  if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, flags) < 0)
    spdlog::debug("seccomp: SYNC_WAKE_UP unavailable: {}", strerror(errno));
  fd_ = notify_fd;
  uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof one) < 0) {
  }
}

PreimageMonitor::~PreimageMonitor() {
  stop_ = true;
  uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof one) < 0) {
  }
  thread_.join();
  close(wake_fd_);
  if (fd_ >= 0) close(fd_);
}

void PreimageMonitor::loop() {
  struct seccomp_notif* req = nullptr;
  struct seccomp_notif_resp* resp = nullptr;
  if (seccomp_notify_alloc(&req, &resp) < 0) {
    spdlog::error("seccomp: cannot allocate notification buffers");
    return;
  }
  bool hung_up = false;
  while (!stop_) {
    pollfd p[2] = {{wake_fd_, POLLIN, 0}, {hung_up ? -1 : fd_.load(), POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[0].revents) {
      uint64_t v;
      if (read(wake_fd_, &v, sizeof v) < 0) {
      }
      continue;  // attached, or asked to stop
    }
    if (p[1].revents & (POLLHUP | POLLERR)) {  // no process holds the filter any more
      hung_up = true;
      continue;
    }
    if (!(p[1].revents & POLLIN)) continue;
    memset(req, 0, sizeof *req);
    if (seccomp_notify_receive(fd_, req) < 0) continue;  // the caller died meanwhile
    notifications_++;
    handle(*req);
    memset(resp, 0, sizeof *resp);
    resp->id = req->id;
    resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    seccomp_notify_respond(fd_, resp);  // ENOENT if the caller was killed: nothing to do
  }
  seccomp_notify_free(req, resp);
}

namespace {

// The system call's string argument, read from the caller's memory. Only trusted after
// seccomp_notify_id_valid() confirms the caller is still stopped in this very call.
std::optional<std::string> read_string(int mem, uint64_t addr) {
  std::string s;
  char buf[256];
  while (s.size() < 4096) {
    ssize_t n = pread(mem, buf, sizeof buf, static_cast<off_t>(addr + s.size()));
    if (n <= 0) return std::nullopt;
    size_t len = strnlen(buf, static_cast<size_t>(n));
    s.append(buf, len);
    if (len < static_cast<size_t>(n)) return s;
  }
  return std::nullopt;
}

std::string readlink_str(const std::string& link) {
  char buf[4096];
  ssize_t n = readlink(link.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

uint32_t tgid_of(uint32_t tid) {
  std::string status = "/proc/" + std::to_string(tid) + "/status";
  if (FILE* f = fopen(status.c_str(), "re")) {
    char line[256];
    while (fgets(line, sizeof line, f))
      if (strncmp(line, "Tgid:", 5) == 0) {
        fclose(f);
        return static_cast<uint32_t>(strtoul(line + 5, nullptr, 10));
      }
    fclose(f);
  }
  return tid;
}

// A file name argument of pid's call: the directory to open it against (a /proc magic link,
// valid even if the caller's cwd was renamed) and its absolute path for the record.
struct Target {
  std::string dir_link;  // /proc/PID/cwd or /proc/PID/fd/N
  std::string rel;
  std::string abs;       // the kernel's name for the object
  std::string lexical;   // the caller's spelling joined to its directory (what events record)
  bool follow = true;
};

// Names that mean "this process" must be read as the caller's, not stepseal's.
std::string in_callers_view(uint32_t pid, const std::string& path) {
  const std::string proc = "/proc/" + std::to_string(pid);
  for (const char* self : {"/proc/self/", "/proc/thread-self/"})
    if (path.rfind(self, 0) == 0) return proc + "/" + path.substr(strlen(self));
  if (path.rfind("/dev/fd/", 0) == 0) return proc + "/fd/" + path.substr(8);
  for (const char* std : {"/dev/stdin", "/dev/stdout", "/dev/stderr"})
    if (path == std) return proc + "/fd/" + (path == "/dev/stdin" ? "0" : path == "/dev/stdout" ? "1" : "2");
  return path;
}

Target target_of(uint32_t pid, uint64_t dirfd, const std::string& given, bool follow) {
  Target t;
  std::string path = in_callers_view(pid, given);
  t.follow = follow;
  t.rel = path;
  std::string base = "/proc/" + std::to_string(pid);
  t.dir_link = dirfd == kAtFdcwd || static_cast<int32_t>(dirfd) == -100
                   ? base + "/cwd"
                   : base + "/fd/" + std::to_string(static_cast<int32_t>(dirfd));
  // An absolute path is resolved from the caller's root: in hardened mode the step has its own
  // mount namespace, where /tmp is not stepseal's /tmp.
  std::string lookup = path;
  std::string lookup_dir = t.dir_link;
  if (!path.empty() && path[0] == '/') {
    lookup_dir = base + "/root";
    lookup = path.find_first_not_of('/') == std::string::npos ? "." : path.substr(path.find_first_not_of('/'));
  }
  t.abs = !path.empty() && path[0] == '/' ? join_path("/", path)
                                          : join_path(readlink_str(t.dir_link), path);
  t.lexical = t.abs;
  // The kernel's own name for the object, as the probes record it: symlinks in the directories
  // (and in the last component, when the call follows it) resolved.
  int dir = open(lookup_dir.c_str(), O_PATH | O_CLOEXEC);
  if (dir >= 0) {
    int o = openat(dir, lookup.empty() ? "." : lookup.c_str(),
                   O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
    if (path.empty()) {
      close(o);
      o = -1;
    }
    if (o >= 0) {
      std::string real = readlink_str("/proc/self/fd/" + std::to_string(o));
      if (!real.empty() && real[0] == '/') t.abs = real;
      close(o);
    }
    close(dir);
  }
  return t;
}

}  // namespace

void PreimageMonitor::handle(const ::seccomp_notif& req) {
  const auto& d = req.data;
  const uint32_t pid = req.pid;  // the calling thread, as seen from stepseal's pid namespace
  constexpr int kX32Bit = 0x40000000;  // __X32_SYSCALL_BIT: x32 calls use the x86_64 arch
  uint32_t arch = d.arch == AUDIT_ARCH_I386 ? SCMP_ARCH_X86
                  : (d.nr & kX32Bit)        ? SCMP_ARCH_X32
                                            : SCMP_ARCH_X86_64;
  char* name_c = seccomp_syscall_resolve_num_arch(arch, d.nr);
  std::string name = name_c ? name_c : "";
  free(name_c);
  int64_t ts = monotonic_ns();

  std::string memp = "/proc/" + std::to_string(pid) + "/mem";
  int mem = open(memp.c_str(), O_RDONLY | O_CLOEXEC);
  if (mem < 0) return;
  auto str = [&](int i) { return read_string(mem, d.args[i]); };
  std::vector<Target> targets;
  bool fileless = false;
  std::optional<std::string> a, b;
  auto arg = [&](int i) { return d.args[i]; };
  constexpr uint64_t kONofollow = 0400000;
  if (name == "open" || name == "creat" || name == "truncate" || name == "truncate64") {
    bool follow = !(name == "open" && (arg(1) & kONofollow));
    if ((a = str(0))) targets.push_back(target_of(pid, kAtFdcwd, *a, follow));
  } else if (name == "openat") {
    if ((a = str(1))) targets.push_back(target_of(pid, arg(0), *a, !(arg(2) & kONofollow)));
  } else if (name == "openat2") {
    // the flags live in struct open_how (the filter cannot see them): only writes matter
    uint64_t how_flags = 0;
    bool writes = pread(mem, &how_flags, sizeof how_flags, static_cast<off_t>(arg(2))) !=
                      sizeof how_flags ||
                  (how_flags & (O_WRONLY | O_RDWR | O_TRUNC));
    if (writes && (a = str(1)))
      targets.push_back(target_of(pid, arg(0), *a, !(how_flags & kONofollow)));
  } else if (name == "ftruncate" || name == "ftruncate64") {
    targets.push_back(target_of(pid, arg(0), "", true));
  } else if (name == "rename") {
    // the target (about to be replaced) and the source (its name about to go: a file the step
    // made and moves away keeps a digest of what it held)
    if ((b = str(1))) targets.push_back(target_of(pid, kAtFdcwd, *b, false));
    if ((a = str(0))) targets.push_back(target_of(pid, kAtFdcwd, *a, false));
  } else if (name == "renameat" || name == "renameat2") {
    uint64_t flags = name == "renameat2" ? arg(4) : 0;
    if (!(flags & kRenameNoreplace) && (b = str(3)))
      targets.push_back(target_of(pid, arg(2), *b, false));
    if ((a = str(1))) targets.push_back(target_of(pid, arg(0), *a, false));
  } else if (name == "unlink") {
    if ((a = str(0))) targets.push_back(target_of(pid, kAtFdcwd, *a, false));
  } else if (name == "unlinkat") {
    if (!(arg(2) & kAtRemovedir) && (a = str(1)))
      targets.push_back(target_of(pid, arg(0), *a, false));
  } else if (name == "execveat") {
    if ((arg(4) & kAtEmptyPath) && (a = str(1)) && a->empty()) {
      // fexecve: the fd's content. Only a file without a name (memfd, deleted) is fileless;
      // a named file's exec is hashed from its EXEC event like any other.
      Target t = target_of(pid, arg(0), "", true);
      if (t.abs.find(" (deleted)") != std::string::npos || t.abs.rfind("/memfd:", 0) == 0) {
        targets.push_back(std::move(t));
        fileless = true;
      }
    }
  }
  close(mem);
  // Everything read from the caller's memory is trusted only if it is still in this call.
  if (seccomp_notify_id_valid(fd_, req.id) < 0) return;
  for (const Target& t : targets) {
    if (!hashable_path(t.abs) && !fileless) continue;  // devices, procfs: no content to keep
    DigestRequest r;
    r.role = fileless ? DigestRole::kExec : DigestRole::kBefore;
    r.path = t.abs;
    r.pid = fileless ? tgid_of(pid) : pid;  // fileless records are matched to a process
    r.ts_ns = static_cast<uint64_t>(ts);
    r.follow = t.follow;
    r.trigger = name;
    if (t.rel.empty()) {  // an fd argument: reopen the caller's file through its magic link
      // located first: a device behind an O_PATH fd must not be opened by stepseal
      struct stat st{};
      if (stat(t.dir_link.c_str(), &st) < 0 || !S_ISREG(st.st_mode)) continue;
      int fd = open(t.dir_link.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
      if (fd < 0) continue;
      digests_->run_on_fd(r, fd);
      close(fd);
    } else {
      int dir = open(t.dir_link.c_str(), O_PATH | O_CLOEXEC);
      if (dir < 0) continue;
      DigestRecord rec = DigestService::record(r, digests_->digest(r, dir));
      if (t.lexical != t.abs) rec.alias = t.lexical;
      digests_->emit(rec);
      close(dir);
    }
  }
}

}  // namespace stepseal
