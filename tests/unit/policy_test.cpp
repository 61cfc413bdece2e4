// The hardened-mode policy (src/policy/policy.h): strict parsing and its messages, the canonical
// form and its digest, and the query helpers. Nothing is enforced here.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "policy/policy.h"

namespace stepseal::policy {
namespace {

using nlohmann::json;

Policy parse(const std::string& text) { return parse_policy(json::parse(text), "policy.json"); }

// The message of the PolicyError that parsing `text` throws ("" if none).
std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const PolicyError& e) {
    return e.what();
  }
  return "";
}

std::string write_temp(const std::string& text) {
  std::string path = ::testing::TempDir() + "policy_test_" + std::to_string(getpid()) + ".json";
  std::ofstream(path) << text;
  return path;
}

// --- rejections ----------------------------------------------------------------------------------

TEST(PolicyParse, UnknownKeyAtTopLevelSuggestsTheClosestKey) {
  std::string e = error_of(R"({"version": 1, "netwrok": {}})");
  EXPECT_NE(e.find("policy.json: unknown key \"netwrok\" at /netwrok; did you mean \"network\"?"),
            std::string::npos) << e;
  EXPECT_NE(e.find("expected one of:"), std::string::npos) << e;
}

TEST(PolicyParse, UnknownKeysAreRejectedAtEveryLevel) {
  EXPECT_NE(error_of(R"({"version":1,"network":{"dns":{"resolver":[]}}})")
                .find("unknown key \"resolver\" at /network/dns/resolver; did you mean \"resolvers\"?"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"version":1,"network":{"allow":[{"cidr":"::1","port":[1]}]}})")
                .find("at /network/allow/0/port; did you mean \"ports\"?"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"version":1,"exec":{"deny":[{"path":"/x","hash":"00"}]}})")
                .find("unknown key \"hash\" at /exec/deny/0/hash"),
            std::string::npos);
  // Nothing close: no suggestion; the pointer escapes '/' and '~' (RFC 6901).
  std::string e = error_of(R"({"version":1,"filesystem":{"a/b~c":1}})");
  EXPECT_NE(e.find("at /filesystem/a~1b~0c ("), std::string::npos) << e;
  EXPECT_EQ(e.find("did you mean"), std::string::npos) << e;
}

TEST(PolicyParse, WrongTypesNameThePointerTheExpectationAndTheValue) {
  EXPECT_EQ(error_of(R"({"version":1,"network":{"allow":[{"cidr":"::1/128","ports":[53,true]}]}})"),
            "policy.json: /network/allow/0/ports/1: expected a port number or \"LOW-HIGH\" range, "
            "got true");
  EXPECT_EQ(error_of(R"({"version":1,"network":[]})"),
            "policy.json: /network: expected an object, got an array");
  EXPECT_EQ(error_of(R"({"version":1,"filesystem":{"readonly_default":"yes"}})"),
            "policy.json: /filesystem/readonly_default: expected true or false, got \"yes\"");
  EXPECT_EQ(error_of(R"({"version":1,"environment":{"allow":"PATH"}})"),
            "policy.json: /environment/allow: expected an array of names, got \"PATH\"");
  EXPECT_EQ(error_of("[1]"), "policy.json: (root): expected an object, got an array");
}

TEST(PolicyParse, VersionIsRequiredAndMustBeOne) {
  EXPECT_NE(error_of("{}").find("/version: expected 1"), std::string::npos);
  EXPECT_NE(error_of(R"({"version":2})").find("/version: expected 1 (the only policy format "
                                              "version), got 2"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"version":"1"})").find("got \"1\""), std::string::npos);
  EXPECT_NE(error_of(R"({"version":1.0})").find("got 1.0"), std::string::npos);
}

