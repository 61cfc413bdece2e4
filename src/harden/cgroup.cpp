#include "harden/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace stepseal {

namespace {

bool write_str(const std::string& path, const std::string& v) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, v.data(), v.size()) == static_cast<ssize_t>(v.size());
  close(fd);
  return ok;
}

bool populated(const std::string& dir) {
  std::ifstream f(dir + "/cgroup.events");
  std::string k, v;
  while (f >> k >> v)
    if (k == "populated") return v != "0";
  return false;
}

}  // namespace

std::string StepCgroup::root() {
  std::ifstream m("/proc/self/mounts");
  std::string line;
  while (std::getline(m, line)) {
    std::istringstream ls(line);
    std::string dev, dir, type;
    ls >> dev >> dir >> type;
    if (type == "cgroup2") return dir;
  }
  return {};
}

int StepCgroup::collect_stale() {
  std::string r = root();
  int removed = 0;
  DIR* d = r.empty() ? nullptr : opendir(r.c_str());
  if (!d) return 0;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (!n.starts_with("stepseal-")) continue;
    pid_t owner = atoi(n.c_str() + 9);
    if (owner > 0 && (::kill(owner, 0) == 0 || errno != ESRCH)) continue;
    std::string dir = r + "/" + n;
    if (populated(dir)) write_str(dir + "/cgroup.kill", "1");
    if (rmdir(dir.c_str()) == 0) {
      removed++;
      spdlog::info("removed the cgroup {} left by a stepseal that was killed", dir);
    }
  }
  closedir(d);
  return removed;
}

StepCgroup::StepCgroup() {
  std::string r = root();
  if (r.empty()) throw std::runtime_error("no cgroup v2 hierarchy is mounted");
  collect_stale();
  path_ = r + "/stepseal-" + std::to_string(getpid()) + "-" +
          std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  // The janitor exists before the cgroup does: a supervisor killed right after the mkdir (before
  // a janitor forked after it would exist) left the cgroup behind.
  spawn_janitor();
  auto fail = [&](const std::string& what, int err) {
    end_janitor();  // it finds no cgroup, and ends
    throw std::runtime_error(what + " " + path_ + ": " + strerror(err));
  };
  if (mkdir(path_.c_str(), 0700) < 0) fail("cannot create the step's cgroup", errno);
  fd_ = open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ < 0) {
    int err = errno;
    rmdir(path_.c_str());
    fail("cannot open the step's cgroup", err);
  }
}

void StepCgroup::add(pid_t pid) {
  if (!write_str(path_ + "/cgroup.procs", std::to_string(pid)))
    throw std::runtime_error("cannot move the step into its cgroup " + path_ + ": " +
                             strerror(errno));
}

void StepCgroup::kill_all() { write_str(path_ + "/cgroup.kill", "1"); }

void StepCgroup::kill_all_but(pid_t keep) {
  std::ifstream f(path_ + "/cgroup.procs");
  pid_t p;
  while (f >> p)
    if (p != keep) ::kill(p, SIGKILL);
}

void StepCgroup::spawn_janitor() {
  if (janitor_ > 0) return;  // the constructor forked it
  // Threads exist already: the child may only make system calls, so every path is built here.
  const std::string kill_p = path_ + "/cgroup.kill", events_p = path_ + "/cgroup.events";
  const char *dir = path_.c_str(), *killf = kill_p.c_str(), *eventsf = events_p.c_str();
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    throw std::runtime_error("cannot start the janitor of the step's cgroup: pipe: " +
                             std::string(strerror(errno)));
  pid_t j = fork();
  if (j < 0) {
    int err = errno;
    close(p[0]);
    close(p[1]);
    throw std::runtime_error("cannot start the janitor of the step's cgroup: fork: " +
                             std::string(strerror(err)));
  }
  if (j > 0) {
    close(p[0]);
    janitor_pipe_ = p[1];  // held until the supervisor is gone, however it ends
    janitor_ = j;
    return;
  }
  // The janitor holds nothing else: no journal, no BPF link (which would keep programs attached).
  if (dup2(p[0], 3) < 0) _exit(1);
  close_range(0, 2, 0);
  close_range(4, ~0U, 0);
  setsid();
  char c;
  while (read(3, &c, 1) > 0 || errno == EINTR) {
  }
  // The supervisor is gone. When it ended normally it removed the cgroup itself (or never made
  // it: the janitor is forked first).
  if (access(dir, F_OK) == 0) {
    int k = open(killf, O_WRONLY | O_CLOEXEC);
    if (k >= 0) {
      (void)!write(k, "1", 1);
      close(k);
    }
    int efd = open(eventsf, O_RDONLY | O_CLOEXEC);
    for (int i = 0; i < 100 && efd >= 0; i++) {  // "populated 0" once the last member is gone
      char buf[256];
      ssize_t n = pread(efd, buf, sizeof buf - 1, 0);
      if (n <= 0) break;
      buf[n] = 0;
      if (strstr(buf, "populated 0")) break;
      pollfd pf{efd, POLLPRI, 0};
      poll(&pf, 1, 100);
    }
    rmdir(dir);
  }
  _exit(0);
}

StepCgroup::~StepCgroup() {
  if (fd_ >= 0) close(fd_);
  if (path_.empty()) return;
  // Normally empty already: the pid namespace died with its init. cgroup.events tells when the
  // last member is gone (it is pollable: POLLPRI on change).
  if (populated(path_)) {
    kill_all();
    int efd = open((path_ + "/cgroup.events").c_str(), O_RDONLY | O_CLOEXEC);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (efd >= 0 && populated(path_) && std::chrono::steady_clock::now() < deadline) {
      pollfd p{efd, POLLPRI, 0};
      poll(&p, 1, 100);
    }
    if (efd >= 0) close(efd);
  }
  if (rmdir(path_.c_str()) < 0)
    spdlog::warn("cannot remove the step's cgroup {}: {}", path_, strerror(errno));
  end_janitor();
}

void StepCgroup::end_janitor() {
  if (janitor_pipe_ >= 0) close(janitor_pipe_);  // the janitor finds nothing left to do
  janitor_pipe_ = -1;
  // and ends: reaped here, so that a supervisor of many steps (a build) leaves no zombies
  if (janitor_ > 0)
    while (waitpid(janitor_, nullptr, 0) < 0 && errno == EINTR) {
    }
  janitor_ = -1;
}

}  // namespace stepseal
