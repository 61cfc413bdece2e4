// json.h - JSON from input stepseal does not trust (journals, envelopes, payloads, layouts,
// policies): parsed with its nesting bounded, so a deeply nested document cannot exhaust the
// stack of whoever copies or destroys the value.
//
//   parse_bounded_json  discarded (is_discarded()) if too deep or not JSON
//   parse_strict_json   the same, and a key twice in one object is refused too, with the reason
//                       in words: what one parser reads as {"a": 1} and another as {"a": 2} is
//                       an attack on whoever verifies after stepseal (a parser differential)
#pragma once

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace stepseal::util {

inline constexpr int kMaxJsonDepth = 64;

namespace json_detail {

// A SAX pass that checks nesting and, if asked, unique keys, in linear time, before the value is
// built. (nlohmann's callback parser, the obvious tool, rescans the enclosing container at the
// end of every object: quadratic in an array of many small objects, which a hostile index.json
// or journal record is.)
struct Checker {
  int max_depth;
  bool unique_keys;
  std::string problem;
  int depth = 0;
  std::vector<std::set<std::string>> keys;  // of each open object (unique_keys)

  bool open() {
    if (++depth > max_depth) {
      problem = "nested deeper than " + std::to_string(max_depth) + " levels";
      return false;
    }
    return true;
  }
  bool null() { return true; }
  bool boolean(bool) { return true; }
  bool number_integer(nlohmann::json::number_integer_t) { return true; }
  bool number_unsigned(nlohmann::json::number_unsigned_t) { return true; }
  bool number_float(nlohmann::json::number_float_t, const std::string&) { return true; }
  bool string(std::string&) { return true; }
  bool binary(nlohmann::json::binary_t&) { return true; }
  bool start_object(std::size_t) {
    if (unique_keys) keys.emplace_back();
    return open();
  }
  bool key(std::string& k) {
    if (unique_keys && !keys.back().insert(k).second) {
      problem = "duplicate key \"" + k.substr(0, 80) + "\" (each key may appear once per object)";
      return false;
    }
    return true;
  }
  bool end_object() {
    if (unique_keys) keys.pop_back();
    --depth;
    return true;
  }
  bool start_array(std::size_t) { return open(); }
  bool end_array() {
    --depth;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    problem = std::string("not JSON: ") + e.what();
    return false;
  }
};

inline nlohmann::json parse_checked(std::string_view text, int max_depth, bool unique_keys,
                                    std::string* why) {
  using nlohmann::json;
  Checker c{max_depth, unique_keys, {}, 0, {}};
  bool ok = false;
  try {
    ok = json::sax_parse(text, &c);
  } catch (const json::exception& e) {  // defensive: sax_parse reports errors to parse_error()
    if (c.problem.empty()) c.problem = std::string("not JSON: ") + e.what();
  }
  if (!ok || !c.problem.empty()) {
    if (why) *why = c.problem.empty() ? "not JSON" : c.problem;
    return json(json::value_t::discarded);
  }
  json j = json::parse(text, nullptr, false);  // checked: bounded, and builds in linear time
  if (j.is_discarded() && why) *why = "not JSON";
  return j;
}

}  // namespace json_detail

inline nlohmann::json parse_bounded_json(std::string_view text, int max_depth = kMaxJsonDepth) {
  return json_detail::parse_checked(text, max_depth, false, nullptr);
}

// Parses TEXT, refusing documents nested deeper than MAX_DEPTH and objects with a key twice.
// On refusal returns a discarded value and sets *WHY ("not JSON: ...", "nested deeper than 64
// levels", "duplicate key \"k\" ...").
inline nlohmann::json parse_strict_json(std::string_view text, std::string* why,
                                        int max_depth = kMaxJsonDepth) {
  return json_detail::parse_checked(text, max_depth, true, why);
}

// The first member of object J whose name is not one of NAMES but that a parser matching names
// case-insensitively reads as one of them: Go's encoding/json (go-securesystemslib, cosign,
// in-toto-golang) folds ASCII case, U+017F (long s) to 's' and U+212A (Kelvin sign) to 'k', and
// the last match wins. {"payload": A, "Payload": B} is A here and B there. Empty if none.
inline std::string shadowing_member(const nlohmann::json& j,
                                    std::initializer_list<std::string_view> names) {
  auto fold = [](std::string_view in) {
    std::string out;
    for (size_t i = 0; i < in.size(); ++i) {
      const unsigned char c = static_cast<unsigned char>(in[i]);
      if (c == 0xC5 && i + 1 < in.size() && static_cast<unsigned char>(in[i + 1]) == 0xBF) {
        out.push_back('s');
        i += 1;
      } else if (c == 0xE2 && i + 2 < in.size() && static_cast<unsigned char>(in[i + 1]) == 0x84 &&
                 static_cast<unsigned char>(in[i + 2]) == 0xAA) {
        out.push_back('k');
        i += 2;
      } else {
        out.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c));
      }
    }
    return out;
  };
  if (!j.is_object()) return "";
  for (const auto& [key, value] : j.items()) {
    bool exact = false;
    for (auto n : names) exact |= key == n;
    if (exact) continue;
    const std::string f = fold(key);
    for (auto n : names)
      if (f == fold(n)) return key;
  }
  return "";
}

}  // namespace stepseal::util
