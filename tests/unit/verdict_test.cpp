// Verdicts (src/policy/verdict.h): synthetic events of a hardened step judged against a policy.
// Events are shaped as stepseal/events.h describes them; sockaddrs are real struct bytes.
#include <arpa/inet.h>
#include <errno.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "capture/event.h"
#include "syscalls/denylist.h"
#include "policy/policy.h"
#include "policy/verdict.h"

namespace stepseal::policy {
namespace {

using nlohmann::json;
using syscalls::denied_calls;

Policy parse(const std::string& text) { return parse_policy(json::parse(text), "test"); }

constexpr uint32_t kPid = 4242;
constexpr uint64_t kTs = 987654321;
const std::string kWs = "/ws";

Event ev(Kind k, int64_t ret) {
  Event e;
  e.kind = k;
  e.pid = e.tid = kPid;
  e.ts_ns = kTs;
  e.ret = ret;
  return e;
}

std::string sin4(const char* ip, uint16_t port) {
  sockaddr_in s{};
  s.sin_family = AF_INET;
  s.sin_port = htons(port);
  EXPECT_EQ(inet_pton(AF_INET, ip, &s.sin_addr), 1) << ip;
  return std::string(reinterpret_cast<const char*>(&s), sizeof s);
}

std::string sin6(const char* ip, uint16_t port) {
  sockaddr_in6 s{};
  s.sin6_family = AF_INET6;
  s.sin6_port = htons(port);
  EXPECT_EQ(inet_pton(AF_INET6, ip, &s.sin6_addr), 1) << ip;
  return std::string(reinterpret_cast<const char*>(&s), sizeof s);
}

// A pathname sockaddr_un as the caller passes it: family, path, terminating NUL (unix(7)).
std::string sun_path(const std::string& path) {
  sockaddr_un s{};
  s.sun_family = AF_UNIX;
  std::memcpy(s.sun_path, path.data(), path.size());
  return std::string(reinterpret_cast<const char*>(&s), offsetof(sockaddr_un, sun_path) +
                                                            path.size() + 1);
}

// An abstract sockaddr_un: sun_path[0] == 0, then the name; addrlen counts exactly the name.
std::string sun_abstract(const std::string& name) {
  sockaddr_un s{};
  s.sun_family = AF_UNIX;
  std::memcpy(s.sun_path + 1, name.data(), name.size());
  return std::string(reinterpret_cast<const char*>(&s), offsetof(sockaddr_un, sun_path) + 1 +
                                                            name.size());
}

// CONNECT/SENDTO: args 0 fd, 1 sk family, 2 sk type, 3 sk protocol; EXTRA the destination.
Event net(Kind k, int family, int type, const std::string& sockaddr, int64_t ret) {
  Event e = ev(k, ret);
  e.args[0] = 5;
  e.args[1] = static_cast<uint64_t>(family);
  e.args[2] = static_cast<uint64_t>(type);
  e.args[3] = family == AF_UNIX ? 0 : type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
  e.sockaddr = sockaddr;
  return e;
}

Event connect_tcp4(const char* ip, uint16_t port, int64_t ret = -EPERM) {
  return net(Kind::CONNECT, AF_INET, SOCK_STREAM, sin4(ip, port), ret);
}
Event sendto_udp4(const char* ip, uint16_t port, int64_t ret = -EPERM) {
  return net(Kind::SENDTO, AF_INET, SOCK_DGRAM, sin4(ip, port), ret);
}
Event connect_unix(const std::string& sockaddr, int64_t ret) {
  return net(Kind::CONNECT, AF_UNIX, SOCK_STREAM, sockaddr, ret);
}

Event socket_ev(int domain, int type, int protocol, int64_t ret) {
  Event e = ev(Kind::SOCKET, ret);
  e.args[0] = static_cast<uint64_t>(domain);
  e.args[1] = static_cast<uint64_t>(type);
  e.args[2] = static_cast<uint64_t>(protocol);
  return e;
}

Event denied_syscall(uint32_t nr, uint16_t extra_flags = 0) {
  Event e = ev(Kind::SYSCALL, -EPERM);
  e.flags = SS_F_DENIED | extra_flags;
  e.nr = nr;
  return e;
}

bool contains(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

// --- DNS message builder (RFC 1035 4.1) ------------------------------------------------------

std::string dns_query(const std::string& dotted, uint16_t qtype = 1) {
  std::string m = {'\x12', '\x34', '\x01', '\x00', '\x00', '\x01', 0, 0, 0, 0, 0, 0};
  size_t start = 0;
  while (start < dotted.size()) {
    size_t dot = dotted.find('.', start);
    if (dot == std::string::npos) dot = dotted.size();
    m += static_cast<char>(dot - start);
    m += dotted.substr(start, dot - start);
    start = dot + 1;
  }
  m += '\0';
  m += static_cast<char>(qtype >> 8);
  m += static_cast<char>(qtype & 0xff);
  m += '\0';  // QCLASS IN
  m += '\x01';
  return m;
}

std::string tcp_framed(const std::string& m) {
  std::string t;
  t += static_cast<char>(m.size() >> 8);
  t += static_cast<char>(m.size() & 0xff);
  return t + m;
}

// DNS: args 0 fd, 1 sk family, 2 sk type, 3 sk protocol, 4 destination port; STR2 the message.
Event dns_ev(const std::string& payload, int type = SOCK_DGRAM) {
  Event e = ev(Kind::DNS, 0);
  e.args[0] = 7;
  e.args[1] = AF_INET;
  e.args[2] = static_cast<uint64_t>(type);
  e.args[3] = type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
  e.args[4] = 53;
  e.raw2 = payload;
  e.sockaddr = sin4("127.0.0.53", 53);
  return e;
}

const char* kNetPolicy = R"({
  "version": 1,
  "network": {
    "allow": [
      {"cidr": "127.0.0.1/32", "ports": [18080]},
      {"cidr": "127.0.0.2/32", "ports": [9000], "protocol": "tcp"},
      {"cidr": "::1/128", "ports": [18080]}
    ],
    "dns": {"resolvers": ["10.0.0.2", "fd00::53"],
            "names": ["allowed.example", "*.corp.internal"]}
  }
})";

// --- SYSCALL ---------------------------------------------------------------------------------

TEST(VerdictSyscall, DeniedPtraceIsBlocked) {
  auto v = judge_event(parse(R"({"version":1})"), kWs, denied_syscall(101));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, "blocked");
  EXPECT_EQ(v->rule, "seccomp.deny:ptrace");
  EXPECT_EQ(v->category, "syscall");
  EXPECT_TRUE(contains(v->detail, "ptrace")) << v->detail;
  EXPECT_EQ(v->pid, kPid);
  EXPECT_EQ(v->ts_ns, kTs);
}

