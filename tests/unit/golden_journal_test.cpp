// Golden journals (tests/golden/): journals written by an earlier stepseal must give the same
// summary with this reader, field for field. New summary fields are allowed; a changed or missing
// one is a compatibility break.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "distill/summary.h"

#ifndef STEPSEAL_SOURCE_DIR
#error "STEPSEAL_SOURCE_DIR must be defined by the build"
#endif

namespace stepseal {
namespace {

using nlohmann::json;

std::string Golden(const std::string& name) {
  return std::string(STEPSEAL_SOURCE_DIR) + "/tests/golden/" + name;
}

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// Every field of WANT is in GOT with an equal value, recursively for objects (arrays compare
// whole). Returns the JSON pointer of the first difference, or "" if none.
std::string FirstDifference(const json& want, const json& got, const std::string& at = "") {
  if (want.is_object() && got.is_object()) {
    for (const auto& [k, v] : want.items()) {
      if (!got.contains(k)) return at + "/" + k + " (missing)";
      if (auto d = FirstDifference(v, got.at(k), at + "/" + k); !d.empty()) return d;
    }
    return "";
  }
  if (want.is_array() && got.is_array() && want.size() == got.size()) {
    for (size_t i = 0; i < want.size(); i++)
      if (auto d = FirstDifference(want[i], got[i], at + "/" + std::to_string(i)); !d.empty())
        return d;
    return "";
  }
  return want == got ? "" : at + ": was " + want.dump().substr(0, 300) + ", now " +
                                got.dump().substr(0, 300);
}

struct Case {
  const char* dir;  // the format version's directory: v1, v2
  const char* name;
  bool intact;
};

class GoldenJournal : public testing::TestWithParam<Case> {};

TEST_P(GoldenJournal, SummaryIsUnchanged) {
  const Case c = GetParam();
  const std::string base = Golden(std::string(c.dir) + "/" + c.name);
  ASSERT_TRUE(std::filesystem::exists(base + ".journal")) << base;
  const json want = json::parse(Slurp(base + ".summary.json"));
  ASSERT_TRUE(want.is_object());

  StepRecord r = load_step(base + ".journal");
  EXPECT_EQ(r.read.intact, c.intact) << r.read.problem;
  const json got = summary_json(r);
  EXPECT_EQ(FirstDifference(want, got), "") << "the " << c.dir << " journal " << c.name
                                             << " reads differently now";
  // the text form is presentation (the JSON is the contract): it must still render
  EXPECT_FALSE(summary_text(got).empty());
}

TEST_P(GoldenJournal, ReadingTwiceGivesTheSameSummary) {
  const std::string journal =
      Golden(std::string(GetParam().dir) + "/" + GetParam().name + ".journal");
  EXPECT_EQ(summary_json(load_step(journal)), summary_json(load_step(journal)));
}

INSTANTIATE_TEST_SUITE_P(
    Journals, GoldenJournal,
    testing::Values(Case{"v1", "observe", true}, Case{"v1", "hardened", true},
                    Case{"v1", "torn", false}, Case{"v1", "flipped", false},
                    Case{"v2", "observe", true}, Case{"v2", "hardened", true},
                    Case{"v2", "torn", false}, Case{"v2", "flipped", false}),
    [](const testing::TestParamInfo<Case>& i) {
      return std::string(i.param.dir) + "_" + i.param.name;
    });

// The v2 golden journals are version 2 and the v1 ones version 1: each directory holds what
// its name says, so both readers' paths stay covered.
TEST(GoldenJournalVersions, EachDirectoryHoldsItsVersion) {
  for (const auto& [dir, version] : {std::pair{"v1", 1}, std::pair{"v2", 2}})
    EXPECT_EQ(load_step(Golden(std::string(dir) + "/observe.journal")).read.format_version,
              version)
        << dir;
}

// The comparison itself: it must notice a changed or missing field, and allow a new one.
TEST(GoldenCompare, ChangedAndMissingFieldsAreDifferencesNewOnesAreNot) {
  const json want = {{"a", 1}, {"b", {{"c", "x"}}}, {"d", {1, 2}}};
  EXPECT_EQ(FirstDifference(want, want), "");
  json added = want;
  added["new"] = true;
  added["b"]["also_new"] = 2;
  EXPECT_EQ(FirstDifference(want, added), "");
  json changed = want;
  changed["b"]["c"] = "y";
  EXPECT_NE(FirstDifference(want, changed).find("/b/c"), std::string::npos);
  json missing = want;
  missing.erase("a");
  EXPECT_NE(FirstDifference(want, missing).find("/a (missing)"), std::string::npos);
  json shorter = want;
  shorter["d"] = {1};
  EXPECT_NE(FirstDifference(want, shorter).find("/d"), std::string::npos);
}

}  // namespace
}  // namespace stepseal
