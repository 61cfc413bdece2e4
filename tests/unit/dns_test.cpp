// parse_dns_query (src/model/dns.h): the question of a DNS query message, RFC 1035 section 4.1.
// Every message here is built by hand from the RFC's wire format:
//   header (12 bytes): ID, flags (QR is the top bit of byte 2), QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT
//   question: QNAME (length-prefixed labels, a 0 byte ends it), QTYPE (2 bytes), QCLASS (2 bytes)
// and, over TCP (section 4.2.2), a 2-byte big-endian length prefix in front of the message.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "model/dns.h"

namespace stepseal {
namespace {

void put16(std::string& s, uint16_t v) {
  s += static_cast<char>(v >> 8);
  s += static_cast<char>(v & 0xff);
}

// The 12-byte header. flags0 is byte 2 (QR|Opcode|AA|TC|RD), flags1 byte 3 (RA|Z|AD|CD|RCODE).
std::string header(uint16_t id, uint8_t flags0, uint8_t flags1, uint16_t qdcount,
                   uint16_t arcount = 0) {
  std::string h;
  put16(h, id);
  h += static_cast<char>(flags0);
  h += static_cast<char>(flags1);
  put16(h, qdcount);
  put16(h, 0);  // ANCOUNT
  put16(h, 0);  // NSCOUNT
  put16(h, arcount);
  return h;
}

// QNAME from labels, with the terminating zero-length root label.
std::string qname(const std::vector<std::string>& labels) {
  std::string n;
  for (const auto& l : labels) {
    n += static_cast<char>(l.size());
    n += l;
  }
  n += '\0';
  return n;
}

constexpr uint8_t kRD = 0x01;  // recursion desired: what a stub resolver sends
constexpr uint8_t kQR = 0x80;  // response

std::string query(const std::vector<std::string>& labels, uint16_t qtype = 1,
                  uint16_t id = 0x1234) {
  std::string m = header(id, kRD, 0, 1) + qname(labels);
  put16(m, qtype);
  put16(m, 1);  // QCLASS IN
  return m;
}

std::string with_tcp_prefix(const std::string& m) {
  std::string t;
  put16(t, static_cast<uint16_t>(m.size()));
  return t + m;
}

// --- well-formed queries ---------------------------------------------------------------------

TEST(DnsQuery, SimpleAQuery) {
  auto q = parse_dns_query(query({"www", "example", "com"}, 1, 0xbeef), false);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->name, "www.example.com");
  EXPECT_EQ(q->qtype, "A");
  EXPECT_EQ(q->id, 0xbeef);
}

TEST(DnsQuery, QtypeNamesFromTheRegistry) {
  // RFC 1035 3.2.2, RFC 3596 (AAAA), RFC 2782 (SRV), RFC 9460 (SVCB, HTTPS).
  struct {
    uint16_t type;
    const char* name;
  } cases[] = {{1, "A"},     {2, "NS"},    {5, "CNAME"}, {6, "SOA"},   {12, "PTR"},
               {15, "MX"},   {16, "TXT"},  {28, "AAAA"}, {33, "SRV"},  {64, "SVCB"},
               {65, "HTTPS"}, {255, "ANY"}};
  for (const auto& c : cases) {
    auto q = parse_dns_query(query({"example", "org"}, c.type), false);
    ASSERT_TRUE(q) << c.name;
    EXPECT_EQ(q->qtype, c.name);
    EXPECT_EQ(q->name, "example.org");
  }
}

TEST(DnsQuery, UnknownQtypeIsTypeN) {
  // RFC 3597 section 5: the generic presentation of an unknown type is TYPE<decimal>.
  auto q = parse_dns_query(query({"example", "org"}, 65280), false);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->qtype, "TYPE65280");
  q = parse_dns_query(query({"example", "org"}, 0), false);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->qtype, "TYPE0");
  q = parse_dns_query(query({"example", "org"}, 256), false);  // high byte must count
  ASSERT_TRUE(q);
  EXPECT_EQ(q->qtype, "TYPE256");
}

TEST(DnsQuery, LabelsComeBackLowercase) {
  auto q = parse_dns_query(query({"WwW", "ExAmPlE", "COM"}), false);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->name, "www.example.com");
}

TEST(DnsQuery, DigitsHyphensAndUnderscoresArePreserved) {
  auto q = parse_dns_query(query({"_dmarc", "my-host9", "example"}, 16), false);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->name, "_dmarc.my-host9.example");
  EXPECT_EQ(q->qtype, "TXT");
}

