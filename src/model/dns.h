// dns.h - the question of a DNS message (RFC 1035 section 4.1), as recorded in DNS events.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace stepseal {

struct DnsQuestion {
  std::string name;   // lowercase, dot separated, no trailing dot ("" for the root)
  std::string qtype;  // "A", "AAAA", ... or "TYPE<n>"
  uint16_t id = 0;
};

// `tcp`: the message starts with the 2-byte length prefix. Returns nullopt for anything that is
// not a well-formed query with at least one question (a response, a truncated message,
// compression pointers in a question, a label over 63 bytes, a name over 253 characters, a dot
// or NUL inside a label).
std::optional<DnsQuestion> parse_dns_query(std::string_view message, bool tcp);

// A name in wire form (labels, then a zero byte), as the DNS guard records it: lowercase,
// dot separated. nullopt if malformed (the same rules as a question's name).
std::optional<std::string> parse_dns_name(std::string_view wire);

}  // namespace stepseal
