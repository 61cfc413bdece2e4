#include "policy/verdict.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "model/dns.h"
#include "syscalls/denylist.h"
#include "stepseal/harden.h"

namespace stepseal::policy {

namespace {

Violation make(const Event& e, bool blocked, std::string rule, std::string category,
               std::string detail) {
  return {blocked ? "blocked" : "violation", std::move(rule), std::move(category),
          std::move(detail), e.pid, e.ts_ns};
}

std::string result(const Event& e) { return e.failed() ? errno_name(e.err()) : "ok"; }

bool below(std::string_view path, std::string_view dir) {  // within, and not `dir` itself
  return path.size() > dir.size() && path_within(path, dir);
}

// Where a hardened step's unix sockets may be: its workspace, or its private tmpfs directories.
// A path with a "." or ".." component is never one (the kernel guard refuses those too).
bool own_socket_path(std::string_view path, std::string_view ws) {
  for (size_t i = 0; i < path.size();) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view c = path.substr(i, j - i);
    if (c == "." || c == "..") return false;
    i = j + 1;
  }
  for (const char* d : SS_PRIVATE_DIRS)
    if (below(path, d)) return true;
  return below(path, ws);
}

std::optional<Violation> judge_address(const Policy& p, std::string_view ws, const Event& e,
                                       const JudgeState* st) {
  int af = static_cast<int>(e.args[1]);
  SockAddr sa = decode_sockaddr(sent_to(e));
  std::string op(kind_name(e.kind));
  if (af == AF_UNIX) {
    const std::string& a = sa.address;
    if (e.flags & SS_F_DENIED)  // the probes found the listener outside the step, and killed it
      return make(e, true, "unix.outside_workspace", "unix",
                  op + " unix " + a + ": served by a process outside the step; killed");
    const bool own_netns = st && st->own_netns ? *st->own_netns : loopback_only(p);
    bool ok = a.empty() || (a[0] == '@' ? own_netns : own_socket_path(a, ws));
    if (ok) return std::nullopt;
    return make(e, e.failed(), "unix.outside_workspace", "unix",
                op + " unix " + (a.empty() ? "(unnamed)" : a) + ": " + result(e));
  }
  if (af != AF_INET && af != AF_INET6) return std::nullopt;
  if (!sa.port) {
    // a destination the record cannot read: refused by the guard, or sent where nothing can
    // show it was allowed (a failure for another reason sent nothing)
    if (e.failed() && e.err() != EPERM) return std::nullopt;
    // AF_UNSPEC that the kernel does not read as an address: connect() dissolves an
    // association, an IPv6 datagram goes to the connected peer (judged at its connect)
    std::string raw = sent_to(e);
    if (!e.failed() && raw.size() >= 2 && raw[0] == 0 && raw[1] == 0) return std::nullopt;
    return make(e, e.failed(), "network.allow", "network",
                op + " to a destination the record cannot read (" +
                    (sa.family.empty() ? std::string("no address") : sa.family) + "): " + result(e));
  }
  int type = static_cast<int>(e.args[2]) & 0xf;
  Protocol proto = type == SOCK_STREAM ? Protocol::kTcp : Protocol::kUdp;
  if (type != SOCK_STREAM && type != SOCK_DGRAM) return std::nullopt;  // raw: judged at socket()
  if (proto == Protocol::kTcp && *sa.port == 53 && dns_names_enforced(p))
    return make(e, e.failed(), "network.dns.names", "dns",
                op + " tcp " + sa.address + ":53: DNS over tcp is refused while names are "
                "enforced: " + result(e));
  if (network_allowed(p, sa.address, static_cast<uint16_t>(*sa.port), proto)) return std::nullopt;
  if (st) {  // learned from an allowed name's answer (IPv4-mapped IPv6 as IPv4, as the guard)
    std::string a = sa.address;
    if (a.starts_with("::ffff:") && a.find('.') != std::string::npos) a = a.substr(7);
    if (st->learned.count(a)) return std::nullopt;
  }
  std::string dest = sa.address.find(':') != std::string::npos ? "[" + sa.address + "]"
                                                                : sa.address;
  return make(e, e.failed(), "network.allow", "network",
              op + " " + (proto == Protocol::kTcp ? "tcp " : "udp ") + dest + ":" +
                  std::to_string(*sa.port) + ": " + result(e));
}

bool exec_rule_matches(const ExecRule& r, const Process& proc, const ExecPaths& real) {
  if (!r.path.empty()) {
    auto it = real.find(r.path);  // the file the rule's path named when the step started
    const std::string& resolved = it == real.end() ? r.path : it->second;
    if (r.path != proc.exe && r.path != proc.script && resolved != proc.exe &&
        resolved != proc.script)
      return false;
  }
  if (!r.sha256.empty() && r.sha256 != proc.exe_sha256) return false;
  return true;
}

}  // namespace

