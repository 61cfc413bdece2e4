// Policy helpers (src/policy/policy.h) that hardened mode builds on: loopback_only,
// capability_number and expand_path. Expectations come from docs/policy.md and the kernel headers.
#include <gtest/gtest.h>
#include <linux/capability.h>

#include <string>

#include "policy/policy.h"

namespace stepseal::policy {
namespace {

using nlohmann::json;

Policy parse(const std::string& text) { return parse_policy(json::parse(text), "test"); }

TEST(PolicyLoopbackOnly, LoopbackRulesAndResolvers) {
  EXPECT_TRUE(loopback_only(parse(R"({"version":1,"network":{
      "allow":[{"cidr":"127.0.0.1/32","ports":[8080]},{"cidr":"::1/128"}],
      "dns":{"resolvers":["127.0.0.53"]}}})")));
  EXPECT_TRUE(loopback_only(parse(R"({"version":1,"network":{"allow":[{"cidr":"127.0.0.0/8"}]}})")));
  EXPECT_TRUE(loopback_only(parse(R"({"version":1,"network":{"dns":{"resolvers":["::1"]}}})")));
  EXPECT_TRUE(loopback_only(parse(R"({"version":1})")));  // nothing allowed at all
}

TEST(PolicyLoopbackOnly, AnythingElseIsNot) {
  EXPECT_FALSE(loopback_only(parse(R"({"version":1,"network":{
      "allow":[{"cidr":"127.0.0.1/32"},{"cidr":"10.0.0.0/8"}]}})")));
  EXPECT_FALSE(loopback_only(parse(R"({"version":1,"network":{"default":"allow"}})")));
  EXPECT_FALSE(loopback_only(parse(R"({"version":1,"network":{"default":"allow",
      "allow":[{"cidr":"127.0.0.1/32"}]}})")));
  EXPECT_FALSE(loopback_only(parse(R"({"version":1,"network":{
      "allow":[{"cidr":"127.0.0.1/32"}],"dns":{"resolvers":["8.8.8.8"]}}})")));
  EXPECT_FALSE(loopback_only(parse(R"({"version":1,"network":{"allow":[{"cidr":"0.0.0.0/0"}]}})")));
  EXPECT_FALSE(loopback_only(parse(R"({"version":1,"network":{"allow":[{"cidr":"::/0"}]}})")));
  EXPECT_FALSE(loopback_only(parse(R"({"version":1,"network":{"allow":[{"cidr":"::2/128"}]}})")));
  EXPECT_FALSE(loopback_only(parse(R"({"version":1,"network":{"allow":[{"cidr":"126.0.0.0/7"}]}})")));
  EXPECT_FALSE(loopback_only(parse(R"({"version":1,"network":{
      "dns":{"resolvers":["2001:4860:4860::8888"]}}})")));
}

TEST(PolicyCapabilityNumber, NumbersFromLinuxCapabilityH) {
  EXPECT_EQ(capability_number("CAP_NET_RAW"), CAP_NET_RAW);
  EXPECT_EQ(capability_number("CAP_NET_RAW"), 13);
  EXPECT_EQ(capability_number("CAP_CHOWN"), CAP_CHOWN);
  EXPECT_EQ(capability_number("CAP_NET_BIND_SERVICE"), CAP_NET_BIND_SERVICE);
  EXPECT_EQ(capability_number("CAP_SYS_PTRACE"), CAP_SYS_PTRACE);
  EXPECT_EQ(capability_number("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
  EXPECT_EQ(capability_number("CAP_SETFCAP"), CAP_SETFCAP);
  EXPECT_EQ(capability_number("CAP_AUDIT_READ"), CAP_AUDIT_READ);
#ifdef CAP_PERFMON
  EXPECT_EQ(capability_number("CAP_PERFMON"), CAP_PERFMON);
  EXPECT_EQ(capability_number("CAP_BPF"), CAP_BPF);
#endif
#ifdef CAP_CHECKPOINT_RESTORE
  EXPECT_EQ(capability_number("CAP_CHECKPOINT_RESTORE"), CAP_CHECKPOINT_RESTORE);
#endif
}

TEST(PolicyCapabilityNumber, EveryNameThePolicyAcceptsHasANumberInRange) {
  // Whatever the parser accepts must map to a valid capability (cap_valid in the kernel header).
  for (const char* name : {"CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_IPC_LOCK", "CAP_MKNOD",
                           "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND"}) {
    Policy p = parse(std::string(R"({"version":1,"privileges":{"capabilities":[")") + name +
                     R"("]}})");
    ASSERT_EQ(p.privileges.capabilities.size(), 1u);
    int n = capability_number(p.privileges.capabilities[0]);
    EXPECT_GE(n, 0) << name;
    EXPECT_LE(n, CAP_LAST_CAP) << name;
  }
}

TEST(PolicyCapabilityNumber, UnknownNamesAreMinusOne) {
  EXPECT_EQ(capability_number("CAP_NET_BIND"), -1);
  EXPECT_EQ(capability_number("cap_net_raw"), -1);  // exact uppercase names only
  EXPECT_EQ(capability_number("NET_RAW"), -1);
  EXPECT_EQ(capability_number(""), -1);
}

TEST(PolicyExpandPath, WorkspaceIsSubstituted) {
  EXPECT_EQ(expand_path("${WORKSPACE}/a", "/w"), "/w/a");
  EXPECT_EQ(expand_path("${WORKSPACE}/a/b.txt", "/home/runner/work"), "/home/runner/work/a/b.txt");
  EXPECT_EQ(expand_path("${WORKSPACE}", "/w"), "/w");
}

TEST(PolicyExpandPath, AbsolutePathsPassThrough) {
  EXPECT_EQ(expand_path("/tmp", "/w"), "/tmp");
  EXPECT_EQ(expand_path("/etc/x", ""), "/etc/x");
}

TEST(PolicyExpandPath, WorkspaceRuleWithoutAWorkspaceIsEmpty) {
  EXPECT_EQ(expand_path("${WORKSPACE}/a", ""), "");
  EXPECT_EQ(expand_path("${WORKSPACE}", ""), "");
  // docs/policy.md: a ${WORKSPACE} rule needs an absolute workspace.
  EXPECT_EQ(expand_path("${WORKSPACE}/a", "relative/ws"), "");
}

TEST(PolicyExpandPath, ParsedRulesExpand) {
  Policy p = parse(R"({"version":1,"filesystem":{"writable":["${WORKSPACE}/out/","/tmp"]}})");
  ASSERT_EQ(p.filesystem.writable.size(), 2u);
  EXPECT_EQ(expand_path(p.filesystem.writable[0], "/w"), "/w/out");  // trailing slash dropped
  EXPECT_EQ(expand_path(p.filesystem.writable[1], "/w"), "/tmp");
}

}  // namespace
}  // namespace stepseal::policy
