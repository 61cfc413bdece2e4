// case_index.h - a case: the recorded steps an investigation looks at, in one SQLite index.
//
//   inputs    a journal (`stepseal run --trace`), a build record (`stepseal build --out`: its
//             build.json and one journal per RUN), or an index made by `stepseal index`
//   index     each journal read once, streaming, through the one consumer (replay_step): its
//             processes, file operations (with the digest of the version each read or exec
//             saw), network, DNS, sensitive calls, gaps and violations, and how sound the
//             journal is. Keyed by the journal's chain head: indexing it again changes nothing.
//
// Every command of forensic replay opens its inputs here, so each checks the journals first
// and carries their soundness (integrity()) into its answer.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "forensics/sqlite_db.h"

namespace stepseal::forensics {

// An input that cannot be used at all (missing, unreadable, not a journal, a build record
// without build.json, an index of another schema). The message names the file and, for a
// journal, the offset.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Indexed {
  int64_t journal_id = 0;
  std::string path;
  std::string head;
  bool already = false;  // it was in the index already (same chain head)
  uint64_t events = 0;
};

// Progress of long work, for the log: (journal path, events so far).
using Progress = std::function<void(const std::string&, uint64_t)>;

// Adds INPUTS (journals and build records) to DB. Throws InputError or DbError.
std::vector<Indexed> index_inputs(Db& db, const std::vector<std::string>& inputs,
                                  const Progress& progress = {});

// The database of a command's inputs: the index itself when the one input is an index (opened
// read-only); else an in-memory index of the inputs. Throws InputError or DbError.
std::unique_ptr<Db> open_case(const std::vector<std::string>& inputs, const Progress& progress = {});

// How sound the indexed record is, over every journal in the index.
struct Integrity {
  int journals = 0;
  int damaged = 0;          // journal inputs not intact (torn, corrupt, unfinished, or not the
                            // journal their build record names), and unsound build records
  int incomplete = 0;       // lost events or gaps
  uint64_t lost_events = 0;
  uint64_t gaps = 0;
  std::vector<std::string> problems;  // one line each: what, where, why
  bool conclusive() const { return journals > 0 && damaged == 0 && incomplete == 0; }
};
Integrity integrity(Db& db);
// "record: 3 journals, intact and complete" or "INCONCLUSIVE: ..." (one line, no newline).
std::string integrity_line(const Integrity& i);

}  // namespace stepseal::forensics
