#include "model/model.h"

#include "capture/decoder.h"
#include "model/dns.h"
#include "stepseal/syscall_table.h"
#include "syscalls/denylist.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstring>

namespace stepseal {

namespace {
constexpr uint64_t kFmodeCreated = 1u << 20;  // FMODE_CREATED: this open created the file
constexpr uint64_t kRenameExchange = 2;
constexpr uint64_t kOTmpfile = 020000000;
constexpr uint64_t kOPath = 010000000;
}  // namespace

const char* access_name(int i) {
  static const char* names[kAccessKinds] = {"read",     "exec",        "create",    "write",
                                            "overwrite", "delete",     "rename_from", "rename_to",
                                            "link",     "mmap_write",  "path",
                                            "chmod",    "chown",       "times",
                                            "xattr"};
  return i >= 0 && i < kAccessKinds ? names[i] : "unknown";
}

std::string errno_name(int err) {
  if (err == 0) return "ok";
  const char* n = strerrorname_np(err);
  return n ? n : "E" + std::to_string(err);
}

std::string family_name(int af) {
  switch (af) {
    case AF_INET: return "inet";
    case AF_INET6: return "inet6";
    case AF_UNIX: return "unix";
    case AF_NETLINK: return "netlink";
    case AF_PACKET: return "packet";
    case AF_VSOCK: return "vsock";
    case AF_UNSPEC: return "unspec";
    default: return "af" + std::to_string(af);
  }
}

std::string protocol_name(int af, int type, int protocol) {
  type &= 0xf;  // drop SOCK_NONBLOCK / SOCK_CLOEXEC
  if (af == AF_INET || af == AF_INET6) {
    if (type == SOCK_RAW) return "raw";
    if (protocol == IPPROTO_ICMP || protocol == IPPROTO_ICMPV6) return "icmp";
    if (type == SOCK_STREAM) return protocol == IPPROTO_MPTCP ? "mptcp" : "tcp";
    if (type == SOCK_DGRAM) return protocol == IPPROTO_UDPLITE ? "udplite" : "udp";
  }
  switch (type) {
    case SOCK_STREAM: return "stream";
    case SOCK_DGRAM: return "dgram";
    case SOCK_SEQPACKET: return "seqpacket";
    case SOCK_RAW: return "raw";
    case SOCK_RDM: return "rdm";
    default: return "type" + std::to_string(type);
  }
}

SockAddr decode_sockaddr(const std::string& raw) {
  SockAddr a;
  if (raw.size() < 2) return a;
  sa_family_t fam;
  std::memcpy(&fam, raw.data(), sizeof fam);
  a.family = family_name(fam);
  char buf[INET6_ADDRSTRLEN] = {};
  if (fam == AF_INET && raw.size() >= sizeof(sockaddr_in)) {
    sockaddr_in s;
    std::memcpy(&s, raw.data(), sizeof s);
    inet_ntop(AF_INET, &s.sin_addr, buf, sizeof buf);
    a.address = buf;
    a.port = ntohs(s.sin_port);
  } else if (fam == AF_INET6 && raw.size() >= 24) {
    sockaddr_in6 s{};
    std::memcpy(&s, raw.data(), std::min(raw.size(), sizeof s));
    inet_ntop(AF_INET6, &s.sin6_addr, buf, sizeof buf);
    a.address = buf;
    a.port = ntohs(s.sin6_port);
  } else if (fam == AF_UNIX) {
    std::string_view p(raw.data() + 2, raw.size() - 2);
    if (p.empty()) {
      a.address = "";  // unnamed / autobind
    } else if (p[0] == '\0') {
      a.address = "@" + std::string(p.substr(1));  // abstract: every byte counts
    } else {
      a.address = std::string(p.substr(0, p.find('\0')));
    }
  } else if (fam == AF_NETLINK && raw.size() >= sizeof(sockaddr_nl)) {
    sockaddr_nl s;
    std::memcpy(&s, raw.data(), sizeof s);
    a.address = "pid:" + std::to_string(s.nl_pid) + " groups:" + std::to_string(s.nl_groups);
  } else if (fam == AF_PACKET && raw.size() >= 8) {
    uint16_t proto;
    int32_t ifindex;
    std::memcpy(&proto, raw.data() + 2, 2);
    std::memcpy(&ifindex, raw.data() + 4, 4);
    a.address = "ifindex:" + std::to_string(ifindex) + " proto:" + std::to_string(ntohs(proto));
  } else if (fam == AF_VSOCK && raw.size() >= 12) {
    uint32_t port, cid;
    std::memcpy(&port, raw.data() + 4, 4);
    std::memcpy(&cid, raw.data() + 8, 4);
    a.address = "cid:" + std::to_string(cid);
    a.port = port;
  }
  return a;
}

// The destination a datagram really went to: IPv4 sockets read an AF_UNSPEC sockaddr as AF_INET
// (udp_sendmsg, ping and raw sockets alike), so the record names the address it carried.
std::string sent_to(const Event& e) {
  std::string raw = e.sockaddr;
  const bool sends = e.kind == Kind::SENDTO || e.kind == Kind::DNS;
  if (sends && static_cast<int>(e.args[1]) == AF_INET && raw.size() >= sizeof(sockaddr_in) &&
      raw[0] == 0 && raw[1] == 0) {
    sa_family_t inet = AF_INET;
    std::memcpy(raw.data(), &inet, sizeof inet);
  }
  return raw;
}

Process& Model::proc(uint32_t pid, uint64_t ts) {
  auto it = live_.find(pid);
  if (it != live_.end()) return procs_[it->second];
  // First sight without a fork event (e.g. the record began mid-way): still account for it.
  Process p;
  p.pid = pid;
  p.start_ns = ts;
  procs_.push_back(std::move(p));
  live_[pid] = procs_.size() - 1;
  return procs_.back();
}

void Model::touch(const std::string& path, uint32_t access, const Event& e, bool with_ino) {
  if (path.empty() || path[0] != '/') return;  // pipes, sockets, anonymous inodes
  auto& f = files_[path];
  if (f.path.empty()) f.path = path;
  f.access |= access;
  if (foreign_event_ && (access & ~(kRead | kExec | kPathOnly))) f.foreign = true;
  if ((access & kRenameTo) && e.ts_ns > f.last_rename_to_ns) f.last_rename_to_ns = e.ts_ns;
  f.pids.insert(e.pid);
  constexpr uint32_t kChanges = kCreate | kWrite | kOverwrite | kDelete | kRenameFrom |
                                kRenameTo | kLink | kMmapWrite;
  if ((access & kChanges) && (!f.first_change_ns || e.ts_ns < f.first_change_ns))
    f.first_change_ns = e.ts_ns;
  // content changes (not new names): what a descriptor opened earlier could read, kept by the
  // file's identity (a rename or a link gives it other names), by name when it is unknown
  if (access & (kWrite | kOverwrite | kMmapWrite)) {
    if (with_ino && (e.flags & SS_F_HAS_INO)) {
      std::pair<uint64_t, uint64_t> id{e.ino.dev, e.ino.ino};
      grants_[id].push_back({e.seq, e.ts_ns, (access & kCreate) != 0});
      if (access & kMmapWrite) mapped_.insert(id);
    } else {
      anon_grants_.push_back({e.seq, e.ts_ns});
      if (e.ts_ns > f.last_write_ns) f.last_write_ns = e.ts_ns;
    }
  }
  if (with_ino && (e.flags & SS_F_HAS_INO)) {
    if (!f.first_ino) f.first_ino = e.ino;
    f.last_ino = e.ino;
  }
  if (op_sink_) {
    FileOp op{proc_of(e.pid), e.ts_ns, access, path, 0, {}, std::nullopt};
    if (with_ino && (e.flags & SS_F_HAS_INO)) op.ino = e.ino;
    op_sink_(op);
  }
}

void Model::fail(const std::string& path, std::string_view op, const Event& e) {
  failed_[{path.empty() ? "<unreadable>" : path, std::string(op), e.err()}].insert(e.pid);
  if (op_sink_)
    op_sink_(FileOp{proc_of(e.pid), e.ts_ns, 0, path.empty() ? "<unreadable>" : path,
                    e.err(), std::string(op), std::nullopt});
}

void Model::gap(std::string kind, uint32_t pid, std::string detail) {
  gaps_[{std::move(kind), pid, std::move(detail)}]++;
}

std::vector<FailedOp> Model::failed() const {
  std::vector<FailedOp> out;
  for (const auto& [k, pids] : failed_)
    out.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), pids});
  return out;
}

