// stepseal build's handling of the builder's and the runtime's command lines
// (src/build/builder_args.h, src/build/runtime_shim.h). No root, no builder needed.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>
#include <vector>

#include "build/builder_args.h"
#include "build/runtime_shim.h"

namespace stepseal::build {
namespace {

using Args = std::vector<std::string>;
const std::string kShim = "/run/x/stepseal-runtime";

std::string refusal(const Args& a) {
  try {
    plan_builder(a, kShim);
  } catch (const BuilderArgsError& e) {
    return e.what();
  }
  return "";
}

TEST(BuilderArgs, BuildahGetsOciIsolationAndTheShimAfterItsSubcommand) {
  unsetenv("BUILDAH_LAYERS");
  BuilderPlan p = plan_builder({"buildah", "--storage-driver", "vfs", "bud", "--layers", "-t",
                                "x:1", "ctx"},
                               kShim);
  EXPECT_EQ(p.builder, "buildah");
  EXPECT_EQ(p.argv, (Args{"buildah", "--storage-driver", "vfs", "bud", "--isolation", "oci",
                          "--runtime", kShim, "--layers", "-t", "x:1", "ctx"}));
  EXPECT_EQ(p.user_runtime, "");
}

TEST(BuilderArgs, PodmanGetsTheShimAndKeepsItsOwnRuntimeAsTheRealOne) {
  BuilderPlan p =
      plan_builder({"/usr/bin/podman", "build", "--runtime", "/usr/bin/crun", "ctx"}, kShim);
  EXPECT_EQ(p.builder, "podman");
  EXPECT_EQ(p.argv, (Args{"/usr/bin/podman", "build", "--runtime", kShim, "ctx"}));
  EXPECT_EQ(p.user_runtime, "/usr/bin/crun");
  BuilderPlan q = plan_builder({"podman", "build", "--runtime=runc", "ctx"}, kShim);
  EXPECT_EQ(q.argv, (Args{"podman", "build", "--runtime", kShim, "ctx"}));
  EXPECT_EQ(q.user_runtime, "runc");
}

TEST(BuilderArgs, WhatWouldDefeatTheTracingIsRefusedWithWhatToChange) {
  unsetenv("BUILDAH_LAYERS");
  {
    EXPECT_NE(refusal({"buildah", "bud", "--layers", "--isolation", "chroot", "c"}).find("--isolation oci"), std::string::npos);
    EXPECT_NE(refusal({"buildah", "bud", "--layers", "--isolation=rootless", "c"}).find("rootless"), std::string::npos);
    EXPECT_NE(refusal({"buildah", "bud", "c"}).find("add --layers"), std::string::npos);
    EXPECT_NE(refusal({"buildah", "bud", "--layers=false", "c"}).find("one layer per step"), std::string::npos);
    EXPECT_NE(refusal({"podman", "build", "--squash", "c"}).find("--squash"), std::string::npos);
    EXPECT_NE(refusal({"podman", "build", "--squash-all", "c"}).find("--squash-all"), std::string::npos);
    EXPECT_NE(refusal({"buildah", "bud", "--layers", "--omit-history", "c"}).find("history"), std::string::npos);
    EXPECT_NE(refusal({"docker", "build", "c"}).find("buildah or podman"), std::string::npos);
    EXPECT_NE(refusal({"buildah", "images"}).find("not 'buildah images'"), std::string::npos);
    EXPECT_NE(refusal({"buildah", "--root", "/r"}).find("no build subcommand"), std::string::npos);
    EXPECT_NE(refusal({}).find("no builder command"), std::string::npos);
  }
}

TEST(BuilderArgs, OptionValuesAreNotTakenForOptions) {
  unsetenv("BUILDAH_LAYERS");
  // "--squash" as the value of -t is a tag, not the option; "--root" before the subcommand
  // takes "bud"-looking value "bud"
  EXPECT_EQ(refusal({"buildah", "bud", "--layers", "-t", "--squash", "c"}), "");
  BuilderPlan p = plan_builder({"buildah", "--root", "bud", "bud", "--layers", "c"}, kShim);
  EXPECT_EQ(p.argv[3], "bud");
  EXPECT_EQ(p.argv[4], "--isolation");
  setenv("BUILDAH_LAYERS", "true", 1);
  EXPECT_EQ(refusal({"buildah", "bud", "c"}), "");
  unsetenv("BUILDAH_LAYERS");
}

TEST(RuntimeCall, FindsTheSubcommandAndWhatTheHandshakesNeed) {
  RuntimeCall c = parse_runtime_call({"--root", "/run/runc", "--log", "/x.log", "create",
                                      "--bundle", "/var/tmp/b1", "--pid-file", "/var/tmp/b1/pid",
                                      "ctr-1"});
  EXPECT_EQ(c.command, "create");
  EXPECT_EQ(c.bundle, "/var/tmp/b1");
  EXPECT_EQ(c.pid_file, "/var/tmp/b1/pid");
  EXPECT_EQ(c.id, "ctr-1");
  RuntimeCall d = parse_runtime_call({"--systemd-cgroup", "delete", "--force", "ctr-2"});
  EXPECT_EQ(d.command, "delete");
  EXPECT_EQ(d.id, "ctr-2");
  RuntimeCall e = parse_runtime_call({"create", "-b=/b", "--pid-file=/b/pid", "id3"});
  EXPECT_EQ(e.bundle, "/b");
  EXPECT_EQ(e.pid_file, "/b/pid");
  EXPECT_EQ(e.id, "id3");
  EXPECT_EQ(parse_runtime_call({"--version"}).command, "");
}

}  // namespace
}  // namespace stepseal::build