TEST(PolicyParse, BadCidrs) {
  auto cidr_error = [](const std::string& c) {
    return error_of(R"({"version":1,"network":{"allow":[{"cidr":")" + c + R"("}]}})");
  };
  EXPECT_NE(cidr_error("10.0.0.0/33").find("/network/allow/0/cidr: expected an IPv4 prefix length "
                                           "0..32, got \"10.0.0.0/33\""),
            std::string::npos);
  EXPECT_NE(cidr_error("::/129").find("expected an IPv6 prefix length 0..128"), std::string::npos);
  EXPECT_NE(cidr_error("10.0.0.0/").find("prefix length"), std::string::npos);
  EXPECT_NE(cidr_error("10.0.0.0/-1").find("prefix length"), std::string::npos);
  for (const char* bad : {"300.1.1.1/32", "10.0.0/24", "fe80::1%eth0/128", "localhost", ""})
    EXPECT_NE(cidr_error(bad).find("expected an address or CIDR"), std::string::npos) << bad;
  EXPECT_NE(cidr_error("10.0.0.1/8").find("did you mean \"10.0.0.0/8\"?"), std::string::npos);
  EXPECT_NE(cidr_error("::ffff:10.0.0.1/128").find("not IPv4-mapped"), std::string::npos);
  EXPECT_NE(error_of(R"({"version":1,"network":{"allow":[{"ports":[1]}]}})")
                .find("/network/allow/0: expected a rule with \"cidr\""),
            std::string::npos);
}

TEST(PolicyParse, BadPortsAndProtocols) {
  auto port_error = [](const std::string& p) {
    return error_of(R"({"version":1,"network":{"allow":[{"cidr":"::1","ports":[)" + p + "]}]}}");
  };
  EXPECT_NE(port_error("0").find("/ports/0: expected a port in 1..65535, got 0"), std::string::npos);
  EXPECT_NE(port_error("65536").find("expected a port in 1..65535, got 65536"), std::string::npos);
  EXPECT_NE(port_error("-1").find("got -1"), std::string::npos);
  EXPECT_NE(port_error("\"8080-8000\"").find("expected a range with LOW <= HIGH, got \"8080-8000\""),
            std::string::npos);
  EXPECT_NE(port_error("\"0-10\"").find("expected ports in 1..65535"), std::string::npos);
  EXPECT_NE(port_error("\"1-70000\"").find("expected ports in 1..65535"), std::string::npos);
  for (const char* bad : {"\"53\"", "\"a-b\"", "\"-5\"", "\"1-\"", "53.5", "null"})
    EXPECT_NE(port_error(bad).find("expected a port number or \"LOW-HIGH\" range"), std::string::npos)
        << bad;
  EXPECT_NE(error_of(R"({"version":1,"network":{"allow":[{"cidr":"::1","ports":[]}]}})")
                .find("expected at least one port"),
            std::string::npos);
  EXPECT_EQ(error_of(R"({"version":1,"network":{"allow":[{"cidr":"::1","protocol":"icmp"}]}})"),
            "policy.json: /network/allow/0/protocol: expected \"tcp\" or \"udp\" or \"any\", got "
            "\"icmp\"");
  EXPECT_NE(error_of(R"({"version":1,"network":{"default":"block"}})")
                .find("/network/default: expected \"deny\" or \"allow\", got \"block\""),
            std::string::npos);
}

TEST(PolicyParse, BadDnsEntries) {
  EXPECT_NE(error_of(R"({"version":1,"network":{"dns":{"resolvers":["127.0.0.53/32"]}}})")
                .find("/network/dns/resolvers/0: expected an IP address"),
            std::string::npos);
  for (const char* bad : {"a..b", ".a", "a.", "*", "a.*.b", "x y", "*.", ""})
    EXPECT_NE(error_of(std::string(R"({"version":1,"network":{"dns":{"names":[")") + bad + "\"]}}}")
                  .find("/network/dns/names/0: expected a DNS name"),
              std::string::npos)
        << bad;
}

