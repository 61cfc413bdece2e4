// dns_fuzz - the DNS message parser (src/model/dns.h): the questions the step sends, over UDP and
// TCP, and the names the DNS guard records.
// Invariants: a parsed name follows the rules dns.h states (lowercase, labels of 1..63 bytes
// without dots or NULs, at most 253 characters), and its wire form parses back to itself.
#include <cctype>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "model/dns.h"

namespace {

using stepseal::fuzz::fail;

void check_name(const std::string& name) {
  FUZZ_CHECK(name.size() <= 253, name);
  if (name.empty()) return;
  size_t start = 0;
  std::string wire;
  while (true) {
    size_t dot = name.find('.', start);
    std::string label = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    FUZZ_CHECK(!label.empty() && label.size() <= 63, name);
    for (unsigned char c : label) {
      FUZZ_CHECK(c != 0 && c != '.', name);
      FUZZ_CHECK(!(c >= 'A' && c <= 'Z'), name);
    }
    wire.push_back(static_cast<char>(label.size()));
    wire += label;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  wire.push_back('\0');
  auto again = stepseal::parse_dns_name(wire);
  FUZZ_CHECK(again && *again == name, "wire form of \"" + name + "\" does not parse back");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (bool tcp : {false, true})
    if (auto q = stepseal::parse_dns_query(in, tcp)) {
      check_name(q->name);
      FUZZ_CHECK(!q->qtype.empty(), q->name);
    }
  if (auto n = stepseal::parse_dns_name(in)) check_name(*n);
  return 0;
}
