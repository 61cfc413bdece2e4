// index_fuzz - an index file given to the replay commands (`stepseal index` makes them; any
// SQLite file may be handed in instead): opened read-only with untrusted schema, checked for its
// schema version, and asked every question (src/forensics).
// Invariants: a file that is not a usable index is refused with InputError or DbError, never
// another exception, a crash or a hang; the questions on an index that opened end the same way.
#include <cstdint>
#include <string>

#include "case_questions.h"
#include "forensics/case_index.h"
#include "fuzz_util.h"

namespace fx = stepseal::forensics;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto& s = stepseal::fuzz::scratch();
  const std::string path =
      s.write("case.index", std::string_view(reinterpret_cast<const char*>(data), size));
  try {
    std::unique_ptr<fx::Db> db = fx::open_case({path});
    stepseal::fuzz::ask_everything(*db);
  } catch (const fx::InputError&) {
  } catch (const fx::DbError&) {
  }
  return 0;
}