std::vector<Gap> Model::gaps() const {
  std::vector<Gap> out;
  for (const auto& [k, n] : gaps_) out.push_back({std::get<0>(k), std::get<1>(k), std::get<2>(k), n});
  return out;
}

void Model::apply(const Event& e) {
  events_++;
  if (e.compat()) proc(e.pid, e.ts_ns).compat_syscalls++;
  for (int slot : {SS_B_OBJ, SS_B_DIR1, SS_B_DIR2})
    if ((e.blob_flags[slot] & SS_BF_PATH) && (e.blob_flags[slot] & SS_BF_TRUNC)) {
      truncated_++;
      gap("path_truncated", e.pid, std::string(kind_name(e.kind)) + " " +
                                         (e.obj.empty() ? e.path : e.obj));
      break;
    }
  for (int slot : {SS_B_STR1, SS_B_STR2, SS_B_EXTRA})
    if (e.blob_flags[slot] & (slot == SS_B_EXTRA ? SS_BF_READFAIL : SS_BF_READFAIL | SS_BF_TRUNC)) {
      // the caller's path could not be read whole: this operation's object is unknown
      gap("unreadable_argument", e.pid,
          std::string(kind_name(e.kind)) +
              (e.blob_flags[slot] & SS_BF_TRUNC ? " (cut short" : " (unreadable") + ", " +
              (e.failed() ? errno_name(e.err()) : "succeeded") + ")");
      break;
    }
  foreign_event_ = names_elsewhere(e);
  if (!e.failed() && foreign_event_) {
    // a name in another mount namespace: stepseal cannot read what it names, before or after
    bool changes = e.kind != Kind::EXEC && e.kind != Kind::EXEC_INTERP && e.kind != Kind::CHDIR &&
                   !(e.kind == Kind::OPEN && (e.args[2] & O_ACCMODE) == O_RDONLY &&
                     !(e.args[2] & O_TRUNC));
    if (changes)
      gap("foreign_namespace", e.pid,
          std::string(kind_name(e.kind)) + " of " + (e.obj.empty() ? e.path : e.obj) +
              " in another mount namespace than stepseal reads in: its content after the step "
              "is not recorded");
  }
  switch (e.kind) {
    case Kind::FORK: apply_fork(e); break;
    case Kind::EXEC: apply_exec(e); break;
    case Kind::EXEC_INTERP: {
      Process& p = proc(e.pid, e.ts_ns);
      p.interp = e.obj;
      touch(e.obj, kExec, e, true);
      break;
    }
    case Kind::EXIT: apply_exit(e); break;
    case Kind::OPEN: apply_open(e); break;
    case Kind::SOCKET:
    case Kind::CONNECT:
    case Kind::BIND:
    case Kind::LISTEN:
    case Kind::SENDTO: apply_net(e); break;
    case Kind::SYSCALL: apply_syscall(e); break;
    case Kind::DNS: apply_dns(e); break;
    case Kind::DNS_LEARNED: apply_dns_learned(e); break;
    case Kind::SETATTR: apply_setattr(e); break;
    case Kind::GAP: {
      static const char* what[] = {"", "io_uring_setup", "io_uring_enter", "io_uring_register",
                                   "io_setup", "io_submit", "xfs_handle_ioctl"};
      uint64_t g = e.args[0];
      std::string detail = g < std::size(what) ? what[g] : "gap" + std::to_string(g);
      const char* kind = g == SS_GAP_HANDLE_IOCTL ? "handle_open"
                         : g >= SS_GAP_AIO_SETUP  ? "aio"
                                                  : "io_uring";
      if (g == SS_GAP_HANDLE_IOCTL)
        detail += (e.args[2] & 0xff) == 107
                      ? ": a file opened by handle, with no open system call; writes through it "
                        "move no timestamps"
                      : ": extended attributes set by handle";
      gap(kind, e.pid, detail + (e.failed() ? " (failed: " + errno_name(e.err()) + ")" : ""));
      // a call hardened mode denies: listed with the sensitive calls as well
      apply_syscall_named(e, detail, false);
      break;
    }
    default: apply_file(e); break;
  }
}