TEST(VerdictSyscall, EveryDenyListEntryNamesItsRule) {
  Policy p = parse(R"({"version":1})");
  for (const auto& d : denied_calls()) {
    auto v = judge_event(p, kWs, denied_syscall(static_cast<uint32_t>(d.nr)));
    ASSERT_TRUE(v) << d.name;
    EXPECT_EQ(v->rule, std::string("seccomp.deny:") + d.name);
    EXPECT_EQ(v->verdict, "blocked");
  }
}

TEST(VerdictSyscall, WithoutTheDeniedFlagNothingIsReported) {
  Event e = denied_syscall(101);
  e.flags = 0;  // observed, not refused by the deny-list
  EXPECT_FALSE(judge_event(parse(R"({"version":1})"), kWs, e));
  e.ret = 0;
  EXPECT_FALSE(judge_event(parse(R"({"version":1})"), kWs, e));
}

TEST(VerdictSyscall, CompatCallsAreOneRule) {
  auto v = judge_event(parse(R"({"version":1})"), kWs, denied_syscall(5, SS_F_COMPAT));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, "blocked");
  EXPECT_EQ(v->rule, "seccomp.deny:i386");
  EXPECT_EQ(v->category, "syscall");
  // i386 101 is ioperm, not ptrace: the x86_64 name must not leak into the rule.
  v = judge_event(parse(R"({"version":1})"), kWs, denied_syscall(101, SS_F_COMPAT));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->rule, "seccomp.deny:i386");
}

// --- SOCKET ----------------------------------------------------------------------------------