TEST(PolicyParse, BadSha256) {
  auto sha_error = [](const std::string& h) {
    return error_of(R"({"version":1,"exec":{"allow":[{"sha256":")" + h + R"("}]}})");
  };
  std::string upper(64, 'A'), short_(63, 'a'), nonhex(64, 'g');
  for (const auto& bad : {upper, short_, nonhex})
    EXPECT_NE(sha_error(bad).find("/exec/allow/0/sha256: expected 64 lowercase hex digits, got"),
              std::string::npos);
  EXPECT_EQ(sha_error(std::string(64, 'a')), "");
  EXPECT_NE(error_of(R"({"version":1,"exec":{"deny":[{}]}})")
                .find("/exec/deny/0: expected a rule with \"path\" and/or \"sha256\", got an object"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"version":1,"exec":{"allow":[]}})").find("at least one rule"),
            std::string::npos);
}

TEST(PolicyParse, RelativePathsAreRejected) {
  auto fs_error = [](const std::string& p) {
    return error_of(R"({"version":1,"filesystem":{"writable":[")" + p + R"("]}})");
  };
  for (const char* bad : {"tmp", "", "./x", "~/x", "${WORKSPACE}x", "${HOME}/x"})
    EXPECT_NE(fs_error(bad).find("/filesystem/writable/0: expected an absolute path or one starting "
                                 "with ${WORKSPACE}"),
              std::string::npos)
        << bad;
  EXPECT_NE(fs_error("/a/../etc").find("without \".\" or \"..\""), std::string::npos);
  EXPECT_NE(fs_error("/a/${WORKSPACE}").find("only at the start"), std::string::npos);
  EXPECT_NE(error_of(R"({"version":1,"filesystem":{"hidden":["root/.ssh"]}})")
                .find("/filesystem/hidden/0: expected an absolute path"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"version":1,"exec":{"deny":[{"path":"bin/make"}]}})")
                .find("/exec/deny/0/path: expected an absolute path"),
            std::string::npos);
}

TEST(PolicyParse, UnknownCapabilitiesAreRejectedWithASuggestion) {
  std::string e = error_of(R"({"version":1,"privileges":{"capabilities":["CAP_NET_BIND"]}})");
  EXPECT_NE(e.find("/privileges/capabilities/0: expected a capability name"), std::string::npos) << e;
  EXPECT_NE(e.find("did you mean \"CAP_NET_BIND_SERVICE\"?"), std::string::npos) << e;
  EXPECT_NE(error_of(R"({"version":1,"privileges":{"capabilities":["cap_chown"]}})").find("got"),
            std::string::npos);
  EXPECT_EQ(error_of(R"({"version":1,"privileges":{"capabilities":["CAP_CHOWN",
            "CAP_CHECKPOINT_RESTORE","CAP_BPF"]}})"), "");
  EXPECT_NE(error_of(R"({"version":1,"privileges":{"uid":-1}})").find("/privileges/uid: expected a "
                                                                      "uid in 0..4294967294"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"version":1,"privileges":{"uid":4294967295}})").find("expected a uid"),
            std::string::npos);
}

TEST(PolicyParse, EnvironmentPatternsAreRestricted) {
  for (const char* bad : {"FOO-BAR", "A B", "", "PATH=1", "é"})
    EXPECT_NE(error_of(std::string(R"({"version":1,"environment":{"allow":[")") + bad + "\"]}}")
                  .find("/environment/allow/0: expected a variable name or pattern of [A-Za-z0-9_*]"),
              std::string::npos)
        << bad;
  EXPECT_NE(error_of(R"({"version":1,"completeness":"ignore"})")
                .find("/completeness: expected \"fail\" or \"warn\", got \"ignore\""),
            std::string::npos);
}

