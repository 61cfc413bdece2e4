// build_record_fuzz - a build record as forensic replay reads it (src/forensics/case_index.h):
// build.json and the step journals it lists, indexed into SQLite and asked every question.
//
// Input: parts separated by "\n--part--\n" (fuzz_util.h). Part 0 is build.json; parts 1..N are
// the journals steps/01.journal, steps/02.journal, ...
// Invariants: a record is refused with InputError (or an SQLite error, DbError), never another
// exception; a record whose build.json is not complete, or names a journal that is not intact,
// is never called conclusive.
#include <cstdint>
#include <cstdio>
#include <string>

#include "case_questions.h"
#include "forensics/case_index.h"
#include "fuzz_util.h"
#include "util/json.h"

namespace fx = stepseal::forensics;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parts = stepseal::fuzz::split_parts(
      std::string_view(reinterpret_cast<const char*>(data), size), 6);
  auto& s = stepseal::fuzz::scratch();
  s.reset();
  s.write("record/build.json", parts[0]);
  for (size_t k = 1; k < parts.size(); ++k) {
    char name[32];
    std::snprintf(name, sizeof name, "record/steps/%02zu.journal", k);
    s.write(name, parts[k]);
  }
  std::unique_ptr<fx::Db> db;
  try {
    db = fx::open_case({s.path("record")});
  } catch (const fx::InputError&) {
    return 0;
  } catch (const fx::DbError&) {
    return 0;
  }
  fx::Integrity i = fx::integrity(*db);
  auto m = stepseal::util::parse_bounded_json(parts[0]);
  if (m.is_object() && m.value("complete", nlohmann::json()) != nlohmann::json(true))
    FUZZ_CHECK(!i.conclusive(), "a build record that says it is not complete was conclusive");
  try {
    stepseal::fuzz::ask_everything(*db);
  } catch (const fx::DbError&) {
  }
  return 0;
}
