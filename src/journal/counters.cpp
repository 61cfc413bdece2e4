#include "journal/counters.h"

namespace stepseal::journal {

namespace {
// A counter's value: a non-negative integer, or nothing.
uint64_t count(const nlohmann::json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
  return 0;
}
}  // namespace

uint64_t lost_events(const nlohmann::json& counters) {
  // A journal is input: counters of the wrong shape count as nothing, never as a crash.
  if (!counters.is_object()) return 0;
  uint64_t lost = 0;
  for (const char* k : {"lost_ringbuf", "lost_nested", "lost_inflight", "lost_track", "lost_args"}) {
    auto it = counters.find(k);
    if (it == counters.end() || !it->is_array()) continue;
    for (const auto& v : *it) lost += count(v);
  }
  for (const char* k : {"lost_decode", "lost_unrouted"}) {
    auto d = counters.find(k);
    if (d != counters.end()) lost += count(*d);
  }
  return lost;
}

}  // namespace stepseal::journal
