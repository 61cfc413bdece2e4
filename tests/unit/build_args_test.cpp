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
  EXPECT_EQ(p.argv, (Args{"buildah", "--storage-driver", "vfs", "bud", "--isolation=oci",
                          "--layers=true", "--runtime=" + kShim, "-t", "x:1", "ctx"}));
  EXPECT_EQ(p.global_args, (Args{"--storage-driver", "vfs"}));
  EXPECT_EQ(p.user_runtime, "");
}

TEST(BuilderArgs, PodmanGetsTheShimAndKeepsItsOwnRuntimeAsTheRealOne) {
  BuilderPlan p =
      plan_builder({"/usr/bin/podman", "build", "--runtime", "/usr/sbin/runc", "ctx"}, kShim);
  EXPECT_EQ(p.builder, "podman");
  EXPECT_EQ(p.argv, (Args{"/usr/bin/podman", "build", "--isolation=oci", "--layers=true",
                          "--runtime=" + kShim, "ctx"}));
  EXPECT_EQ(p.user_runtime, "/usr/sbin/runc");
  BuilderPlan q = plan_builder({"podman", "build", "--runtime=runc", "ctx", "--iidfile", "/i"},
                               kShim, "/run/x/iid");
  EXPECT_EQ(q.argv, (Args{"podman", "build", "--isolation=oci", "--layers=true",
                          "--runtime=" + kShim, "ctx", "--iidfile", "/i"}));
  EXPECT_EQ(q.user_runtime, "runc");
  EXPECT_EQ(q.iidfile, "/i") << "the user's own iidfile is read";
}

TEST(BuilderArgs, WhatWouldDefeatTheTracingIsRefusedWithWhatToChange) {
  unsetenv("BUILDAH_LAYERS");
  {
    EXPECT_NE(refusal({"buildah", "bud", "--layers", "--isolation", "chroot", "c"}).find("--isolation oci"), std::string::npos);
    EXPECT_NE(refusal({"buildah", "bud", "--layers", "--jobs", "2", "c"}).find("--jobs"), std::string::npos);
    EXPECT_NE(refusal({"buildah", "bud", "--layers", "--isolation=rootless", "c"}).find("rootless"), std::string::npos);
    EXPECT_NE(refusal({"buildah", "bud", "c"}).find("add --layers"), std::string::npos);
    EXPECT_NE(refusal({"buildah", "bud", "--layers=false", "c"}).find("one layer per step"), std::string::npos);
    EXPECT_NE(refusal({"podman", "build", "--squash", "c"}).find("--squash"), std::string::npos);
    EXPECT_NE(refusal({"podman", "build", "--squash-all", "c"}).find("--squash-all"), std::string::npos);
    EXPECT_NE(refusal({"buildah", "bud", "--layers", "--omit-history", "c"}).find("history"), std::string::npos);
    EXPECT_NE(refusal({"buildah", "bud", "--layers", "--timestamp", "0", "c"}).find("--timestamp"), std::string::npos);
    EXPECT_NE(refusal({"podman", "build", "--timestamp=0", "c"}).find("--timestamp"), std::string::npos);
    EXPECT_NE(refusal({"docker", "build", "c"}).find("buildah or podman"), std::string::npos);
    EXPECT_NE(refusal({"buildah", "images"}).find("not 'buildah images'"), std::string::npos);
    EXPECT_NE(refusal({"buildah", "--root", "/r"}).find("no build subcommand"), std::string::npos);
    EXPECT_NE(refusal({}).find("no builder command"), std::string::npos);
  }
}

TEST(BuilderArgs, BooleanOptionsDoNotHideTheNextOne) {
  unsetenv("BUILDAH_LAYERS");
  // boolean (or optional-value) options take no argument: what follows them is still checked
  EXPECT_NE(refusal({"buildah", "bud", "--layers", "--pull", "--squash", "c"}), "");
  EXPECT_NE(refusal({"podman", "build", "--stdin", "--isolation=chroot", "c"}), "");
  EXPECT_NE(refusal({"podman", "build", "--http-proxy", "--layers=false", "c"}), "");
  EXPECT_NE(refusal({"podman", "build", "c", "--squash"}), "") << "podman takes options after the context";
  EXPECT_NE(refusal({"podman", "build", "--pid", "host", "c"}).find("pid namespace"), std::string::npos);
  EXPECT_NE(refusal({"podman", "build", "--runtime", "runsc", "c"}).find("runc only"), std::string::npos);
  EXPECT_NE(refusal({"podman", "--remote", "build", "c"}).find("remote"), std::string::npos);
  EXPECT_NE(refusal({"podman", "--url", "tcp://h:1", "build", "c"}).find("remote"), std::string::npos);
}

