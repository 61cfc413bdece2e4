// Journal format version 2 (zstd blocks) and the compatibility rule: crash and corruption
// recovery block by block, and records of a newer writer skipped and reported, never damage.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <random>

#include "distill/summary.h"
#include "journal/journal.h"
#include "journal_fixtures.h"
#include "replay/record_source.h"
#include "replay/step_record.h"

namespace stepseal {
namespace {

using fixtures::sample_event;
using fixtures::slurp;
using fixtures::spit;
using fixtures::write_journal;
std::string temp_path(const std::string& name) { return fixtures::temp_path("v2-" + name); }


std::vector<Event> read_events(const std::string& path, journal::ReadResult* r) {
  std::vector<Event> out;
  *r = journal::read(path, [&](const journal::Record& rec) {
    if (rec.event) out.push_back(*rec.event);
  });
  return out;
}

// [start, end) of every block of a v2 file.
std::vector<std::pair<uint64_t, uint64_t>> blocks_of(const std::string& full) {
  std::vector<std::pair<uint64_t, uint64_t>> b;
  for (uint64_t off = 16; off + journal::kBlockHeader <= full.size();) {
    uint32_t stored;
    std::memcpy(&stored, full.data() + off, 4);
    b.emplace_back(off, off + journal::kBlockHeader + stored);
    off += journal::kBlockHeader + stored;
  }
  return b;
}

TEST(JournalV2, RoundTripsEventsExactlyAndIsSmaller) {
  const std::string v2 = temp_path("rt2"), v1 = temp_path("rt1");
  auto written = write_journal(v2, 3000, 2, 97);
  write_journal(v1, 3000, 1, 97);
  journal::ReadResult r;
  auto read = read_events(v2, &r);
  EXPECT_TRUE(r.intact) << r.problem;
  EXPECT_EQ(r.format_version, 2);
  EXPECT_EQ(r.unreadable_bytes, 0u);
  EXPECT_EQ(r.skipped_records, 0u);
  ASSERT_EQ(read.size(), written.size());
  for (size_t i = 0; i < read.size(); i++) ASSERT_EQ(read[i], written[i]) << "event " << i;
  // the same records, the same chain: only the container differs
  journal::ReadResult r1;
  read_events(v1, &r1);
  EXPECT_EQ(r1.format_version, 1);
  EXPECT_EQ(r1.records, r.records);
  EXPECT_LT(slurp(v2).size() * 3, slurp(v1).size()) << "v2 should be far smaller";
  unlink(v2.c_str());
  unlink(v1.c_str());
}

TEST(JournalV2, RecoversEveryWholeBlockBeforeACutAtAnyByte) {
  const std::string path = temp_path("cut"), cut_path = temp_path("cut2");
  write_journal(path, 60, 2, 7);
  const std::string full = slurp(path);
  const auto blocks = blocks_of(full);
  ASSERT_GE(blocks.size(), 8u);
  ASSERT_EQ(blocks.back().second, full.size());
  // records in the blocks up to each block end
  std::vector<uint64_t> records_at;
  for (const auto& [start, end] : blocks) {
    spit(cut_path, full.substr(0, end));
    journal::ReadResult r;
    read_events(cut_path, &r);
    records_at.push_back(r.records);
  }
  for (size_t cut = 16; cut < full.size(); cut++) {
    spit(cut_path, full.substr(0, cut));
    journal::ReadResult r;
    read_events(cut_path, &r);
    uint64_t valid = 16, records = 0;
    for (size_t b = 0; b < blocks.size(); b++)
      if (blocks[b].second <= cut) {
        valid = blocks[b].second;
        records = records_at[b];
      }
    ASSERT_FALSE(r.intact) << "cut at " << cut;
    ASSERT_EQ(r.valid_bytes, valid) << "cut at " << cut;
    ASSERT_EQ(r.records, records) << "cut at " << cut;
    ASSERT_EQ(r.unreadable_bytes, cut - valid) << "cut at " << cut;
    if (cut != valid) {
      ASSERT_EQ(r.bad_offset.value_or(0), valid) << "cut at " << cut;
    } else {
      ASSERT_FALSE(r.bad_offset) << "cut at a block boundary is an unfinished journal";
      ASSERT_NE(r.problem.find("no trailer"), std::string::npos) << r.problem;
    }
  }
  unlink(path.c_str());
  unlink(cut_path.c_str());
}

TEST(JournalV2, DetectsAFlippedBitAndReportsItsBlock) {
  const std::string path = temp_path("flip"), bad_path = temp_path("flip2");
  write_journal(path, 80, 2, 9);
  const std::string full = slurp(path);
  const auto blocks = blocks_of(full);
  std::mt19937_64 rng(12345);
  for (int trial = 0; trial < 2000; trial++) {
    std::string data = full;
    const size_t pos = 16 + rng() % (full.size() - 16);
    data[pos] = static_cast<char>(data[pos] ^ (1 << (rng() % 8)));
    spit(bad_path, data);
    uint64_t start = 0;
    for (auto [s, e] : blocks)
      if (pos >= s && pos < e) start = s;
    journal::ReadResult r;
    read_events(bad_path, &r);
    ASSERT_FALSE(r.intact) << "flip at " << pos;
    ASSERT_TRUE(r.bad_offset.has_value()) << "flip at " << pos;
    ASSERT_EQ(*r.bad_offset, start) << "flip at " << pos << ": " << r.problem;
    ASSERT_EQ(r.valid_bytes, start);
  }
  unlink(path.c_str());
  unlink(bad_path.c_str());
}

TEST(JournalV2, AnUnknownFileVersionIsRefusedAsNewerNotDamaged) {
  const std::string path = temp_path("v3");
  write_journal(path, 3, 2, 100);
  std::string data = slurp(path);
  data[9] = 3;
  spit(path, data);
  try {
    journal::Reader reader(path);
    FAIL() << "a version-3 journal was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("unsupported journal version 3"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("newer stepseal"), std::string::npos) << e.what();
  }
  unlink(path.c_str());
}

// What a newer writer may add without a version change (journal.h, Compatibility rule): a
// record type, a record version, an event kind, trailing EVENT fields. A reader skips them,
// reports them, keeps the string ids right, and the journal stays intact.
class NewerWriter : public testing::TestWithParam<int> {};

TEST_P(NewerWriter, ItsRecordsAreSkippedAndReportedNotDamage) {
  const std::string path = temp_path("newer" + std::to_string(GetParam()));
  std::vector<Event> known;
  {
    journal::Writer w(path, GetParam());
    w.append_json(journal::RecordType::HEADER, {{"format", "stepseal-journal"}});
    w.append_json(journal::RecordType::STEP_START, {{"argv", {"x"}}, {"spawner_pid", 1}});
    known.push_back(sample_event(1));
    w.append_event(known.back());
    w.append_raw(99, 0, "future", 6);                                   // a new record type
    w.append_raw(static_cast<uint16_t>(journal::RecordType::DIGEST), 2, "{}", 2);  // new version
    std::string future_kind = {static_cast<char>(0xc8), 0x01, 0x07, 0x07};  // kind 200
    w.append_raw(static_cast<uint16_t>(journal::RecordType::EVENT), 0, future_kind.data(),
                 future_kind.size());
    known.push_back(sample_event(4));
    w.append_event(known.back());  // decoded as usual after the skipped records
    w.append_json(journal::RecordType::STEP_END, {{"exit_code", 0}});
    w.finish({});
  }
  journal::ReadResult r;
  std::vector<Event> read = read_events(path, &r);
  EXPECT_TRUE(r.intact) << r.problem;
  EXPECT_EQ(r.skipped_records, 3u);
  for (const char* what : {"record type 99", "record type 7 version 2", "event kind 200"})
    EXPECT_NE(std::find(r.skipped_what.begin(), r.skipped_what.end(), what),
              r.skipped_what.end())
        << what;
  ASSERT_EQ(read.size(), known.size());
  for (size_t i = 0; i < read.size(); i++) EXPECT_EQ(read[i], known[i]) << "event " << i;

  // the summary notes it: a gap, so it is not complete, and the journal section says what
  StepRecord rec = load_step(path);
  const nlohmann::json s = summary_json(rec);
  EXPECT_FALSE(s["complete"].get<bool>());
  bool gap = false;
  for (const auto& g : s["gaps"]) gap |= g.value("kind", "") == "journal_skipped";
  EXPECT_TRUE(gap) << s["gaps"].dump();
  EXPECT_EQ(s["journal"]["skipped_records"], 3);
  EXPECT_EQ(s["journal"]["intact"], true);
  unlink(path.c_str());
}

TEST_P(NewerWriter, TrailingEventFieldsAreSkippedAndCounted) {
  const std::string path = temp_path("trail" + std::to_string(GetParam()));
  Event e = sample_event(4);  // an open: no argv
  e.obj.clear();
  e.path.clear();
  e.raw.clear();  // no strings: the payload can be built without the writer's interning
  {
    journal::Writer w(path, GetParam());
    std::string payload;
    journal::encode_event_payload(e, [](const std::string&) { return 1u; }, &payload);
    payload += std::string("\x05\x06\x07", 3);  // fields of a newer writer
    w.append_raw(static_cast<uint16_t>(journal::RecordType::EVENT), 0, payload.data(),
                 payload.size());
    w.finish({});
  }
  journal::ReadResult r;
  std::vector<Event> read = read_events(path, &r);
  EXPECT_TRUE(r.intact) << r.problem;
  ASSERT_EQ(read.size(), 1u);
  EXPECT_EQ(read[0], e);
  EXPECT_EQ(r.skipped_trailing_bytes, 3u);
  EXPECT_EQ(r.skipped_records, 0u);
  unlink(path.c_str());
}

INSTANTIATE_TEST_SUITE_P(Versions, NewerWriter, testing::Values(1, 2),
                         [](const testing::TestParamInfo<int>& i) {
                           return "v" + std::to_string(i.param);
                         });

}  // namespace
}  // namespace stepseal

