// schema.h - the SQLite schema of a forensic index (docs/replay.md, "The index"): one table per
// kind of thing, surrogate process ids (pids recycle), views for the forensic questions.
//
// Compatibility: the schema's version is PRAGMA user_version. A reader opens an index of its own
// version or older; columns and views are only ever added; a newer index is refused with a
// message naming both versions.
#pragma once

namespace stepseal::forensics {

class Db;

inline constexpr int kSchemaVersion = 1;

// Creates the tables, indexes and views if missing. Throws DbError for an index another
// (newer) stepseal made.
void ensure_schema(Db& db);
// The indexes a bulk load makes last (file operations by path and by process).
void ensure_indexes(Db& db);

}  // namespace stepseal::forensics
