// journal.h - the append-only, checksummed, hash-chained trace file (`--trace FILE`).
//
// Format, version 1 (all integers little endian; docs/journal.md has the full description):
//
//   file   := magic frame*
//   magic  := "STEPSEAL" 0x00 0x01 0x00 0x00 0x00 0x00 0x00 0x00   (16 bytes; byte 9 = version)
//   frame  := len:u32 type:u16 reserved:u16 xxh3:u64 payload[len]
//             xxh3 = XXH3_64bits(the first 8 header bytes (len, type, reserved) || payload)
//
//   Hash chain: head_0 = SHA-256(magic); head_i = SHA-256(head_{i-1} || frame_i), over the whole
//   frame bytes. The TRAILER frame carries head_{n-1} (the head before itself) and the counters;
//   the journal's identity, the value attestations bind to, is head_n: the head after the
//   trailer.
//
//   Record types: HEADER (JSON), STRING (raw bytes; ids are assigned 1, 2, 3... in file order),
//   EVENT (binary, strings by id), STEP_START, STEP_END, TRAILER (JSON).
//
// Crash behaviour: the writer only appends whole frames and flushes them every drain cycle, so a
// killed writer leaves a valid prefix plus at most one torn frame. The reader stops at the first
// frame that is short or fails its checksum and reports that offset and how many bytes after it
// it could not read. Nothing after a bad frame is trusted: the chain cannot vouch for it.
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

inline constexpr char kMagic[16] = {'S', 'T', 'E', 'P', 'S', 'E', 'A', 'L', 0, 1, 0, 0, 0, 0, 0, 0};
inline constexpr size_t kFrameHeader = 16;
inline constexpr uint32_t kMaxPayload = 64u << 20;

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
  // Creates (truncates) `path`. Throws std::runtime_error with a clear message on failure.
  explicit Writer(const std::string& path);
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
  uint64_t bytes() const { return bytes_; }

 private:
  uint32_t intern(const std::string& s);
  void append_frame(RecordType type, const void* payload, size_t len);

  int fd_ = -1;
  std::string path_;
  std::vector<uint8_t> buf_;
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
void encode_event(const Event& e, const std::function<uint32_t(const std::string&)>& intern,
                  std::string* out);
bool decode_event(std::string_view in, const std::vector<std::string>& strings, Event* e);

}  // namespace stepseal::journal