std::optional<Violation> judge_event(const Policy& p, std::string_view ws, const Event& e,
                                     JudgeState* st) {
  switch (e.kind) {
    case Kind::DNS_LEARNED: {
      auto name = parse_dns_name(e.raw2);
      if (st && name && dns_name_allowed(p, *name)) st->learned.insert(learned_address(e));
      return std::nullopt;
    }
    case Kind::SYSCALL: {
      if (!(e.flags & SS_F_DENIED)) return std::nullopt;
      std::string name = syscalls::syscall_name(e.nr, e.compat());
      if (!e.compat() && e.nr == SYS_setsockopt && e.args[1] == IPPROTO_UDP)
        return make(e, true, "seccomp.deny:setsockopt", "syscall",
                    "UDP_SEGMENT (several datagrams in one send): EPERM");
      if (!e.compat() && e.nr == SYS_ioctl)
        return make(e, true, "seccomp.deny:ioctl", "syscall",
                    "terminal ioctl " + std::to_string(e.args[1]) +
                        " (TIOCSTI, TIOCLINUX or TCXONC reach past the step): EPERM");
      if (!e.compat() && (e.nr == SYS_chmod || e.nr == SYS_fchmod || e.nr == SYS_fchmodat ||
                          e.nr == 452 || e.nr == SYS_open || e.nr == SYS_openat ||
                          e.nr == SYS_creat || e.nr == SYS_mknod || e.nr == SYS_mknodat))
        return make(e, true, "filesystem.setuid", "filesystem",
                    name + " with a setuid or setgid mode: EPERM");
      if (!e.compat() && e.nr == SYS_setsockopt)
        return make(e, true, "network.source_route", "network",
                    std::string(e.args[1] == IPPROTO_IP ? "IP_OPTIONS" : "an IPv6 routing header") +
                        " (source routing would send packets elsewhere than the checked "
                        "address): EPERM");
      if (!e.compat() && e.nr == SYS_mmap)
        return make(e, true, "exec.deny", "exec",
                    "mapped " + e.obj + " for execution (a loader running a denied executable); "
                    "killed before the mapping existed");
      if (!e.compat() && e.nr == SYS_socket && e.args[0] != AF_PACKET &&
          e.args[0] != AF_INET && e.args[0] != AF_INET6 && (e.args[1] & 0xf) != SOCK_PACKET)
        return make(e, true, "socket.family", "socket",
                    family_name(static_cast<int>(e.args[0])) +
                        " socket (a family the network guard does not see): EPERM (seccomp)");
      if (!e.compat() && e.nr == SYS_socket && (e.args[1] & 0xf) == SOCK_DGRAM &&
          (e.args[2] == IPPROTO_ICMP || e.args[2] == IPPROTO_ICMPV6))
        return make(e, true, "socket.icmp", "socket",
                    family_name(static_cast<int>(e.args[0])) +
                        " ICMP (ping) socket: EPERM (seccomp; the network guard does not see "
                        "echo requests)");
      if (!e.compat() && e.nr == SYS_socket)
        return e.args[0] == AF_PACKET || (e.args[1] & 0xf) == SOCK_PACKET
                   ? make(e, true, "socket.packet", "socket", "packet socket: EPERM (seccomp)")
                   : make(e, true, "socket.raw", "socket",
                          family_name(static_cast<int>(e.args[0])) + " raw socket: EPERM (seccomp)");
      if (e.compat())
        return make(e, true, "seccomp.deny:i386", "syscall",
                    "32-bit system call " + std::to_string(e.nr) + " (int 0x80): EPERM");
      if (name.starts_with("x32:"))
        return make(e, true, "seccomp.deny:x32", "syscall", "x32 system call " + name.substr(4) + ": EPERM");
      return make(e, true, "seccomp.deny:" + name, "syscall", name + ": EPERM");
    }
    case Kind::SOCKET: {
      int domain = static_cast<int>(e.args[0]), type = static_cast<int>(e.args[1]) & 0xf;
      if (domain == AF_PACKET || type == SOCK_PACKET)
        return make(e, e.failed(), "socket.packet", "socket", "packet socket: " + result(e));
      int proto = static_cast<int>(e.args[2]);
      if ((domain == AF_INET || domain == AF_INET6) && proto == 0 && e.err() == EPERM &&
          (type == SOCK_SEQPACKET || type == SOCK_DCCP))
        proto = type == SOCK_SEQPACKET ? 132 : 33;  // the kernel's default for the type
      if ((domain == AF_INET || domain == AF_INET6) && (proto == 136 || proto == 132 || proto == 33))
        return make(e, e.failed(), "socket.protocol", "socket",
                    std::string(proto == 136 ? "UDP-Lite" : proto == 132 ? "SCTP" : "DCCP") +
                        " socket: " + result(e));
      if (type == SOCK_RAW && (domain == AF_INET || domain == AF_INET6))  // not netlink's
        return make(e, e.failed(), "socket.raw", "socket",
                    family_name(domain) + " raw socket: " + result(e));
      return std::nullopt;
    }
    case Kind::CONNECT:
    case Kind::SENDTO: return judge_address(p, ws, e, st);
    case Kind::DNS: {
      if (!dns_names_enforced(p)) return std::nullopt;
      bool tcp = static_cast<int>(e.args[2]) == SOCK_STREAM;
      // over tcp the 2-byte length may come in a write of its own: that alone is no query
      if (tcp && e.raw2.size() <= 2) return std::nullopt;
      auto q = parse_dns_query(e.raw2, tcp);
      if (!q && tcp) q = parse_dns_query(e.raw2, false);  // the query after its length
      if (!q)  // over udp the DNS guard drops what it cannot read as a one-question query
        return make(e, !tcp, "network.dns.names", "dns",
                    std::string("a message to port 53 that is not a readable DNS query") +
                        (tcp ? "" : ": dropped by the DNS guard"));
      if (dns_name_allowed(p, q->name)) return std::nullopt;
      // the DNS guard drops such a query over udp (the send fails); tcp is judged only
      if (!tcp)
        return make(e, true, "network.dns.names", "dns",
                    "query " + q->qtype + " " + q->name + ": dropped by the DNS guard");
      return make(e, false, "network.dns.names", "dns", "query " + q->qtype + " " + q->name);
    }
    default: break;
  }
  // Under an exec allowlist the places the step can write are noexec: running what it made
  // there fails with EACCES.
  const bool container = st && st->container;
  if (!container && e.kind == Kind::EXEC_FAIL && e.err() == EACCES && exec_allowlist_enforced(p)) {
    std::string path = e.path.empty() ? e.obj : e.path;
    bool listed = false;
    for (const auto& r : p.exec.allow)
      listed = listed || (!r.path.empty() && expand_path(r.path, ws) == path);
    bool noexec = own_socket_path(path, ws);  // the workspace or a private directory
    for (const auto& w : p.filesystem.writable) {
      std::string d = expand_path(w, ws);
      noexec = noexec || path_within(path, d);
    }
    if (!listed && noexec)
      return make(e, true, "exec.allow", "exec",
                  "exec " + path + ": EACCES (under an exec allowlist what the step can write is "
                  "mounted noexec)");
  }
  // A device the cgroup device guard refused (every device but null, zero, full, random,
  // urandom, tty, ptmx and ptys).
  if (e.kind == Kind::OPEN && e.err() == EPERM) {
    std::string path = e.path.empty() ? e.obj : e.path;
    if (path.starts_with("/dev/") && !path.starts_with("/dev/shm/"))
      return make(e, true, "filesystem.device", "filesystem", "open " + path + ": EPERM");
  }
  // A change the read-only tree refused.
  if (!container && e.err() == EROFS) {
    std::string path = e.path.empty() ? e.obj : e.path;
    return make(e, true, "filesystem.readonly", "filesystem",
                std::string(kind_name(e.kind)) + " " + path + ": EROFS");
  }
  return std::nullopt;
}

