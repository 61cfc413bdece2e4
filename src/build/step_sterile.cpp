// step_sterile.cpp - the sterile build's part of the shim's handshakes (sterile.h): `prepare`
// seals the RUN's config.json before runc reads it; a create of a sealed container confines it
// before its first instruction.
#include <fcntl.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <filesystem>
#include <map>

#include "build/session.h"
#include "distill/summary.h"
#include "replay/step_record.h"
#include "build/sterile.h"
#include "digest/file_hash.h"
#include "policy/policy.h"
#include "util/file_io.h"
#include "util/json.h"

namespace stepseal::build::detail {

namespace {

// The builder's bundle file, read without blocking (never a FIFO's reader) and bounded.
std::string read_config(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
  struct stat st{};
  if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    if (fd >= 0) close(fd);
    throw std::runtime_error("the bundle has no regular config.json");
  }
  close(fd);
  return util::read_file(path, 16u << 20);
}

}  // namespace

std::string BuildSession::prepare_step(const json& req) {
  if (!o_.policy) return "ok";  // observed only: the builder's config as it is
  const std::string id = req.value("id", ""), bundle = req.value("bundle", "");
  if (id.empty() || bundle.empty() || bundle[0] != '/') return "error: a malformed prepare";
  const std::string path = bundle + "/config.json";
  try {
    const std::string before = read_config(path);
    if (prepared_.count(id)) {  // a create retried after a failure: sealed already, by us
      // the very text stepseal wrote: sealed by it, nothing changed since
      if (sha256_hex(before) == prepared_[id]["config_sha256"].value("sealed", "")) return "ok";
      prepared_.erase(id);
    }
    SealedConfig sc = seal_config(util::parse_bounded_json(before), *o_.policy, seal_exe_);
    const std::string after = sc.config.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    // replaced whole (a reader sees the old file or the new one), with the builder's mode
    struct stat st{};
    if (stat(path.c_str(), &st) < 0) return std::string("error: config.json: ") + strerror(errno);
    const std::string tmp = path + ".stepseal-tmp";
    unlink(tmp.c_str());
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, st.st_mode & 0777);
    bool ok = fd >= 0 && util::write_all(fd, after.data(), after.size()) && fsync(fd) == 0;
    const int err = errno;
    if (fd >= 0) close(fd);
    if (!ok || rename(tmp.c_str(), path.c_str()) < 0) {
      const int e2 = ok ? errno : err;
      unlink(tmp.c_str());
      return std::string("error: cannot write the sealed config.json: ") + strerror(e2);
    }
    prepared_[id] = {{"argv", sc.original_args},
                     {"env_dropped", sc.env_dropped},
                     {"capabilities", sc.capabilities},
                     {"config_sha256", {{"builder", sha256_hex(before)}, {"sealed", sha256_hex(after)}}},
                     {"seal", {{"path", kSealInContainer}, {"sha256", seal_sha256_}}}};
    if (!sc.env_dropped.empty())
      spdlog::info("sterile: container {}: environment cut to the allowlist, dropped {}",
                   id.substr(0, 12), json(sc.env_dropped).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  } catch (const std::exception& e) {
    return std::string("error: the RUN cannot be sealed: ") + e.what();
  }
  return "ok";
}

std::string BuildSession::confine_step(Step& s, const json& cfg) {
  auto it = prepared_.find(s.container_id);
  if (it == prepared_.end())
    return "error: a sterile build's container was created without being sealed first";
  s.sterile_record = std::move(it->second);
  prepared_.erase(it);
  // what runc was given must be what stepseal sealed
  const json args = cfg.contains("process") && cfg["process"].is_object()
                        ? cfg["process"].value("args", json::array())
                        : json::array();
  if (!args.is_array() || args.empty() || args[0] != kSealInContainer)
    return "error: the container's config.json is not the one stepseal sealed";
  s.argv = s.sterile_record["argv"];
  // the network namespace: the container's own, or the host's (abstract unix sockets are
  // per namespace)
  const std::string proc = "/proc/" + std::to_string(s.root_pid);
  struct stat mine{}, theirs{}, pidns{};
  const bool own_netns = stat("/proc/self/ns/net", &mine) == 0 &&
                         stat((proc + "/ns/net").c_str(), &theirs) == 0 &&
                         mine.st_ino != theirs.st_ino;
  if (stat((proc + "/ns/pid").c_str(), &pidns) < 0)
    return std::string("error: cannot read the container's pid namespace: ") + strerror(errno);
  try {
    // no workspace: the RUN's working directory is the Dockerfile's choice (and often "/"), so
    // pathname unix sockets are allowed only under /tmp, /run, /var/run and /dev/shm
    s.sterile = std::make_unique<SterileStep>(*o_.policy, "", own_netns, host_->tracer());
    s.sterile->adopt(static_cast<pid_t>(s.root_pid));
    host_->tracer().set_step_pidns(static_cast<uint32_t>(pidns.st_ino));
  } catch (const std::exception& e) {
    s.sterile.reset();
    return std::string("error: the RUN cannot be confined: ") + e.what();
  }
  s.sterile_record["network_namespace"] = own_netns ? "own" : "host";
  s.sterile_record["cgroup"] = s.sterile->cgroup_path();
  return "ok";
}

