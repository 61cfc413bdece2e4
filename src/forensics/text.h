// text.h - recorded text (paths, argv) as a terminal may show it: the journal keeps the bytes a
// process used, which may hold escape sequences that move the cursor or erase a line (an
// INCONCLUSIVE line, say). Control characters are shown as \xNN.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace stepseal::forensics {

inline std::string clean(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace stepseal::forensics
