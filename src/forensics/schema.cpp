#include "forensics/schema.h"

#include "forensics/sqlite_db.h"

namespace stepseal::forensics {

namespace {

// Times are monotonic nanoseconds of the recording host (ts_ns, start_ns ...); add the
// journal's realtime_minus_monotonic_ns for the wall clock. Digests are lowercase hex SHA-256.
constexpr const char* kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS build(
  id INTEGER PRIMARY KEY,
  record TEXT NOT NULL UNIQUE,      -- the build record directory, absolute
  manifest_digest TEXT,             -- the image's, with --image-out
  exit_code INTEGER,
  complete INTEGER,                 -- build.json's "complete"
  started TEXT,
  problems TEXT);                   -- JSON array: what makes the record unsound (build.json's
                                    -- incompleteness, a step journal whose head differs, a
                                    -- journal build.json does not list)
-- every time a journal was given (as a file, or by a build record): the same journal (chain
-- head) may come from several places, damaged in one and whole in another
CREATE TABLE IF NOT EXISTS journal_input(
  journal INTEGER NOT NULL REFERENCES journal(id),
  path TEXT NOT NULL,
  build INTEGER REFERENCES build(id),
  step INTEGER,
  intact INTEGER NOT NULL,
  problem TEXT,
  bad_offset INTEGER);
CREATE UNIQUE INDEX IF NOT EXISTS journal_input_once ON journal_input(path, coalesce(build, 0));
CREATE TABLE IF NOT EXISTS journal(
  id INTEGER PRIMARY KEY,
  head TEXT NOT NULL UNIQUE,        -- the chain head over the valid prefix: the journal's key
  path TEXT NOT NULL,
  build INTEGER REFERENCES build(id),
  step INTEGER,                     -- its step in the build (build.json steps[].step)
  argv TEXT,                        -- JSON array
  cwd TEXT, started TEXT, finished TEXT,
  exit_code INTEGER,
  mode TEXT,                        -- observe, hardened
  policy_sha256 TEXT,
  intact INTEGER NOT NULL,          -- every byte read, chain and trailer verified
  problem TEXT,                     -- why the read stopped early
  bad_offset INTEGER,               -- where
  unreadable_bytes INTEGER,
  events INTEGER,
  lost_events INTEGER,
  gaps INTEGER,                     -- rows in gap
  complete INTEGER NOT NULL,        -- nothing lost, no gap (the summary's "complete")
  realtime_minus_monotonic_ns INTEGER);
CREATE TABLE IF NOT EXISTS process(
  id INTEGER PRIMARY KEY,           -- surrogate: one per process of one journal
  journal INTEGER NOT NULL REFERENCES journal(id),
  pid INTEGER, ppid INTEGER,
  parent INTEGER REFERENCES process(id),
  root INTEGER,                     -- the step's own command (forked by stepseal)
  exe TEXT,                         -- the file the kernel ran last in it
  exe_sha256 TEXT, exe_digest TEXT, exe_digest_reason TEXT,
  argv TEXT,                        -- JSON array
  cwd TEXT,
  start_ns INTEGER, exec_ns INTEGER, end_ns INTEGER,
  exit_code INTEGER,                -- 128+N if killed by signal N; NULL if unknown
  fileless INTEGER);
-- one version of a file as an operation found it: its identity, and its content's digest when
-- stepseal took one of exactly that version
CREATE TABLE IF NOT EXISTS file_version(
  id INTEGER PRIMARY KEY,
  journal INTEGER NOT NULL,
  path TEXT NOT NULL,
  dev INTEGER, ino INTEGER, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER,
  sha256 TEXT);
-- every path named, once
CREATE TABLE IF NOT EXISTS path(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS file_access(
  journal INTEGER NOT NULL,
  process INTEGER REFERENCES process(id),
  ts_ns INTEGER,
  op TEXT NOT NULL,                 -- read exec create write overwrite delete rename_from
                                    -- rename_to link mmap_write path chmod chown times; failed
  path INTEGER NOT NULL REFERENCES path(id),
  errno TEXT,                       -- failed: ENOENT ...
  call TEXT,                        -- failed: what was tried (open, unlink ...)
  version INTEGER REFERENCES file_version(id));
-- every file operation, with the digest of the version a read or exec saw (file_op is what
-- queries use; file_access and file_version are how it is stored)
CREATE VIEW IF NOT EXISTS file_op AS
  SELECT a.rowid AS seq, a.journal, a.process, a.ts_ns, a.op, n.name AS path, a.errno, a.call,
         a.version, CASE WHEN a.op IN ('read', 'exec') THEN v.sha256 END AS sha256
  FROM file_access a JOIN path n ON n.id = a.path LEFT JOIN file_version v ON v.id = a.version;
CREATE TABLE IF NOT EXISTS file(
  journal INTEGER NOT NULL,
  path TEXT NOT NULL,
  access TEXT,                      -- comma-separated op names
  sha256 TEXT,                      -- content read or executed (first version)
  before_sha256 TEXT, after_sha256 TEXT,
  digest_status TEXT, digest_reason TEXT,
  PRIMARY KEY(journal, path));
CREATE TABLE IF NOT EXISTS digest(
  journal INTEGER NOT NULL,
  role TEXT, path TEXT, pid INTEGER, ts_ns INTEGER, status TEXT, sha256 TEXT, reason TEXT,
  dev INTEGER, ino INTEGER, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER);
CREATE TABLE IF NOT EXISTS network(
  journal INTEGER NOT NULL, process INTEGER REFERENCES process(id), ts_ns INTEGER,
  op TEXT, family TEXT, protocol TEXT, address TEXT, port INTEGER,
  errno TEXT,                       -- NULL: it succeeded
  count INTEGER);
CREATE TABLE IF NOT EXISTS dns(
  journal INTEGER NOT NULL, process INTEGER REFERENCES process(id), ts_ns INTEGER,
  name TEXT, qtype TEXT, server TEXT, protocol TEXT, count INTEGER);
CREATE TABLE IF NOT EXISTS syscall(
  journal INTEGER NOT NULL, process INTEGER REFERENCES process(id), ts_ns INTEGER,
  name TEXT, errno TEXT, denied INTEGER, count INTEGER);
CREATE TABLE IF NOT EXISTS gap(
  journal INTEGER NOT NULL, kind TEXT, pid INTEGER, detail TEXT, count INTEGER);
CREATE TABLE IF NOT EXISTS violation(
  journal INTEGER NOT NULL, verdict TEXT, rule TEXT, category TEXT, detail TEXT, pid INTEGER,
  ts_ns INTEGER);

CREATE INDEX IF NOT EXISTS process_journal ON process(journal);
CREATE INDEX IF NOT EXISTS digest_path ON digest(journal, path);

-- read or executed, never changed by the step that read it
CREATE VIEW IF NOT EXISTS inputs AS
  SELECT journal, path, sha256, access FROM file
  WHERE (',' || access || ',' LIKE '%,read,%' OR ',' || access || ',' LIKE '%,exec,%')
    AND NOT (',' || access || ',' GLOB '*,create,*' OR ',' || access || ',' GLOB '*,write,*'
             OR ',' || access || ',' GLOB '*,overwrite,*' OR ',' || access || ',' GLOB '*,rename_to,*'
             OR ',' || access || ',' GLOB '*,mmap_write,*' OR ',' || access || ',' GLOB '*,delete,*');
-- made or changed by the step, and there at its end
CREATE VIEW IF NOT EXISTS outputs AS
  SELECT journal, path, after_sha256 AS sha256, access FROM file
  WHERE (',' || access || ',' GLOB '*,create,*' OR ',' || access || ',' GLOB '*,write,*'
         OR ',' || access || ',' GLOB '*,overwrite,*' OR ',' || access || ',' GLOB '*,rename_to,*'
         OR ',' || access || ',' GLOB '*,link,*' OR ',' || access || ',' GLOB '*,mmap_write,*')
    AND after_sha256 IS NOT NULL;
-- every executable, by digest
CREATE VIEW IF NOT EXISTS tools AS
  SELECT exe, exe_sha256, count(*) AS runs, count(DISTINCT journal) AS journals FROM process
  WHERE exe IS NOT NULL GROUP BY exe, exe_sha256;
-- content that was there before the step and that it replaced or removed
CREATE VIEW IF NOT EXISTS overwritten_sources AS
  SELECT journal, path, before_sha256, after_sha256, access FROM file
  WHERE (',' || access || ',' GLOB '*,overwrite,*' OR ',' || access || ',' GLOB '*,delete,*'
         OR ',' || access || ',' GLOB '*,rename_to,*')
    AND NOT ',' || access || ',' GLOB '*,create,*';
-- every destination, with how often and how it ended
CREATE VIEW IF NOT EXISTS endpoints AS
  SELECT journal, family, protocol, address, port, op, coalesce(errno, 'ok') AS outcome,
         sum(count) AS attempts
  FROM network WHERE address IS NOT NULL AND address != ''
  GROUP BY journal, family, protocol, address, port, op, outcome;
)SQL";

// Made after a bulk load (ensure_indexes): rows go in faster without them.
constexpr const char* kLateIndexes = R"SQL(
CREATE INDEX IF NOT EXISTS file_access_path ON file_access(path);
CREATE INDEX IF NOT EXISTS file_access_process ON file_access(process);
)SQL";

}  // namespace

void ensure_indexes(Db& db) { db.exec(kLateIndexes); }

void ensure_schema(Db& db) {
  Stmt v = db.prepare("PRAGMA user_version");
  int version = v.step() ? static_cast<int>(v.integer(0)) : 0;
  if (version > kSchemaVersion)
    throw DbError(db.path() + " is an index of schema version " + std::to_string(version) +
                  "; this stepseal reads versions up to " + std::to_string(kSchemaVersion));
  db.exec(kSchema);
  if (version != kSchemaVersion) db.exec("PRAGMA user_version = " + std::to_string(kSchemaVersion));
}

}  // namespace stepseal::forensics