TEST(VerdictSocket, PacketSocketRefused) {
  auto v = judge_event(parse(R"({"version":1})"), kWs,
                       socket_ev(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL), -EPERM));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, "blocked");
  EXPECT_EQ(v->rule, "socket.packet");
  EXPECT_EQ(v->category, "socket");
  // Any packet socket, not only SOCK_RAW ones.
  v = judge_event(parse(R"({"version":1})"), kWs, socket_ev(AF_PACKET, SOCK_DGRAM, 0, -EPERM));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->rule, "socket.packet");
}

TEST(VerdictSocket, RawInetSocketRefused) {
  auto v = judge_event(parse(R"({"version":1})"), kWs,
                       socket_ev(AF_INET, SOCK_RAW, IPPROTO_ICMP, -EPERM));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, "blocked");
  EXPECT_EQ(v->rule, "socket.raw");
  EXPECT_EQ(v->category, "socket");
  // socket(2): the type may carry SOCK_NONBLOCK and SOCK_CLOEXEC.
  v = judge_event(parse(R"({"version":1})"), kWs,
                  socket_ev(AF_INET6, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 58, -EPERM));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->rule, "socket.raw");
}

TEST(VerdictSocket, ARawSocketThatWasCreatedIsAViolation) {
  auto v = judge_event(parse(R"({"version":1})"), kWs, socket_ev(AF_INET, SOCK_RAW, 1, 3));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, "violation");
  EXPECT_EQ(v->rule, "socket.raw");
  v = judge_event(parse(R"({"version":1})"), kWs, socket_ev(AF_PACKET, SOCK_RAW, 0, 4));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, "violation");
  EXPECT_EQ(v->rule, "socket.packet");
}

TEST(VerdictSocket, OrdinarySocketsAreFine) {
  Policy p = parse(R"({"version":1})");
  EXPECT_FALSE(judge_event(p, kWs, socket_ev(AF_INET, SOCK_STREAM, 0, 3)));
  EXPECT_FALSE(judge_event(p, kWs, socket_ev(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0, 3)));
  EXPECT_FALSE(judge_event(p, kWs, socket_ev(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, 3)));
  EXPECT_FALSE(judge_event(p, kWs, socket_ev(AF_INET, SOCK_STREAM, 0, -EMFILE)));
}

// --- CONNECT / SENDTO, inet ------------------------------------------------------------------

TEST(VerdictNetwork, RefusedConnectOutsideTheAllowListIsBlocked) {
  Policy p = parse(kNetPolicy);
  auto v = judge_event(p, kWs, connect_tcp4("127.0.0.1", 18081, -EPERM));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, "blocked");
  EXPECT_EQ(v->rule, "network.allow");
  EXPECT_EQ(v->category, "network");
  EXPECT_TRUE(contains(v->detail, "127.0.0.1:18081")) << v->detail;
  EXPECT_EQ(v->pid, kPid);
  EXPECT_EQ(v->ts_ns, kTs);
}

TEST(VerdictNetwork, ConnectOutsideTheAllowListThatSucceededIsAViolation) {
  auto v = judge_event(parse(kNetPolicy), kWs, connect_tcp4("93.184.216.34", 443, 0));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, "violation");
  EXPECT_EQ(v->rule, "network.allow");
  EXPECT_TRUE(contains(v->detail, "93.184.216.34:443")) << v->detail;
  // In progress on a non-blocking socket: the attempt happened.
  v = judge_event(parse(kNetPolicy), kWs, connect_tcp4("93.184.216.34", 443, -EINPROGRESS));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->rule, "network.allow");
}

TEST(VerdictNetwork, AllowedDestinationIsNotReported) {
  Policy p = parse(kNetPolicy);
  EXPECT_FALSE(judge_event(p, kWs, connect_tcp4("127.0.0.1", 18080, 0)));
  EXPECT_FALSE(judge_event(p, kWs, connect_tcp4("127.0.0.1", 18080, -ECONNREFUSED)));
}

