// oci_util.h - OCI image layouts and a local registry for the e2e tests (oci_e2e_test.cpp,
// attest_test.cpp).
//
//   BuildBusyboxLayout(dir(), layout, "v1");       // umoci: busybox-static as /bin/busybox
//   Registry registry(dir());                      // docker-registry on 127.0.0.1:FreePort()
//   ASSERT_TRUE(registry.ready()) << registry.log();
//   ASSERT_RUNS({"/usr/bin/skopeo", "copy", ..., "docker://" + registry.host() + "/x:v1"});
//
// Needs the Debian packages umoci, skopeo, docker-registry and busybox-static
// (tools/install-deps). Network: loopback only.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "os_util.h"

namespace e2e {

inline testing::AssertionResult Ran(const std::vector<std::string>& argv, const CommandResult& r) {
  if (r.exit_code == 0) return testing::AssertionSuccess();
  return testing::AssertionFailure() << Join(argv) << "\n" << r.Describe();
}

// Runs ARGV (2 minutes at most) and returns its result; RAN says whether it exited 0.
inline CommandResult Run(const std::vector<std::string>& argv,
                         testing::AssertionResult* ran = nullptr) {
  CommandResult r = RunCommand(argv, {}, 120s);
  if (ran) *ran = Ran(argv, r);
  return r;
}

#define ASSERT_RUNS(...)                                        \
  do {                                                          \
    testing::AssertionResult ok_ = testing::AssertionSuccess(); \
    ::e2e::Run(__VA_ARGS__, &ok_);                              \
    ASSERT_TRUE(ok_);                                           \
  } while (0)

// An image layout LAYOUT with one image, TAG: busybox-static as /bin/busybox, plus EXTRA files
// (path in the image, content) when given. The root filesystem is staged in DIR, in a directory
// named after the layout, so one test can build several layouts.
inline void BuildBusyboxLayout(
    const TempDir& dir, const std::string& layout, const std::string& tag,
    const std::vector<std::pair<std::string, std::string>>& extra = {}) {
  const std::string rootfs =
      dir / (layout.substr(layout.rfind('/') + 1) + "-rootfs");
  ASSERT_RUNS({"/usr/bin/umoci", "init", "--layout", layout});
  ASSERT_RUNS({"/usr/bin/umoci", "new", "--image", layout + ":" + tag});
  ASSERT_EQ(mkdir(rootfs.c_str(), 0755), 0) << rootfs << ": " << strerror(errno);
  ASSERT_EQ(mkdir((rootfs + "/bin").c_str(), 0755), 0) << strerror(errno);
  ASSERT_RUNS({"/bin/cp", "/bin/busybox", rootfs + "/bin/busybox"});
  ASSERT_RUNS({"/usr/bin/umoci", "insert", "--rootless", "--image", layout + ":" + tag,
               rootfs + "/bin/busybox", "/bin/busybox"});
  for (size_t i = 0; i < extra.size(); ++i) {
    const std::string staged = rootfs + "/extra-" + std::to_string(i);
    WriteFile(staged, extra[i].second);
    ASSERT_RUNS({"/usr/bin/umoci", "insert", "--rootless", "--image", layout + ":" + tag, staged,
                 extra[i].first});
  }
  ASSERT_RUNS({"/usr/bin/umoci", "config", "--image", layout + ":" + tag,
               "--config.entrypoint", "/bin/busybox"});
}

// A free TCP port on 127.0.0.1 (the kernel picks it; it is closed again for the registry).
inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

// The status line of GET /v2/ on 127.0.0.1:PORT, or "" if nothing answers.
inline std::string ProbeV2(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  timeval tv{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  std::string reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = "GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[256];
      ssize_t n = read(fd, buf, sizeof buf);
      if (n > 0) reply.assign(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return reply.substr(0, reply.find("\r\n"));
}

// docker-registry (distribution) on 127.0.0.1:port(), storage under DIR; stopped when destroyed.
class Registry {
 public:
  explicit Registry(const TempDir& dir) {
    for (int attempt = 0; attempt < 3 && !ready_; ++attempt) {  // a port taken meanwhile: retry
      port_ = FreePort();
      if (port_ <= 0) continue;
      const std::string config = dir / ("registry-" + std::to_string(attempt) + ".yml");
      WriteFile(config, "version: 0.1\n"
                        "log:\n  level: warn\n"
                        "storage:\n  filesystem:\n    rootdirectory: " + dir / "registry-data" +
                        "\n"
                        "http:\n  addr: 127.0.0.1:" + std::to_string(port_) + "\n");
      Stop();
      child_ = std::make_unique<Child>(
          std::vector<std::string>{"/usr/bin/docker-registry", "serve", config});
      if (!child_->started()) {
        log_ = child_->error();
        continue;
      }
      auto deadline = Clock::now() + 10s;  // bounded polling until /v2/ answers
      while (Clock::now() < deadline && IsAlive(child_->pid())) {
        if (ProbeV2(port_).find(" 200") != std::string::npos) {
          ready_ = true;
          break;
        }
        std::this_thread::sleep_for(100ms);
      }
      if (!ready_) log_ = "docker-registry did not answer on port " + std::to_string(port_);
    }
  }
  ~Registry() { Stop(); }
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  bool ready() const { return ready_; }
  const std::string& log() const { return log_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  void Stop() {
    if (!child_) return;
    if (child_->started() && IsAlive(child_->pid())) {
      kill(child_->pid(), SIGTERM);
      const CommandResult& r = child_->Wait(10s);  // SIGKILL if it does not stop in time
      log_ += r.err.substr(0, 2000);
    }
    child_.reset();
  }

  std::unique_ptr<Child> child_;
  int port_ = -1;
  bool ready_ = false;
  std::string log_;
};

}  // namespace e2e