TEST(PolicyLoad, FileErrorsNameTheFile) {
  std::string path = write_temp(R"({"version": 1, "network": {"default": "allow", "default": "deny"}})");
  try {
    load_policy(path);
    FAIL() << "duplicate key accepted";
  } catch (const PolicyError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": duplicate key \"default\" (each key may appear once "
                                            "per object)");
  }
  std::ofstream(path) << "{\"version\": 1,}";
  EXPECT_THROW(load_policy(path), PolicyError);
  std::ofstream(path) << R"({"version": 1, "exec": {"allow": [{"path": "/bin/sh"}, {"path": "/bin/sh"}]}})";
  EXPECT_NO_THROW(load_policy(path));  // the same key in sibling objects is fine
  std::filesystem::remove(path);
  try {
    load_policy(path);
    FAIL();
  } catch (const PolicyError& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": cannot open"), std::string::npos);
  }
}

// --- valid policies ------------------------------------------------------------------------------

TEST(PolicyParse, DefaultsAreStrict) {
  Policy p = parse(R"({"version": 1})");
  EXPECT_FALSE(p.network.default_allow);
  EXPECT_TRUE(p.network.allow.empty());
  EXPECT_EQ(p.completeness, Completeness::kFail);
  EXPECT_TRUE(p.privileges.capabilities.empty());
  EXPECT_FALSE(p.privileges.uid);
  EXPECT_TRUE(p.filesystem.readonly_default);
  EXPECT_FALSE(network_allowed(p, "127.0.0.1", 80, Protocol::kTcp));
  EXPECT_FALSE(env_allowed(p, "PATH"));
  EXPECT_FALSE(path_writable(p, "/tmp/x", "/w"));
}

TEST(PolicyLoad, TheDocumentedExampleLoads) {
  auto path = std::filesystem::path(__FILE__).parent_path() / "../../docs/example-policy.json";
  Policy p = load_policy(path.string());
  ASSERT_EQ(p.network.allow.size(), 3u);
  EXPECT_EQ(p.network.allow[0].protocol, Protocol::kTcp);
  ASSERT_EQ(p.network.allow[0].ports.size(), 2u);
  EXPECT_EQ(p.network.allow[0].ports[1].lo, 8080);
  EXPECT_EQ(p.network.allow[0].ports[1].hi, 8089);
  EXPECT_EQ(p.network.dns.names[1], "*.corp.internal");
  EXPECT_EQ(p.filesystem.writable[0], "${WORKSPACE}");
  EXPECT_EQ(p.exec.deny.size(), 3u);
  EXPECT_TRUE(p.exec.allow.empty());
  EXPECT_EQ(p.privileges.uid, 1000u);
  EXPECT_EQ(p.privileges.capabilities, std::vector<std::string>{"CAP_NET_BIND_SERVICE"});
  EXPECT_TRUE(network_allowed(p, "127.0.0.1", 8085, Protocol::kTcp));
  EXPECT_FALSE(network_allowed(p, "127.0.0.1", 8085, Protocol::kUdp));
  EXPECT_TRUE(dns_name_allowed(p, "a.b.corp.internal"));
  EXPECT_TRUE(path_writable(p, "/ws/src/x.o", "/ws"));
  EXPECT_FALSE(path_writable(p, "/ws/.git/config", "/ws"));
  EXPECT_TRUE(env_allowed(p, "LC_ALL"));
}

TEST(PolicyCanonical, RoundTripsAndNormalises) {
  Policy p = parse(R"({"version":1,"network":{"allow":[{"cidr":"0:0::1","ports":["53-53","1-2"]},
      {"cidr":"10.0.0.0/8"}],"dns":{"names":["Example.Internal"]}},
      "filesystem":{"writable":["//tmp//", "${WORKSPACE}/", "/"]}})");
  json j = to_json(p);
  EXPECT_EQ(j["network"]["allow"][0],
            json::parse(R"({"cidr":"::1/128","ports":[53,"1-2"],"protocol":"any"})"));
  EXPECT_EQ(j["network"]["allow"][1]["ports"], json::parse(R"(["1-65535"])"));
  EXPECT_EQ(j["network"]["dns"]["names"][0], "example.internal");
  EXPECT_EQ(j["filesystem"]["writable"], json::parse(R"(["/tmp", "${WORKSPACE}", "/"])"));
  EXPECT_EQ(j["completeness"], "fail");
  EXPECT_EQ(j["exec"], json::parse(R"({"deny": []})"));
  EXPECT_EQ(to_json(parse_policy(j, "canonical")), j);

  auto example = std::filesystem::path(__FILE__).parent_path() / "../../docs/example-policy.json";
  Policy e = load_policy(example.string());
  EXPECT_EQ(to_json(parse_policy(to_json(e), "canonical")), to_json(e));
  EXPECT_EQ(policy_sha256(parse_policy(to_json(e), "canonical")), policy_sha256(e));
}