TEST(VerdictNetwork, UdpIsJudgedAsUdp) {
  Policy p = parse(kNetPolicy);
  // 127.0.0.1:18080 allows any protocol.
  EXPECT_FALSE(judge_event(p, kWs, sendto_udp4("127.0.0.1", 18080, 12)));
  // 127.0.0.2:9000 is tcp only.
  EXPECT_FALSE(judge_event(p, kWs, connect_tcp4("127.0.0.2", 9000, 0)));
  auto v = judge_event(p, kWs, sendto_udp4("127.0.0.2", 9000, -EPERM));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, "blocked");
  EXPECT_EQ(v->rule, "network.allow");
  EXPECT_TRUE(contains(v->detail, "127.0.0.2:9000")) << v->detail;
  EXPECT_TRUE(contains(v->detail, "udp")) << v->detail;
  // A connected udp socket: connect(2) names the destination too.
  v = judge_event(p, kWs, net(Kind::CONNECT, AF_INET, SOCK_DGRAM, sin4("127.0.0.2", 9000), 0));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, "violation");
  EXPECT_EQ(v->rule, "network.allow");
}

TEST(VerdictNetwork, Ipv6) {
  Policy p = parse(kNetPolicy);
  EXPECT_FALSE(judge_event(p, kWs, net(Kind::CONNECT, AF_INET6, SOCK_STREAM,
                                       sin6("::1", 18080), 0)));
  auto v = judge_event(p, kWs,
                       net(Kind::CONNECT, AF_INET6, SOCK_STREAM, sin6("::1", 18081), -EPERM));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, "blocked");
  EXPECT_EQ(v->rule, "network.allow");
  EXPECT_TRUE(contains(v->detail, "[::1]:18081")) << v->detail;  // RFC 3986 host:port form
  v = judge_event(p, kWs,
                  net(Kind::SENDTO, AF_INET6, SOCK_DGRAM, sin6("2001:db8::1", 443), 10));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, "violation");
  EXPECT_TRUE(contains(v->detail, "2001:db8::1")) << v->detail;
}

TEST(VerdictNetwork, Ipv4MappedIpv6IsJudgedAsIpv4) {
  // policy.h: IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) come back as IPv4.
  Policy p = parse(kNetPolicy);
  EXPECT_FALSE(judge_event(p, kWs, net(Kind::CONNECT, AF_INET6, SOCK_STREAM,
                                       sin6("::ffff:127.0.0.1", 18080), 0)));
  auto v = judge_event(p, kWs, net(Kind::CONNECT, AF_INET6, SOCK_STREAM,
                                   sin6("::ffff:127.0.0.1", 18081), -EPERM));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->rule, "network.allow");
}

// Listed resolvers are reachable on port 53 over udp; while DNS names are enforced (always, but
// for "default": "allow" with no names) DNS over tcp is refused: the guard cannot read streams.
TEST(VerdictNetwork, ListedResolversAreReachableOnPort53OverUdp) {
  Policy p = parse(kNetPolicy);
  EXPECT_FALSE(judge_event(p, kWs, sendto_udp4("10.0.0.2", 53, 30)));
  EXPECT_FALSE(judge_event(p, kWs, net(Kind::SENDTO, AF_INET6, SOCK_DGRAM,
                                       sin6("fd00::53", 53), 30)));
  for (const auto& ev : {connect_tcp4("10.0.0.2", 53, -EPERM),
                         net(Kind::CONNECT, AF_INET6, SOCK_STREAM, sin6("fd00::53", 53), -EPERM)}) {
    auto t = judge_event(p, kWs, ev);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->rule, "network.dns.names");
    EXPECT_EQ(t->verdict, "blocked");
    EXPECT_TRUE(contains(t->detail, "tcp")) << t->detail;
  }
  EXPECT_FALSE(judge_event(parse(R"({"version":1,"network":{"default":"allow"}})"), kWs,
                           connect_tcp4("10.0.0.2", 53, 0)));
  // Only port 53 and only the listed resolvers.
  auto v = judge_event(p, kWs, connect_tcp4("10.0.0.2", 853, -EPERM));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->rule, "network.allow");
  v = judge_event(p, kWs, sendto_udp4("10.0.0.3", 53, -EPERM));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->rule, "network.allow");
  v = judge_event(p, kWs, sendto_udp4("8.8.8.8", 53, 30));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, "violation");
}

