// leftovers_test.cpp - after every test process, nothing of stepseal's may remain: no BPF
// program of ours loaded (tracing or hardened mode's cgroup guard), no stepseal process running,
// no step cgroup left. (ctest runs each test in its own
// process, so this global check runs after each one.)
#include <dirent.h>
#include <unistd.h>

#include <climits>
#include <fstream>

#include "harness.h"

namespace e2e {
namespace {

const char* const kOurPrograms[] = {"on_sys_enter",      "on_sys_exit",      "on_fork",
                                    "on_exec",           "on_exit",          "guard_connect4",
                                    "guard_connect6",    "guard_sendmsg4",   "guard_sendmsg6",
                                    "guard_sock_create", "guard_connect_unix", "guard_sendmsg_unix",
                                    "dns_egress",        "dns_ingress",      "guard_dev"};

// Step cgroups (stepseal-PID-N under the cgroup2 mount) that still exist.
std::vector<std::string> StepCgroups() {
  std::vector<std::string> out;
  std::ifstream m("/proc/self/mounts");
  std::string dev, dir, type, rest;
  while (m >> dev >> dir >> type && std::getline(m, rest)) {
    if (type != "cgroup2") continue;
    if (DIR* d = opendir(dir.c_str())) {
      while (dirent* e = readdir(d))
        if (std::string(e->d_name).rfind("stepseal-", 0) == 0) out.push_back(dir + "/" + e->d_name);
      closedir(d);
    }
    break;
  }
  return out;
}

std::vector<std::string> LoadedPrograms() {
  std::vector<std::string> ours;
  CommandResult r =
      RunCommand({"/usr/sbin/bpftool", "-j", "prog", "show"}, {}, std::chrono::seconds(30));
  json progs = json::parse(r.out, nullptr, false);
  if (!progs.is_array()) {
    ADD_FAILURE() << "cannot list BPF programs with bpftool\n" << r.Describe();
    return ours;
  }
  for (const auto& p : progs)
    for (const char* name : kOurPrograms)
      // the kernel keeps 15 characters of a program's name (bpftool may print the full one)
      if (p.value("name", "").substr(0, 15) == std::string(name).substr(0, 15)) ours.push_back(name + (" id " + std::to_string(p.value("id", 0))));
  return ours;
}

std::vector<pid_t> StepsealProcesses() {
  std::vector<pid_t> out;
  char self[PATH_MAX] = {};
  std::string bin = Canonical(STEPSEAL_BIN);
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    pid_t pid = atoi(e->d_name);
    if (pid <= 0) continue;
    std::string link = "/proc/" + std::string(e->d_name) + "/exe";
    ssize_t n = readlink(link.c_str(), self, sizeof self - 1);
    if (n <= 0) continue;
    self[n] = 0;
    if (bin == self) out.push_back(pid);
  }
  closedir(d);
  return out;
}

class NoLeftovers : public testing::Environment {
 public:
  void TearDown() override {
    if (geteuid() != 0) return;
    // Programs detached from syscall tracepoints are freed after an RCU tasks-trace grace
    // period, so a just-finished run may still list them for a moment: poll, with a deadline.
    std::vector<std::string> loaded = LoadedPrograms();
    for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
         !loaded.empty() && std::chrono::steady_clock::now() < deadline; loaded = LoadedPrograms())
      usleep(50 * 1000);
    EXPECT_EQ(loaded, std::vector<std::string>{}) << "stepseal's BPF programs are still loaded";
    EXPECT_EQ(StepsealProcesses(), std::vector<pid_t>{}) << "stepseal processes are still running";
    EXPECT_EQ(StepCgroups(), std::vector<std::string>{}) << "step cgroups were left behind";
  }
};

[[maybe_unused]] testing::Environment* const kNoLeftovers =
    testing::AddGlobalTestEnvironment(new NoLeftovers);

}  // namespace
}  // namespace e2e