TEST(PolicyCanonical, DigestIsStableUnderKeyReordering) {
  Policy a = parse(R"({"version":1,"completeness":"warn",
      "network":{"default":"deny","allow":[{"cidr":"127.0.0.1/32","ports":[53],"protocol":"udp"}]},
      "privileges":{"uid":1000,"capabilities":["CAP_KILL"]}})");
  Policy b = parse(R"({"privileges":{"capabilities":["CAP_KILL"],"uid":1000},
      "network":{"allow":[{"protocol":"udp","ports":[53],"cidr":"127.0.0.1"}],"default":"deny"},
      "completeness":"warn","version":1})");
  EXPECT_EQ(policy_sha256(a), policy_sha256(b));
  EXPECT_EQ(policy_sha256(a).size(), 64u);
  EXPECT_EQ(policy_sha256(a).find_first_not_of("0123456789abcdef"), std::string::npos);
  // Defaults written out or left implicit: the same policy, the same digest.
  EXPECT_EQ(policy_sha256(parse(R"({"version":1})")),
            policy_sha256(parse(R"({"version":1,"network":{"default":"deny"},"completeness":"fail",
                "filesystem":{"readonly_default":true}})")));
  Policy c = parse(R"({"version":1,"completeness":"warn",
      "network":{"default":"deny","allow":[{"cidr":"127.0.0.1/32","ports":[54],"protocol":"udp"}]},
      "privileges":{"uid":1000,"capabilities":["CAP_KILL"]}})");
  EXPECT_NE(policy_sha256(a), policy_sha256(c));
}

// --- queries -------------------------------------------------------------------------------------

TEST(PolicyNetwork, Ipv4CidrEdges) {
  Policy p = parse(R"({"version":1,"network":{"allow":[{"cidr":"0.0.0.0/0","ports":[1]},
      {"cidr":"192.0.2.7/32","ports":[2]},{"cidr":"10.0.0.0/9","ports":[3]}]}})");
  EXPECT_TRUE(network_allowed(p, "1.2.3.4", 1, Protocol::kTcp));        // /0: every IPv4 address
  EXPECT_TRUE(network_allowed(p, "255.255.255.255", 1, Protocol::kTcp));
  EXPECT_FALSE(network_allowed(p, "::1", 1, Protocol::kTcp));           // ... but no IPv6 one
  EXPECT_TRUE(network_allowed(p, "192.0.2.7", 2, Protocol::kUdp));      // /32: exactly one
  EXPECT_FALSE(network_allowed(p, "192.0.2.6", 2, Protocol::kUdp));
  EXPECT_FALSE(network_allowed(p, "192.0.2.8", 2, Protocol::kUdp));
  EXPECT_TRUE(network_allowed(p, "10.127.255.255", 3, Protocol::kTcp));  // /9: not byte-aligned
  EXPECT_FALSE(network_allowed(p, "10.128.0.0", 3, Protocol::kTcp));
  in_addr a4{};
  inet_pton(AF_INET, "192.0.2.7", &a4);
  EXPECT_TRUE(network_allowed(p, a4, 2, Protocol::kTcp));
  in6_addr mapped{};
  inet_pton(AF_INET6, "::ffff:192.0.2.7", &mapped);  // how connect6 sees an IPv4 peer
  EXPECT_TRUE(network_allowed(p, mapped, 2, Protocol::kTcp));
  EXPECT_FALSE(network_allowed(p, "not an address", 1, Protocol::kTcp));
}