TEST(VerdictNetwork, DefaultAllowAllowsEverything) {
  Policy p = parse(R"({"version":1,"network":{"default":"allow"}})");
  EXPECT_FALSE(judge_event(p, kWs, connect_tcp4("93.184.216.34", 443, 0)));
  EXPECT_FALSE(judge_event(p, kWs, sendto_udp4("8.8.8.8", 53, 30)));
  EXPECT_FALSE(judge_event(p, kWs, net(Kind::CONNECT, AF_INET6, SOCK_STREAM,
                                       sin6("2001:db8::1", 22), 0)));
}

TEST(VerdictNetwork, DenyByDefaultWithNoRulesReportsEverything) {
  Policy p = parse(R"({"version":1})");
  auto v = judge_event(p, kWs, connect_tcp4("127.0.0.1", 80, -EPERM));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->rule, "network.allow");
}

// --- CONNECT / SENDTO, unix ------------------------------------------------------------------

TEST(VerdictUnix, SocketInTheWorkspaceIsFine) {
  Policy p = parse(kNetPolicy);
  EXPECT_FALSE(judge_event(p, kWs, connect_unix(sun_path("/ws/build/agent.sock"), 0)));
  EXPECT_FALSE(judge_event(p, kWs, connect_unix(sun_path("/ws/x.sock"), -ECONNREFUSED)));
}

TEST(VerdictUnix, SocketsInThePrivateDirectoriesAreFine) {
  Policy p = parse(kNetPolicy);
  for (const char* path : {"/tmp/x.sock", "/tmp/a/b/c.sock", "/run/user/1000/bus",
                           "/var/run/app.sock", "/dev/shm/s"})
    EXPECT_FALSE(judge_event(p, kWs, connect_unix(sun_path(path), 0))) << path;
}

TEST(VerdictUnix, HostSocketRefusedIsBlocked) {
  Policy p = parse(kNetPolicy);
  auto v = judge_event(p, kWs, connect_unix(sun_path("/var/lib/docker.sock"), -EPERM));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, "blocked");
  EXPECT_EQ(v->rule, "unix.outside_workspace");
  EXPECT_EQ(v->category, "unix");
  EXPECT_TRUE(contains(v->detail, "/var/lib/docker.sock")) << v->detail;
  // Succeeded: a violation.
  v = judge_event(p, kWs, connect_unix(sun_path("/var/lib/docker.sock"), 0));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, "violation");
  // A datagram to the host's syslog.
  v = judge_event(p, kWs, net(Kind::SENDTO, AF_UNIX, SOCK_DGRAM, sun_path("/dev/log"), -EPERM));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->rule, "unix.outside_workspace");
}

TEST(VerdictUnix, PrefixesCountByWholeComponents) {
  Policy p = parse(kNetPolicy);
  for (const char* path : {"/ws-other/x.sock", "/wsx.sock", "/tmpfoo/x.sock", "/runx/y",
                           "/var/runner/z"}) {
    auto v = judge_event(p, kWs, connect_unix(sun_path(path), 0));
    ASSERT_TRUE(v) << path;
    EXPECT_EQ(v->verdict, "violation") << path;
    EXPECT_EQ(v->rule, "unix.outside_workspace") << path;
  }
}

TEST(VerdictUnix, WithoutAWorkspaceOnlyPrivateDirectoriesAreFine) {
  Policy p = parse(kNetPolicy);
  EXPECT_TRUE(judge_event(p, "", connect_unix(sun_path("/ws/x.sock"), 0)));
  EXPECT_FALSE(judge_event(p, "", connect_unix(sun_path("/tmp/x.sock"), 0)));
}

TEST(VerdictUnix, RelativePathCannotBeCheckedAndIsReported) {
  // bpf/harden.bpf.c refuses relative sun_paths: the verdict must say so.
  auto v = judge_event(parse(kNetPolicy), kWs, connect_unix(sun_path("x.sock"), -EPERM));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, "blocked");
  EXPECT_EQ(v->rule, "unix.outside_workspace");
}

TEST(VerdictUnix, DotDotDoesNotStayInsideAnAllowedDirectory) {
  // "/tmp/../var/lib/docker.sock" is /var/lib/docker.sock (path_resolution(7)); "/ws/../x" is /x.
  Policy p = parse(kNetPolicy);
  for (const char* path : {"/tmp/../var/lib/docker.sock", "/ws/../etc/agent.sock"}) {
    auto v = judge_event(p, kWs, connect_unix(sun_path(path), 0));
    EXPECT_TRUE(v) << path << " escapes its directory but is judged inside it";
    if (v) {
      EXPECT_EQ(v->rule, "unix.outside_workspace");
    }
  }
}