void Model::apply_fork(const Event& e) {
  if (e.args[2]) return;  // a thread: same process
  auto child = static_cast<uint32_t>(e.args[0]);
  Process p;
  p.pid = child;
  p.root = e.pid == spawner_;
  p.ppid = p.root ? 0 : e.pid;
  p.start_ns = e.ts_ns;
  if (auto it = live_.find(e.pid); it != live_.end()) {
    // Until it execs, a child runs its parent's image.
    const Process& parent = procs_[it->second];
    p.argv = parent.argv;
    p.exe = parent.exe;
    p.cwd = parent.cwd;
    p.script = parent.script;
    p.exe_ino = parent.exe_ino;
  }
  procs_.push_back(std::move(p));
  live_[child] = procs_.size() - 1;
}

void Model::apply_exec(const Event& e) {
  Process& p = proc(e.pid, e.ts_ns);
  if (p.execed) {
    // A process that execs again: keep one entry per image so every binary is accounted for.
    Process next = p;
    next.start_ns = e.ts_ns;
    procs_.push_back(std::move(next));
    live_[e.pid] = procs_.size() - 1;
  }
  Process& q = procs_[live_[e.pid]];
  q.execed = true;
  q.exec_ns = e.ts_ns;
  q.interp.clear();  // set by the EXEC_INTERP event that follows, for a dynamic binary
  q.exe = e.obj;
  q.exe_ino = e.ino;
  q.exec_blocked = e.flags & SS_F_DENIED;
  q.cwd = e.cwd;
  q.argv = e.argv;
  q.argv_truncated = e.blob_flags[SS_B_EXTRA] & SS_BF_TRUNC;
  // binfmt_script: bprm->interp differs from the filename, and the file run is the interpreter.
  q.script = !e.raw2.empty() && !e.path.empty() ? e.path : std::string();
  touch(q.exe, kExec, e, true);
  if (!q.script.empty()) touch(q.script, kExec, e);
  q.program.clear();
  q.loader_wants = loader_program(q.exe, q.argv);
}

// `ld.so [OPTION...] PROGRAM [ARG...]`: the PROGRAM argument, or "" when EXE is not the dynamic
// loader (glibc's ld-linux*.so*, ld.so) or runs no program (--list, --verify, --help ...).
std::string loader_program(const std::string& exe, const std::vector<std::string>& argv) {
  std::string base = exe.substr(exe.rfind('/') + 1);
  if (!base.starts_with("ld-linux") && !base.starts_with("ld.so") && !base.starts_with("ld64.so"))
    return {};
  static const std::set<std::string> with_value = {
      "--library-path", "--inhibit-rpath", "--audit", "--preload", "--argv0",
      "--glibc-hwcaps-prepend", "--glibc-hwcaps-mask"};
  for (size_t i = 1; i < argv.size(); i++) {
    const std::string& a = argv[i];
    if (with_value.count(a)) {
      i++;
      continue;
    }
    if (a == "--list" || a == "--verify" || a == "--help" || a == "--version" ||
        a == "--list-tunables" || a == "--list-diagnostics")
      return {};
    if (a == "--") continue;
    if (a.starts_with("--")) continue;  // --inhibit-cache and options of newer loaders
    return a;
  }
  return {};
}

