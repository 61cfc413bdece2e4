// preconditions.h - what a test needs of the machine, checked up front, so that a machine lacking
// it fails the test with a message that names what is missing, instead of a confusing failure
// deep in the test (or a pass that checked nothing).
//
//   ASSERT_NO_PRECONDITION_FAILURE(precondition::IoUringUsable());
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>

namespace precondition {

// nullopt when satisfied, else what is missing.
using Missing = std::optional<std::string>;

// io_uring can be set up by root: not switched off by the kernel.io_uring_disabled sysctl (6.6 and
// later), built in, and not refused by a seccomp profile around the test.
inline Missing IoUringUsable() {
  std::ifstream sysctl("/proc/sys/kernel/io_uring_disabled");
  int disabled = 0;
  if (sysctl >> disabled && disabled == 2)
    return "kernel.io_uring_disabled=2: io_uring is switched off on this machine";
  // io_uring_setup with a null params pointer fails EFAULT where io_uring exists, and ENOSYS or
  // EPERM where it does not or is refused.
  errno = 0;
  long r = syscall(SYS_io_uring_setup, 1, nullptr);
  if (r >= 0) close(static_cast<int>(r));
  if (r < 0 && errno != EFAULT && errno != EINVAL)
    return std::string("io_uring_setup fails here with ") + strerrorname_np(errno) +
           " (kernel built without io_uring, or refused by a seccomp profile)";
  return std::nullopt;
}

// A socket can be bound to IPv6 loopback (::1): IPv6 is not disabled.
inline Missing Ipv6LoopbackUsable() {
  int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("socket(AF_INET6): ") + strerror(errno) + " (IPv6 disabled?)";
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const bool bound = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  const int err = errno;
  close(fd);
  if (!bound) return std::string("bind([::1]:0): ") + strerror(err) + " (no IPv6 loopback)";
  return std::nullopt;
}

}  // namespace precondition

// Fails the test (never skips it) when the machine lacks what it needs.
#define ASSERT_NO_PRECONDITION_FAILURE(check)                                     \
  do {                                                                            \
    if (const ::precondition::Missing missing_ = (check))                         \
      GTEST_FAIL() << "precondition not met on this machine: " << *missing_;      \
  } while (0)
