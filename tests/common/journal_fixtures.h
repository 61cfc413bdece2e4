// journal_fixtures.h - the sample events and journals the journal tests (format 1 and 2) share.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "journal/journal.h"

namespace stepseal::fixtures {

inline std::string temp_path(const std::string& name) {
  return std::string(::testing::TempDir()) + "/" + name + std::to_string(getpid());
}

inline std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

inline void spit(const std::string& p, const std::string& data) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << data;
}

// Event I of a sample build: opens of headers and, every third, an exec of the compiler.
inline Event sample_event(int i) {
  Event e;
  e.kind = i % 3 ? Kind::OPEN : Kind::EXEC;
  e.flags = SS_F_HAS_INO;
  e.ts_ns = 1000 + i;
  e.pid = 100 + i % 7;
  e.tid = e.pid;
  e.ret = i % 5 ? 3 : -2;
  e.args = {static_cast<uint64_t>(-100), 0, 0101, 0644, 0, 0};
  e.ino = {8, static_cast<uint64_t>(1000 + i), 42, 1, 2, 0100644, 1};
  e.obj = "/usr/include/stdio" + std::to_string(i % 10) + ".h";
  e.path = e.obj;
  e.raw = "stdio.h";
  if (e.kind == Kind::EXEC) e.argv = {"cc", "-c", "x.c", std::to_string(i)};
  return e;
}

// A journal of N sample events in format VERSION. FLUSH_EVERY > 0: a flush (in format 2, a
// block) after every that many events, as the supervisor flushes every drain cycle.
inline std::vector<Event> write_journal(const std::string& path, int n, int version = 1,
                                        int flush_every = 0) {
  journal::Writer w(path, version);
  w.append_json(journal::RecordType::HEADER, {{"format", "stepseal-journal"}});
  std::vector<Event> evs;
  for (int i = 0; i < n; i++) {
    evs.push_back(sample_event(i));
    w.append_event(evs.back());
    if (flush_every > 0 && (i + 1) % flush_every == 0) w.flush();
  }
  w.append_json(journal::RecordType::STEP_END, {{"exit_code", 0}});
  w.finish({});
  return evs;
}

}  // namespace stepseal::fixtures
