// journal.h - the append-only, checksummed, hash-chained trace file (`--trace FILE`).
//
// Format (all integers little endian; docs/journal.md has the full description):
//
//   file   := magic body
//   magic  := "STEPSEAL" 0x00 VERSION 0x00 0x00 0x00 0x00 0x00 0x00   (16 bytes)
//   frame  := len:u32 type:u16 rver:u16 xxh3:u64 payload[len]
//             xxh3 = XXH3_64bits(the first 8 header bytes (len, type, rver) || payload)
//   version 1: body := frame*
//   version 2: body := block*
//              block := stored:u32 raw:u32 codec:u8 0:u8[3] xxh3:u64 data[stored]
//                       xxh3 = XXH3_64bits(the first 12 block header bytes || data)
//                       data = zstd(frame*) (codec 1), or frame* as is (codec 0); raw = its
//                       length once decompressed. One block per writer flush (every drain cycle
//                       of `run`, or 64 KiB of frames).
//
//   Hash chain (both versions): head_0 = SHA-256(magic); head_i = SHA-256(head_{i-1} || frame_i),
//   over the whole frame bytes, uncompressed. The TRAILER frame carries head_{n-1} (the head
//   before itself) and the counters; the journal's identity, the value attestations bind to, is
//   head_n: the head after the trailer.
//
//   Record types: HEADER (JSON), STRING (raw bytes; ids are assigned 1, 2, 3... in file order),
//   EVENT (binary, strings by id), STEP_START, STEP_END, TRAILER, DIGEST (JSON).
//
// Compatibility rule (docs/journal.md, "Compatibility"). A reader must read every journal an
// older stepseal wrote, and must never call a newer one damaged only because it is newer:
//   - without any version change, a writer may
//       * add keys to a JSON record (readers ignore keys they do not know);
//       * append fields at the end of an EVENT payload (readers skip trailing bytes they do not
//         know, and count them);
//       * add event kinds, and record types (readers skip a record of a type, or an event of a
//         kind, they do not know, after checking its frame and chaining it, and report it);
//   - changing the meaning or layout of an existing field of a record needs a new record
//     version (`rver` in the frame header, 0 today): a reader skips and reports a record whose
//     version it does not know;
//   - changing framing, blocks, checksums or the chain bumps the file version (byte 9 of the
//     magic). A reader refuses a file version it does not know, saying so, never "damaged".
//   Skipped records and fields make the summary incomplete (a "journal_skipped" gap): the reader could not
//   judge part of the record.
//
// Crash behaviour: the writer only appends whole frames (v1) or whole blocks (v2), one write per
// flush, so a killed writer leaves a valid prefix plus at most one torn frame or block. The
// reader stops at the first frame or block that is short or fails its checksum and reports
// that offset and how many bytes after it it could not read. Nothing after a bad frame is
// trusted: the chain cannot vouch for it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "capture/event.h"

namespace stepseal::journal {

// The version-1 magic (byte 9 is the version). kMagicV2 is the same with byte 9 = 2.
inline constexpr char kMagic[16] = {'S', 'T', 'E', 'P', 'S', 'E', 'A', 'L', 0, 1, 0, 0, 0, 0, 0, 0};
inline constexpr char kMagicV2[16] = {'S', 'T', 'E', 'P', 'S', 'E', 'A', 'L', 0, 2, 0, 0, 0, 0, 0, 0};
inline constexpr int kFormatVersion = 2;  // what Writer writes by default
inline constexpr size_t kFrameHeader = 16;
inline constexpr size_t kBlockHeader = 20;
inline constexpr uint32_t kMaxPayload = 64u << 20;
inline constexpr uint32_t kMaxBlockRaw = 80u << 20;  // a block holds at most this many frame bytes

enum class RecordType : uint16_t {
  HEADER = 1,      // JSON: format, stepseal version, host, kernel, clock offsets
  STRING = 2,      // interned string; id = 1 + number of STRING records before it
  EVENT = 3,       // one Event, see encode_event()
  STEP_START = 4,  // JSON: argv, cwd, started, spawner pid
  STEP_END = 5,    // JSON: exit status, finished, per-CPU counters
  TRAILER = 6,     // JSON: records, events, strings, chain head before this frame
  DIGEST = 7,      // JSON: one file digest (role, path, identity, sha256, status, reason)
};

using Sha256 = std::array<uint8_t, 32>;
std::string to_hex(const Sha256& h);

// Writes a journal. Not thread safe; one writer per file.
class Writer {
 public:
  // Creates (truncates) `path`, in format VERSION (1 or 2). Throws std::runtime_error with a
  // clear message on failure.
  explicit Writer(const std::string& path, int version = kFormatVersion);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  void append_json(RecordType type, const nlohmann::json& j);  // not thread safe: see Writer
  void append_event(const Event& e);
  // Pushes buffered frames to the kernel (survives a crash of this process).
  void flush();
  // Writes the TRAILER, flushes, fsyncs and closes. Returns the final chain head.
  Sha256 finish(const nlohmann::json& counters);