void Model::apply_exit(const Event& e) {
  auto it = live_.find(e.pid);
  if (it == live_.end()) return;
  Process& p = procs_[it->second];
  p.wait_status = static_cast<int>(e.ret);
  if (WIFSIGNALED(*p.wait_status) && WCOREDUMP(*p.wait_status))
    gap("kernel_write", e.pid,
        "a core dump of " + (p.exe.empty() ? std::string("a process") : p.exe) +
            ": the kernel wrote it (where core_pattern says) with no system call of the step's");
  p.end_ns = e.ts_ns;
  // The root command's exit ends the step; SIGKILLed exits after it were stepseal's cleanup.
  if (p.root && !step_end_ns_) {
    step_end_ns_ = e.ts_ns;
  } else if (step_end_ns_ && e.ts_ns >= step_end_ns_ && WIFSIGNALED(p.wait_status.value()) &&
      WTERMSIG(p.wait_status.value()) == SIGKILL)
    p.killed_at_step_end = true;
  live_.erase(it);
}

void Model::apply_open(const Event& e) {
  if (e.failed()) {
    fail(e.path.empty() ? "<handle>" : e.path, "open", e);
    return;
  }
  uint64_t flags = e.args[2];
  uint32_t a = 0;
  if (flags & kOPath) {
    a = kPathOnly;
  } else {
    switch (flags & O_ACCMODE) {
      case O_RDONLY: a = kRead; break;
      case O_WRONLY: a = kWrite; break;
      default: a = kRead | kWrite; break;
    }
  }
  if (open_uncertain(e)) {
    // The file in the descriptor is not certainly the one opened: the access is recorded under
    // the name asked for, with no identity, and the record says it is not whole.
    gap("fd_race", e.pid,
        "open of " + (e.path.empty() ? std::string("a file handle") : e.path) +
            ": another thread changed or closed the new descriptor before the probe read it");
    if (flags & O_TRUNC) a |= kWrite;
    if (!(flags & kOPath) && !e.path.empty()) touch(e.path, a, e, false);
    return;
  }
  if (e.obj.starts_with("disconnected:")) {
    // opened by handle, with no directory entry the kernel could name: say so, never a made-up
    // path (the content is not hashed either: there is no name to read it by)
    gap("unresolved_target", e.pid,
        "open of a file by handle that has no path the kernel could name (device " +
            std::to_string(e.ino.dev) + ", inode " + std::to_string(e.ino.ino) + ")");
    if ((flags & O_ACCMODE) != O_RDONLY && (e.flags & SS_F_HAS_INO))
      grants_[{e.ino.dev, e.ino.ino}].push_back({e.seq, e.ts_ns, false});
    return;
  }
  bool created = (e.args[4] & kFmodeCreated) || (flags & kOTmpfile) == kOTmpfile;
  if (created) a |= kCreate;
  // Emptying a file overwrites it only if it held content from before: not one this step made
  auto known = files_.find(e.obj);
  bool step_made = known != files_.end() && (known->second.access & kCreate);
  bool regular = !(e.flags & SS_F_HAS_INO) || S_ISREG(e.ino.mode);
  if ((flags & O_TRUNC) && !created && !step_made && regular && (a & kWrite)) a |= kOverwrite;
  touch(e.obj, a, e, true);
  if ((a & kWrite) && e.obj.starts_with("/proc/")) {
    // another process's memory opened for writing: one the probes do not follow (stepseal's
    // spawner, a process outside the step) could act for the step unseen
    std::string rest = e.obj.substr(6);
    size_t slash = rest.find('/');
    std::string pid = rest.substr(0, slash);
    bool numeric = !pid.empty() && pid.find_first_not_of("0123456789") == std::string::npos;
    if (numeric && slash != std::string::npos && rest.ends_with("/mem")) {
      uint32_t n = static_cast<uint32_t>(std::strtoul(pid.c_str(), nullptr, 10));
      bool ours = false;
      for (const Process& p : procs_) ours = ours || p.pid == n;
      if (!ours)
        gap("tracer_evasion", e.pid,
            "opened " + e.obj + " for writing: the memory of a process the probes do not follow");
    }
  }
  if (auto it = live_.find(e.pid); it != live_.end() && (a & kRead)) {
    Process& p = procs_[it->second];
    if (!p.loader_wants.empty() &&
        (e.path == join_path(p.cwd, p.loader_wants) || e.obj == join_path(p.cwd, p.loader_wants))) {
      p.program = e.obj;  // what ld.so loaded and ran: recorded as executed
      p.loader_wants.clear();
      touch(e.obj, kExec, e, true);
    }
  }
  bool in_place = (a & kWrite) && !(flags & (O_APPEND | O_TRUNC)) && !created;
  if (auto it = files_.find(e.obj); in_place && it != files_.end()) it->second.in_place_write = true;
  bool appends = (a & kWrite) && (flags & O_APPEND) && !(flags & O_TRUNC) && !created && !step_made;
  if (auto it = files_.find(e.obj); appends && it != files_.end()) it->second.append_write = true;
}