TEST(PolicyNetwork, Ipv6CidrEdges) {
  Policy p = parse(R"({"version":1,"network":{"allow":[{"cidr":"::/0","ports":[1]},
      {"cidr":"::1/128","ports":[2]},{"cidr":"2001:db8:0:80::/57","ports":[3]}]}})");
  EXPECT_TRUE(network_allowed(p, "2001:db8::1", 1, Protocol::kTcp));  // /0: every IPv6 address
  EXPECT_FALSE(network_allowed(p, "127.0.0.1", 1, Protocol::kTcp));   // ... but no IPv4 one
  in6_addr lo{};
  inet_pton(AF_INET6, "::1", &lo);
  EXPECT_TRUE(network_allowed(p, lo, 2, Protocol::kTcp));             // /128: exactly one
  EXPECT_FALSE(network_allowed(p, "::2", 2, Protocol::kTcp));
  EXPECT_TRUE(network_allowed(p, "2001:db8:0:ff:ffff::1", 3, Protocol::kTcp));
  EXPECT_FALSE(network_allowed(p, "2001:db8:0:7f::1", 3, Protocol::kTcp));
  EXPECT_FALSE(network_allowed(p, "2001:db8:0:100::", 3, Protocol::kTcp));
}

TEST(PolicyNetwork, PortRangesProtocolsResolversAndDefault) {
  Policy p = parse(R"({"version":1,"network":{"allow":[{"cidr":"127.0.0.1","ports":[53,"8000-8080"],
      "protocol":"tcp"}],"dns":{"resolvers":["127.0.0.53"]}}})");
  EXPECT_TRUE(network_allowed(p, "127.0.0.1", 53, Protocol::kTcp));
  EXPECT_FALSE(network_allowed(p, "127.0.0.1", 54, Protocol::kTcp));
  EXPECT_FALSE(network_allowed(p, "127.0.0.1", 7999, Protocol::kTcp));
  EXPECT_TRUE(network_allowed(p, "127.0.0.1", 8000, Protocol::kTcp));
  EXPECT_TRUE(network_allowed(p, "127.0.0.1", 8080, Protocol::kTcp));
  EXPECT_FALSE(network_allowed(p, "127.0.0.1", 8081, Protocol::kTcp));
  EXPECT_FALSE(network_allowed(p, "127.0.0.1", 8000, Protocol::kUdp));  // tcp rule
  EXPECT_TRUE(network_allowed(p, "127.0.0.53", 53, Protocol::kUdp));    // a named resolver
  EXPECT_TRUE(network_allowed(p, "127.0.0.53", 53, Protocol::kTcp));
  EXPECT_FALSE(network_allowed(p, "127.0.0.53", 80, Protocol::kTcp));
  EXPECT_TRUE(network_allowed(parse(R"({"version":1,"network":{"default":"allow"}})"), "8.8.8.8",
                              443, Protocol::kTcp));
  Policy any = parse(R"({"version":1,"network":{"allow":[{"cidr":"::1"}]}})");
  EXPECT_TRUE(network_allowed(any, "::1", 65535, Protocol::kUdp));  // no ports: every port
  EXPECT_TRUE(network_allowed(any, "::1", 1, Protocol::kTcp));
}

TEST(PolicyNetwork, DnsNames) {
  Policy p = parse(R"({"version":1,"network":{"dns":{"names":["example.internal","*.corp.internal"]}}})");
  EXPECT_TRUE(dns_name_allowed(p, "example.internal"));
  EXPECT_TRUE(dns_name_allowed(p, "EXAMPLE.internal."));
  EXPECT_FALSE(dns_name_allowed(p, "www.example.internal"));
  EXPECT_TRUE(dns_name_allowed(p, "git.corp.internal"));
  EXPECT_TRUE(dns_name_allowed(p, "a.b.corp.internal"));
  EXPECT_FALSE(dns_name_allowed(p, "corp.internal"));
  EXPECT_FALSE(dns_name_allowed(p, "evilcorp.internal"));
}