std::vector<Violation> judge_process(const Policy& p, const Process& proc, const ExecPaths& real,
                                     const std::vector<ExecRule>& implicit) {
  std::vector<Violation> out;
  auto v = [&](std::string rule, std::string category, std::string detail) {
    out.push_back({"violation", std::move(rule), std::move(category), std::move(detail), proc.pid,
                   proc.exec_ns ? proc.exec_ns : proc.start_ns});
  };
  if (proc.execed) {
    // The kernel kills an exec whose file identity a path rule names (exec_blocked); digest rules
    // and anything it could not resolve are judged here from the recorded path and digest.
    const std::string what = "executed " + proc.exe + " (sha256 " +
                             (proc.exe_sha256.empty() ? "unknown" : proc.exe_sha256) + ")";
    bool denied = false;
    for (const auto& r : p.exec.deny) denied = denied || exec_rule_matches(r, proc, real);
    bool not_allowed = false;
    bool implied = false;
    for (const auto& r : implicit)
      implied = implied || (!r.path.empty() && !r.sha256.empty() && exec_rule_matches(r, proc, {}));
    if (!p.exec.allow.empty() && !implied) {
      not_allowed = true;
      for (const auto& r : p.exec.allow) not_allowed = not_allowed && !exec_rule_matches(r, proc, real);
    }
    // killed in the kernel although no rule matches by path now: name the list that applied
    if (proc.exec_blocked && !denied && !not_allowed) {
      if (p.exec.allow.empty()) denied = true;
      else not_allowed = true;
    }
    if (denied)
      out.push_back({proc.exec_blocked ? "blocked" : "violation", "exec.deny", "exec",
                     what + (proc.exec_blocked ? "; killed before it ran" : ""), proc.pid,
                     proc.exec_ns});
    if (not_allowed)
      out.push_back({proc.exec_blocked ? "blocked" : "violation", "exec.allow", "exec",
                     what + ", which no rule allows" +
                         (proc.exec_blocked ? "; killed before it ran" : ""),
                     proc.pid, proc.exec_ns});
  }
  if (proc.killed_at_step_end)
    v("processes.daemon", "process",
      "pid " + std::to_string(proc.pid) + " (" + proc.exe + ") outlived the step; killed");
  return out;
}

}  // namespace stepseal::policy