TEST(BuilderArgs, StepsealsOwnOptionsComeFirstAndAreNotRepeated) {
  unsetenv("BUILDAH_LAYERS");
  BuilderPlan p = plan_builder({"buildah", "bud", "--layers", "--isolation", "oci", "--runtime",
                                "runc", "-t", "x", "c", "--", "extra"},
                               kShim);
  EXPECT_EQ(p.argv, (Args{"buildah", "bud", "--isolation=oci", "--layers=true",
                          "--runtime=" + kShim, "-t", "x", "c", "--", "extra"}));
}

TEST(BuilderArgs, OptionValuesAreNotTakenForOptions) {
  unsetenv("BUILDAH_LAYERS");
  // "--root" before the subcommand takes the "bud"-looking value "bud"
  BuilderPlan p = plan_builder({"buildah", "--root", "bud", "bud", "--layers", "c"}, kShim);
  EXPECT_EQ(p.argv[3], "bud");
  EXPECT_EQ(p.argv[4], "--isolation=oci");
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

#include "build/image_map.h"

namespace stepseal::build {
namespace {

TEST(ImageMap, ParsesRfc3339AsUtc) {
  EXPECT_EQ(parse_rfc3339_ns("1970-01-01T00:00:01Z"), 1000000000);
  EXPECT_EQ(parse_rfc3339_ns("1970-01-01T00:00:01.5Z"), 1500000000);
  EXPECT_EQ(parse_rfc3339_ns("1970-01-01T01:00:00+01:00"), 0);
  EXPECT_EQ(parse_rfc3339_ns("2026-12-05T11:09:57.000993912Z") % 1000000000, 993912);
  EXPECT_EQ(parse_rfc3339_ns("yesterday"), -1);
  EXPECT_EQ(parse_rfc3339_ns("1970-01-01T00:00:01"), -1) << "no zone";
}

TEST(ImageMap, StepsMatchTheirRunEntriesAndLayersInOrder) {
  const int64_t start = parse_rfc3339_ns("2026-01-01T00:00:10Z");
  nlohmann::json config = nlohmann::json::parse(R"({
    "rootfs": {"diff_ids": ["sha256:base", "sha256:copy", "sha256:run1", "sha256:run2"]},
    "history": [
      {"created": "2020-01-01T00:00:00Z", "created_by": "/bin/sh -c echo same"},
      {"created": "2026-01-01T00:00:10.2Z", "created_by": "/bin/sh -c #(nop) COPY file:x in /d "},
      {"created": "2026-01-01T00:00:11Z", "created_by": "/bin/sh -c echo same"},
      {"created": "2026-01-01T00:00:12Z", "created_by": "/bin/sh -c #(nop) ENV A=1", "empty_layer": true},
      {"created": "2026-01-01T00:00:13Z", "created_by": "/bin/sh -c make"}
    ]})");
  nlohmann::json steps = nlohmann::json::parse(R"([
    {"step": 1, "argv": ["/bin/sh", "-c", "echo same"]},
    {"step": 2, "argv": ["/bin/sh", "-c", "make"]},
    {"step": 3, "argv": ["/bin/sh", "-c", "in another stage"]}])");
  nlohmann::json ins = map_steps(config, steps, start);
  // "echo same" is this build's entry 2, not the base image's entry 0 with the same text
  EXPECT_EQ(steps[0]["instruction"]["history_index"], 2);
  EXPECT_EQ(steps[0]["instruction"]["layer"], "sha256:run1");
  EXPECT_EQ(steps[1]["instruction"]["layer"], "sha256:run2");
  EXPECT_TRUE(steps[2]["instruction"].is_null());
  ASSERT_EQ(ins.size(), 4u) << ins.dump(2);  // the base image's entry is not this build's
  EXPECT_EQ(ins[0]["kind"], "copy");
  EXPECT_EQ(ins[0]["layer"], "sha256:copy");
  EXPECT_TRUE(ins[2]["layer"].is_null());  // ENV: no layer
  EXPECT_EQ(ins[3]["traced"], true);
}

// Exec-form RUNs: buildah records the Dockerfile's JSON array after "/bin/sh -c " (as written on
// this machine: RUN ["/bin/touch", "/f"] gives created_by "/bin/sh -c [\"/bin/touch\", \"/f\"]"),
// and the container runs that array itself.
TEST(ImageMap, ExecFormRunsMatchByTheirArray) {
  nlohmann::json config = nlohmann::json::parse(R"({
    "rootfs": {"diff_ids": ["sha256:a", "sha256:b", "sha256:c"]},
    "history": [
      {"created": "2026-01-01T00:00:11Z", "created_by": "/bin/sh -c [\"/bin/sh\", \"-c\", \"echo x\"]"},
      {"created": "2026-01-01T00:00:12Z", "created_by": "|1 V=2 /bin/sh -c [\"/bin/touch\",\"/f\"]"},
      {"created": "2026-01-01T00:00:13Z", "created_by": "/bin/sh -c [\"/bin/touch\", \"/g\"]"}
    ]})");
  nlohmann::json steps = nlohmann::json::parse(R"([
    {"step": 1, "argv": ["/bin/sh", "-c", "echo x"]},
    {"step": 2, "argv": ["/bin/touch", "/f"]},
    {"step": 3, "argv": ["/bin/touch", "/h"]}])");
  nlohmann::json ins = map_steps(config, steps, parse_rfc3339_ns("2026-01-01T00:00:10Z"));
  EXPECT_EQ(steps[0]["instruction"]["layer"], "sha256:a");
  EXPECT_EQ(steps[1]["instruction"]["layer"], "sha256:b");
  EXPECT_TRUE(steps[2]["instruction"].is_null()) << "another file: not the same instruction";
  EXPECT_EQ(ins[2]["traced"], false);
}