TEST(PolicyEnvironment, ExactNamesAndWildcards) {
  Policy p = parse(R"({"version":1,"environment":{"allow":["PATH","CI_*","*_TOKEN_OK","A*B*C"]}})");
  EXPECT_TRUE(env_allowed(p, "PATH"));
  EXPECT_FALSE(env_allowed(p, "PATH2"));
  EXPECT_FALSE(env_allowed(p, "path"));  // case-sensitive
  EXPECT_TRUE(env_allowed(p, "CI_"));
  EXPECT_TRUE(env_allowed(p, "CI_JOB_ID"));
  EXPECT_FALSE(env_allowed(p, "XCI_JOB_ID"));
  EXPECT_TRUE(env_allowed(p, "MY_TOKEN_OK"));
  EXPECT_FALSE(env_allowed(p, "MY_TOKEN_OKAY"));
  EXPECT_TRUE(env_allowed(p, "ABC"));
  EXPECT_TRUE(env_allowed(p, "AxxBxxBxxC"));
  EXPECT_FALSE(env_allowed(p, "AxxBxxCx"));
  EXPECT_TRUE(env_allowed(parse(R"({"version":1,"environment":{"allow":["*"]}})"), "ANYTHING"));
}

TEST(PolicyFilesystem, WritableMatchesWholeComponents) {
  Policy p = parse(R"({"version":1,"filesystem":{"writable":["${WORKSPACE}","/tmp","/var/cache/"],
      "hidden":["/tmp/secret","${WORKSPACE}/.git/config"]}})");
  EXPECT_TRUE(path_writable(p, "/tmp", "/w/s"));
  EXPECT_TRUE(path_writable(p, "/tmp/", "/w/s"));
  EXPECT_TRUE(path_writable(p, "/tmp//a/b", "/w/s"));
  EXPECT_FALSE(path_writable(p, "/tmpx", "/w/s"));
  EXPECT_FALSE(path_writable(p, "/tmpx/a", "/w/s"));
  EXPECT_FALSE(path_writable(p, "/", "/w/s"));
  EXPECT_TRUE(path_writable(p, "/var/cache/x", "/w/s"));
  EXPECT_FALSE(path_writable(p, "/var/cachex", "/w/s"));
  EXPECT_TRUE(path_writable(p, "/w/s", "/w/s"));
  EXPECT_TRUE(path_writable(p, "/w/s/build/a.o", "/w/s/"));
  EXPECT_FALSE(path_writable(p, "/w/sx/a.o", "/w/s"));
  EXPECT_FALSE(path_writable(p, "/w/s/a.o", ""));      // no workspace: ${WORKSPACE} rules are inert
  EXPECT_FALSE(path_writable(p, "/w/s/a.o", "w/s"));   // nor with a relative one
  EXPECT_FALSE(path_writable(p, "/tmp/secret/k", "/w/s"));  // hidden wins over writable
  EXPECT_FALSE(path_writable(p, "/w/s/.git/config", "/w/s"));
  EXPECT_TRUE(path_writable(p, "/w/s/.git/configx", "/w/s"));
  EXPECT_FALSE(path_writable(p, "tmp/a", "/w/s"));      // relative
  EXPECT_FALSE(path_writable(p, "/tmp/../etc/passwd", "/w/s"));
  EXPECT_FALSE(path_writable(p, "/tmp/./a", "/w/s"));

  Policy open = parse(R"({"version":1,"filesystem":{"readonly_default":false,"hidden":["/root"]}})");
  EXPECT_TRUE(path_writable(open, "/etc/passwd", ""));
  EXPECT_FALSE(path_writable(open, "/root/.ssh/id", ""));
  EXPECT_TRUE(path_writable(open, "/rootx", ""));
  EXPECT_TRUE(path_writable(parse(R"({"version":1,"filesystem":{"writable":["/"]}})"), "/a", ""));
}

}  // namespace
}  // namespace stepseal::policy