// A change of a file's metadata, not of its content: recorded as an access of its own, with the
// mode or owner set, so a layer's changed permissions can be matched to the call that made them.
void Model::apply_setattr(const Event& e) {
  const uint64_t attr = e.args[3];
  const char* op = attr == SS_ATTR_MODE    ? "chmod"
                   : attr == SS_ATTR_OWNER ? "chown"
                   : attr == SS_ATTR_XATTR ? (e.args[5] ? "removexattr" : "setxattr")
                                           : "utimes";
  const std::string& target = e.obj.empty() ? e.path : e.obj;
  if (e.failed()) {
    fail(target, op, e);
    return;
  }
  if (e.flags & SS_F_FD_UNCERTAIN) {
    gap("fd_race", e.pid,
        std::string(op) + ": another thread changed the descriptor during the call");
    return;
  }
  if (target.empty() || target[0] != '/') {
    // a change that happened to a file the probes could not name: never dropped in silence
    gap("unresolved_target", e.pid, std::string(op) + " of a file the probes could not name");
    return;
  }
  constexpr uint32_t kUnchanged = 0xffffffff;
  switch (attr) {
    case SS_ATTR_MODE:
      touch(target, kChmod, e, true);
      if (auto it = files_.find(target); it != files_.end())
        it->second.mode_set = static_cast<uint32_t>(e.args[4]) & 07777;
      break;
    case SS_ATTR_OWNER:
      touch(target, kChown, e, true);
      if (auto it = files_.find(target); it != files_.end()) {
        auto uid = static_cast<uint32_t>(e.args[4]), gid = static_cast<uint32_t>(e.args[5]);
        if (uid != kUnchanged) it->second.uid_set = uid;
        if (gid != kUnchanged) it->second.gid_set = gid;
      }
      break;
    case SS_ATTR_XATTR:
      // security.capability gives a binary capabilities, as a setuid bit does
      touch(target, kXattr, e, true);
      if (auto it = files_.find(target); it != files_.end()) {
        // the last operation on each name: "NAME" set, "-NAME" removed
        const std::string name = e.raw2.empty() ? std::string("(unreadable)") : e.raw2;
        it->second.xattrs_set.erase(e.args[5] ? name : "-" + name);
        it->second.xattrs_set.insert(e.args[5] ? "-" + name : name);
      }
      break;
    default: touch(target, kTimes, e, true); break;
  }
}

void Model::apply_file(const Event& e) {
  const std::string_view op = kind_name(e.kind);
  if (e.failed()) {
    switch (e.kind) {
      case Kind::RENAME:
      case Kind::LINK: {
        // the error names one side: an existing target, or a missing/invalid source
        int err = e.err();
        bool target = err == EEXIST || err == ENOTEMPTY || err == EISDIR;
        fail(target ? e.path2 : e.path, op, e);
        break;
      }
      case Kind::SYMLINK: fail(e.path2, op, e); break;  // the target string is not a file op
      case Kind::EXEC_FAIL:
      case Kind::UNLINK:
      case Kind::MKNOD:
      case Kind::MKDIR:
      case Kind::CHDIR:
      case Kind::TRUNCATE: fail(!e.path.empty() ? e.path : e.obj, op, e); break;
      case Kind::MEMFD: fail("memfd:" + e.raw, op, e); break;
      case Kind::COPY: fail(e.obj.empty() ? e.path2 : e.obj, op, e); break;
      default: break;
    }
    return;
  }
  switch (e.kind) {
    case Kind::RENAME: {
      uint32_t both = kRenameFrom | kRenameTo;
      bool exchange = e.args[4] & kRenameExchange;
      touch(e.path, exchange ? both : kRenameFrom, e);
      touch(e.path2, exchange ? both : kRenameTo, e);
      break;
    }
    case Kind::UNLINK: touch(e.path, kDelete, e); break;
    case Kind::LINK:
    case Kind::SYMLINK: touch(e.path2, kLink, e); break;
    case Kind::TRUNCATE:
      if (e.flags & SS_F_FD_UNCERTAIN) {
        gap("fd_race", e.pid, "ftruncate: another thread changed the descriptor during the call");
        anon_grants_.push_back({e.seq, e.ts_ns, false});
        break;
      }
      touch(e.obj.empty() ? e.path : e.obj, kWrite, e, true);
      break;
    case Kind::MKNOD:
    case Kind::MKDIR: touch(e.path, kCreate, e); break;
    case Kind::MEMFD: touch(e.obj, kCreate, e, true); break;
    case Kind::COPY:
      touch(e.obj, kRead, e);
      if (e.flags & SS_F_FD_UNCERTAIN) {
        gap("fd_race", e.pid, "copy: another thread changed the destination descriptor during the call");
        anon_grants_.push_back({e.seq, e.ts_ns, false});
        break;
      }
      touch(e.path2, kWrite, e, true);
      break;
    case Kind::MMAP_WRITE: touch(e.obj, kMmapWrite, e, true); break;
    default: break;  // CHDIR: the cwd is taken from the kernel at exec; nothing to record
  }
}

