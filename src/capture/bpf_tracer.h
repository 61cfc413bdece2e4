// bpf_tracer.h - owns the loaded and attached probes (the libbpf skeleton) and the ring buffer.
//
// Load and attach happen before the traced command exists; the destructor detaches everything,
// so no probe outlives stepseal.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "stepseal/events.h"

struct stepseal_bpf;
struct ring_buffer;

namespace stepseal {

class AttachError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class BpfTracer {
 public:
  using Sink = std::function<int(const void* data, size_t len)>;

  // Opens, sizes, loads and attaches. Throws AttachError with an actionable message.
  // `denied`: hardened mode's deny-list (x86_64 numbers); non-empty makes the probes record the
  // calls seccomp refused, and every refused i386 call.
  BpfTracer(size_t ring_bytes, Sink sink, const std::vector<int>& denied = {},
            bool exec_allowlist = false);
  ~BpfTracer();
  BpfTracer(const BpfTracer&) = delete;
  BpfTracer& operator=(const BpfTracer&) = delete;

  // Follow the children of `pid` (not `pid` itself): stepseal's namespace init. Their events
  // carry `step` (Event::step), so one tracer can follow several steps.
  void track_spawner(uint32_t pid, uint16_t step = 0);
  // Follow `pid` itself and everything it starts from now on, as `step`: a process that exists
  // already (a container's init, waiting to exec the step's command). Throws AttachError, also
  // when the process is followed already.
  void follow(uint32_t pid, uint16_t step);
  // Hardened mode's exec rules by identity (see bpf/maps.h). `allow` empty: no allowlist.
  // Call before the step starts. Throws AttachError.
  void set_exec_rules(const std::vector<ss_exec_key>& deny, const std::vector<ss_exec_key>& allow);
  // Hardened mode: the step's pid namespace (its inode number), for the unix peer check.
  void set_step_pidns(uint32_t inum);
  int epoll_fd() const;
  // The ring and the loss counters, for programs loaded elsewhere (hardened mode's DNS guard)
  // that record into the same journal.
  int events_map_fd() const;
  int counters_map_fd() const;
  // Drains every record currently in the ring. Returns records consumed, or <0 on error.
  int consume();
  // Per-CPU values of one counter (enum ss_counter).
  std::vector<uint64_t> counter(ss_counter which) const;
  size_t ring_bytes() const { return ring_bytes_; }

 private:
  stepseal_bpf* skel_ = nullptr;
  ring_buffer* rb_ = nullptr;
  Sink sink_;
  size_t ring_bytes_;
  int ncpus_;
};

}  // namespace stepseal
