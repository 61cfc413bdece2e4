// net_guard.h - hardened mode's network enforcement: loads bpf/harden.bpf.c, fills its rule table
// from the policy and attaches its programs to the step's cgroup. Detached when destroyed.
#pragma once

#include <string>
#include <vector>

#include "policy/policy.h"
#include "stepseal/harden.h"

struct harden_bpf;

namespace stepseal {

// The policy's allow rules and resolvers as the kernel table (one entry per port range).
// Throws policy::PolicyError if they, the DNS names or the resolvers do not fit the kernel's
// tables (SS_NET_RULES_MAX rules, 1024 names, 64 resolvers).
std::vector<ss_net_rule> kernel_net_rules(const policy::Policy& p);

// The DNS guard's keyed hash of a name's wire form (see SS_DNS_* in stepseal/harden.h).
uint64_t dns_name_hash(const std::string& name, uint64_t b1, uint64_t b2);

class BpfTracer;

class NetGuard {
 public:
  // Throws std::runtime_error (load or attach failed). The DNS guard records learned addresses
  // into `tracer`'s ring.
  NetGuard(const policy::Policy& p, const std::string& workspace, bool own_netns, int cgroup_fd,
           const BpfTracer& tracer);
  ~NetGuard();
  NetGuard(const NetGuard&) = delete;
  NetGuard& operator=(const NetGuard&) = delete;

 private:
  harden_bpf* skel_ = nullptr;
};

}  // namespace stepseal
