// os_util.h - processes and files for the e2e tests.
//
// Commands are always started from an argv vector (posix_spawn), never through a shell string.
// Waiting uses a pidfd with a deadline, so a hung stepseal fails a test instead of hanging it.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

extern char** environ;

namespace e2e {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

inline int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

// Milliseconds left until DEADLINE, for poll(); 0 once it has passed.
inline int MillisLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// Wait until FD is readable or DEADLINE passes. Returns whether it became readable (or hung up).
inline bool WaitReadable(int fd, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int n = poll(&p, 1, MillisLeft(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

// Exit status in the shell's convention: the exit code, or 128 + signal number.
inline int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

inline std::string Join(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

struct SpawnOptions {
  std::string cwd{};                     // empty: inherit
  std::vector<std::string> extra_env{};  // NAME=VALUE, added to (and overriding) the environment
};

struct CommandResult {
  int exit_code = -1;  // exit status or 128 + signal; -1 if it could not be started or timed out
  bool timed_out = false;
  std::string out, err;
  std::string Describe() const {
    std::ostringstream s;
    s << "exit " << exit_code << (timed_out ? " (timed out)" : "") << "\n--- stdout ---\n"
      << out.substr(0, 4000) << "\n--- stderr ---\n"
      << err.substr(0, 4000);
    return s.str();
  }
};

// A started child process with its stdout and stderr captured through pipes. The destructor
// kills and reaps a child that is still running, so a failing test leaks nothing.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const SpawnOptions& opts = {}) : argv_(argv) {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
      error_ = std::string("pipe: ") + strerror(errno);
      return;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    if (!opts.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, opts.cwd.c_str());

    std::vector<std::string> env_strings = MergedEnvironment(opts.extra_env);
    std::vector<char*> args = Pointers(argv_), env = Pointers(env_strings);
    int rc = posix_spawn(&pid_, argv_[0].c_str(), &fa, nullptr, args.data(), env.data());
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(err[1]);
    out_fd_ = out[0];
    err_fd_ = err[0];
    if (rc != 0) {
      error_ = "posix_spawn " + argv_[0] + ": " + strerror(rc);
      pid_ = -1;
      return;
    }
    pidfd_ = PidfdOpen(pid_);
    fcntl(out_fd_, F_SETFL, O_NONBLOCK);
    fcntl(err_fd_, F_SETFL, O_NONBLOCK);
  }

  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  ~Child() {
    if (pid_ > 0 && !result_) {
      kill(pid_, SIGKILL);
      Wait(10s);
    }
    for (int fd : {out_fd_, err_fd_, pidfd_})
      if (fd >= 0) close(fd);
  }

  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }
  const std::string& error() const { return error_; }

  // Waits (collecting output) until the child exits or TIMEOUT passes; on timeout the child is
  // killed and the result says timed_out. Output written by descendants after the child exits is
  // not waited for: a daemon may hold the pipes open forever.
  const CommandResult& Wait(std::chrono::milliseconds timeout) {
    if (result_) return *result_;
    CommandResult r;
    if (pid_ <= 0) {
      r.err = error_;
      return *(result_ = r);
    }
    auto deadline = Clock::now() + timeout;
    bool exited = false, out_open = true, err_open = true;
    while (!exited) {
      // a pipe at EOF is dropped from the poll set (fd -1), or poll would report it forever
      pollfd fds[3] = {{pidfd_, POLLIN, 0},
                       {out_open ? out_fd_ : -1, POLLIN, 0},
                       {err_open ? err_fd_ : -1, POLLIN, 0}};
      int n = poll(fds, 3, MillisLeft(deadline));
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) {
        r.timed_out = true;
        kill(pid_, SIGKILL);
        break;
      }
      if (out_open) out_open = Drain(out_fd_, r.out);
      if (err_open) err_open = Drain(err_fd_, r.err);
      exited = fds[0].revents != 0;
    }
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    Drain(out_fd_, r.out);
    Drain(err_fd_, r.err);
    r.exit_code = r.timed_out ? -1 : DecodeWaitStatus(status);
    return *(result_ = r);
  }

 private:
  // Reads what FD has without blocking; returns false once it reached end of file.
  static bool Drain(int fd, std::string& into) {
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) into.append(buf, static_cast<size_t>(n));
    return n != 0;
  }

  static std::vector<std::string> MergedEnvironment(const std::vector<std::string>& extra) {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
      std::string entry = *e;
      std::string name = entry.substr(0, entry.find('='));
      bool overridden = false;
      for (const auto& x : extra) overridden |= x.substr(0, x.find('=')) == name;
      if (!overridden) env.push_back(entry);
    }
    env.insert(env.end(), extra.begin(), extra.end());
    return env;
  }

  static std::vector<char*> Pointers(std::vector<std::string>& strings) {
    std::vector<char*> p;
    for (auto& s : strings) p.push_back(s.data());
    p.push_back(nullptr);
    return p;
  }

  std::vector<std::string> argv_;
  pid_t pid_ = -1;
  int pidfd_ = -1, out_fd_ = -1, err_fd_ = -1;
  std::string error_;
  std::optional<CommandResult> result_;
};

// Runs ARGV to completion (at most TIMEOUT) and returns its exit code and output.
inline CommandResult RunCommand(const std::vector<std::string>& argv, const SpawnOptions& opts = {},
                                std::chrono::milliseconds timeout = 300s) {
  Child child(argv, opts);
  return child.Wait(timeout);
}