TEST(VerdictUnix, UnnamedSocketIsFine) {
  std::string bare(2, '\0');
  sa_family_t fam = AF_UNIX;
  std::memcpy(bare.data(), &fam, sizeof fam);
  EXPECT_FALSE(judge_event(parse(kNetPolicy), kWs, connect_unix(bare, 0)));
}

TEST(VerdictUnix, AbstractSocketsOnlyWithALoopbackOnlyPolicy) {
  // Loopback only: the step has its own network namespace, so abstract names are its own.
  Policy lo = parse(R"({"version":1,"network":{"allow":[{"cidr":"127.0.0.1/32"}],
                        "dns":{"resolvers":["127.0.0.53"]}}})");
  ASSERT_TRUE(loopback_only(lo));
  EXPECT_FALSE(judge_event(lo, kWs, connect_unix(sun_abstract("name"), 0)));
  EXPECT_FALSE(judge_event(parse(R"({"version":1})"), kWs,
                           connect_unix(sun_abstract("name"), 0)));

  // Otherwise the host's network namespace, and its abstract sockets, are shared.
  Policy wide = parse(R"({"version":1,"network":{"allow":[{"cidr":"10.0.0.0/8"}]}})");
  ASSERT_FALSE(loopback_only(wide));
  auto v = judge_event(wide, kWs, connect_unix(sun_abstract("name"), -EPERM));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, "blocked");
  EXPECT_EQ(v->rule, "unix.outside_workspace");
  EXPECT_TRUE(contains(v->detail, "@name")) << v->detail;
  v = judge_event(parse(R"({"version":1,"network":{"default":"allow"}})"), kWs,
                  connect_unix(sun_abstract("/tmp/.X11-unix/X0"), 0));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, "violation");
}

// --- DNS -------------------------------------------------------------------------------------

TEST(VerdictDns, NameNotInThePolicyIsBlocked) {
  auto v = judge_event(parse(kNetPolicy), kWs, dns_ev(dns_query("evil.example")));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, "blocked");  // over udp the DNS guard drops the query as it leaves
  EXPECT_EQ(v->rule, "network.dns.names");
  EXPECT_EQ(v->category, "dns");
  EXPECT_TRUE(contains(v->detail, "evil.example")) << v->detail;
  EXPECT_EQ(v->pid, kPid);
}

TEST(VerdictDns, NamesInThePolicyAreFine) {
  Policy p = parse(kNetPolicy);
  EXPECT_FALSE(judge_event(p, kWs, dns_ev(dns_query("allowed.example"))));
  EXPECT_FALSE(judge_event(p, kWs, dns_ev(dns_query("allowed.example", 28))));
  EXPECT_FALSE(judge_event(p, kWs, dns_ev(dns_query("ALLOWED.Example"))));  // case-insensitive
  EXPECT_FALSE(judge_event(p, kWs, dns_ev(dns_query("a.corp.internal"))));
  EXPECT_FALSE(judge_event(p, kWs, dns_ev(dns_query("a.b.corp.internal"))));
}

TEST(VerdictDns, WildcardDoesNotMatchItsSuffixOrLookalikes) {
  Policy p = parse(kNetPolicy);
  for (const char* name : {"corp.internal", "xcorp.internal", "sub.allowed.example",
                           "allowed.example.evil"}) {
    auto v = judge_event(p, kWs, dns_ev(dns_query(name)));
    ASSERT_TRUE(v) << name;
    EXPECT_EQ(v->rule, "network.dns.names") << name;
    EXPECT_TRUE(contains(v->detail, name)) << v->detail;
  }
}

TEST(VerdictDns, TcpQueriesCarryALengthPrefix) {
  Policy p = parse(kNetPolicy);
  EXPECT_FALSE(judge_event(p, kWs, dns_ev(tcp_framed(dns_query("allowed.example")), SOCK_STREAM)));
  auto v = judge_event(p, kWs, dns_ev(tcp_framed(dns_query("evil.example")), SOCK_STREAM));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->rule, "network.dns.names");
  EXPECT_TRUE(contains(v->detail, "evil.example")) << v->detail;
}

