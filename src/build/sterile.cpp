#include "build/sterile.h"

#include <algorithm>
#include <set>
#include <stdexcept>

#include "harden/cgroup.h"
#include "harden/net_guard.h"

namespace stepseal::build {

using json = nlohmann::json;

SealedConfig seal_config(const json& config, const policy::Policy& p,
                         const std::string& seal_host_path) {
  if (!config.is_object() || !config.contains("process") || !config["process"].is_object())
    throw std::runtime_error("config.json has no process object");
  SealedConfig out;
  out.config = config;
  json& proc = out.config["process"];
  const json args = proc.value("args", json());
  if (!args.is_array() || args.empty() ||
      !std::all_of(args.begin(), args.end(), [](const json& a) { return a.is_string(); }))
    throw std::runtime_error("config.json's process.args is not a non-empty list of strings");
  if (args[0] == kSealInContainer) throw std::runtime_error("config.json is sealed already");
  out.original_args = args;
  json sealed = json::array({kSealInContainer, "--"});
  for (const auto& a : args) sealed.push_back(a);
  proc["args"] = sealed;
  proc["noNewPrivileges"] = true;

  // the environment: only what the allowlist names (Dockerfile ENV and ARG included)
  json env = json::array();
  std::set<std::string> dropped;
  const json in_env = proc.value("env", json::array());
  if (!in_env.is_array()) throw std::runtime_error("config.json's process.env is not a list");
  for (const auto& kv : in_env) {
    if (!kv.is_string()) throw std::runtime_error("config.json's process.env holds a non-string");
    const std::string s = kv.get<std::string>();
    const std::string name = s.substr(0, s.find('='));
    if (policy::env_allowed(p, name))
      env.push_back(s);
    else
      dropped.insert(name);
  }
  proc["env"] = env;
  out.env_dropped.assign(dropped.begin(), dropped.end());

  // capabilities: the policy's, in every set (as restrict_self leaves a hardened step)
  json caps = json::array();
  for (const auto& c : p.privileges.capabilities) caps.push_back(c);
  out.capabilities = p.privileges.capabilities;
  proc["capabilities"] = {{"bounding", caps}, {"effective", caps}, {"permitted", caps},
                          {"inheritable", caps}, {"ambient", caps}};
  if (p.privileges.uid)
    proc["user"] = {{"uid", *p.privileges.uid}, {"gid", *p.privileges.uid},
                    {"additionalGids", json::array()}};

  json& mounts = out.config["mounts"];
  if (!mounts.is_array()) throw std::runtime_error("config.json's mounts is not a list");
  // the helper's mount point must be made on a tmpfs of the container's, never in its root
  // (the layer)
  // (the last mount on /dev is the one the RUN sees)
  const json* dev = nullptr;
  for (const auto& m : mounts)
    if (m.is_object() && m.value("destination", "") == "/dev") dev = &m;
  if (!dev || dev->value("type", "") != "tmpfs")
    throw std::runtime_error("config.json mounts no tmpfs of the container's own on /dev, where "
                             "stepseal-seal goes");
  for (auto& m : mounts) {
    if (!m.is_object()) throw std::runtime_error("config.json's mounts holds a non-object");
    // a cgroup filesystem the RUN could write would let it move itself out of the cgroup the
    // network guard is attached to
    const std::string type = m.value("type", "");
    if (type != "cgroup" && type != "cgroup2") continue;
    json opts = json::array({"ro"});
    for (const auto& o : m.value("options", json::array()))
      if (o.is_string() && o != "rw" && o != "ro") opts.push_back(o);
    m["options"] = opts;
  }
  // on the container's /dev (a tmpfs of its own): nothing of it reaches the layer
  mounts.push_back({{"destination", kSealInContainer},
                    {"type", "bind"},
                    {"source", seal_host_path},
                    {"options", json::array({"bind", "ro", "nosuid", "nodev"})}});
  return out;
}

SterileStep::SterileStep(const policy::Policy& p, const std::string& workspace, bool own_netns,
                         const BpfTracer& tracer) {
  cgroup_ = std::make_unique<StepCgroup>();
  cgroup_->spawn_janitor();
  guard_ = std::make_unique<NetGuard>(p, workspace, own_netns, cgroup_->fd(), tracer);
}

SterileStep::~SterileStep() {
  guard_.reset();   // detached first
  cgroup_.reset();  // then what is left is killed and the cgroup removed
}

void SterileStep::adopt(pid_t init) { cgroup_->add(init); }

const std::string& SterileStep::cgroup_path() const { return cgroup_->path(); }

}  // namespace stepseal::build
