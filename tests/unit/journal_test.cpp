// Journal: round trip, interning, and crash/corruption recovery.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <set>

#include "journal/journal.h"
#include "journal_fixtures.h"

namespace stepseal {
namespace {

using fixtures::sample_event;
using fixtures::slurp;
using fixtures::spit;
using fixtures::write_journal;
std::string temp_path(const std::string& name) { return fixtures::temp_path("" + name); }


TEST(Journal, RoundTripsEventsExactly) {
  auto path = temp_path("rt");
  auto written = write_journal(path, 200);
  std::vector<Event> read;
  auto r = journal::read(path, [&](const journal::Record& rec) {
    if (rec.event) read.push_back(*rec.event);
  });
  EXPECT_TRUE(r.intact) << r.problem;
  EXPECT_TRUE(r.has_trailer);
  EXPECT_EQ(r.unreadable_bytes, 0u);
  ASSERT_EQ(read.size(), written.size());
  for (size_t i = 0; i < read.size(); i++) EXPECT_EQ(read[i], written[i]) << "event " << i;
  unlink(path.c_str());
}

TEST(Journal, InternsRepeatedStrings) {
  auto path = temp_path("intern");
  auto events = write_journal(path, 1000);
  std::set<std::string> distinct;
  for (const auto& e : events) {
    for (const auto* s : {&e.obj, &e.path, &e.raw})
      if (!s->empty()) distinct.insert(*s);
    distinct.insert(e.argv.begin(), e.argv.end());
  }
  nlohmann::json trailer;
  journal::read(path, [&](const journal::Record& r) {
    if (r.type == journal::RecordType::TRAILER) trailer = r.json;
  });
  // each distinct string is stored once, however many events name it
  EXPECT_EQ(trailer.value("strings", 0u), distinct.size());
  unlink(path.c_str());
}

TEST(Journal, ChainHeadDependsOnEveryByte) {
  auto a = temp_path("ca"), b = temp_path("cb");
  write_journal(a, 10);
  journal::Writer w(b);
  w.append_json(journal::RecordType::HEADER, {{"format", "stepseal-journal"}});
  for (int i = 0; i < 10; i++) {
    Event e = sample_event(i);
    if (i == 7) e.ret = 4;
    w.append_event(e);
  }
  w.append_json(journal::RecordType::STEP_END, {{"exit_code", 0}});
  w.finish({});
  auto ra = journal::read(a, [](const auto&) {});
  auto rb = journal::read(b, [](const auto&) {});
  EXPECT_NE(journal::to_hex(ra.head), journal::to_hex(rb.head));
  unlink(a.c_str());
  unlink(b.c_str());
}

// A crash can cut the file anywhere: every cut must yield the longest valid prefix, exactly.
// Version 1: frames straight in the file.
TEST(Journal, RecoversEveryRecordBeforeACutAtAnyByte) {
  auto path = temp_path("cut");
  write_journal(path, 40);
  std::string full = slurp(path);
  // frame boundaries of the intact file
  std::vector<uint64_t> ends;
  journal::read(path, [](const auto&) {});
  {
    uint64_t off = sizeof journal::kMagic;
    while (off < full.size()) {
      uint32_t len;
      memcpy(&len, full.data() + off, 4);
      off += journal::kFrameHeader + len;
      ends.push_back(off);
    }
  }
  auto cut_path = temp_path("cut2");
  for (size_t cut = sizeof journal::kMagic; cut < full.size(); cut++) {
    spit(cut_path, full.substr(0, cut));
    auto r = journal::read(cut_path, [](const auto&) {});
    uint64_t expect_valid = sizeof journal::kMagic;
    uint64_t expect_records = 0;
    for (auto e : ends)
      if (e <= cut) {
        expect_valid = e;
        expect_records++;
      }
    ASSERT_FALSE(r.intact) << "cut at " << cut;
    ASSERT_EQ(r.valid_bytes, expect_valid) << "cut at " << cut;
    ASSERT_EQ(r.records, expect_records) << "cut at " << cut;
    ASSERT_EQ(r.unreadable_bytes, cut - expect_valid);
    if (cut != expect_valid) {
      ASSERT_EQ(r.bad_offset.value_or(0), expect_valid);
    }
  }
  unlink(path.c_str());
  unlink(cut_path.c_str());
}

// Fuzz-style: flip one random bit anywhere after the magic; the reader must stop exactly at the
// frame containing it and report that frame's offset. Never a crash, never a silent pass.
TEST(Journal, DetectsAFlippedBitAndReportsItsFrame) {  // version 1
  auto path = temp_path("flip");
  write_journal(path, 60);
  std::string full = slurp(path);
  std::vector<std::pair<uint64_t, uint64_t>> frames;  // [start, end)
  for (uint64_t off = sizeof journal::kMagic; off < full.size();) {
    uint32_t len;
    memcpy(&len, full.data() + off, 4);
    frames.emplace_back(off, off + journal::kFrameHeader + len);
    off += journal::kFrameHeader + len;
  }
  std::mt19937_64 rng(12345);
  auto bad_path = temp_path("flip2");
  for (int trial = 0; trial < 2000; trial++) {
    std::string data = full;
    size_t pos = sizeof journal::kMagic + rng() % (full.size() - sizeof journal::kMagic);
    data[pos] = static_cast<char>(data[pos] ^ (1 << (rng() % 8)));
    spit(bad_path, data);
    uint64_t frame_start = 0;
    for (auto [s, e] : frames)
      if (pos >= s && pos < e) frame_start = s;
    auto r = journal::read(bad_path, [](const auto&) {});
    ASSERT_FALSE(r.intact) << "flip at " << pos;
    ASSERT_TRUE(r.bad_offset.has_value()) << "flip at " << pos;
    ASSERT_EQ(*r.bad_offset, frame_start) << "flip at " << pos << ": " << r.problem;
    ASSERT_EQ(r.valid_bytes, frame_start);
  }
  unlink(path.c_str());
  unlink(bad_path.c_str());
}

TEST(Journal, RejectsAFileThatIsNotAJournal) {
  auto path = temp_path("notj");
  spit(path, "#!/bin/sh\necho hello\n");
  EXPECT_THROW(journal::read(path, [](const auto&) {}), std::runtime_error);
  EXPECT_THROW(journal::read(path + ".missing", [](const auto&) {}), std::runtime_error);
  unlink(path.c_str());
}

TEST(Journal, MissingTrailerIsReportedAsUnfinished) {
  auto path = temp_path("notrail");
  {
    journal::Writer w(path);
    w.append_json(journal::RecordType::HEADER, {{"format", "stepseal-journal"}});
    w.append_event(sample_event(1));
    w.flush();
  }  // destroyed without finish(): what a crash between flushes leaves
  auto r = journal::read(path, [](const auto&) {});
  EXPECT_FALSE(r.intact);
  EXPECT_FALSE(r.has_trailer);
  EXPECT_FALSE(r.bad_offset.has_value());
  EXPECT_NE(r.problem.find("no trailer"), std::string::npos);
  unlink(path.c_str());
}

}  // namespace
}  // namespace stepseal