TEST(VerdictDns, UnreadablePayloadIsBlocked) {
  Policy p = parse(kNetPolicy);
  for (const std::string& payload : {std::string("hello, port 53"), std::string(),
                                     dns_query("allowed.example").substr(0, 20)}) {
    auto v = judge_event(p, kWs, dns_ev(payload));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->verdict, "blocked");  // udp: the guard drops what it cannot read
    EXPECT_EQ(v->rule, "network.dns.names");
    EXPECT_EQ(v->category, "dns");
  }
  // A response sent to port 53 is not a query either (QR set in byte 2).
  std::string response = dns_query("allowed.example");
  response[2] = static_cast<char>(response[2] | 0x80);
  auto v = judge_event(p, kWs, dns_ev(response));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->rule, "network.dns.names");
}

TEST(VerdictDns, NoNamesAllowsNoQuery) {
  auto v = judge_event(parse(R"({"version":1})"), kWs, dns_ev(dns_query("allowed.example")));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->rule, "network.dns.names");
}

// --- files -----------------------------------------------------------------------------------

TEST(VerdictFiles, ReadOnlyRefusalIsBlocked) {
  Policy p = parse(R"({"version":1})");
  Event e = ev(Kind::OPEN, -EROFS);
  e.path = "/etc/x";
  auto v = judge_event(p, kWs, e);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, "blocked");
  EXPECT_EQ(v->rule, "filesystem.readonly");
  EXPECT_EQ(v->category, "filesystem");
  EXPECT_TRUE(contains(v->detail, "/etc/x")) << v->detail;
  EXPECT_EQ(v->pid, kPid);
  EXPECT_EQ(v->ts_ns, kTs);
}

TEST(VerdictFiles, EveryChangingKindCounts) {
  Policy p = parse(R"({"version":1})");
  for (Kind k : {Kind::UNLINK, Kind::RENAME, Kind::MKDIR, Kind::LINK, Kind::SYMLINK,
                 Kind::MKNOD, Kind::TRUNCATE}) {
    Event e = ev(k, -EROFS);
    e.path = "/usr/lib/y";
    auto v = judge_event(p, kWs, e);
    ASSERT_TRUE(v) << kind_name(k);
    EXPECT_EQ(v->rule, "filesystem.readonly") << kind_name(k);
    EXPECT_TRUE(contains(v->detail, "/usr/lib/y")) << v->detail;
  }
}

TEST(VerdictFiles, FdCallsNameTheObject) {
  Event e = ev(Kind::TRUNCATE, -EROFS);  // ftruncate: OBJ, no path argument
  e.obj = "/usr/share/z";
  auto v = judge_event(parse(R"({"version":1})"), kWs, e);
  ASSERT_TRUE(v);
  EXPECT_TRUE(contains(v->detail, "/usr/share/z")) << v->detail;
}

TEST(VerdictFiles, OtherFailuresAndSuccessesAreNotReported) {
  Policy p = parse(R"({"version":1})");
  for (int64_t ret : {int64_t{-ENOENT}, int64_t{-EACCES}, int64_t{-EPERM}, int64_t{3},
                      int64_t{0}}) {
    Event e = ev(Kind::OPEN, ret);
    e.path = "/etc/x";
    EXPECT_FALSE(judge_event(p, kWs, e)) << ret;
  }
}

// --- processes -------------------------------------------------------------------------------

Process execed(const std::string& exe, const std::string& sha = std::string(64, 'a')) {
  Process pr;
  pr.pid = 77;
  pr.start_ns = 100;
  pr.exec_ns = 200;
  pr.execed = true;
  pr.exe = exe;
  pr.exe_sha256 = sha;
  return pr;
}

TEST(VerdictProcess, ExecDenyByPath) {
  Policy p = parse(R"({"version":1,"exec":{"deny":[{"path":"/usr/bin/curl"}]}})");
  auto out = judge_process(p, execed("/usr/bin/curl"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].verdict, "violation");
  EXPECT_EQ(out[0].rule, "exec.deny");
  EXPECT_EQ(out[0].category, "exec");
  EXPECT_TRUE(contains(out[0].detail, "/usr/bin/curl")) << out[0].detail;
  EXPECT_EQ(out[0].pid, 77u);
  EXPECT_TRUE(judge_process(p, execed("/usr/bin/wget")).empty());
  EXPECT_TRUE(judge_process(p, execed("/usr/bin/curl2")).empty());
}