namespace stepseal {
namespace {

// Hostile journals (a review's findings): each is small, and each must be refused or skipped
// with bounded memory, never crash the reader or the summary.
class HostileJournal : public testing::Test {
 protected:
  std::string path_ = temp_path("hostile");
  void TearDown() override { unlink(path_.c_str()); }
  journal::ReadResult ReadAll() {
    journal::ReadResult r;
    read_events(path_, &r);
    return r;
  }
};

TEST_F(HostileJournal, OneHugeStringReferencedManyTimesIsMalformed) {
  {
    journal::Writer w(path_, 2);
    const std::string big(1 << 20, 'x');
    w.append_raw(static_cast<uint16_t>(journal::RecordType::STRING), 0, big.data(), big.size());
    Event e;
    e.kind = Kind::EXEC;
    e.pid = e.tid = 1;
    e.argv.assign(3000, big);  // 3000 ids of the one string: 3 GB if copied
    std::string payload;
    journal::encode_event_payload(e, [](const std::string&) { return 1u; }, &payload);
    w.append_raw(static_cast<uint16_t>(journal::RecordType::EVENT), 0, payload.data(),
                 payload.size());
    w.finish({});
  }
  const journal::ReadResult r = ReadAll();
  EXPECT_FALSE(r.intact);
  EXPECT_NE(r.problem.find("undecodable record of type 3"), std::string::npos) << r.problem;
}

// A second review: 65535 argv ids of one 1000-byte string are a few bytes once compressed but
// 65 MB decoded, and a handful of such events used gigabytes. An event's argv is bounded by
// what the probes capture (12 KiB), so such an event is malformed.
TEST_F(HostileJournal, AnArgvOfManyCopiesOfOneStringIsMalformed) {
  {
    journal::Writer w(path_, 2);
    const std::string s(1000, 'a');
    w.append_raw(static_cast<uint16_t>(journal::RecordType::STRING), 0, s.data(), s.size());
    Event e;
    e.kind = Kind::EXEC;
    e.pid = e.tid = 1;
    e.argv.assign(100, s);  // 100 KB of argv: more than any probe writes
    std::string payload;
    journal::encode_event_payload(e, [](const std::string&) { return 1u; }, &payload);
    for (int i = 0; i < 16; i++)
      w.append_raw(static_cast<uint16_t>(journal::RecordType::EVENT), 0, payload.data(),
                   payload.size());
    w.finish({});
  }
  const journal::ReadResult r = ReadAll();
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.events, 0u);
  EXPECT_NE(r.problem.find("undecodable record of type 3"), std::string::npos) << r.problem;
}

TEST_F(HostileJournal, AnArgcBombIsMalformed) {
  {
    journal::Writer w(path_, 2);
    Event e;
    e.kind = Kind::EXEC;
    e.pid = e.tid = 1;
    std::string payload;
    journal::encode_event_payload(e, [](const std::string&) { return 0u; }, &payload);
    payload.resize(payload.size() - 2);  // argc 0 and seq 0 -> a huge argc, with enough zero
                                         // ids to look plausible
    payload += std::string("\x80\x80\x80\x20", 4);
    payload += std::string(1 << 17, '\0');
    w.append_raw(static_cast<uint16_t>(journal::RecordType::EVENT), 0, payload.data(),
                 payload.size());
    w.finish({});
  }
  EXPECT_FALSE(ReadAll().intact);
}

TEST_F(HostileJournal, DeeplyNestedJsonIsUndecodableNotACrash) {
  {
    journal::Writer w(path_, 2);
    std::string deep = "{\"x\":" + std::string(200000, '[') + std::string(200000, ']') + "}";
    w.append_raw(static_cast<uint16_t>(journal::RecordType::HEADER), 0, deep.data(), deep.size());
    w.finish({});
  }
  const journal::ReadResult r = ReadAll();
  EXPECT_FALSE(r.intact);
  EXPECT_NE(r.problem.find("undecodable record of type 1"), std::string::npos) << r.problem;
  EXPECT_NO_THROW(summary_json(load_step(path_)));
}

TEST_F(HostileJournal, ATrailerOfTheWrongShapeIsDamageNotAThrow) {
  {
    journal::Writer w(path_, 2);
    w.append_raw(static_cast<uint16_t>(journal::RecordType::TRAILER), 0, "[1]", 3);
  }
  journal::ReadResult r;
  EXPECT_NO_THROW(r = ReadAll());
  EXPECT_FALSE(r.intact);
}

TEST_F(HostileJournal, KindsBeyondSixteenBitsAreSkippedNotTruncated) {
  for (uint64_t kind : {65536u, 65538u}) {
    {
      journal::Writer w(path_, 2);
      std::string payload;
      for (uint64_t v = kind; ; v >>= 7) {  // the kind as a varint, then junk
        payload.push_back(static_cast<char>((v & 0x7f) | (v >= 0x80 ? 0x80 : 0)));
        if (v < 0x80) break;
      }
      payload += "\x01\x02";
      w.append_raw(static_cast<uint16_t>(journal::RecordType::EVENT), 0, payload.data(),
                   payload.size());
      w.finish({});
    }
    const journal::ReadResult r = ReadAll();
    EXPECT_TRUE(r.intact) << kind << ": " << r.problem;
    EXPECT_EQ(r.events, 0u) << kind << " was read as a known kind";
    EXPECT_EQ(r.skipped_records, 1u) << kind;
  }
}

TEST_F(HostileJournal, AnEventReferringToAStringOfAnUnknownVersionIsSkipped) {
  {
    journal::Writer w(path_, 2);
    w.append_raw(static_cast<uint16_t>(journal::RecordType::STRING), 1, "/etc/shadow", 11);
    Event e;
    e.kind = Kind::OPEN;
    e.pid = e.tid = 1;
    e.obj = "x";
    std::string payload;
    journal::encode_event_payload(e, [](const std::string&) { return 1u; }, &payload);
    w.append_raw(static_cast<uint16_t>(journal::RecordType::EVENT), 0, payload.data(),
                 payload.size());
    w.finish({});
  }
  const journal::ReadResult r = ReadAll();
  EXPECT_TRUE(r.intact) << r.problem;
  EXPECT_EQ(r.events, 0u) << "an open of an empty path was delivered";
  EXPECT_EQ(r.skipped_records, 2u);
}

TEST_F(HostileJournal, EmptyBlocksAndSecondZstdFramesAreRefused) {
  write_journal(path_, 5, 2, 100);
  std::string data = slurp(path_);
  // an empty block right after the magic: framing no chain covers
  std::string empty(journal::kBlockHeader, '\0');
  spit(path_, data.substr(0, 16) + empty + data.substr(16));
  journal::ReadResult r = ReadAll();
  EXPECT_FALSE(r.intact);
  EXPECT_EQ(r.bad_offset.value_or(0), 16u) << r.problem;
}

}  // namespace
}  // namespace stepseal
