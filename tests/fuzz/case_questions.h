// case_questions.h - the forensic questions every replay harness asks of the case it opened: the
// integrity line and each query, in both formats. What they may throw is the harness's to judge.
#pragma once

#include <sstream>

#include "forensics/case_index.h"
#include "forensics/queries.h"

namespace stepseal::fuzz {

inline void ask_everything(forensics::Db& db) {
  namespace fx = forensics;
  fx::Integrity i = fx::integrity(db);
  (void)fx::integrity_line(i);
  for (auto format : {fx::Format::kText, fx::Format::kJson}) {
    std::ostringstream out;
    fx::TreeOptions t;
    t.files = t.net = t.failed = true;
    t.format = format;
    fx::tree(db, t, out);
    fx::EventFilter f;
    f.format = format;
    (void)fx::events(db, f, out);
    (void)fx::who(db, "/usr/bin/cc", format, out);
    fx::WhyOptions w;
    w.format = format;
    w.depth = 4;
    (void)fx::why(db, "/work/out/a.out", w, out);
  }
}

}  // namespace stepseal::fuzz