TEST(VerdictProcess, NotExecedIsNotJudgedByExecRules) {
  Policy p = parse(R"({"version":1,"exec":{"deny":[{"path":"/usr/bin/curl"}],
                       "allow":[{"path":"/usr/bin/make"}]}})");
  Process pr = execed("/usr/bin/curl");
  pr.execed = false;  // a fork that never ran anything of its own
  EXPECT_TRUE(judge_process(p, pr).empty());
}

TEST(VerdictProcess, ExecDenyBySha256) {
  std::string sha = "ab" + std::string(62, '0');
  Policy p = parse(R"({"version":1,"exec":{"deny":[{"sha256":")" + sha + R"("}]}})");
  auto out = judge_process(p, execed("/home/u/renamed-curl", sha));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].rule, "exec.deny");
  EXPECT_TRUE(judge_process(p, execed("/home/u/renamed-curl", std::string(64, 'f'))).empty());
}

TEST(VerdictProcess, ExecRuleWithPathAndSha256NeedsBoth) {
  std::string sha = "cd" + std::string(62, '0');
  Policy p = parse(R"({"version":1,"exec":{"deny":[{"path":"/usr/bin/curl","sha256":")" + sha +
                   R"("}]}})");
  EXPECT_EQ(judge_process(p, execed("/usr/bin/curl", sha)).size(), 1u);
  EXPECT_TRUE(judge_process(p, execed("/usr/bin/curl", std::string(64, 'e'))).empty());
  EXPECT_TRUE(judge_process(p, execed("/usr/bin/wget", sha)).empty());
}

TEST(VerdictProcess, ExecAllowList) {
  std::string sha = "ef" + std::string(62, '0');
  Policy p = parse(R"({"version":1,"exec":{"allow":[{"path":"/usr/bin/make"},{"sha256":")" +
                   sha + R"("}]}})");
  auto out = judge_process(p, execed("/usr/bin/gcc"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].verdict, "violation");
  EXPECT_EQ(out[0].rule, "exec.allow");
  EXPECT_EQ(out[0].category, "exec");
  EXPECT_TRUE(contains(out[0].detail, "/usr/bin/gcc")) << out[0].detail;
  EXPECT_TRUE(judge_process(p, execed("/usr/bin/make")).empty());
  EXPECT_TRUE(judge_process(p, execed("/opt/anything", sha)).empty());
}

TEST(VerdictProcess, NoAllowListMeansEverythingNotDeniedRuns) {
  Policy p = parse(R"({"version":1})");
  EXPECT_TRUE(judge_process(p, execed("/usr/bin/gcc")).empty());
}

TEST(VerdictProcess, DaemonKilledAtStepEnd) {
  Policy p = parse(R"({"version":1})");
  Process pr = execed("/usr/sbin/sshd");
  pr.killed_at_step_end = true;
  auto out = judge_process(p, pr);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].verdict, "violation");
  EXPECT_EQ(out[0].rule, "processes.daemon");
  EXPECT_EQ(out[0].category, "process");
  EXPECT_EQ(out[0].pid, 77u);
  pr.killed_at_step_end = false;
  EXPECT_TRUE(judge_process(p, pr).empty());
}

TEST(VerdictProcess, DeniedDaemonGetsBothVerdicts) {
  Policy p = parse(R"({"version":1,"exec":{"deny":[{"path":"/usr/sbin/sshd"}]}})");
  Process pr = execed("/usr/sbin/sshd");
  pr.killed_at_step_end = true;
  auto out = judge_process(p, pr);
  ASSERT_EQ(out.size(), 2u);
  std::vector<std::string> rules = {out[0].rule, out[1].rule};
  EXPECT_NE(std::find(rules.begin(), rules.end(), "exec.deny"), rules.end());
  EXPECT_NE(std::find(rules.begin(), rules.end(), "processes.daemon"), rules.end());
}

}  // namespace
}  // namespace stepseal::policy
