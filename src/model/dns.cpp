#include "model/dns.h"

#include <cctype>
#include <cstdint>

namespace stepseal {

namespace {

std::string qtype_name(uint16_t t) {
  switch (t) {
    case 1: return "A";
    case 2: return "NS";
    case 5: return "CNAME";
    case 6: return "SOA";
    case 12: return "PTR";
    case 15: return "MX";
    case 16: return "TXT";
    case 28: return "AAAA";
    case 33: return "SRV";
    case 64: return "SVCB";
    case 65: return "HTTPS";
    case 255: return "ANY";
  }
  return "TYPE" + std::to_string(t);
}

}  // namespace

std::optional<std::string> parse_dns_name(std::string_view wire) {
  // a question with this name: header (QDCOUNT 1), the name, QTYPE and QCLASS
  std::string msg(12, '\0');
  msg[5] = 1;
  msg.append(wire);
  msg.append(4, '\0');
  auto q = parse_dns_query(msg, false);
  if (!q) return std::nullopt;
  return q->name;
}

std::optional<DnsQuestion> parse_dns_query(std::string_view m, bool tcp) {
  auto u8 = [&](size_t i) { return static_cast<uint8_t>(m[i]); };
  auto u16 = [&](size_t i) { return static_cast<uint16_t>(u8(i) << 8 | u8(i + 1)); };
  if (tcp) {
    if (m.size() < 2) return std::nullopt;
    m.remove_prefix(2);
  }
  if (m.size() < 12) return std::nullopt;
  DnsQuestion q;
  q.id = u16(0);
  bool response = u8(2) & 0x80;
  if (response || u16(4) != 1) return std::nullopt;  // QR set, or not exactly one question
  size_t i = 12;
  while (true) {
    if (i >= m.size()) return std::nullopt;
    uint8_t len = u8(i++);
    if (len == 0) break;
    if (len > 63 || i + len > m.size()) return std::nullopt;  // 0xc0: a pointer, not in a query
    if (!q.name.empty()) q.name += '.';
    for (size_t k = 0; k < len; k++) {
      char c = m[i + k];
      // a dot inside a label would make "x.corp" + "internal" read as x.corp.internal
      if (c == '.' || c == '\0') return std::nullopt;
      q.name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (q.name.size() > 253) return std::nullopt;  // 255 octets on the wire (RFC 1035 3.1)
    i += len;
  }
  if (i + 4 > m.size()) return std::nullopt;
  q.qtype = qtype_name(u16(i));
  return q;
}

}  // namespace stepseal
