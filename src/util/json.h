// json.h - JSON from input stepseal does not trust (journals, envelopes, payloads): parsed with
// its nesting bounded, so a deeply nested document cannot exhaust the stack of whoever copies
// or destroys the value. Discarded (is_discarded()) if too deep or not JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace stepseal::util {

inline constexpr int kMaxJsonDepth = 64;

inline nlohmann::json parse_bounded_json(std::string_view text, int max_depth = kMaxJsonDepth) {
  using nlohmann::json;
  bool too_deep = false;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t, json&) {
    if (depth > max_depth) too_deep = true;
    return !too_deep;
  };
  json j = json::parse(text, cb, false);
  if (too_deep) return json(json::value_t::discarded);
  return j;
}

}  // namespace stepseal::util