TEST(DnsQuery, RootNameIsEmpty) {
  auto q = parse_dns_query(query({}, 2), false);  // ". NS"
  ASSERT_TRUE(q);
  EXPECT_EQ(q->name, "");
  EXPECT_EQ(q->qtype, "NS");
}

TEST(DnsQuery, TcpMessageHasALengthPrefix) {
  std::string m = query({"Registry", "corp", "internal"}, 28, 0x0102);
  auto q = parse_dns_query(with_tcp_prefix(m), true);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->name, "registry.corp.internal");
  EXPECT_EQ(q->qtype, "AAAA");
  EXPECT_EQ(q->id, 0x0102);  // the id is after the prefix, not the prefix itself
}

TEST(DnsQuery, TcpRejectsAResponseAfterThePrefix) {
  std::string m = header(7, kQR | kRD, 0x80, 1) + qname({"example", "com"});
  put16(m, 1);
  put16(m, 1);
  EXPECT_FALSE(parse_dns_query(with_tcp_prefix(m), true));
}

TEST(DnsQuery, TcpTooShortForThePrefixOrHeader) {
  EXPECT_FALSE(parse_dns_query(std::string(), true));
  EXPECT_FALSE(parse_dns_query(std::string(1, '\0'), true));
  // The prefix and an 11-byte header.
  std::string m = with_tcp_prefix(header(1, kRD, 0, 1)).substr(0, 2 + 11);
  EXPECT_FALSE(parse_dns_query(m, true));
  // A whole UDP-sized query read as TCP loses its first two bytes and with them the header.
  EXPECT_FALSE(parse_dns_query(header(1, kRD, 0, 1), true));
}

TEST(DnsQuery, OtherFlagsDoNotMakeAQueryAResponse) {
  // Byte 2 without QR (AA, TC, RD), byte 3 with RA, AD and CD: still a query.
  std::string m = header(9, 0x07, 0xb0, 1) + qname({"example", "com"});
  put16(m, 1);
  put16(m, 1);
  auto q = parse_dns_query(m, false);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->name, "example.com");
}

TEST(DnsQuery, DataAfterTheQuestionIsIgnored) {
  // dig and most stub resolvers add an EDNS OPT record (RFC 6891) in the additional section.
  std::string m = header(0x4242, kRD, 0x20, 1, /*arcount=*/1) + qname({"example", "net"});
  put16(m, 1);
  put16(m, 1);
  m += '\0';       // OPT owner: root
  put16(m, 41);    // TYPE OPT
  put16(m, 1232);  // UDP payload size
  m += std::string(4, '\0');  // extended RCODE, version, flags
  put16(m, 0);                // RDLENGTH
  auto q = parse_dns_query(m, false);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->name, "example.net");
  EXPECT_EQ(q->qtype, "A");
  EXPECT_EQ(q->id, 0x4242);
}

TEST(DnsQuery, LabelOfSixtyThreeBytesIsAccepted) {
  std::string l63(63, 'a');
  auto q = parse_dns_query(query({l63, "example"}), false);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->name, l63 + ".example");
}

TEST(DnsQuery, NameOfTwoHundredFiftyFiveOctetsIsAccepted) {
  // RFC 1035 2.3.4 / 3.1: a name is at most 255 octets counting the length octets and the root.
  // 63+63+63+61 label bytes + 4 length octets + the root octet = 255; as text 253 characters.
  std::vector<std::string> labels = {std::string(63, 'a'), std::string(63, 'b'),
                                     std::string(63, 'c'), std::string(61, 'd')};
  ASSERT_EQ(qname(labels).size(), 255u);
  auto q = parse_dns_query(query(labels), false);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->name.size(), 253u);
}

// --- rejections ------------------------------------------------------------------------------

TEST(DnsQuery, RejectsAResponse) {
  std::string m = header(0x1234, kQR | kRD, 0x80, 1) + qname({"example", "com"});
  put16(m, 1);
  put16(m, 1);
  EXPECT_FALSE(parse_dns_query(m, false));
  // The same bytes with QR cleared parse: QR alone decided.
  m[2] = static_cast<char>(kRD);
  EXPECT_TRUE(parse_dns_query(m, false));
}

TEST(DnsQuery, RejectsQdcountZero) {
  std::string m = header(1, kRD, 0, 0) + qname({"example", "com"});
  put16(m, 1);
  put16(m, 1);
  EXPECT_FALSE(parse_dns_query(m, false));
}