TEST(ImageMap, ARunWhoseTextMentionsNopIsStillARun) {
  nlohmann::json config = nlohmann::json::parse(R"({
    "rootfs": {"diff_ids": ["sha256:a"]},
    "history": [{"created": "2026-01-01T00:00:11Z",
                 "created_by": "/bin/sh -c curl x | sh #(nop) COPY file:y in /"}]})");
  nlohmann::json steps = nlohmann::json::array();
  nlohmann::json ins = map_steps(config, steps, parse_rfc3339_ns("2026-01-01T00:00:10Z"));
  ASSERT_EQ(ins.size(), 1u);
  EXPECT_EQ(ins[0]["kind"], "run");
  EXPECT_EQ(ins[0]["traced"], false);
}

TEST(ImageMap, AnUntracedRunOfThisBuildIsListedAsSuch) {
  nlohmann::json config = nlohmann::json::parse(R"({
    "rootfs": {"diff_ids": ["sha256:a"]},
    "history": [{"created": "2026-01-01T00:00:11Z", "created_by": "/bin/sh -c curl x | sh"}]})");
  nlohmann::json steps = nlohmann::json::array();
  nlohmann::json ins = map_steps(config, steps, parse_rfc3339_ns("2026-01-01T00:00:10Z"));
  ASSERT_EQ(ins.size(), 1u);
  EXPECT_EQ(ins[0]["traced"], false);
}

TEST(ImageMap, HistoryAndLayersThatDisagreeAreAnError) {
  nlohmann::json config = nlohmann::json::parse(R"({
    "rootfs": {"diff_ids": ["sha256:a"]},
    "history": [{"created_by": "/bin/sh -c a"}, {"created_by": "/bin/sh -c b"}]})");
  nlohmann::json steps = nlohmann::json::array();
  EXPECT_THROW(map_steps(config, steps, 0), std::runtime_error);
  config["rootfs"]["diff_ids"].push_back("sha256:b");
  config["rootfs"]["diff_ids"].push_back("sha256:c");
  EXPECT_THROW(map_steps(config, steps, 0), std::runtime_error) << "a squashed layer too many";
}

}  // namespace
}  // namespace stepseal::build

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "build/layer_check.h"
#include "layer_blob.h"

