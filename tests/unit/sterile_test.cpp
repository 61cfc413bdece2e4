// A sterile build's config.json rewrite (build/sterile.h): what runc is given for each RUN.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "build/sterile.h"
#include "policy/policy.h"

namespace stepseal::build {
namespace {

using json = nlohmann::json;

// The shape buildah 1.28 writes for a RUN (trimmed).
json BuilderConfig() {
  return json::parse(R"({
    "ociVersion": "1.0.2-dev",
    "process": {
      "user": {"uid": 0, "gid": 0, "additionalGids": [0]},
      "args": ["/bin/sh", "-c", "make install"],
      "env": ["PATH=/usr/bin:/bin", "FOO=bar", "SECRET=s3cr3t", "LD_PRELOAD=/x.so", "HOSTNAME=abc"],
      "cwd": "/src",
      "capabilities": {"bounding": ["CAP_CHOWN", "CAP_SYS_CHROOT"], "effective": ["CAP_CHOWN"],
                       "permitted": ["CAP_CHOWN"], "ambient": ["CAP_CHOWN"]}
    },
    "root": {"path": "/var/lib/containers/x/merged"},
    "mounts": [
      {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid"]},
      {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "noexec"]},
      {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
       "options": ["rprivate", "nosuid", "rw"]}
    ],
    "linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": []}}
  })");
}

policy::Policy Policy(const std::string& text) {
  return policy::parse_policy(json::parse(text), "test policy");
}

TEST(SealConfig, TheRunStartsBehindTheSealWithNoNewPrivileges) {
  auto p = Policy(R"({"version": 1})");
  SealedConfig s = seal_config(BuilderConfig(), p, "/usr/lib/stepseal/stepseal-seal");
  EXPECT_EQ(s.config["process"]["args"],
            json({kSealInContainer, "--", "/bin/sh", "-c", "make install"}));
  EXPECT_EQ(s.original_args, json({"/bin/sh", "-c", "make install"}));
  EXPECT_EQ(s.config["process"]["noNewPrivileges"], true);
  // the helper: read-only on the container's /dev tmpfs, after it (mounts go in order)
  const json& last = s.config["mounts"].back();
  EXPECT_EQ(last["destination"], kSealInContainer);
  EXPECT_EQ(last["type"], "bind");
  EXPECT_EQ(last["source"], "/usr/lib/stepseal/stepseal-seal");
  EXPECT_EQ(last["options"], json({"bind", "ro", "nosuid", "nodev"}));
  // the builder's own seccomp profile is kept: the seal's filter stacks on it
  EXPECT_EQ(s.config["linux"]["seccomp"], BuilderConfig()["linux"]["seccomp"]);
  EXPECT_EQ(s.config["root"], BuilderConfig()["root"]);
}

TEST(SealConfig, TheEnvironmentIsCutToTheAllowlist) {
  auto p = Policy(R"({"version": 1, "environment": {"allow": ["PATH", "F*"]}})");
  SealedConfig s = seal_config(BuilderConfig(), p, "/seal");
  EXPECT_EQ(s.config["process"]["env"], json({"PATH=/usr/bin:/bin", "FOO=bar"}));
  EXPECT_EQ(s.env_dropped, (std::vector<std::string>{"HOSTNAME", "LD_PRELOAD", "SECRET"}));
}

TEST(SealConfig, CapabilitiesAndUidAreThePolicys) {
  auto none = seal_config(BuilderConfig(), Policy(R"({"version": 1})"), "/seal");
  for (const char* set : {"bounding", "effective", "permitted", "inheritable", "ambient"})
    EXPECT_EQ(none.config["process"]["capabilities"][set], json::array()) << set;
  EXPECT_EQ(none.config["process"]["user"]["uid"], 0);  // unchanged without a uid
  auto some = seal_config(
      BuilderConfig(),
      Policy(R"({"version": 1, "privileges": {"capabilities": ["CAP_CHOWN", "CAP_FOWNER"], "uid": 1000}})"),
      "/seal");
  for (const char* set : {"bounding", "effective", "permitted", "inheritable", "ambient"})
    EXPECT_EQ(some.config["process"]["capabilities"][set], json({"CAP_CHOWN", "CAP_FOWNER"})) << set;
  EXPECT_EQ(some.config["process"]["user"],
            json({{"uid", 1000}, {"gid", 1000}, {"additionalGids", json::array()}}));
}

// A writable cgroup filesystem would let the RUN move itself out of the cgroup the network
// guard is attached to.
TEST(SealConfig, TheCgroupFilesystemIsReadOnly) {
  auto s = seal_config(BuilderConfig(), Policy(R"({"version": 1})"), "/seal");
  const json& cg = s.config["mounts"][2];
  ASSERT_EQ(cg["destination"], "/sys/fs/cgroup");
  EXPECT_EQ(cg["options"], json({"ro", "rprivate", "nosuid"}));
}

TEST(SealConfig, RefusesWhatItCannotSeal) {
  auto p = Policy(R"({"version": 1})");
  auto refuses = [&](json cfg, const std::string& why) {
    try {
      seal_config(cfg, p, "/seal");
      ADD_FAILURE() << "sealed: " << cfg.dump();
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  };
  json c = BuilderConfig();
  c["process"]["args"] = json::array();
  refuses(c, "process.args");
  c = BuilderConfig();
  c["process"]["args"] = json({"/bin/sh", 3});
  refuses(c, "process.args");
  c = BuilderConfig();
  c.erase("process");
  refuses(c, "no process");
  c = BuilderConfig();
  c["process"]["env"] = json({1});
  refuses(c, "env");
  c = BuilderConfig();
  c["mounts"].erase(1);  // no /dev tmpfs: the helper's mount point would land in the layer
  refuses(c, "/dev");
  // sealed twice: the seal would run the seal
  refuses(seal_config(BuilderConfig(), p, "/seal").config, "sealed already");
}

}  // namespace
}  // namespace stepseal::build
