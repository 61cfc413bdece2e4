#include "journal/counters.h"

namespace stepseal::journal {

uint64_t lost_events(const nlohmann::json& counters) {
  uint64_t lost = 0;
  for (const char* k : {"lost_ringbuf", "lost_nested", "lost_inflight", "lost_track", "lost_args"})
    for (const auto& v : counters.value(k, nlohmann::json::array())) lost += v.get<uint64_t>();
  return lost + counters.value("lost_decode", uint64_t{0});
}

}  // namespace stepseal::journal