namespace stepseal::build {
namespace {

nlohmann::json files_summary(const char* text) {
  return {{"files", nlohmann::json::parse(text)}};
}

TEST(BuilderArgs, NoCacheIsSeen) {
  unsetenv("BUILDAH_LAYERS");
  EXPECT_TRUE(plan_builder({"buildah", "bud", "--layers", "--no-cache", "c"}, "/s", "/i").no_cache);
  EXPECT_TRUE(plan_builder({"podman", "build", "--no-cache=true", "c"}, "/s", "/i").no_cache);
  EXPECT_FALSE(plan_builder({"podman", "build", "--no-cache=false", "c"}, "/s", "/i").no_cache);
  EXPECT_FALSE(plan_builder({"buildah", "bud", "--layers", "c"}, "/s", "/i").no_cache);
}

// A file of the layer with no exact after-digest cannot be compared: not reconciled, and said.
// An opaque directory is explained by the directory's removal or creation, not by a chmod.
TEST(LayerCheck, UnverifiedContentAndOpaqueDirectoriesAreNotTakenOnTrust) {
  std::vector<LayerEntry> layer = {{"/d", 'd', ""}, {"/d/f", 'f', "aa"}, {"/o", 'd', ""},
                                   {"/o/.wh..wh..opq", 'f', "e3"}};
  auto summary = files_summary(R"([
    {"path": "/d/f", "access": ["create", "write"]},
    {"path": "/o", "access": ["chmod"]}])");
  auto r = check_layer(layer, summary, {});
  EXPECT_FALSE(r["reconciled"].get<bool>());
  EXPECT_EQ(r["content_unverified"], nlohmann::json::parse(R"([{"path": "/d/f", "layer_sha256": "aa"}])"));
  ASSERT_EQ(r["unexplained"].size(), 1u) << r.dump(2);
  EXPECT_EQ(r["unexplained"][0]["kind"], "opaque");
  auto fixed = files_summary(R"([
    {"path": "/d/f", "access": ["create", "write"], "sha256_after": "aa"},
    {"path": "/o", "access": ["delete", "create"]}])");
  EXPECT_TRUE(check_layer(layer, fixed, {})["reconciled"].get<bool>()) << check_layer(layer, fixed, {}).dump(2);
}

TEST(LayerCheck, ALayerTheTraceExplainsIsReconciled) {
  std::vector<LayerEntry> layer = {{"/data", 'd', ""},
                                   {"/data/out.txt", 'f', "aa"},
                                   {"/data/.wh.b.txt", 'f', "e3"},
                                   {"/etc/hosts", 'f', "cc"}};
  auto summary = files_summary(R"([
    {"path": "/data/out.txt", "access": ["create", "write"], "sha256_after": "aa"},
    {"path": "/data/b.txt", "access": ["delete"]},
    {"path": "/data/a.txt", "access": ["read"]},
    {"path": "/tmp/scratch", "access": ["create", "write", "delete"]},
    {"path": "/run/x", "access": ["create", "write"]}])");
  auto r = check_layer(layer, summary, {"/run", "/proc"});
  EXPECT_TRUE(r["reconciled"].get<bool>()) << r.dump(2);
  EXPECT_EQ(r["stubs"], nlohmann::json({"/etc/hosts"}));
}

TEST(LayerCheck, WhatNoTracedCallMadeIsFlaggedInBothDirections) {
  std::vector<LayerEntry> layer = {{"/data", 'd', ""},
                                   {"/data/out.txt", 'f', "tampered"},
                                   {"/data/planted", 'f', "dd"},
                                   {"/usr/.wh.lib", 'f', "e3"}};
  auto summary = files_summary(R"([
    {"path": "/data/out.txt", "access": ["create", "write"], "sha256_after": "aa"},
    {"path": "/data/log", "access": ["create", "write"]}])");
  auto r = check_layer(layer, summary, {});
  EXPECT_FALSE(r["reconciled"].get<bool>());
  ASSERT_EQ(r["unexplained"].size(), 2u) << r.dump(2);
  EXPECT_EQ(r["unexplained"][0]["path"], "/data/planted");
  EXPECT_EQ(r["unexplained"][1]["path"], "/usr/lib");  // a removal nothing traced
  EXPECT_EQ(r["unexplained"][1]["kind"], "removed");
  ASSERT_EQ(r["content_differs"].size(), 1u);
  EXPECT_EQ(r["content_differs"][0]["layer_sha256"], "tampered");
  ASSERT_EQ(r["missing"].size(), 1u);
  EXPECT_EQ(r["missing"][0]["path"], "/data/log");
}