void Model::apply_net(const Event& e) {
  NetAttempt n;
  n.pid = e.pid;
  n.op = std::string(kind_name(e.kind));
  n.err = e.err();
  n.ts_ns = e.ts_ns;
  if (e.kind == Kind::SOCKET) {
    n.family = family_name(static_cast<int>(e.args[0]));
    n.protocol = protocol_name(static_cast<int>(e.args[0]), static_cast<int>(e.args[1]),
                               static_cast<int>(e.args[2]));
  } else {
    int af = static_cast<int>(e.args[1]);
    SockAddr sa = decode_sockaddr(sent_to(e));
    n.family = af ? family_name(af) : sa.family;
    n.protocol = af ? protocol_name(af, static_cast<int>(e.args[2]), static_cast<int>(e.args[3]))
                    : std::string();
    n.address = sa.address;
    n.port = sa.port;
    auto key = std::make_tuple(e.pid, static_cast<int>(e.args[0]), 0);
    if (e.kind == Kind::BIND && !e.failed()) bound_[key] = n.address;
    if (e.kind == Kind::LISTEN && n.address.empty()) {
      if (auto it = bound_.find(key); it != bound_.end()) n.address = it->second;
    }
  }
  n.proc = proc_of(n.pid);
  for (auto& prev : net_) {  // fold repeats (a resolver retrying, a poll loop)
    if (prev.proc == n.proc && prev.op == n.op && prev.family == n.family &&
        prev.protocol == n.protocol && prev.address == n.address && prev.port == n.port &&
        prev.err == n.err) {
      prev.count++;
      return;
    }
  }
  net_.push_back(std::move(n));
}

void Model::apply_syscall(const Event& e) {
  const std::string name = syscalls::syscall_name(e.nr, e.compat());
  apply_syscall_named(e, name, e.flags & SS_F_DENIED);
  // Observe mode lets these through; when one succeeds, the probes may no longer see everything
  // (the tracer's maps changed, another process steered or written to, a kernel module), or
  // the kernel writes a file with no system call of the step's.
  if (!e.failed() && !(e.flags & SS_F_DENIED)) {
    // ptrace: an attach to a process that is not the step's (stepseal's spawner, a process
    // outside); the step's own processes stay followed while traced (strace, gdb)
    if (name == "bpf" || name == "process_vm_writev" || name == "init_module" ||
        name == "finit_module" || name == "kexec_load" || name == "kexec_file_load" ||
        name == "fanotify_init" || name == "pidfd_getfd" ||
        (name == "ptrace" && (e.flags & SS_F_OUTSIDE)))
      gap("tracer_evasion", e.pid,
          name + " succeeded: what the step did through it may be missing from the record");
    else if (name == "acct" && e.args[0] != 0)
      gap("kernel_write", e.pid,
          "acct succeeded: the kernel appends a record to a file for every process that ends");
  }
  // a raw or packet socket refused by hardened mode's seccomp filter is a network attempt too
  if (!e.compat() && e.nr == SYS_socket) {
    Event s = e;
    s.kind = Kind::SOCKET;
    apply_net(s);
  }
}

void Model::apply_syscall_named(const Event& e, const std::string& name, bool denied) {
  SyscallRecord c;
  c.pid = e.pid;
  c.name = name;
  c.err = e.err();
  c.denied = denied;
  c.ts_ns = e.ts_ns;
  c.proc = proc_of(c.pid);
  for (auto& prev : syscalls_)
    if (prev.proc == c.proc && prev.name == c.name && prev.err == c.err && prev.denied == c.denied) {
      prev.count++;
      return;
    }
  syscalls_.push_back(std::move(c));
}

void Model::apply_dns(const Event& e) {
  DnsQuery q;
  q.pid = e.pid;
  q.ts_ns = e.ts_ns;
  int af = static_cast<int>(e.args[1]);
  bool tcp = static_cast<int>(e.args[2]) == SOCK_STREAM;
  q.protocol = protocol_name(af, static_cast<int>(e.args[2]), static_cast<int>(e.args[3]));
  q.port = static_cast<uint32_t>(e.args[4]);
  q.server = decode_sockaddr(sent_to(e)).address;
  if (tcp && e.raw2.size() <= 2) return;  // the length prefix of a tcp query, written alone
  auto d = parse_dns_query(e.raw2, tcp);
  if (!d && tcp) d = parse_dns_query(e.raw2, false);  // ... and the query that follows it
  if (d) {
    q.name = d->name;
    q.qtype = d->qtype;
  }
  q.proc = proc_of(q.pid);
  for (auto& prev : dns_)
    if (prev.proc == q.proc && prev.name == q.name && prev.qtype == q.qtype &&
        prev.server == q.server && prev.protocol == q.protocol) {
      prev.count++;
      return;
    }
  dns_.push_back(std::move(q));
}

std::string learned_address(const Event& e) {
  char buf[INET6_ADDRSTRLEN] = {};
  const std::string& a = e.sockaddr;
  if (e.args[0] == 4 && a.size() == 4) inet_ntop(AF_INET, a.data(), buf, sizeof buf);
  else if (e.args[0] == 6 && a.size() == 16) inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
  return buf;
}

void Model::apply_dns_learned(const Event& e) {
  DnsLearned l;
  l.name = parse_dns_name(e.raw2).value_or("");
  l.address = learned_address(e);
  l.qtype = e.args[1] == 28 ? "AAAA" : "A";
  l.ts_ns = e.ts_ns;
  for (const auto& prev : learned_)
    if (prev.name == l.name && prev.address == l.address) return;
  learned_.push_back(std::move(l));
}

// ---- digests ------------------------------------------------------------------------------

