// build_record_test.cpp - the pieces of `stepseal build`'s record that need no kernel: a RUN's
// pre-images from the lower layers and how they close the summary's gap, --push references, and
// the build provenance's list of envelopes read back as verify reads it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "attest/build_statements.h"
#include "build/layer_check.h"
#include "layer_blob.h"
#include "build/registry_push.h"
#include "distill/summary.h"

namespace stepseal::build {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;


json file(const std::string& path, std::vector<std::string> access) {
  return {{"path", path}, {"access", access}};
}

// A RUN that overwrote a base file, removed another, created one and overwrote a stub no layer
// has: the first two get their content from the topmost lower layer, and the gap keeps only the
// stub.
TEST(RunPreimages, FromTheLowerLayersAndTheGapCloses) {
  fs::path d = fs::temp_directory_path() / ("stepseal-pre-" + std::to_string(getpid()));
  auto layer = [&](const std::string& name, std::map<std::string, std::string> files) {
    return MakeLayerBlob(d, name, files);
  };
  std::string base = layer("base", {{"etc/conf", "v1\n"}, {"etc/old", "old\n"}});
  std::string mid = layer("mid", {{"etc/conf", "v2\n"}});
  json summary = {{"files", json::array({file("/etc/conf", {"write", "overwrite"}),
                                         file("/etc/old", {"delete"}),
                                         file("/new", {"create", "write"}),
                                         file("/etc/hosts", {"overwrite"})})},
                  {"gaps", json::array({{{"kind", "preimage_unavailable"}, {"count", 3}}})},
                  {"lost_events", 0},
                  {"complete", false}};
  json pre = run_preimages(summary, {base, mid}, (d / "scratch").string());
  std::map<std::string, json> by;
  for (auto& p : pre) by[p["path"]] = p["sha256_before"];
  ASSERT_EQ(by.size(), 3u) << pre.dump(2);  // not /new: the step made it
  // sha256sum of "v2\n" (mid's, the topmost) and of "old\n"
  EXPECT_EQ(by["/etc/conf"], "81db67b6a5702b9b68f0016f061c409bf3fb16d062fc854d1b424bb4e9c28c56");
  EXPECT_EQ(by["/etc/old"].get<std::string>().size(), 64u);
  EXPECT_TRUE(by["/etc/hosts"].is_null()) << "no layer has it";
  EXPECT_EQ(apply_layer_preimages(summary, pre), 2u);
  std::map<std::string, json> files;
  for (auto& f : summary["files"]) files[f["path"]] = f;
  EXPECT_EQ(files["/etc/conf"]["before_source"], "lower_layers");
  ASSERT_EQ(summary["gaps"].size(), 1u) << summary.dump(2);
  EXPECT_EQ(summary["gaps"][0]["count"], 1);  // /etc/hosts
  EXPECT_EQ(summary["complete"], false);
  // with the stub's content known too, nothing is missing
  json all = pre;
  for (auto& p : all)
    if (p["path"] == "/etc/hosts") p["sha256_before"] = std::string(64, 'a');
  EXPECT_EQ(apply_layer_preimages(summary, all), 1u);
  EXPECT_TRUE(summary["gaps"].empty()) << summary.dump(2);
  EXPECT_EQ(summary["complete"], true);
  fs::remove_all(d);
}

// Security: paths come from the build (file names a COPY or a RUN chose). A name that reads like
// a tar option must stay a name (it ran a command as root when passed on tar's command line),
// and a symlinked directory of a layer must not lead the hashing to the host's files.
TEST(RunPreimages, NamesAreNeverOptionsAndSymlinksStayInTheLayer) {
  fs::path d = fs::temp_directory_path() / ("stepseal-inject-" + std::to_string(getpid()));
  fs::create_directories(d);
  const fs::path mark = d / "MARK";
  const std::string evil = "--checkpoint-action=exec=touch " + mark.string();
  std::string base = MakeLayerBlob(d, "base", {{"--checkpoint=1", "a\n"}, {evil, "b\n"}});
  // a directory symlink to the host's /etc in a layer (made by hand: MakeLayerBlob writes files)
  fs::create_directories(d / "link.src");
  fs::create_symlink("/etc", d / "link.src/hostetc");
  const std::string link = (d / "link.tgz").string();
  ASSERT_EQ(system(("tar -czf " + link + " -C " + (d / "link.src").string() + " .").c_str()), 0);
  auto got = lower_contents({"/--checkpoint=1", "/" + evil, "/hostetc/hostname"}, {base, link},
                            (d / "scratch").string());
  EXPECT_FALSE(fs::exists(mark)) << "a member name was taken for a tar option";
  EXPECT_EQ(got["/--checkpoint=1"], "87428fc522803d31065e7bce3cf03fe475096631e5e07bbd7a0fde60c4cf25c7");  // "a\n"
  EXPECT_EQ(got.count("/" + evil), 1u);
  // not followed: unknown, never a digest of the host's file
  EXPECT_EQ(got["/hostetc/hostname"], kNotRegular);
  fs::remove_all(d);
}

// What a higher layer hid is not a pre-image: a directory removed (its whiteout), a directory
// made opaque, a file under it; the content below the hiding layer does not count.
TEST(RunPreimages, WhatAHigherLayerHidIsNotThere) {
  fs::path d = fs::temp_directory_path() / ("stepseal-hide-" + std::to_string(getpid()));
  fs::create_directories(d);
  std::string base = MakeLayerBlob(d, "base", {{"app/conf", "v1\n"}, {"o/x", "v1\n"}, {"keep/y", "v1\n"}});
  std::string mid = MakeLayerBlob(d, "mid", {{".wh.app", ""}, {"o/.wh..wh..opq", ""}});
  auto got = lower_contents({"/app/conf", "/o/x", "/keep/y"}, {base, mid}, (d / "scratch").string());
  EXPECT_EQ(got.count("/app/conf"), 0u) << got["/app/conf"];
  EXPECT_EQ(got.count("/o/x"), 0u) << got["/o/x"];
  EXPECT_EQ(got["/keep/y"].size(), 64u);
  fs::remove_all(d);
}

TEST(PushTarget, ReferencesAreParsedOrRefused) {
  std::string why;
  auto t = parse_push_target("docker://127.0.0.1:5000/team/demo:1.2", &why);
  ASSERT_TRUE(t) << why;
  EXPECT_EQ(t->repository, "127.0.0.1:5000/team/demo");
  EXPECT_EQ(t->tag, "1.2");
  t = parse_push_target("docker://127.0.0.1:5000/demo", &why);
  ASSERT_TRUE(t) << why;
  EXPECT_EQ(t->tag, "latest") << "the port is not a tag";
  t = parse_push_target("docker://localhost/demo", &why);
  ASSERT_TRUE(t) << why;
  for (const char* bad : {"127.0.0.1:5000/demo:1", "oci:dir:tag", "docker://", "docker://h.io/demo:",
                          "docker://localhost:5000", "docker://demo:1", "docker://team/demo",
                          "docker://h.io/demo@sha256:0123", "docker://h.io/demo:a b"}) {
    why.clear();
    EXPECT_FALSE(parse_push_target(bad, &why)) << bad;
    EXPECT_FALSE(why.empty()) << bad;
  }
}

TEST(BuildProvenance, ListsEveryEnvelopeAsVerifyReadsIt) {
  attest::BuildContext b;
  b.record = {{"builder", {{"name", "buildah"}, {"argv", {"buildah", "bud", "."}}}},
              {"image", {{"base_layers", {"sha256:" + std::string(64, 'b')}}}},
              {"instructions", json::array({{{"history_index", 1}, {"kind", "copy"}}})},
              {"exit_code", 0}};
  b.steps = {{"01.runtime-trace.intoto.json", "01", attest::kRuntimeTrace, std::string(64, '1'), 2},
             {"copy-01.layer-contents.intoto.json", "copy-01", attest::kLayerContents,
              std::string(64, '2'), 1}};
  b.event = "urn:uuid:x";
  b.stepseal_sha256 = std::string(64, 'c');
  json st = attest::build_provenance({{"oci:l:t", "sha256:" + std::string(64, 'd')}}, b);
  EXPECT_EQ(st["predicate"]["runDetails"]["builder"]["id"], "urn:stepseal:binary:sha256:" + std::string(64, 'c'));
  EXPECT_EQ(st["predicate"]["buildDefinition"]["resolvedDependencies"][0]["digest"]["sha256"],
            std::string(64, 'b'));
  auto back = attest::provenance_steps(st);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].file, "01.runtime-trace.intoto.json");
  EXPECT_EQ(back[0].step, "01");
  EXPECT_EQ(back[0].sha256, std::string(64, '1'));
  EXPECT_EQ(back[0].history_index, 2);
  EXPECT_EQ(back[1].predicate_type, attest::kLayerContents);
  EXPECT_EQ(attest::attested_step(st).step, "build");
}

}  // namespace
}  // namespace stepseal::build