TEST(LayerCheck, ListsARealTarLayer) {
  namespace fs = std::filesystem;
  fs::path d = fs::temp_directory_path() / ("stepseal-layer-" + std::to_string(getpid()));
  fs::create_directories(d / "src/data");
  std::ofstream(d / "src/data/out.txt") << "built\n";
  std::ofstream(d / "src/data/.wh.b.txt");
  ASSERT_EQ(system(("tar -czf " + (d / "layer.tgz").string() + " -C " + (d / "src").string() + " data").c_str()), 0);
  auto entries = list_layer((d / "layer.tgz").string(), (d / "scratch").string());
  std::map<std::string, LayerEntry> by;
  for (auto& e : entries) by[e.path] = e;
  ASSERT_TRUE(by.count("/data/out.txt"));
  EXPECT_EQ(by["/data/out.txt"].type, 'f');
  // sha256("built\n"), by sha256sum(1)
  EXPECT_EQ(by["/data/out.txt"].sha256,
            "56f6e6304d02d413bb7d5d463ac5cdc58551266dc7269b467fc385815f39b913");
  EXPECT_TRUE(by.count("/data/.wh.b.txt"));
  EXPECT_EQ(by["/data"].type, 'd');
  EXPECT_FALSE(fs::exists(d / "scratch")) << "the scratch directory is removed";
  EXPECT_THROW(list_layer((d / "nothing.tgz").string(), (d / "scratch").string()), std::runtime_error);
  fs::remove_all(d);
}

}  // namespace
}  // namespace stepseal::build

namespace stepseal::build {
namespace {

using nlohmann::json;

// A COPY layer over two lower layers: what it added, what it replaced (with the content before,
// from the topmost lower layer that had it), what it removed, and where its content came from.
TEST(CopyRecord, AddedReplacedRemovedAndTheirSources) {
  namespace fs = std::filesystem;
  fs::path d = fs::temp_directory_path() / ("stepseal-copy-" + std::to_string(getpid()));
  auto layer = [&](const std::string& name, std::map<std::string, std::string> files) {
    return MakeLayerBlob(d, name, files);
  };
  std::string base = layer("base", {{"etc/conf", "v1\n"}, {"etc/gone", "x\n"}, {"bin/tool", "t\n"}});
  std::string mid = layer("mid", {{"etc/conf", "v2\n"}, {"etc/.wh.gone", ""}});
  std::string copy = layer("copy", {{"etc/conf", "v3\n"}, {"etc/gone", "back\n"},
                                    {"data/new", "hello\n"}, {"bin/.wh.tool", ""}});
  fs::create_directories(d / "ctx");
  std::ofstream(d / "ctx/hello.txt") << "hello\n";
  auto ctx = context_digests((d / "ctx").string());
  json r = copy_record(list_layer(copy, (d / "scratch").string()), {base, mid}, ctx,
                       (d / "lower").string());
  std::map<std::string, json> added, replaced;
  for (auto& f : r["added"]) added[f["path"]] = f;
  for (auto& f : r["replaced"]) replaced[f["path"]] = f;
  ASSERT_EQ(added.size(), 3u) << r.dump(2);
  EXPECT_EQ(added["/data/new"]["context_sources"], json({"hello.txt"}));
  ASSERT_EQ(replaced.size(), 1u) << r.dump(2);  // /etc/gone was removed by mid: nothing before
  // the content before is mid's v2, not base's v1 (sha256sum of "v2\n")
  EXPECT_EQ(replaced["/etc/conf"]["sha256_before"],
            "81db67b6a5702b9b68f0016f061c409bf3fb16d062fc854d1b424bb4e9c28c56");
  EXPECT_EQ(replaced["/etc/conf"]["sha256_after"],  // sha256sum of "v3\n"
            "1875add404b2a01dbb52d1e58dee41d1f480be457a34bd7e1bd2a69d53f35db3");
  EXPECT_EQ(r["removed"], json({"/bin/tool"}));
  EXPECT_FALSE(fs::exists(d / "lower")) << "the scratch directory is removed";
  fs::remove_all(d);
}

}  // namespace
}  // namespace stepseal::build
