#include "supervisor/tracer_host.h"

#include <spdlog/spdlog.h>

#include "capture/decoder.h"

namespace stepseal {

TracerHost::TracerHost(const TracerOptions& opts) {
  auto sink = [this](const void* data, size_t len) -> int {
    DecodeError err;
    auto ev = decode_event(data, len, &err);
    if (!ev) {
      decode_errors_++;
      spdlog::warn("undecodable kernel record ({} bytes): {}", len, err.what);
      // which step it belonged to is unknown: every open step is incomplete
      for (auto& [n, s] : steps_) s.source->note_undecodable(err.what);
      return 0;
    }
    auto it = steps_.find(ev->step);
    if (it == steps_.end()) {
      // a process of a step that was closed already (the kernel kills a step's leftovers;
      // their last records can follow the close)
      unrouted_++;
      return 0;
    }
    it->second.source->push(std::move(*ev));
    return 0;
  };
  tracer_ = std::make_unique<BpfTracer>(opts.ring_bytes, sink, opts.denied, opts.exec_allowlist);
  hardened_ = !opts.denied.empty();
}

CounterSnapshot TracerHost::snapshot() const {
  CounterSnapshot s;
  for (int c = 0; c < SS_C__COUNT; c++) s.kernel[c] = tracer_->counter(static_cast<ss_counter>(c));
  s.decode_errors = decode_errors_;
  s.unrouted = unrouted_;
  return s;
}

uint16_t TracerHost::open_step(bool single) {
  // a sterile build's RUNs follow one another: one open step at a time
  if (hardened_ && !steps_.empty())
    throw AttachError("a hardened tracer follows one step at a time (its exec rules and pid "
                      "namespace are the tracer's)");
  if (!single && steps_.size() >= 65535) throw AttachError("too many open steps for one tracer");
  uint16_t n = 0;
  if (!single) {
    do {  // never 0: that is the number of events without a step
      n = next_++;
    } while (n == 0 || steps_.count(n));
  }
  if (steps_.count(n)) throw AttachError("step " + std::to_string(n) + " is open already");
  steps_[n] = {std::make_unique<LiveSource>("live step " + std::to_string(n)), snapshot()};
  return n;
}

nlohmann::json TracerHost::counters(uint16_t step) const {
  const CounterSnapshot& a = steps_.at(step).at_open;
  const CounterSnapshot b = snapshot();
  // per CPU, as the journal has always stored them
  auto d = [&](ss_counter c) {
    std::vector<uint64_t> v = b.kernel[c];
    for (size_t i = 0; i < v.size() && i < a.kernel[c].size(); i++) v[i] -= a.kernel[c][i];
    return v;
  };
  return {{"kernel_events", d(SS_C_EVENTS)},
          {"lost_ringbuf", d(SS_C_LOST_RINGBUF)},
          {"lost_nested", d(SS_C_LOST_NESTED)},
          {"lost_inflight", d(SS_C_LOST_INFLIGHT)},
          {"lost_track", d(SS_C_LOST_TRACK)},
          {"lost_args", d(SS_C_LOST_ARGS)},
          {"truncated_blobs", d(SS_C_TRUNC_BLOB)},
          {"read_failures", d(SS_C_READ_FAIL)},
          {"lost_decode", b.decode_errors - a.decode_errors},
          {"lost_unrouted", b.unrouted - a.unrouted},
          {"ring_bytes", tracer_->ring_bytes()}};
}

void TracerHost::close_step(uint16_t step) { steps_.erase(step); }

int TracerHost::consume() { return tracer_->consume(); }

}  // namespace stepseal