#include <fcntl.h>

#include "build/step_output.h"

namespace stepseal::build {
namespace {

// A RUN's output: forwarded, hashed and kept; a builder that stops reading holds up only the
// stream's own thread, and drain() still returns, saying the stream is incomplete.
TEST(StepOutput, ForwardsHashesKeepsAndNeverHangsOnASilentBuilder) {
  namespace fs = std::filesystem;
  fs::path d = fs::temp_directory_path() / ("stepseal-out-" + std::to_string(getpid()));
  fs::create_directories(d);
  for (bool builder_reads : {true, false}) {
    int src[2], dst[2];
    ASSERT_EQ(pipe2(src, O_CLOEXEC), 0);
    ASSERT_EQ(pipe2(dst, O_CLOEXEC | O_NONBLOCK), 0);
    if (!builder_reads) {  // the builder's pipe is full and nobody reads it
      char junk[4096] = {};
      while (write(dst[1], junk, sizeof junk) > 0) {
      }
    }
    const std::string file = (d / (builder_reads ? "a" : "b")).string();
    StepOutput out(src[0], dup(dst[1]), file, "kept");
    ASSERT_EQ(write(src[1], "hello\n", 6), 6);
    close(src[1]);
    out.drain(300);
    json r = out.record();
    EXPECT_EQ(r["bytes"], 6);
    std::ifstream kept(file);
    std::string text((std::istreambuf_iterator<char>(kept)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text, "hello\n");
    if (builder_reads) {
      EXPECT_EQ(r["complete"], true) << r.dump();
      EXPECT_EQ(r["sha256"], "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
      char back[16] = {};
      EXPECT_EQ(read(dst[0], back, sizeof back), 6);
    } else {
      EXPECT_EQ(r["complete"], false) << r.dump();
      EXPECT_TRUE(r["sha256"].is_null());
      EXPECT_EQ(r["forward_failed"], true);
    }
    close(dst[0]);
    close(dst[1]);
  }
  fs::remove_all(d);
}

}  // namespace
}  // namespace stepseal::build
