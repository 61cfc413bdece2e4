// tracer_host.h - one attached tracer that follows several steps.
//
// The probes are loaded and attached once. Each step gets a number (1, 2, ...; 0 is the single
// step of `run`), a root registered with the probes (a spawner, or an existing process such as
// a container's init), and a LiveSource that receives the step's events: the probes tag every
// event with its process's step (ss_event.step, inherited at fork), and consume() routes it.
// Steps start and end at different times; each has its own journal (StepRecorder).
//
// Loss counters are the tracer's, not a step's: a step is charged with every loss between its
// opening and its closing (counters_since), so a loss during two overlapping steps makes both
// incomplete. Events of no open step (a closed step's stragglers, records without a process)
// are charged the same way, as lost_unrouted. Never less than the truth.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "capture/bpf_tracer.h"
#include "supervisor/live_source.h"

namespace stepseal {

struct TracerOptions {
  size_t ring_bytes = 16u << 20;
  // hardened mode's deny-list (bpf_tracer.h). Its kernel state (exec rules, the step's pid
  // namespace) is the tracer's: a hardened tracer follows one step at a time.
  std::vector<int> denied;
  bool exec_allowlist = false;
};

// The tracer's counters at one moment.
struct CounterSnapshot {
  std::array<std::vector<uint64_t>, SS_C__COUNT> kernel;  // per CPU
  uint64_t decode_errors = 0;
  uint64_t unrouted = 0;
};

class TracerHost {
 public:
  // Loads and attaches. Throws AttachError with an actionable message.
  explicit TracerHost(const TracerOptions& opts);
  TracerHost(const TracerHost&) = delete;
  TracerHost& operator=(const TracerHost&) = delete;

  BpfTracer& tracer() { return *tracer_; }

  // A step whose events go to its source from now on. `step` 0 is the only step of a tracer
  // that follows one; otherwise the next free number is taken. Register its root afterwards
  // (tracer().track_spawner or follow with the returned number).
  uint16_t open_step(bool single = false);
  LiveSource& source(uint16_t step) { return *steps_.at(step).source; }
  // The counters charged to the step: every loss while it was open.
  nlohmann::json counters(uint16_t step) const;
  void close_step(uint16_t step);

  // Drains the ring into the steps' sources. Returns records consumed, or <0 on error.
  int consume();
  uint64_t unrouted() const { return unrouted_; }  // events of no open step

 private:
  struct Step {
    std::unique_ptr<LiveSource> source;
    CounterSnapshot at_open;
  };
  CounterSnapshot snapshot() const;

  std::unique_ptr<BpfTracer> tracer_;
  std::map<uint16_t, Step> steps_;
  uint16_t next_ = 1;
  bool hardened_ = false;
  uint64_t decode_errors_ = 0, unrouted_ = 0;
};

}  // namespace stepseal