  uint64_t records() const { return records_; }
  uint64_t events() const { return events_; }
  uint64_t bytes() const { return bytes_; }  // frame bytes (uncompressed), magic included

  // Appends one frame of any type and record version: for tests of readers against records
  // of a newer writer (unknown types, versions, trailing fields).
  void append_raw(uint16_t type, uint16_t rver, const void* payload, size_t len);

 private:
  uint32_t intern(const std::string& s);
  void append_frame(RecordType type, const void* payload, size_t len, uint16_t rver = 0);
  void write_out(const void* p, size_t n);

  int fd_ = -1;
  int version_ = kFormatVersion;
  std::string path_;
  std::vector<uint8_t> buf_;     // frames not yet written (v2: the next block's content)
  std::vector<uint8_t> packed_;  // v2: the block being written
  Sha256 head_{};
  void* md_ = nullptr;  // EVP_MD_CTX
  std::unordered_map<std::string, uint32_t> strings_;
  uint64_t records_ = 0, events_ = 0, bytes_ = 0;
  std::string scratch_;
};

// One decoded record.
struct Record {
  RecordType type;
  uint64_t offset;       // of the frame in the file
  nlohmann::json json;   // HEADER, STEP_START, STEP_END, TRAILER
  std::optional<Event> event;
};

struct ReadResult {
  int format_version = 0;       // of the file (byte 9 of the magic)
  bool intact = false;          // every byte read, chain verified, trailer present and consistent
  bool has_trailer = false;
  uint64_t records = 0;         // valid records read
  uint64_t events = 0;
  uint64_t valid_bytes = 0;     // length of the valid prefix
  uint64_t file_bytes = 0;
  uint64_t unreadable_bytes = 0;  // file_bytes - valid_bytes
  std::optional<uint64_t> bad_offset;  // offset of the first bad frame, if any
  std::string problem;          // human-readable reason the read stopped early, if it did
  Sha256 head{};                // chain head over the valid prefix
  // Written by a newer stepseal, and skipped (checked and chained, not interpreted): records of
  // types, versions or event kinds this reader does not know, and trailing EVENT fields.
  uint64_t skipped_records = 0;
  std::vector<std::string> skipped_what;  // e.g. "record type 9", "EVENT version 1", "event kind 40"
  uint64_t skipped_trailing_bytes = 0;    // unknown fields at the end of EVENT payloads
};

// Reads a journal record by record, streaming: memory holds one frame and one read chunk at a
// time (plus the interned strings), however long the journal. STRING records are consumed
// internally (events come back with their strings resolved). The constructor throws
// std::runtime_error if the file cannot be opened or is not a stepseal journal at all; bad
// content never throws: next() stops at the first bad frame, and result() says why.
class Reader {
 public:
  explicit Reader(const std::string& path);
  ~Reader();
  Reader(Reader&&) noexcept;
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // The next valid record, in file order, or nullopt at the end (or at the first bad frame).
  std::optional<Record> next();
  // How the reading went. Final once next() has returned nullopt.
  const ReadResult& result() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// Reads a whole journal, calling `on_record` for every valid record in order (a Reader loop).
ReadResult read(const std::string& path, const std::function<void(const Record&)>& on_record);

// Binary event encoding (exposed for tests).
void encode_event_payload(const Event& e,
                          const std::function<uint32_t(const std::string&)>& intern,
                          std::string* out);
// kOk; kUnknownKind: a kind this reader does not know (a newer writer's: skip it);
// kMalformed: the payload does not decode. TRAILING receives the number of bytes after the
// fields this reader knows (a newer writer's fields).
// kUnknownString: it refers to a STRING of a record version this reader does not know (its
// entry in UNKNOWN_IDS is set): skipped, as the event cannot be read faithfully.
enum class Decoded { kOk, kUnknownKind, kUnknownString, kMalformed };
Decoded decode_event_payload(std::string_view in, const std::vector<std::string>& strings,
                             Event* e, size_t* trailing,
                             const std::vector<bool>& unknown_ids = {});

// Limits on what one journal may make a reader hold: beyond them, the record is malformed.
// The probes capture at most SS_ARGV_MAX (12 KiB) of argv and PATH_MAX-bounded paths: events
// beyond these bounds were not written by them. The journal-wide budget bounds what a small
// crafted journal (many events referring to the same long strings) can make a reader hold.
inline constexpr uint64_t kMaxArgc = 1u << 16;              // argv entries of one event
inline constexpr size_t kMaxEventArgvBytes = 64u << 10;     // bytes of one event's argv
inline constexpr size_t kMaxEventStrings = 1u << 20;        // bytes of strings one event refers to
inline constexpr size_t kMaxStringTable = 512u << 20;       // bytes of all STRING records, each
                                                            // counted with its entry (32 bytes)
inline constexpr uint64_t kMaxArgvTotal = 1ull << 30;       // bytes of argv of all events
// (JSON records are parsed with util::parse_bounded_json: nesting at most util::kMaxJsonDepth)

}  // namespace stepseal::journal
