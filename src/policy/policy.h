// policy.h - the hardened-mode policy (issue 5): data model, strict parser, canonical form, queries.
//
// This is only the policy file and its semantics. Enforcement lives in src/harden (namespaces,
// mounts, seccomp, cgroup programs); judging a record against a policy in verdict.h. See
// docs/policy.md.
//
// The parser is strict: unknown keys, wrong types and bad values throw PolicyError with the source
// name, the JSON pointer of the offending value, what was expected and what was found.
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace stepseal::policy {

class PolicyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Protocol { kTcp, kUdp, kAny };
enum class Completeness { kFail, kWarn };

struct IpAddr {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // network order; IPv4 uses bytes[0..3], the rest stay zero
  bool operator==(const IpAddr&) const = default;
};

struct Cidr {
  IpAddr addr;  // host bits are always zero (the parser rejects others)
  int prefix = 0;
};

struct PortRange {
  uint16_t lo = 1, hi = 65535;  // inclusive; lo <= hi
};

struct NetRule {
  Cidr cidr;
  std::vector<PortRange> ports{PortRange{}};  // omitted in the file: every port
  Protocol protocol = Protocol::kAny;
};

struct DnsPolicy {
  std::vector<IpAddr> resolvers;   // implicitly reachable on port 53, tcp and udp
  std::vector<std::string> names;  // lowercase; "*.x" matches names under x, not x itself
};

struct NetworkPolicy {
  bool default_allow = false;  // "default": "deny" (the default) or "allow"
  std::vector<NetRule> allow;
  DnsPolicy dns;
};

struct FilesystemPolicy {
  // Normalised absolute paths, or "${WORKSPACE}" optionally followed by "/...".
  std::vector<std::string> writable, hidden;
  bool readonly_default = true;
};

struct EnvironmentPolicy {
  std::vector<std::string> allow;  // names or patterns of [A-Za-z0-9_*]; '*' matches any run
};

struct ExecRule {
  std::string path;    // empty if not given
  std::string sha256;  // 64 lowercase hex, empty if not given; a rule with both needs both
};

struct ExecPolicy {
  std::vector<ExecRule> allow;  // empty: no allowlist (every executable not denied may run)
  std::vector<ExecRule> deny;
};

struct Privileges {
  std::vector<std::string> capabilities;  // names from <linux/capability.h>; default: none
  std::optional<uint32_t> uid;            // default: unchanged
};

struct Policy {
  int version = 1;
  NetworkPolicy network;
  FilesystemPolicy filesystem;
  EnvironmentPolicy environment;
  ExecPolicy exec;
  Completeness completeness = Completeness::kFail;
  Privileges privileges;
};

// Reads and parses a policy file. Duplicate keys in an object are rejected too.
Policy load_policy(const std::string& path);
// `source` names the policy in error messages (normally the file name).
Policy parse_policy(const nlohmann::json& j, const std::string& source);

// Canonical form: every key present with defaults filled in, values normalised, accepted again by
// parse_policy. policy_sha256 is the lowercase hex SHA-256 of to_json(p).dump() (compact, keys
// sorted), the digest attestations will carry.
nlohmann::json to_json(const Policy& p);
std::string policy_sha256(const Policy& p);

// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) come back as IPv4.
std::optional<IpAddr> parse_ip(std::string_view text);
std::string format_ip(const IpAddr& a);

// Queries. `proto` is the protocol of the attempt (tcp or udp); an "any" rule matches both.
bool network_allowed(const Policy& p, const IpAddr& addr, uint16_t port, Protocol proto);
bool network_allowed(const Policy& p, const in_addr& addr, uint16_t port, Protocol proto);
bool network_allowed(const Policy& p, const in6_addr& addr, uint16_t port, Protocol proto);
bool network_allowed(const Policy& p, std::string_view addr, uint16_t port, Protocol proto);
bool dns_name_allowed(const Policy& p, std::string_view name);
bool env_allowed(const Policy& p, std::string_view name);
// `path` must be absolute, without "." or ".." components (false otherwise). Matching is by whole
// path components; hidden paths are never writable; ${WORKSPACE} rules need a non-empty absolute
// `workspace`.
bool path_writable(const Policy& p, std::string_view path, std::string_view workspace);
// Whether every destination the policy allows (rules and resolvers) is on loopback, with the
// default "deny". Then hardened mode gives the step its own network namespace with only lo.
bool loopback_only(const Policy& p);
// The number of a capability name the parser accepted (its index in <linux/capability.h>), or -1.
int capability_number(std::string_view name);
// Whether the kernel can enforce the exec allowlist: there is one, and every rule names a path
// (a digest-only rule allows files known only after hashing). Hardened mode then kills any
// other exec and makes what the step can write noexec.
bool exec_allowlist_enforced(const Policy& p);
// Whether DNS names are enforced (the DNS guard is on): always, but for "default": "allow" with
// no names listed.
bool dns_names_enforced(const Policy& p);
// Whether `path` is `dir` or lies below it, by whole components: "/tmp" covers "/tmp/x" but not
// "/tmpx", "/" covers every absolute path, and an empty `dir` covers nothing.
bool path_within(std::string_view path, std::string_view dir);
// Whether `path` is on one of the fresh tmpfs directories every hardened step gets
// (SS_PRIVATE_DIRS in stepseal/harden.h), which hold nothing of the host's.
bool on_private_dir(std::string_view path);
// A policy path with ${WORKSPACE} replaced (empty if it needs a workspace and none is given).
std::string expand_path(std::string_view rule, std::string_view workspace);

}  // namespace stepseal::policy
