#include "util/time.h"

#include <time.h>

#include <cstdio>

namespace stepseal {

std::string rfc3339(int64_t ns) {
  time_t secs = static_cast<time_t>(ns / 1000000000);
  struct tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%09lldZ", static_cast<long long>(ns % 1000000000));
  return buf;
}

}  // namespace stepseal