// Exactly one question: a second one would go to the resolver unread (the DNS guard refuses
// such queries too). QDCOUNT is 16 bits: 256 is not 0.
TEST(DnsQuery, RejectsMoreThanOneQuestion) {
  for (uint16_t qd : {2, 0x0100, 0x0101}) {
    std::string m = header(1, kRD, 0, qd) + qname({"example", "com"});
    put16(m, 1);
    put16(m, 1);
    EXPECT_FALSE(parse_dns_query(m, false)) << qd;
  }
}

TEST(DnsQuery, RejectsATruncatedHeader) {
  EXPECT_FALSE(parse_dns_query("", false));
  std::string h = header(1, kRD, 0, 1);
  EXPECT_FALSE(parse_dns_query(h.substr(0, 11), false));
  EXPECT_FALSE(parse_dns_query(h, false));  // header only: no question at all
}

TEST(DnsQuery, RejectsATruncatedLabel) {
  std::string m = header(1, kRD, 0, 1);
  m += '\x0a';  // a 10-byte label ...
  m += "exa";   // ... with 3 bytes
  EXPECT_FALSE(parse_dns_query(m, false));
}

TEST(DnsQuery, RejectsANameWithoutItsTerminatingZero) {
  std::string m = header(1, kRD, 0, 1);
  m += '\x07';
  m += "example";  // runs to the end of the message
  EXPECT_FALSE(parse_dns_query(m, false));
}

TEST(DnsQuery, RejectsACompressionPointer) {
  // 0xc0 0x0c points at offset 12; RFC 1035 4.1.4. Its length byte is over 63.
  std::string m = header(1, kRD, 0, 1);
  m += "\x03www";
  m += "\xc0\x0c";
  put16(m, 1);
  put16(m, 1);
  EXPECT_FALSE(parse_dns_query(m, false));
}

TEST(DnsQuery, RejectsALabelOfSixtyFourBytes) {
  // 0x40 is one of the reserved label types (RFC 1035 4.1.4, RFC 6891 section 5), not a length.
  EXPECT_FALSE(parse_dns_query(query({std::string(64, 'a'), "example"}), false));
}

TEST(DnsQuery, RejectsANameFarOverTwoHundredFiftyFiveOctets) {
  std::vector<std::string> labels(5, std::string(63, 'x'));  // 5*64+1 = 321 octets
  EXPECT_FALSE(parse_dns_query(query(labels), false));
}

TEST(DnsQuery, RejectsANameOfTwoHundredFiftySixOctets) {
  // One octet over the RFC 1035 limit: 63+63+63+62 label bytes + 4 length octets + root = 256
  // octets (254 characters as text).
  std::vector<std::string> labels = {std::string(63, 'a'), std::string(63, 'b'),
                                     std::string(63, 'c'), std::string(62, 'd')};
  ASSERT_EQ(qname(labels).size(), 256u);
  EXPECT_FALSE(parse_dns_query(query(labels), false));
}

TEST(DnsQuery, RejectsMissingQtype) {
  std::string m = header(1, kRD, 0, 1) + qname({"example", "com"});
  EXPECT_FALSE(parse_dns_query(m, false));
  m += '\0';  // one byte of QTYPE
  EXPECT_FALSE(parse_dns_query(m, false));
}

TEST(DnsQuery, RejectsMissingQclass) {
  std::string m = header(1, kRD, 0, 1) + qname({"example", "com"});
  put16(m, 1);  // QTYPE, no QCLASS
  EXPECT_FALSE(parse_dns_query(m, false));
  m += '\0';  // half of QCLASS
  EXPECT_FALSE(parse_dns_query(m, false));
  m += '\x01';
  EXPECT_TRUE(parse_dns_query(m, false));
}

}  // namespace
}  // namespace stepseal

// The DNS guard records a question's name in wire form; parse_dns_name reads it back.
TEST(DnsName, WireFormIsReadBackLowercase) {
  using stepseal::parse_dns_name;
  EXPECT_EQ(parse_dns_name(std::string("\x03" "Api" "\x07" "Example" "\x00", 13)), "api.example");
  EXPECT_EQ(parse_dns_name(std::string("\x00", 1)), "");
  EXPECT_EQ(parse_dns_name(std::string("\x03" "api", 4)), std::nullopt);  // no final zero
  EXPECT_EQ(parse_dns_name(std::string("\xc0\x0c", 2)), std::nullopt);    // a pointer
  EXPECT_EQ(parse_dns_name(std::string("\x03" "a.b" "\x00", 5)), std::nullopt);  // dot in a label
}
