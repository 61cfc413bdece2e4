// policy.cpp - the hardened-mode policy: strict parser, canonical form, queries. See policy.h and
// docs/policy.md. Nothing here enforces the policy.
#include "policy/policy.h"

#include "util/json.h"
#include "util/file_io.h"
#include "util/hex.h"

#include "stepseal/harden.h"

#include <arpa/inet.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>

namespace stepseal::policy {
namespace {

using json = nlohmann::json;
using Keys = std::vector<std::string_view>;

// In the order of <linux/capability.h>: index = capability number.
// clang-format off
const Keys kCapabilities = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"};
// clang-format on
const Keys kProtocols = {"tcp", "udp", "any"};  // indexed by Protocol
constexpr std::string_view kWorkspace = "${WORKSPACE}";

// Optimal string alignment distance: edits and adjacent transpositions ("netwrok") cost 1.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i)
    for (size_t j = 0; j <= b.size(); ++j) {
      if (i == 0 || j == 0) {
        d[i][j] = i + j;
        continue;
      }
      d[i][j] =
          std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1])});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

// The closest option as a "; did you mean" hint, or "" if none is a plausible typo.
std::string did_you_mean(std::string_view word, const Keys& options) {
  std::string_view best;
  size_t best_d = std::max<size_t>(1, word.size() / 4) + 1;
  for (auto o : options)  // a truncated name ("CAP_NET_BIND") counts as one edit
    if (size_t d = word.size() >= 3 && o.starts_with(word) ? 1 : edit_distance(word, o); d < best_d)
      best_d = d, best = o;
  return best.empty() ? "" : "; did you mean \"" + std::string(best) + "\"?";
}