void Model::apply_digest(DigestRecord d) {
  if (d.role == DigestRole::kUnknown) return;  // a newer writer's: nothing this model knows
  if (d.role == DigestRole::kExec) exec_digests_.push_back(d);
  // A pre-image is recorded under the kernel's name for the file and under the name the step
  // spelled (through symlinked directories): the events use the latter for name-based calls.
  if (!d.alias.empty() && d.alias != d.path) {
    DigestRecord a = d;
    a.path = d.alias;
    a.alias.clear();
    apply_digest(std::move(a));
  }
  if (d.path.empty() || d.path[0] != '/') return;
  auto it = files_.find(d.path);
  if (it == files_.end()) {
    // a digest can be journaled before the event that names its file: keep it for finish()
    auto& f = files_[d.path];
    f.path = d.path;
    f.digests.push_back(std::move(d));
    return;
  }
  it->second.digests.push_back(std::move(d));
}

namespace {

int severity(DigestStatus status) {
  return status == DigestStatus::kExact ? 0 : status == DigestStatus::kRaced ? 2 : 1;
}

// Folds one digest into a file's status: the worst status wins, its reason is kept.
void fold(DigestSummary* s, const DigestRecord& d, const char* what) {
  if (s->status.empty() || severity(d.status) > severity(status_from_name(s->status))) {
    s->status = status_name(d.status);
    s->reason = d.exact() ? "" : std::string(what) + ": " + d.reason;
  }
}

bool renames(const std::string& call) { return call.rfind("rename", 0) == 0; }

}  // namespace

// A digest the hashing service could not prove at once ("unobserved": the file changed within
// the clock tick before the event) is exact when its no-writer proof holds: no file had write
// access at the event (the probe saw i_writecount <= 0 after taking the event's seq), so a
// change since needed a new grant of write access, and none was granted to that file, nor to a
// file the probes could not identify, after the event's seq and before the hash was verified.
void Model::promote(DigestRecord* d) const {
  if (d->status != DigestStatus::kRaced || d->reason_code != DigestReasonCode::kUnobserved ||
      !d->proof || !d->id)
    return;
  // The proof rests on every grant of write access being an event: a record with a gap may
  // have missed one (io_uring, a handle open, a process the probes lost). (Lost events make a
  // record incomplete too; the summary withdraws its promotions: Model::set_incomplete.)
  if (!gaps_.empty() || incomplete_) return;
  const NoWriterProof& p = *d->proof;
  auto after_event = [&](const Grant& g) {
    // seq order (wrap-safe); an unordered grant (seq 0) counts as after
    return g.seq == 0 || static_cast<int32_t>(g.seq - p.event_seq) > 0;
  };
  auto in_window = [&](const Grant& g) { return after_event(g) && g.ts_ns <= p.verified_ns; };
  // Every grant to the file's number counts, also one to a new file that got the number after
  // this one was gone: inode numbers are not unique on every file system (overlayfs without
  // xino), and a proof must not rest on telling two files of one number apart.
  if (auto it = grants_.find({d->id->dev, d->id->ino}); it != grants_.end())
    for (const Grant& g : it->second)
      if (in_window(g)) return;
  for (const Grant& g : anon_grants_)
    if (in_window(g)) return;
  d->status = DigestStatus::kExact;
  d->sha256 = p.sha256;
  d->reason.clear();
  d->reason_code = DigestReasonCode::kNone;
}

// Writes through an already dirty shared mapping do not stamp the file: no identity check can
// tell the version read from a later one. Kept by identity, so another name of the file (a
// rename, a hard link) is covered too.
bool Model::mapped_shared(const DigestRecord& d, const FileRecord* f) const {
  if (f && (f->access & kMmapWrite)) return true;
  return d.id && mapped_.count({d.id->dev, d.id->ino});
}

// A read through a descriptor opened before a change to the same file may see the new bytes.
bool Model::changed_after(const DigestRecord& d, const FileRecord& f) const {
  if (f.last_write_ns > d.ts_ns) return true;  // a change to whatever file the name held
  if (!d.id) return false;
  auto it = grants_.find({d.id->dev, d.id->ino});
  if (it == grants_.end()) return false;
  uint64_t reborn = UINT64_MAX;  // when the number went to a new file (see Grant)
  for (const Grant& g : it->second)
    if (g.created && g.ts_ns > d.ts_ns) reborn = std::min(reborn, g.ts_ns);
  for (const Grant& g : it->second)
    if (g.ts_ns > d.ts_ns && g.ts_ns < reborn) return true;
  return false;
}

