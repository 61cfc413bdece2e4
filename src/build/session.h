// session.h - the insides of `stepseal build` (build_session.h is the interface): one
// BuildSession per build, one Step per RUN container. build_session.cpp runs the phases
// (attach, spawn, pump, finish); step_handshake.cpp answers the runtime shim (a create opens and
// follows a step, the init's end finishes it, a delete waits for that).
#pragma once

#include <signal.h>
#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "build/build_session.h"
#include "build/builder_args.h"
#include "build/step_output.h"
#include "build/sterile.h"
#include "supervisor/step_recorder.h"
#include "supervisor/tracer_host.h"
#include "util/fd.h"

namespace stepseal::build::detail {

using json = nlohmann::json;
using Fd = util::UniqueFd;

// One RUN step: a container whose init the tracer follows.
struct Step {
  uint16_t number = 0;
  int index = 0;  // 1, 2, ... in the order the builder created them
  std::string container_id, bundle, journal_rel;
  uint32_t root_pid = 0;
  json argv = json::array();
  std::string cwd;
  std::vector<std::string> mounts;  // the container's mount destinations (config.json)
  int64_t started_real = 0;
  std::unique_ptr<StepRecorder> rec;
  Fd pidfd;
  Fd mntns;  // the container's mount namespace, held until the final digests: its mounts with it
  std::optional<int64_t> wait_status;  // the init's, from its EXIT event
  std::vector<int> pending_deletes;     // shim connections waiting for the step to finish
  std::unique_ptr<StepOutput> output[2];  // its stdout and stderr, when the shim passed them
  std::unique_ptr<SterileStep> sterile;   // a sterile build's cgroup and network guard
  json sterile_record;                    // what sealing changed (build.json, STEP_START)
  int64_t follow_ns = 0;  // the create handshake: from the shim's request to the step followed
  bool done = false;
  json record;  // its entry in build.json, once done
};

class BuildSession {
 public:
  explicit BuildSession(const BuildOptions& o) : o_(o) {}
  int run();

 private:
  std::optional<int> attach();
  std::optional<int> spawn(const sigset_t& orig);
  int pump();
  void consume_ring();
  void handle_connection(int fd);
  std::string check_peer(int fd);
  std::string open_step(const json& req, std::vector<Fd>& fds);
  // a sterile build (step_sterile.cpp): the RUN's config.json sealed before runc reads it, and
  // the created container confined before its first instruction
  std::string prepare_step(const json& req);
  std::string confine_step(Step& s, const json& cfg);
  json sterile_start_fields(const Step& s) const;
  void judge_step(Step& s);  // the finished journal judged: its verdict into s.record
  void finish_step(Step& s, const std::string& why);
  int finish(int builder_rc);
  std::optional<std::string> export_image(json* manifest, json& steps);
  void watch(int fd, uint64_t tag);

  const BuildOptions& o_;
  BuilderPlan plan_;
  std::string runtime_, shim_dir_, shim_path_, sock_path_;
  std::unique_ptr<TracerHost> host_;
  Fd listen_, ep_, sfd_, builder_pidfd_;
  pid_t builder_ = -1;
  int64_t t0_real_ = 0, t0_mono_ = 0;
  std::map<uint64_t, std::unique_ptr<Step>> steps_;  // by epoll tag of its pidfd
  std::map<int, Fd> conns_;                          // shim connections not yet read
  struct stat shim_exe_{};  // the runtime shim's file: a peer must run it
  std::string seal_exe_;    // a sterile build: stepseal-seal, copied into shim_dir_ and bound
  std::string seal_installed_;  // ... from beside stepseal
  std::string seal_sha256_;
  std::map<std::string, json> prepared_;  // sealed bundles, by container id, until created
  int next_index_ = 1;
  bool write_failed_ = false;
};

// A sterile step's verdict from its journal (step_sterile.cpp), with the image's pre-images
// (build.json step "preimages") when there are some. Throws std::runtime_error.
// Every exec of the seal must be of SEAL_SHA256 (the copy stepseal hashed).
json sterile_verdict(const std::string& journal, const json& preimages, const std::string& seal_sha256);

enum : uint64_t { kRing = 1, kListen = 2, kSignal = 3, kBuilder = 4, kConnBase = 1ull << 32,
                  kStepBase = 1ull << 48 };

}  // namespace stepseal::build::detail