// STEP_START's hardened-mode fields (as `run --hardened` writes them): the journal is judged
// against this policy by every reader, with the same code.
json BuildSession::sterile_start_fields(const Step& s) const {
  return {{"mode", "hardened"},
          {"policy", policy::to_json(*o_.policy)},
          {"policy_sha256", policy::policy_sha256(*o_.policy)},
          {"policy_path", o_.policy_path},
          {"workspace", ""},
          {"fail_fast", false},
          {"network_namespace", s.sterile_record.value("network_namespace", "")},
          {"cgroup", s.sterile_record.value("cgroup", "")},
          {"exec_paths", json::object()},
          // the seal runs first in every RUN, whatever the exec rules say
          {"exec_implicit", json::array({{{"path", kSealInContainer}, {"sha256", seal_sha256_}}})}};
}

// A step's verdict, judged from its finished journal by the code `show` and `attest` use: what
// was blocked, which rules were broken, whether the record is complete (with the pre-images the
// image's lower layers gave, when there are some: build.json step "preimages").
json sterile_verdict(const std::string& journal, const json& preimages, const std::string& seal_sha256) {
  json sum = summary_json(load_step(journal));
  if (preimages.is_array()) apply_layer_preimages(sum, preimages);
  json v = sum.value("violations", json::array());
  // the seal that ran is the one stepseal hashed and bound, or the RUN did not run sealed
  for (const auto& p : sum.value("processes", json::array()))
    if (p.value("exe", "") == kSealInContainer && p.value("exe_sha256", json()) != json(seal_sha256))
      v.push_back({{"verdict", "violation"}, {"rule", "sterile.seal"}, {"category", "process"},
                   {"detail", "the seal that ran (sha256 " + p.value("exe_sha256", json("unknown")).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
                              ") is not the one stepseal bound (" + seal_sha256 + ")"}});
  std::map<std::string, int> rules;
  int blocked = 0;
  for (const auto& x : v) {
    rules[x.value("rule", "")]++;
    if (x.value("verdict", "") == "blocked") blocked++;
  }
  json gaps = json::array();
  for (const auto& g : sum.value("gaps", json::array())) gaps.push_back(g.value("kind", ""));
  return {{"held", v.empty()},
          {"violations", v.size()},
          {"blocked", blocked},
          {"rules", rules},
          {"complete", sum.value("complete", false)},
          {"gaps", gaps}};
}

void BuildSession::judge_step(Step& s) {
  json verdict;
  try {
    verdict = sterile_verdict((std::filesystem::path(o_.out_dir) / s.journal_rel).string(), json(),
                              seal_sha256_);
    if (!verdict["held"].get<bool>()) {
      std::string list;
      for (const auto& [r, n] : verdict["rules"].items())
        list += (list.empty() ? "" : ", ") + r + (n.get<int>() > 1 ? " x" + std::to_string(n.get<int>()) : "");
      spdlog::warn("step {}: the policy was broken {} time(s) ({} blocked): {}", s.index,
                   verdict["violations"].get<size_t>(), verdict["blocked"].get<int>(), list);
    }
  } catch (const std::exception& e) {
    spdlog::error("step {}: its journal cannot be read back to judge it: {}", s.index, e.what());
    verdict = {{"held", false}, {"error", e.what()}};
  }
  s.sterile_record["verdict"] = verdict;
  s.record["sterile"] = s.sterile_record;
}

}  // namespace stepseal::build::detail