void Model::finish() {
  for (auto& [path, f] : files_)
    for (auto& d : f.digests) promote(&d);
  for (auto& d : exec_digests_) promote(&d);
  for (auto it = files_.begin(); it != files_.end();) {
    FileRecord& f = it->second;
    if (!f.access) {  // only digests named it (e.g. a pre-image of a call that then failed)
      it = files_.erase(it);
      continue;
    }
    DigestSummary& s = f.digest;
    std::sort(f.digests.begin(), f.digests.end(),
              [](const DigestRecord& a, const DigestRecord& b) { return a.ts_ns < b.ts_ns; });
    const DigestRecord* before = nullptr;
    const DigestRecord* removed = nullptr;
    const DigestRecord* after_rec = nullptr;
    for (const auto& d : f.digests) {
      // a device, FIFO or symlink: no content to hash, and not a failure
      if (d.reason_code == DigestReasonCode::kNotRegular ||
          d.reason_code == DigestReasonCode::kSymlink)
        continue;
      if (d.role == DigestRole::kContent || d.role == DigestRole::kExec) {
        DigestRecord checked = d;
        if (checked.exact() && mapped_shared(d, &f)) {
          checked.status = DigestStatus::kRaced;
          checked.reason = "the step mapped the file shared and writable";
        } else if (checked.exact() && d.role == DigestRole::kContent && changed_after(d, f)) {
          // reads through a descriptor opened before a change may see the new bytes
          checked.status = DigestStatus::kRaced;
          checked.reason = "the step changed the file after opening it for reading";
        }
        fold(&s, checked, d.role == DigestRole::kExec ? "exec" : "read");
        if (!checked.exact()) continue;
        if (s.sha256.empty()) s.sha256 = d.sha256;
        if (std::find(s.versions.begin(), s.versions.end(), d.sha256) == s.versions.end())
          s.versions.push_back(d.sha256);
      } else if (d.role == DigestRole::kBefore) {
        // Only the state before the step's first change is a pre-image of the step; later ones
        // are the step's own intermediate versions. A file that did not exist has none.
        if (!before && f.first_change_ns && d.ts_ns <= f.first_change_ns &&
            d.reason_code != DigestReasonCode::kGone)
          before = &d;
        // the last content the name held before the step deleted it or moved it away
        else if (d.exact() && (d.trigger.rfind("unlink", 0) == 0 || renames(d.trigger)))
          removed = &d;
      } else if (d.role == DigestRole::kAfter) {
        if (d.exact()) after_rec = &d;
        bool gone = d.reason_code == DigestReasonCode::kGone && (f.access & (kDelete | kRenameFrom));
        if (!gone) fold(&s, d, "after");
        if (d.exact()) s.after = d.sha256;
      }
    }
    if (s.versions.size() < 2) s.versions.clear();
    if (f.foreign) {
      // changed under a name of another mount namespace: what stepseal read under that name
      // (before, after, at removal) may be another file's
      before = removed = nullptr;
      s.after.clear();
      s.status = "unavailable";
      s.reason = "changed in another mount namespace than stepseal reads in";
    }
    // bound to the file the events last saw under this name: a pre-image is read before the
    // call resolves the name, and another thread may have put another file there meanwhile
    if (removed && f.last_ino && removed->id &&
        (removed->id->dev != f.last_ino->dev || removed->id->ino != f.last_ino->ino))
      removed = nullptr;
    if (removed && f.last_rename_to_ns > removed->ts_ns) removed = nullptr;
    if (removed && s.after.empty() && (f.access & (kDelete | kRenameFrom))) {
      s.removed = removed->sha256;
      if (s.status.empty()) s.status = "exact";
    }
    if (before) {
      fold(&s, *before, "before");
      if (before->exact()) s.before = before->sha256;
      // Content that existed was replaced, not appended to.
      // An O_APPEND descriptor can still rewrite earlier bytes (pwritev2 RWF_NOAPPEND, fallocate
      // punching a hole): only an after-digest whose prefix is the content from before shows
      // that the step only appended.
      bool appended_only = before->exact() && before->id &&
                           (before->id->size == 0 ||
                            (after_rec && after_rec->prefix &&
                             after_rec->prefix->len == static_cast<uint64_t>(before->id->size) &&
                             after_rec->prefix->sha256 == before->sha256));
      if ((f.access & (kWrite | kRenameTo)) &&
          (renames(before->trigger) || before->trigger.find("truncate") != std::string::npos ||
           f.in_place_write || (f.append_write && !appended_only)))
        f.access |= kOverwrite;
    } else if (f.append_write) {
      f.access |= kOverwrite;  // no pre-image: nothing shows the step only appended
    }
    ++it;
  }
  auto same_version = [](const Inode& a, const Inode& b) {
    return a.dev == b.dev && a.ino == b.ino && a.size == b.size && a.mtime_ns == b.mtime_ns &&
           a.ctime_ns == b.ctime_ns;
  };
  for (Process& p : procs_) {
    if (!p.execed) continue;
    const DigestRecord* best = nullptr;
    auto better = [](const DigestRecord* a, const DigestRecord& b) {
      if (!a) return true;
      if (a->exact() != b.exact()) return b.exact();
      return b.ts_ns > a->ts_ns;
    };
    for (const auto& d : exec_digests_) {
      if (d.path != p.exe) continue;
      if (d.id && same_version(*d.id, p.exe_ino) && !d.fileless) {
        best = &d;  // the version this exec ran (one record serves every exec of it)
        break;
      }
      // fileless: recorded for this process at its execveat or at the exec event; an exact
      // record wins over one that came too late
      if (d.fileless && d.pid == p.pid && d.ts_ns <= p.exec_ns && better(best, d)) best = &d;
    }
    if (!best) continue;
    p.exe_digest_status = status_name(best->status);
    p.exe_digest_reason = best->reason;
    p.exe_sha256 = best->exact() ? best->sha256 : "";
    if (auto f = files_.find(p.exe);
        !p.exe_sha256.empty() && mapped_shared(*best, f != files_.end() ? &f->second : nullptr)) {
      p.exe_digest_status = "raced";  // as for its file: see the content rule above
      p.exe_digest_reason = "the step mapped the file shared and writable";
      p.exe_sha256.clear();
    }
    p.fileless = best->fileless;
  }
}

}  // namespace stepseal
