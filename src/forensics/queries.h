// queries.h - the forensic questions, asked of a case's index (case_index.h). Each answer starts
// with the record's soundness (integrity_line): an answer from a damaged or incomplete record
// says it is inconclusive.
//
//   tree     the process tree of each journal: argv, exe and its digest, exit, duration
//   events   every file, network and DNS operation, filtered (pid, path glob, kinds, time)
//   who      every process that read, wrote, executed or removed a path
//   why      who made a path, from which inputs (recursively through what the record made),
//            with digests
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <set>
#include <string>

#include "forensics/sqlite_db.h"

namespace stepseal::forensics {

enum class Format { kText, kJson };  // kJson: events and who as JSON lines, tree and why one doc

struct TreeOptions {
  bool files = false, net = false, failed = false;
  Format format = Format::kText;
};
void tree(Db& db, const TreeOptions& o, std::ostream& out);

struct EventFilter {
  std::optional<int64_t> pid;
  std::string path_glob;         // SQLite GLOB on the path
  std::set<std::string> kinds;   // exec read write overwrite delete rename net dns failed; empty: all
  std::optional<int64_t> since_ns, until_ns;  // wall clock, epoch nanoseconds
  Format format = Format::kText;
};
// Throws std::invalid_argument for an unknown kind.
uint64_t events(Db& db, const EventFilter& f, std::ostream& out);
// The kinds `events --kind` knows.
const std::set<std::string>& event_kinds();

// Returns how many processes touched PATH.
uint64_t who(Db& db, const std::string& path, Format format, std::ostream& out);

struct WhyOptions {
  int depth = 12;          // how far back through made inputs
  bool system = false;     // also list inputs under /proc, /sys, /dev
  Format format = Format::kText;
};
// Whether PATH is the kernel's (/proc, /sys, /dev): no input `why` and `graph` show unless asked.
bool system_path(const std::string& path);

// Returns whether the record shows who made PATH.
bool why(Db& db, const std::string& path, const WhyOptions& o, std::ostream& out);

}  // namespace stepseal::forensics
