#include "util/time.h"

#include <time.h>

#include <cctype>
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

int64_t parse_rfc3339_ns(const std::string& s) {
  int y, mo, d, h, mi, sec;
  int n = 0;
  if (sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
    return -1;
  size_t i = 19;
  int64_t frac = 0;
  int digits = 0;
  if (i < s.size() && s[i] == '.') {
    for (i++; i < s.size() && isdigit(static_cast<unsigned char>(s[i])); i++)
      if (digits < 9) {
        frac = frac * 10 + (s[i] - '0');
        digits++;
      }
    for (; digits < 9; digits++) frac *= 10;
  }
  int64_t offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    i++;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (sscanf(s.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2) return -1;
    offset = (s[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    i += 6;
  } else {
    return -1;
  }
  if (i != s.size()) return -1;
  tm t{};
  t.tm_year = y - 1900;
  t.tm_mon = mo - 1;
  t.tm_mday = d;
  t.tm_hour = h;
  t.tm_min = mi;
  t.tm_sec = sec;
  time_t secs = timegm(&t);
  return (static_cast<int64_t>(secs) - offset) * 1000000000 + frac;
}

int64_t clock_ns(clockid_t c) {
  timespec ts{};
  clock_gettime(c, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace stepseal