// A /proc file, read with read(2): a process can vanish while it is read (ESRCH), which makes
// an ifstream throw from underflow. Whatever was read before is returned; nothing if none.
inline std::string ReadProc(const std::string& path) {
  std::string out;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

// Whether PID is a live process. A zombie counts as dead: PID 1 of a minimal container may never
// reap the orphans it inherits, so kill(pid, 0) alone would report a dead daemon as alive.
inline bool IsAlive(pid_t pid) {
  std::string line = ReadProc("/proc/" + std::to_string(pid) + "/stat");
  if (line.empty()) return false;
  auto paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size()) return false;
  char state = line[paren + 2];
  return state != 'Z' && state != 'X';
}

inline std::string CmdlineOf(pid_t pid) {
  std::string s = ReadProc("/proc/" + std::to_string(pid) + "/cmdline");
  for (char& c : s)
    if (c == '\0') c = ' ';
  return s;
}

// Live processes whose command line contains NEEDLE (e.g. a test's unique temp dir).
inline std::vector<pid_t> LiveProcessesMentioning(const std::string& needle) {
  std::vector<pid_t> found;
  if (auto* dir = opendir("/proc")) {
    while (auto* e = readdir(dir)) {
      char* end;
      long pid = strtol(e->d_name, &end, 10);
      if (*end != '\0' || pid <= 0 || pid == getpid()) continue;
      if (CmdlineOf(static_cast<pid_t>(pid)).find(needle) != std::string::npos &&
          IsAlive(static_cast<pid_t>(pid)))
        found.push_back(static_cast<pid_t>(pid));
    }
    closedir(dir);
  }
  return found;
}

// The pid, as the test sees it, of the live process whose command line contains NEEDLE and
// whose pid in its own pid namespace is INNER_PID (the last field of "NSpid:" in its status).
// A traced command may run in a pid namespace of its own, so a pid it reports about itself
// (getpid()) need not be the pid the test must signal or watch. Returns -1 if there is none.
inline pid_t PidSeenFromHere(pid_t inner_pid, const std::string& needle) {
  for (pid_t pid : LiveProcessesMentioning(needle)) {
    std::istringstream status(ReadProc("/proc/" + std::to_string(pid) + "/status"));
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("NSpid:", 0) != 0) continue;
      std::istringstream fields(line.substr(6));
      pid_t innermost = -1;
      for (pid_t p; fields >> p;) innermost = p;
      if (innermost == inner_pid) return pid;
    }
  }
  return -1;
}

// Waits until every process in PIDS has exited (or is a zombie), at most TIMEOUT. Uses pidfds,
// which become readable when a process exits, so there is no polling interval. Returns the pids
// still alive when the time ran out.
inline std::vector<pid_t> WaitForExit(const std::vector<pid_t>& pids,
                                      std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::vector<std::pair<pid_t, int>> pending;  // pid, pidfd
  for (pid_t pid : pids) {
    int fd = PidfdOpen(pid);
    if (fd >= 0) pending.emplace_back(pid, fd);  // ESRCH: already gone
  }
  while (!pending.empty()) {
    std::vector<pollfd> fds;
    for (auto& [pid, fd] : pending) fds.push_back({fd, POLLIN, 0});
    int n = poll(fds.data(), fds.size(), MillisLeft(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::vector<std::pair<pid_t, int>> still;
    for (size_t i = 0; i < pending.size(); ++i) {
      if (fds[i].revents != 0)
        close(pending[i].second);
      else
        still.push_back(pending[i]);
    }
    pending.swap(still);
  }
  std::vector<pid_t> alive;
  for (auto& [pid, fd] : pending) {
    close(fd);
    if (IsAlive(pid)) alive.push_back(pid);
  }
  return alive;
}

// ---------------------------------------------------------------------------------------------
// Files

inline void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << content;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

// The canonical form of PATH, even for a path that no longer exists (a deleted temp file) or
// never did (a failed open): the longest existing prefix is resolved with realpath(), which
// follows symlinks and ".." as the kernel does, and the rest is appended, normalised lexically
// (it does not exist, so it holds no symlinks).
inline std::string Canonical(const std::string& path) {
  namespace fs = std::filesystem;
  fs::path prefix = path, rest;
  while (!prefix.empty()) {
    char buf[PATH_MAX];
    if (realpath(prefix.c_str(), buf))
      return rest.empty() ? std::string(buf) : (fs::path(buf) / rest).lexically_normal().string();
    if (prefix == prefix.root_path() || !prefix.has_relative_path()) break;
    rest = rest.empty() ? prefix.filename() : prefix.filename() / rest;
    prefix = prefix.parent_path();
  }
  return path;
}

// A fresh directory under /tmp, removed with everything in it when the object goes away (unless
// STEPSEAL_E2E_KEEP=1, for looking at a failed test's files).
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/stepseal-e2e-XXXXXX";
    if (mkdtemp(tmpl)) path_ = Canonical(tmpl);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    const char* keep = getenv("STEPSEAL_E2E_KEEP");
    if (path_.empty() || (keep && std::string(keep) == "1")) return;
    nftw(
        path_.c_str(),
        [](const char* p, const struct stat*, int, FTW*) {
          remove(p);  // best effort: keep removing the rest
          return 0;
        },
        16,
        FTW_DEPTH | FTW_PHYS);
  }
  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace e2e
