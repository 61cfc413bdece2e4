#include "util/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace stepseal::util {

std::string find_in_path(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
  for (size_t start = 0; start <= p.size();) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    std::string cand = (dir.empty() ? "." : dir) + "/" + name;
    if (access(cand.c_str(), X_OK) == 0) return cand;
    start = end + 1;
  }
  return "";
}

int run_command(const std::vector<std::string>& argv, std::string* out, size_t max_out, bool quiet) {
  if (argv.empty()) return -1;
  // everything the child needs is made before fork: a multithreaded parent's child may not
  // allocate
  std::vector<char*> v;
  for (const auto& a : argv) v.push_back(const_cast<char*>(a.c_str()));
  v.push_back(nullptr);
  int p[2] = {-1, -1};
  if (out && pipe2(p, O_CLOEXEC) < 0) return -1;
  pid_t c = fork();
  if (c < 0) {
    if (out) close(p[0]), close(p[1]);
    return -1;
  }
  if (c == 0) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) dup2(null, 0);
    dup2(out ? p[1] : quiet ? null : 2, 1);
    if (quiet) dup2(null, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    execvp(v[0], v.data());
    _exit(127);
  }
  bool too_much = false;
  if (out) {
    close(p[1]);
    out->clear();
    char buf[65536];
    for (;;) {
      ssize_t n = read(p[0], buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (out->size() + static_cast<size_t>(n) > max_out) too_much = true;
      else out->append(buf, static_cast<size_t>(n));
    }
    close(p[0]);
  }
  int st = 0;
  while (waitpid(c, &st, 0) < 0 && errno == EINTR) {
  }
  if (too_much) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

}  // namespace stepseal::util