std::string describe(const json& j) {
  if (j.is_object() || j.is_array()) return j.is_object() ? "an object" : "an array";
  std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

bool matches(const std::string& s, const char* pattern) {
  return std::regex_match(s, std::regex(pattern));
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {  // drops empty parts
  std::vector<std::string_view> out;
  for (size_t n; !s.empty(); s.remove_prefix(n == s.npos ? s.size() : n + 1))
    if ((n = s.find(sep)) != 0) out.push_back(s.substr(0, n));
  return out;
}

std::optional<IpAddr> parse_raw(const std::string& text) {
  IpAddr a;
  if (inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) return a;
  a.v6 = true;
  if (inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1) return a;
  return std::nullopt;
}

bool is_mapped(const IpAddr& a) {  // ::ffff:a.b.c.d
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return a.v6 && std::equal(kPrefix, kPrefix + 12, a.bytes.begin());
}

IpAddr unmap(const IpAddr& a) {
  if (!is_mapped(a)) return a;
  IpAddr v4;
  std::copy(a.bytes.begin() + 12, a.bytes.end(), v4.bytes.begin());
  return v4;
}

IpAddr masked(IpAddr a, int prefix) {
  for (int i = 0; i < 16; ++i) a.bytes[i] &= 0xff00 >> std::clamp(prefix - 8 * i, 0, 8);
  return a;
}

std::string format_cidr(const Cidr& c) {
  return format_ip(c.addr) + "/" + std::to_string(c.prefix);
}

bool glob_match(std::string_view pat, std::string_view s) {  // '*' matches any run, even empty
  size_t p = 0, i = 0, star = s.npos, mark = 0;
  while (i < s.size()) {
    if (p < pat.size() && pat[p] == '*')
      star = p++, mark = i;
    else if (p < pat.size() && pat[p] == s[i])
      ++p, ++i;
    else if (star != s.npos)
      p = star + 1, i = ++mark;
    else
      return false;
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

class Parser {
 public:
  explicit Parser(const std::string& source) : src_(source) {}
  Policy parse(const json& root) const;

 private:
  using Ptr = const std::string&;
  [[noreturn]] void expected(Ptr ptr, const std::string& what, const json& got,
                             const std::string& hint = "") const {
    throw PolicyError(src_ + ": " + (ptr.empty() ? "(root)" : ptr) + ": expected " + what +
                      ", got " + describe(got) + hint);
  }
  // Checks that `j` is an object with no key outside `keys`.
  void object(const json& j, Ptr ptr, const Keys& keys) const {
    if (!j.is_object()) expected(ptr, "an object", j);
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (std::find(keys.begin(), keys.end(), it.key()) != keys.end()) continue;
      std::string token;  // RFC 6901 escaping
      for (char c : it.key()) token += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
      std::string msg = src_ + ": unknown key \"" + it.key() + "\" at " + ptr + "/" + token +
                        did_you_mean(it.key(), keys) + " (expected one of:";
      for (auto k : keys) msg += " \"" + std::string(k) + "\"";
      throw PolicyError(msg + ")");
    }
  }
  static const json* opt(const json& obj, const char* key) {
    auto it = obj.find(key);
    return it == obj.end() ? nullptr : &*it;
  }
  std::string str(const json& j, Ptr ptr, const std::string& what,
                  const char* pattern = nullptr) const {
    if (!j.is_string() || (pattern && !matches(j.get<std::string>(), pattern)))
      expected(ptr, what, j);
    return j.get<std::string>();
  }
  // Calls f(element, pointer) for each element of the array at `j`, if present. `nonempty` is
  // what an empty array lacks, if empty arrays are an error.
  void each(const json* j, Ptr ptr, const std::string& what, auto f,
            const char* nonempty = nullptr) const {
    if (!j) return;
    if (!j->is_array()) expected(ptr, "an array of " + what, *j);
    if (nonempty && j->empty()) expected(ptr, nonempty, *j);
    for (size_t i = 0; i < j->size(); ++i) f((*j)[i], ptr + "/" + std::to_string(i));
  }
  static std::optional<int64_t> integer(const json& j, int64_t lo, int64_t hi) {
    if (!j.is_number_integer() || (j.is_number_unsigned() && j.get<uint64_t>() > uint64_t(hi)))
      return std::nullopt;
    int64_t v = j.get<int64_t>();
    return v >= lo && v <= hi ? std::optional(v) : std::nullopt;
  }
  size_t keyword(const json& j, Ptr ptr, const Keys& words) const {
    std::string what;
    for (auto w : words) what += (what.empty() ? "\"" : " or \"") + std::string(w) + "\"";
    auto it = std::find(words.begin(), words.end(), str(j, ptr, what));
    if (it == words.end()) expected(ptr, what, j);
    return it - words.begin();
  }
  Cidr cidr(const json& j, Ptr ptr) const;
  PortRange port(const json& j, Ptr ptr) const;
  std::string path(const json& j, Ptr ptr) const;
  ExecRule exec_rule(const json& j, Ptr ptr) const;

  std::string src_;
};

Cidr Parser::cidr(const json& j, Ptr ptr) const {
  std::string s = str(j, ptr, "an address or CIDR such as \"10.0.0.0/8\" or \"::1/128\"");
  size_t slash = s.find('/');
  auto a = parse_raw(s.substr(0, slash));
  if (!a) expected(ptr, "an address or CIDR such as \"10.0.0.0/8\" or \"::1/128\"", j);
  if (is_mapped(*a)) expected(ptr, "an IPv4 address written as IPv4, not IPv4-mapped IPv6", j);
  Cidr c{*a, a->v6 ? 128 : 32};
  if (slash != s.npos) {
    std::string t = s.substr(slash + 1);
    if (!matches(t, "[0-9]{1,3}") || std::stoi(t) > c.prefix)
      expected(ptr, a->v6 ? "an IPv6 prefix length 0..128" : "an IPv4 prefix length 0..32", j);
    c.prefix = std::stoi(t);
  }
  if (Cidr net{masked(c.addr, c.prefix), c.prefix}; !(net.addr == c.addr))
    expected(ptr, "no address bits set beyond the prefix length", j,
             "; did you mean \"" + format_cidr(net) + "\"?");
  return c;
}

PortRange Parser::port(const json& j, Ptr ptr) const {
  if (j.is_number_integer()) {
    auto v = integer(j, 1, 65535);
    if (!v) expected(ptr, "a port in 1..65535", j);
    return {uint16_t(*v), uint16_t(*v)};
  }
  std::string s = str(j, ptr, "a port number or \"LOW-HIGH\" range", "[0-9]{1,5}-[0-9]{1,5}");
  int lo = std::stoi(s), hi = std::stoi(s.substr(s.find('-') + 1));
  if (lo < 1 || hi < 1 || lo > 65535 || hi > 65535) expected(ptr, "ports in 1..65535", j);
  if (lo > hi) expected(ptr, "a range with LOW <= HIGH", j);
  return {uint16_t(lo), uint16_t(hi)};
}

// An absolute path or ${WORKSPACE}[/...], normalised: no empty components, no trailing '/'.
std::string Parser::path(const json& j, Ptr ptr) const {
  const std::string what = "an absolute path or one starting with ${WORKSPACE}";
  std::string s = str(j, ptr, what), out;
  std::string_view rest = s;
  if (rest.starts_with(kWorkspace)) out = kWorkspace, rest.remove_prefix(kWorkspace.size());
  if ((out.empty() || !rest.empty()) && !rest.starts_with('/')) expected(ptr, what, j);
  if (s.find('\0') != s.npos) expected(ptr, what, j);
  for (auto c : split(rest, '/')) {
    if (c == "." || c == "..") expected(ptr, "a path without \".\" or \"..\" components", j);
    if (c.find("${") != c.npos) expected(ptr, "${WORKSPACE} only at the start of a path", j);
    out += "/" + std::string(c);
  }
  return out.empty() ? "/" : out;
}

ExecRule Parser::exec_rule(const json& j, Ptr ptr) const {
  object(j, ptr, {"path", "sha256"});
  ExecRule r;
  if (auto* p = opt(j, "path")) r.path = path(*p, ptr + "/path");
  if (auto* h = opt(j, "sha256"))
    r.sha256 = str(*h, ptr + "/sha256", "64 lowercase hex digits", "[0-9a-f]{64}");
  if (r.path.empty() && r.sha256.empty())
    expected(ptr, "a rule with \"path\" and/or \"sha256\"", j);
  return r;
}

Policy Parser::parse(const json& root) const {
  Policy p;
  object(root, "",
         {"version", "network", "filesystem", "environment", "exec", "completeness", "privileges"});
  const json* v = opt(root, "version");
  if (!v) expected("/version", "1 (\"version\" is required)", "nothing");
  if (integer(*v, 1, 1) != 1) expected("/version", "1 (the only policy format version)", *v);

  if (const json* n = opt(root, "network")) {
    object(*n, "/network", {"default", "allow", "dns"});
    if (auto* d = opt(*n, "default"))
      p.network.default_allow = keyword(*d, "/network/default", {"deny", "allow"}) == 1;
    each(opt(*n, "allow"), "/network/allow", "rules", [&](const json& j, Ptr ptr) {
      object(j, ptr, {"cidr", "ports", "protocol"});
      NetRule r;
      if (!opt(j, "cidr")) expected(ptr, "a rule with \"cidr\"", j);
      r.cidr = cidr(j["cidr"], ptr + "/cidr");
      if (opt(j, "ports")) r.ports.clear();
      each(
          opt(j, "ports"), ptr + "/ports", "ports",
          [&](const json& pj, Ptr pp) { r.ports.push_back(port(pj, pp)); },
          "at least one port (omit \"ports\" for every port)");
      if (auto* pr = opt(j, "protocol"))
        r.protocol = Protocol(keyword(*pr, ptr + "/protocol", kProtocols));
      p.network.allow.push_back(r);
    });
    if (const json* d = opt(*n, "dns")) {
      object(*d, "/network/dns", {"resolvers", "names"});
      each(opt(*d, "resolvers"), "/network/dns/resolvers", "IP addresses",
           [&](const json& j, Ptr ptr) {
             auto a = j.is_string() ? parse_ip(j.get<std::string>()) : std::nullopt;
             if (!a) expected(ptr, "an IP address such as \"127.0.0.53\"", j);
             p.network.dns.resolvers.push_back(*a);
           });
      each(opt(*d, "names"), "/network/dns/names", "DNS names", [&](const json& j, Ptr ptr) {
        const char* what = "a DNS name such as \"example.internal\" or \"*.corp.internal\"";
        std::string s =
            lower(str(j, ptr, what, R"((\*\.)?([A-Za-z0-9_-]{1,63}\.)*[A-Za-z0-9_-]{1,63})"));
        if (s.size() > 253) expected(ptr, what, j);
        p.network.dns.names.push_back(s);
      });
    }
  }

  if (const json* f = opt(root, "filesystem")) {
    object(*f, "/filesystem", {"writable", "hidden", "readonly_default"});
    for (auto [key, out] :
         {std::pair{"writable", &p.filesystem.writable}, std::pair{"hidden", &p.filesystem.hidden}})
      each(opt(*f, key), "/filesystem/" + std::string(key), "paths",
           [&, out = out](const json& j, Ptr ptr) { out->push_back(path(j, ptr)); });
    if (auto* r = opt(*f, "readonly_default")) {
      if (!r->is_boolean()) expected("/filesystem/readonly_default", "true or false", *r);
      p.filesystem.readonly_default = r->get<bool>();
    }
  }

  if (const json* e = opt(root, "environment")) {
    object(*e, "/environment", {"allow"});
    each(opt(*e, "allow"), "/environment/allow", "names", [&](const json& j, Ptr ptr) {
      p.environment.allow.push_back(
          str(j, ptr, "a variable name or pattern of [A-Za-z0-9_*] such as \"CI_*\"",
              "[A-Za-z0-9_*]+"));
    });
  }

  if (const json* x = opt(root, "exec")) {
    object(*x, "/exec", {"allow", "deny"});
    each(
        opt(*x, "allow"), "/exec/allow", "rules",
        [&](const json& j, Ptr ptr) { p.exec.allow.push_back(exec_rule(j, ptr)); },
        "at least one rule (omit \"allow\" to allow every executable)");
    each(opt(*x, "deny"), "/exec/deny", "rules",
         [&](const json& j, Ptr ptr) { p.exec.deny.push_back(exec_rule(j, ptr)); });
  }

  if (auto* c = opt(root, "completeness"))
    p.completeness = Completeness(keyword(*c, "/completeness", {"fail", "warn"}));

  if (const json* pr = opt(root, "privileges")) {
    object(*pr, "/privileges", {"capabilities", "uid"});
    each(opt(*pr, "capabilities"), "/privileges/capabilities", "names",
         [&](const json& j, Ptr ptr) {
           const std::string what =
               "a capability name from <linux/capability.h> (CAP_CHOWN..CAP_CHECKPOINT_RESTORE)";
           std::string s = str(j, ptr, what);
           if (std::find(kCapabilities.begin(), kCapabilities.end(), s) == kCapabilities.end())
             expected(ptr, what, j, did_you_mean(s, kCapabilities));
           p.privileges.capabilities.push_back(s);
         });
    if (auto* u = opt(*pr, "uid")) {
      auto id = integer(*u, 0, 4294967294);
      if (!id) expected("/privileges/uid", "a uid in 0..4294967294", *u);
      p.privileges.uid = uint32_t(*id);
    }
  }
  return p;
}

}  // namespace

Policy parse_policy(const nlohmann::json& j, const std::string& source) {
  return Parser(source).parse(j);
}

// A policy is a small JSON file: anything larger is a mistake (a device, a build log).
constexpr size_t kMaxPolicyBytes = size_t{1} << 20;

Policy load_policy(const std::string& path) {
  const auto content = util::try_read_file(path, kMaxPolicyBytes);
  if (!content)
    throw PolicyError(path + ": cannot open policy file: " +
                      (errno == EFBIG ? "larger than 1 MiB" : std::strerror(errno)));
  std::string why;
  json j = util::parse_strict_json(*content, &why);
  if (j.is_discarded()) {
    if (why.rfind("not JSON: ", 0) == 0) why = "not valid JSON: " + why.substr(10);
    throw PolicyError(path + ": " + why);
  }
  return parse_policy(j, path);
}

nlohmann::json to_json(const Policy& p) {
  json rules = json::array(), resolvers = json::array(), exec = json::object();
  for (const auto& r : p.network.allow) {
    json ports = json::array();
    for (auto pr : r.ports)
      ports.push_back(pr.lo == pr.hi ? json(pr.lo)
                                     : json(std::to_string(pr.lo) + "-" + std::to_string(pr.hi)));
    rules.push_back({{"cidr", format_cidr(r.cidr)},
                     {"ports", ports},
                     {"protocol", kProtocols[size_t(r.protocol)]}});
  }
  for (const auto& a : p.network.dns.resolvers) resolvers.push_back(format_ip(a));
  for (auto [key, list] : {std::pair{"allow", &p.exec.allow}, std::pair{"deny", &p.exec.deny}}) {
    json a = json::array();
    for (const auto& e : *list) {
      a.push_back(json::object());
      if (!e.path.empty()) a.back()["path"] = e.path;
      if (!e.sha256.empty()) a.back()["sha256"] = e.sha256;
    }
    if (!a.empty() || key == std::string_view("deny")) exec[key] = a;  // no allow: no allowlist
  }
  json priv = {{"capabilities", p.privileges.capabilities}};
  if (p.privileges.uid) priv["uid"] = *p.privileges.uid;
  return {{"version", p.version},
          {"network",
           {{"default", p.network.default_allow ? "allow" : "deny"},
            {"allow", rules},
            {"dns", {{"resolvers", resolvers}, {"names", p.network.dns.names}}}}},
          {"filesystem",
           {{"writable", p.filesystem.writable},
            {"hidden", p.filesystem.hidden},
            {"readonly_default", p.filesystem.readonly_default}}},
          {"environment", {{"allow", p.environment.allow}}},
          {"exec", exec},
          {"completeness", p.completeness == Completeness::kWarn ? "warn" : "fail"},
          {"privileges", priv}};
}

std::string policy_sha256(const Policy& p) {
  return util::sha256_hex(to_json(p).dump());  // compact; nlohmann keeps object keys sorted
}

std::optional<IpAddr> parse_ip(std::string_view text) {
  auto a = parse_raw(std::string(text));
  return a ? std::optional(unmap(*a)) : std::nullopt;
}

std::string format_ip(const IpAddr& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(a.v6 ? AF_INET6 : AF_INET, a.bytes.data(), buf, sizeof buf);
  return buf;
}

bool network_allowed(const Policy& p, const IpAddr& addr, uint16_t port, Protocol proto) {
  if (p.network.default_allow) return true;
  const IpAddr a = unmap(addr);
  for (const auto& r : p.network.allow) {
    if ((r.protocol != Protocol::kAny && r.protocol != proto) || r.cidr.addr.v6 != a.v6 ||
        !(masked(a, r.cidr.prefix) == r.cidr.addr))
      continue;
    for (auto pr : r.ports)
      if (port >= pr.lo && port <= pr.hi) return true;
  }
  const auto& res = p.network.dns.resolvers;  // a named resolver is reachable on port 53
  return port == 53 && std::find(res.begin(), res.end(), a) != res.end();
}

bool network_allowed(const Policy& p, const in_addr& addr, uint16_t port, Protocol proto) {
  IpAddr a;
  std::memcpy(a.bytes.data(), &addr.s_addr, 4);
  return network_allowed(p, a, port, proto);
}

bool network_allowed(const Policy& p, const in6_addr& addr, uint16_t port, Protocol proto) {
  IpAddr a{true, {}};
  std::memcpy(a.bytes.data(), addr.s6_addr, 16);
  return network_allowed(p, a, port, proto);
}

bool network_allowed(const Policy& p, std::string_view addr, uint16_t port, Protocol proto) {
  auto a = parse_ip(addr);
  return a && network_allowed(p, *a, port, proto);
}

bool dns_name_allowed(const Policy& p, std::string_view name) {
  std::string n = lower(std::string(name));
  if (n.ends_with('.')) n.pop_back();  // the root label
  return std::any_of(p.network.dns.names.begin(), p.network.dns.names.end(), [&](auto& pat) {
    return pat.starts_with("*.") ? n.size() >= pat.size() && n.ends_with(pat.substr(1)) : n == pat;
  });
}

bool env_allowed(const Policy& p, std::string_view name) {
  return std::any_of(p.environment.allow.begin(), p.environment.allow.end(),
                     [&](const std::string& pat) { return glob_match(pat, name); });
}

bool path_writable(const Policy& p, std::string_view path, std::string_view workspace) {
  const auto target = split(path, '/');
  auto dots = [](std::string_view c) { return c == "." || c == ".."; };
  if (!path.starts_with('/') || std::any_of(target.begin(), target.end(), dots)) return false;
  auto covers = [&](const std::string& rule) {  // whole components: /tmp covers /tmp/x, not /tmpx
    bool ws = rule.starts_with(kWorkspace);
    if (ws && !workspace.starts_with('/')) return false;
    const std::string full = ws ? std::string(workspace) + rule.substr(kWorkspace.size()) : rule;
    auto prefix = split(full, '/');
    return prefix.size() <= target.size() &&
           std::equal(prefix.begin(), prefix.end(), target.begin());
  };
  const auto& fs = p.filesystem;
  if (std::any_of(fs.hidden.begin(), fs.hidden.end(), covers)) return false;
  return !fs.readonly_default || std::any_of(fs.writable.begin(), fs.writable.end(), covers);
}

bool loopback_only(const Policy& p) {
  auto loopback = [](const IpAddr& a, int prefix) {
    static const std::array<uint8_t, 16> one = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return a.v6 ? prefix == 128 && a.bytes == one : a.bytes[0] == 127 && prefix >= 8;
  };
  if (p.network.default_allow) return false;
  for (const auto& r : p.network.allow)
    if (!loopback(r.cidr.addr, r.cidr.prefix)) return false;
  for (const auto& res : p.network.dns.resolvers)
    if (!loopback(res, res.v6 ? 128 : 32)) return false;
  return true;
}

int capability_number(std::string_view name) {
  auto it = std::find(kCapabilities.begin(), kCapabilities.end(), name);
  return it == kCapabilities.end() ? -1 : static_cast<int>(it - kCapabilities.begin());
}

bool exec_allowlist_enforced(const Policy& p) {
  if (p.exec.allow.empty()) return false;
  for (const auto& r : p.exec.allow)
    if (r.path.empty()) return false;
  return true;
}

bool dns_names_enforced(const Policy& p) {
  return !(p.network.default_allow && p.network.dns.names.empty());
}

bool path_within(std::string_view path, std::string_view dir) {
  if (dir.empty() || !path.starts_with(dir)) return false;
  return path.size() == dir.size() || dir == "/" || path[dir.size()] == '/';
}

bool on_private_dir(std::string_view path) {
  for (const char* d : SS_PRIVATE_DIRS)
    if (path_within(path, d)) return true;
  return false;
}

std::string expand_path(std::string_view rule, std::string_view workspace) {
  if (!rule.starts_with(kWorkspace)) return std::string(rule);
  if (!workspace.starts_with('/')) return {};
  return std::string(workspace) + std::string(rule.substr(kWorkspace.size()));
}

}  // namespace stepseal::policy
