#include "harden/net_guard.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <sys/random.h>

#include "capture/bpf_tracer.h"
#include "harden.skel.h"

namespace stepseal {

namespace {

ss_net_rule make_rule(const policy::Cidr& c, policy::PortRange ports, policy::Protocol proto) {
  ss_net_rule r{};
  r.family = c.addr.v6 ? 6 : 4;
  r.protocol = proto == policy::Protocol::kTcp ? 6 : proto == policy::Protocol::kUdp ? 17 : 0;
  r.port_lo = ports.lo;
  r.port_hi = ports.hi;
  int bits = c.prefix;
  uint8_t addr[16] = {}, mask[16] = {};
  for (int i = 0; i < (c.addr.v6 ? 16 : 4); i++) {
    int b = bits >= 8 ? 8 : bits > 0 ? bits : 0;
    mask[i] = static_cast<uint8_t>(b ? 0xff << (8 - b) : 0);
    addr[i] = c.addr.bytes[i] & mask[i];
    bits -= 8;
  }
  memcpy(r.addr, addr, sizeof addr);
  memcpy(r.mask, mask, sizeof mask);
  return r;
}

}  // namespace

std::vector<ss_net_rule> kernel_net_rules(const policy::Policy& p) {
  std::vector<ss_net_rule> out;
  for (const auto& rule : p.network.allow)
    for (const auto& ports : rule.ports) out.push_back(make_rule(rule.cidr, ports, rule.protocol));
  for (const auto& res : p.network.dns.resolvers)
    out.push_back(make_rule({res, res.v6 ? 128 : 32}, {53, 53}, policy::Protocol::kAny));
  if (p.network.dns.names.size() > 1024)
    throw policy::PolicyError("/network/dns/names: at most 1024 names are supported, got " +
                              std::to_string(p.network.dns.names.size()));
  if (p.network.dns.resolvers.size() > 64)
    throw policy::PolicyError("/network/dns/resolvers: at most 64 resolvers are supported, got " +
                              std::to_string(p.network.dns.resolvers.size()));
  if (out.size() > SS_NET_RULES_MAX)
    throw policy::PolicyError("the policy's network rules expand to " + std::to_string(out.size()) +
                              " (address, port range) entries; at most " +
                              std::to_string(SS_NET_RULES_MAX) + " are supported");
  return out;
}

uint64_t dns_name_hash(const std::string& name, uint64_t b1, uint64_t b2) {
  std::string wire;  // lowercase labels, each after its length, then the root's zero
  size_t i = 0;
  while (i < name.size()) {
    size_t j = name.find('.', i);
    if (j == std::string::npos) j = name.size();
    wire += static_cast<char>(j - i);
    for (size_t k = i; k < j; k++) wire += static_cast<char>(tolower(static_cast<unsigned char>(name[k])));
    i = j + 1;
  }
  wire += '\0';
  uint64_t h1 = 0, h2 = 0;  // backwards, as the kernel side does
  for (size_t k = wire.size(); k-- > 0;) {
    uint64_t c = static_cast<unsigned char>(wire[k]);
    h1 = (c + b1 * h1) % SS_DNS_P1;
    h2 = (c + b2 * h2) % SS_DNS_P2;
  }
  return h1 << 32 | h2;
}

NetGuard::NetGuard(const policy::Policy& p, const std::string& workspace, bool own_netns,
                   int cgroup_fd, const BpfTracer& tracer) {
  std::vector<ss_net_rule> rules = kernel_net_rules(p);
  if (workspace.size() >= SS_WS_MAX)
    throw std::runtime_error("the workspace path is longer than " + std::to_string(SS_WS_MAX - 1) +
                             " bytes, which the unix-socket guard cannot compare");
  skel_ = harden_bpf__open();
  if (!skel_) throw std::runtime_error(std::string("cannot open the network guard: ") + strerror(errno));
  skel_->rodata->nrules = static_cast<uint32_t>(rules.size());
  skel_->rodata->default_allow = p.network.default_allow;
  skel_->rodata->own_netns = own_netns;
  skel_->rodata->ws_len = static_cast<uint32_t>(workspace.size());
  // DNS names: hashed with bases no step can know, so no name can be made to collide on purpose
  uint64_t r[2] = {};
  if (getrandom(r, sizeof r, 0) != sizeof r)
    throw std::runtime_error(std::string("getrandom: ") + strerror(errno));
  const uint64_t b1 = 2 + r[0] % (SS_DNS_P1 - 3), b2 = 2 + r[1] % (SS_DNS_P2 - 3);
  skel_->rodata->dns_b1 = b1;
  skel_->rodata->dns_b2 = b2;
  skel_->rodata->dns_enforce = policy::dns_names_enforced(p);
  memcpy(const_cast<char*>(skel_->rodata->workspace), workspace.data(), workspace.size());
  auto fail = [&](const char* what, int err) {
    harden_bpf__destroy(skel_);
    skel_ = nullptr;
    throw std::runtime_error(std::string(what) + ": " + strerror(err));
  };
  // The unix hooks (kernel 6.7+) by number: the packaged libbpf has no section names for them.
  constexpr int kUnixConnect = 49, kUnixSendmsg = 50;  // BPF_CGROUP_UNIX_CONNECT / _SENDMSG
  bpf_program__set_expected_attach_type(skel_->progs.guard_connect_unix,
                                        static_cast<bpf_attach_type>(kUnixConnect));
  bpf_program__set_expected_attach_type(skel_->progs.guard_sendmsg_unix,
                                        static_cast<bpf_attach_type>(kUnixSendmsg));
  // the DNS guard's learned addresses go into the journal, through the tracer's ring
  if (bpf_map__set_max_entries(skel_->maps.events, static_cast<uint32_t>(tracer.ring_bytes())) ||
      bpf_map__reuse_fd(skel_->maps.events, tracer.events_map_fd()) ||
      bpf_map__reuse_fd(skel_->maps.counters, tracer.counters_map_fd()))
    fail("cannot share the tracer's ring with the DNS guard", errno);
  if (int err = harden_bpf__load(skel_)) fail("cannot load the network guard programs", -err);
  uint8_t one = 1;
  for (const auto& n : p.network.dns.names) {
    bool wild = n.starts_with("*.");
    uint64_t k = dns_name_hash(wild ? n.substr(2) : n, b1, b2);
    uint8_t v = wild ? SS_DNS_SUFFIX : SS_DNS_EXACT, old = 0;
    if (bpf_map__lookup_elem(skel_->maps.dns_names, &k, sizeof k, &old, sizeof old, 0) == 0)
      v |= old;
    if (bpf_map__update_elem(skel_->maps.dns_names, &k, sizeof k, &v, sizeof v, BPF_ANY))
      fail("cannot fill the DNS name table", errno);
  }
  for (const auto& res : p.network.dns.resolvers) {
    ss_addr_key k{};
    k.family = res.v6 ? 6 : 4;
    memcpy(k.addr, res.bytes.data(), res.v6 ? 16 : 4);
    if (bpf_map__update_elem(skel_->maps.dns_resolvers, &k, sizeof k, &one, sizeof one, BPF_ANY))
      fail("cannot fill the resolver table", errno);
  }
  for (uint32_t i = 0; i < rules.size(); i++)
    if (bpf_map__update_elem(skel_->maps.rules, &i, sizeof i, &rules[i], sizeof rules[i], BPF_ANY))
      fail("cannot fill the network rule table", errno);
  bpf_program* progs[] = {skel_->progs.guard_connect4,     skel_->progs.guard_connect6,
                          skel_->progs.guard_sendmsg4,     skel_->progs.guard_sendmsg6,
                          skel_->progs.guard_sock_create,  skel_->progs.guard_connect_unix,
                          skel_->progs.guard_sendmsg_unix, skel_->progs.dns_egress,
                          skel_->progs.dns_ingress,        skel_->progs.guard_dev};
  bpf_link** links[] = {&skel_->links.guard_connect4,    &skel_->links.guard_connect6,
                        &skel_->links.guard_sendmsg4,    &skel_->links.guard_sendmsg6,
                        &skel_->links.guard_sock_create, &skel_->links.guard_connect_unix,
                        &skel_->links.guard_sendmsg_unix, &skel_->links.dns_egress,
                        &skel_->links.dns_ingress,        &skel_->links.guard_dev};
  for (size_t i = 0; i < std::size(progs); i++) {
    *links[i] = bpf_program__attach_cgroup(progs[i], cgroup_fd);
    if (!*links[i]) {
      int err = errno;
      std::string name = bpf_program__name(progs[i]);
      harden_bpf__destroy(skel_);
      skel_ = nullptr;
      throw std::runtime_error("cannot attach " + name + " to the step's cgroup: " + strerror(err));
    }
  }
}

NetGuard::~NetGuard() {
  if (skel_) harden_bpf__destroy(skel_);
}

}  // namespace stepseal
