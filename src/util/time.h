// time.h - timestamps as stepseal writes them.
#pragma once

#include <cstdint>
#include <string>

#include <time.h>

namespace stepseal {

// RFC 3339 (UTC, nanoseconds) from nanoseconds since the epoch: "2026-12-05T07:36:24.000000001Z".
std::string rfc3339(int64_t epoch_ns);

// The inverse, for timestamps others wrote: RFC 3339 with "Z" or a "+hh:mm" offset and any
// fraction (nanoseconds kept). -1 if malformed.
int64_t parse_rfc3339_ns(const std::string& s);

// Nanoseconds on clock C (CLOCK_REALTIME, CLOCK_MONOTONIC ...).
int64_t clock_ns(clockid_t c);

}  // namespace stepseal
