// preimage.h - the content of a file just before the step changes or removes it.
//
// A seccomp filter, installed in the step's first process before it execs and inherited by every
// descendant, makes the calls that can destroy a file's content wait for stepseal: opens for
// writing or truncation, truncate/ftruncate, rename (the target; both sides of an exchange),
// unlink, and execveat (for fileless execution). While the call waits, stepseal hashes the file
// it is about to change, records that, and lets the call continue. Only observation: the call
// always proceeds unchanged (SECCOMP_USER_NOTIF_FLAG_CONTINUE).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "digest/digest_service.h"

struct seccomp_notif;

namespace stepseal {

// In the child, before exec: installs the filter and returns its notification fd (or -errno).
// Covers the x86_64 and i386 system call tables.
int install_preimage_filter();

// Its thread starts at construction: after unshare(CLONE_NEWPID) a process can no longer create
// threads, so the supervisor makes it first and hands it the notification fd later.
class PreimageMonitor {
 public:
  explicit PreimageMonitor(DigestService* digests);
  ~PreimageMonitor();  // stops the thread and closes the fd
  void attach(int notify_fd);  // takes ownership
  PreimageMonitor(const PreimageMonitor&) = delete;
  PreimageMonitor& operator=(const PreimageMonitor&) = delete;

  uint64_t notifications() const { return notifications_.load(); }

 private:
  void loop();
  void handle(const ::seccomp_notif& req);

  std::atomic<int> fd_{-1};
  std::atomic<bool> stop_{false};
  int wake_fd_;
  DigestService* digests_;
  std::atomic<uint64_t> notifications_{0};
  std::thread thread_;
};

}  // namespace stepseal
