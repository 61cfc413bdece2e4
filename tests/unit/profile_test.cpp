// Forensic replay's profiles (forensics/profile.h): normalisation, sensitive paths, the diff of
// two profiles and the baseline file.
#include <gtest/gtest.h>

#include "forensics/profile.h"

namespace stepseal::forensics {
namespace {

using json = nlohmann::json;

TEST(Normalise, BuildDirectoriesTemporaryNamesPidsAndKernelObjects) {
  const std::vector<std::string> pre = {"/home/ci/work/lua-a", "/home/ci/work"};
  EXPECT_EQ(normalise_path("/home/ci/work/lua-a/src/lua.c", pre), "${BUILD}/src/lua.c");
  EXPECT_EQ(normalise_path("/home/ci/work/lua-a", pre), "${BUILD}");
  EXPECT_EQ(normalise_path("/home/ci/work-other/x", pre), "/home/ci/work-other/x") << "whole components";
  // gcc's temporary files, whatever mkstemp chose (mixed, or all lower case)
  EXPECT_EQ(normalise_path("/tmp/ccAb3dEf.s", pre), "/tmp/cc*.s");
  EXPECT_EQ(normalise_path("/tmp/ccqwerty.s", pre), "/tmp/cc*.s");
  EXPECT_EQ(normalise_path("/tmp/tmp.Xy12abCD90/out.o", pre), "/tmp/tmp.*/out.o");
  // the rest of the name stays: a planted /tmp/payload.sh is no compiler temporary
  EXPECT_EQ(normalise_path("/tmp/payload.sh", pre), "/tmp/p*.sh");
  EXPECT_NE(normalise_path("/tmp/payload.sh", pre), normalise_path("/tmp/ccAb3dEf.sh", pre));
  EXPECT_EQ(normalise_path("/tmp/a.s", pre), "/tmp/a.s") << "short names are kept";
  EXPECT_EQ(normalise_path("/proc/4242/status", pre), "/proc/<pid>/status");
  EXPECT_EQ(normalise_path("/proc/self/status", pre), "/proc/self/status");
  EXPECT_EQ(normalise_path("pipe:[123456]", pre), "pipe:[n]");
  EXPECT_EQ(normalise_path("/usr/include/stdio.h", pre), "/usr/include/stdio.h");
  // inside arguments
  EXPECT_EQ(normalise_arg("-fresolution=/tmp/ccX1y2z3.res", pre), "-fresolution=/tmp/cc*.res");
  EXPECT_EQ(normalise_arg("-I/home/ci/work/lua-a/include", pre), "-I${BUILD}/include");
  EXPECT_EQ(normalise_arg("-I/home/ci/work/lua-ab/include", pre), "-I${BUILD}/lua-ab/include")
      << "only where the prefix ends a component";
  EXPECT_EQ(normalise_arg("-O2", pre), "-O2");
}

TEST(Sensitive, KeysCredentialsAndSockets) {
  for (const char* p : {"/root/.ssh/id_rsa", "/home/u/.ssh/known_hosts", "/x/id_ed25519.pub",
                        "/root/.aws/credentials", "/root/.docker/config.json", "/etc/shadow",
                        "/run/docker.sock", "/run/secrets/token", "/home/u/.git-credentials",
                        "/etc/ssh/ssh_host_ed25519_key", "/etc/shadow-", "/root/.ssh",
                        "/proc/1/environ", "/run/user/1000/podman/podman.sock",
                        "/root/.config/containers/auth.json"})
    EXPECT_TRUE(sensitive_path(p)) << p;
  for (const char* p : {"/etc/passwd", "/usr/bin/ssh", "/src/ssh.c", "/tmp/x"})
    EXPECT_FALSE(sensitive_path(p)) << p;
}

Profile Base() {
  Profile p;
  p.exes["/usr/bin/cc"] = {"aa"};
  p.inputs["${BUILD}/a.c"] = {"11"};
  p.outputs["${BUILD}/a.o"] = {"22"};
  p.endpoints = {"connect tcp 10.0.0.1:443"};
  p.journals = 1;
  return p;
}

TEST(Diff, EachCategoryAndNothingForTheSame) {
  EXPECT_TRUE(diff(Base(), Base()).empty());
  Profile n = Base();
  n.exes["/usr/bin/cc"] = {"bb"};        // another digest: new-exe
  n.exes["/usr/bin/curl"] = {"cc"};      // new name: new-exe
  n.inputs["${BUILD}/a.c"] = {"12"};     // input-changed
  n.inputs["${BUILD}/b.c"] = {"13"};     // new-input
  n.outputs["${BUILD}/a.o"] = {"23"};    // output-changed
  n.outputs["${BUILD}/x.so"] = {"24"};   // new-output
  n.endpoints.insert("connect tcp 127.0.0.1:9");
  n.dns.insert("evil.example");
  n.replaced.insert("overwrite ${BUILD}/a.h");
  n.sensitive.insert("read /root/.ssh/id_rsa");
  n.commands.insert("make > curl");
  std::multiset<std::string> cats;
  for (const auto& d : diff(Base(), n)) cats.insert(d.category);
  EXPECT_EQ(cats, (std::multiset<std::string>{"new-exe", "new-exe", "input-changed", "new-input",
                                              "output-changed", "new-output", "new-endpoint", "new-dns",
                                              "source-overwritten", "sensitive-access",
                                              "new-command"}));
  // removed, and a digest that could not be taken: flagged, never a change
  Profile r = Base();
  r.exes.clear();
  r.inputs["${BUILD}/a.c"] = {""};
  auto d = diff(Base(), r);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].category, "removed-exe");
  EXPECT_EQ(d[1].category, "unverified");
  // an input NEW no longer read (say, a source it rewrote first)
  Profile gone = Base();
  gone.inputs.clear();
  auto dg = diff(Base(), gone);
  ASSERT_EQ(dg.size(), 1u);
  EXPECT_EQ(dg[0].category, "removed-input");
  // no digest on either side is no proof of sameness either
  Profile u = Base();
  u.inputs["${BUILD}/a.c"] = {""};
  auto du = diff(u, u);
  ASSERT_EQ(du.size(), 1u);
  EXPECT_EQ(du[0].category, "unverified");
  EXPECT_FALSE(diff_categories().count("unverified")) << "never part of --fail-on all";
}

TEST(Baseline, RoundTripsFoldsAndRefusesOthers) {
  Profile a = Base(), b = Base();
  b.exes["/usr/bin/cc"] = {"bb"};
  b.conclusive = false;
  b.problems = {"12 events lost"};
  fold(a, b);
  EXPECT_EQ(a.builds, 2);
  EXPECT_FALSE(a.conclusive);
  EXPECT_EQ(a.exes["/usr/bin/cc"], (std::set<std::string>{"aa", "bb"}));
  Profile back = profile_from_json(profile_json(a));
  EXPECT_EQ(profile_json(back), profile_json(a));
  // normal variation is not reported against the baseline
  Profile n = Base();
  n.exes["/usr/bin/cc"] = {"bb"};
  EXPECT_TRUE(diff(back, n).empty());
  for (const char* bad : {R"({"format": "other"})", R"({"format": "stepseal-baseline", "version": 2})",
                          R"({"format": "stepseal-baseline", "version": 1, "exes": {"x": "aa"}})",
                          R"({"format": "stepseal-baseline", "version": 1, "dns": [1]})", "[]"})
    EXPECT_THROW(profile_from_json(json::parse(bad)), std::runtime_error) << bad;
}

}  // namespace
}  // namespace stepseal::forensics
