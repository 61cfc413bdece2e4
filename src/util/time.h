// time.h - timestamps as stepseal writes them.
#pragma once

#include <cstdint>
#include <string>

namespace stepseal {

// RFC 3339 (UTC, nanoseconds) from nanoseconds since the epoch: "2026-12-05T07:36:24.000000001Z".
std::string rfc3339(int64_t epoch_ns);

}  // namespace stepseal
