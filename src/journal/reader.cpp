// reader.cpp - journal::Reader: streams a journal of format 1 or 2, checks every frame and block,
// keeps the chain, and skips what a newer writer added (docs/journal.md, Reading).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "journal/framing.h"
#include "journal/journal.h"
#include "util/json.h"

namespace stepseal::journal {

using namespace framing;  // NOLINT: the shared byte-level pieces

namespace {

// A window over the file, read in chunks: the reader holds at most one frame (and one chunk) in
// memory, however long the journal. Frames are at most kMaxPayload, so memory is bounded too.
class FileWindow {
 public:
  explicit FileWindow(int fd) : fd_(fd) {}
  ~FileWindow() { ::close(fd_); }
  FileWindow(const FileWindow&) = delete;
  FileWindow& operator=(const FileWindow&) = delete;

  // Makes N bytes from the current position available if the file has them; returns how many
  // are (fewer than N only at the end of the file).
  size_t ensure(size_t n) {
    while (end_ - begin_ < n && !eof_) {
      if (begin_ > 0 && (begin_ >= buf_.size() / 2 || buf_.size() - end_ < kChunk)) {
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      }
      const size_t want = std::max(n - (end_ - begin_), kChunk);
      if (buf_.size() - end_ < want) buf_.resize(end_ + want);
      ssize_t got = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        eof_ = true;
        break;
      }
      end_ += static_cast<size_t>(got);
      total_ += static_cast<uint64_t>(got);
    }
    return end_ - begin_;
  }
  const uint8_t* data() const { return buf_.data() + begin_; }
  void consume(size_t n) { begin_ += n; }
  uint64_t bytes_read() const { return total_; }

 private:
  static constexpr size_t kChunk = 1u << 20;
  int fd_;
  std::vector<uint8_t> buf_;
  size_t begin_ = 0, end_ = 0;
  uint64_t total_ = 0;
  bool eof_ = false;
};

}  // namespace

using json = nlohmann::json;

struct Reader::State {
  std::string path;
  struct stat st{};
  std::unique_ptr<FileWindow> in;
  int version = 0;
  EVP_MD_CTX* md = nullptr;
  std::vector<std::string> strings;
  std::vector<bool> unknown_ids;  // string ids (minus 1) of STRINGs of an unknown record version
  size_t string_bytes = 0;
  uint64_t argv_bytes = 0;  // of all events delivered (kMaxArgvTotal)
  uint64_t off = 0;  // v1: the next frame's offset; v2: the end of the last whole block read
  // v2: the current block's frames, decompressed, and where the next frame starts in it
  std::vector<uint8_t> block;
  size_t block_pos = 0;
  uint64_t block_off = 0;  // the current block's offset in the file
  nlohmann::json trailer;
  Sha256 head_before_last{};
  bool done = false;
  ReadResult r;

  ~State() {
    if (md) EVP_MD_CTX_free(md);
  }
  // Where the bad frame or block starts: v2 reports the block (its frames before the damage
  // were delivered, but the block as a whole is not valid).
  void stop(const std::string& why) {
    r.bad_offset = version == 1 ? off : block_off;
    r.problem = why;
  }
  void skipped(const std::string& what) {
    r.skipped_records++;
    if (r.skipped_what.size() < 16 &&
        std::find(r.skipped_what.begin(), r.skipped_what.end(), what) == r.skipped_what.end())
      r.skipped_what.push_back(what);
  }
  bool block_done() const { return block_pos >= block.size(); }

  // v2: reads, checks and decompresses the next block. False at the end of the file (no stop)
  // or on a bad block (stop() called).
  bool load_block() {
    block.clear();
    block_pos = 0;
    block_off = off;
    const size_t have = in->ensure(kBlockHeader);
    if (have == 0) return false;
    if (have < kBlockHeader) {
      stop("torn block header (" + std::to_string(have) + " bytes)");
      return false;
    }
    const uint8_t* h = in->data();
    const uint32_t stored = get<uint32_t>(h), raw = get<uint32_t>(h + 4);
    const uint8_t codec = h[8];
    if (h[9] || h[10] || h[11] || (codec != kCodecNone && codec != kCodecZstd)) {
      stop("unknown block encoding");
      return false;
    }
    if (raw > kMaxBlockRaw || stored > kMaxBlockRaw || (codec == kCodecNone && stored != raw)) {
      stop("implausible block length " + std::to_string(stored) + "/" + std::to_string(raw));
      return false;
    }
    if (const size_t avail = in->ensure(kBlockHeader + stored); avail < kBlockHeader + stored) {
      stop("torn block: " + std::to_string(stored) + " bytes, " +
           std::to_string(avail - kBlockHeader) + " bytes left");
      return false;
    }
    h = in->data();
    if (block_checksum(h, h + kBlockHeader, stored) != get<uint64_t>(h + 12)) {
      stop("block checksum mismatch");
      return false;
    }
    if (raw == 0) {  // a writer never makes one; it would be framing outside the chain
      stop("empty block");
      return false;
    }
    block.resize(raw);
    if (codec == kCodecNone) {
      std::memcpy(block.data(), h + kBlockHeader, raw);
    } else {
      // exactly one zstd frame, of exactly `raw` bytes, filling `stored`: nothing else may hide
      // in a block (no skippable frames, no second frame)
      const unsigned long long content = ZSTD_getFrameContentSize(h + kBlockHeader, stored);
      const size_t frame_size = ZSTD_findFrameCompressedSize(h + kBlockHeader, stored);
      if (content != raw || ZSTD_isError(frame_size) || frame_size != stored) {
        stop("undecodable block");
        return false;
      }
      const size_t n = ZSTD_decompress(block.data(), raw, h + kBlockHeader, stored);
      if (ZSTD_isError(n) || n != raw) {
        stop("undecodable block");
        return false;
      }
    }
    in->consume(kBlockHeader + stored);
    next_block_end = block_off + kBlockHeader + stored;
    return true;
  }
  uint64_t next_block_end = 0;

  // The next frame's header and payload: in the file (v1) or in the current block (v2). False
  // at the end (no stop) or on a bad frame or block (stop() called).
  bool next_frame(const uint8_t** frame, uint32_t* len) {
    if (version == 1) {
      const size_t have = in->ensure(kFrameHeader);
      if (have == 0) return false;  // the end of the file, at a frame boundary
      if (have < kFrameHeader) {
        stop("torn frame header (" + std::to_string(have) + " bytes)");
        return false;
      }
      *len = get<uint32_t>(in->data());
      if (*len > kMaxPayload) {
        stop("implausible frame length " + std::to_string(*len));
        return false;
      }
      if (const size_t avail = in->ensure(kFrameHeader + *len); avail < kFrameHeader + *len) {
        stop("torn frame: " + std::to_string(*len) + " byte payload, " +
             std::to_string(avail - kFrameHeader) + " bytes left");
        return false;
      }
      *frame = in->data();
      return true;
    }
    while (block_done())
      if (!load_block()) return false;
    const size_t left = block.size() - block_pos;
    if (left < kFrameHeader) {
      stop("torn frame header inside a block");
      return false;
    }
    *len = get<uint32_t>(block.data() + block_pos);
    if (*len > kMaxPayload || *len > left - kFrameHeader) {
      stop("frame length " + std::to_string(*len) + " overruns its block");
      return false;
    }
    *frame = block.data() + block_pos;
    return true;
  }
  void consume_frame(uint32_t len) {
    if (version == 1) {
      in->consume(kFrameHeader + len);
      off += kFrameHeader + len;
    } else {
      block_pos += kFrameHeader + len;
      if (block_done()) off = next_block_end;
    }
  }
  bool more_after() { return version == 2 ? !block_done() || in->ensure(1) > 0 : in->ensure(1) > 0; }

  // Fills in what is known once the reading has ended.
  void finish() {
    done = true;
    // what the file holds: all of it if the reader got to its end, else at least its size at open
    r.file_bytes = std::max<uint64_t>(in->bytes_read(), static_cast<uint64_t>(st.st_size));
    r.valid_bytes = off;
    r.unreadable_bytes = r.file_bytes - off;
    if (!r.bad_offset && !r.has_trailer)
      r.problem = "no trailer: the recording did not finish (supervisor killed?)";
    if (r.has_trailer && !r.bad_offset) {
      bool consistent = trailer.value("chain_head_before", "") == to_hex(head_before_last) &&
                        trailer.value("records", uint64_t{0}) == r.records;
      if (!consistent) r.problem = "trailer does not match the records before it";
      r.intact = consistent;
    }
  }
};

Reader::Reader(const std::string& path) : s_(std::make_unique<State>()) {
  s_->path = path;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open journal " + path + ": " + std::strerror(errno));
  fstat(fd, &s_->st);
  s_->in = std::make_unique<FileWindow>(fd);
  FileWindow& in = *s_->in;
  if (in.ensure(sizeof kMagic) < sizeof kMagic || std::memcmp(in.data(), kMagic, 9) != 0)
    throw std::runtime_error(path + " is not a stepseal journal (bad magic)");
  const int version = static_cast<char>(in.data()[9]);
  if (version != 1 && version != 2)
    throw std::runtime_error(path + ": unsupported journal version " + std::to_string(version) +
                             " (this stepseal reads versions 1 and 2: a newer stepseal wrote it)");
  // the chain starts from the magic as written by the writer: every header byte is pinned
  if (std::memcmp(in.data(), magic_of(version), sizeof kMagic) != 0)
    throw std::runtime_error(path + ": reserved bytes of the journal header are not zero");
  in.consume(sizeof kMagic);
  s_->version = version;
  s_->r.format_version = version;
  s_->off = sizeof kMagic;
  s_->md = EVP_MD_CTX_new();
  s_->r.head = initial_head(magic_of(version));
}

Reader::~Reader() = default;
Reader::Reader(Reader&&) noexcept = default;

const ReadResult& Reader::result() const { return s_->r; }

std::optional<Record> Reader::next() {
  State& s = *s_;
  ReadResult& r = s.r;
  while (!s.done) {
    const uint8_t* h = nullptr;
    uint32_t len = 0;
    if (!s.next_frame(&h, &len)) break;
    const uint16_t raw_type = get<uint16_t>(h + 4), rver = get<uint16_t>(h + 6);
    const auto type = static_cast<RecordType>(raw_type);
    const uint8_t* payload = h + kFrameHeader;
    if (frame_checksum(h, payload, len) != get<uint64_t>(h + 8)) {
      s.stop("checksum mismatch");
      break;
    }
    Record rec{type, s.version == 1 ? s.off : s.block_off, {}, std::nullopt};
    std::string_view body(reinterpret_cast<const char*>(payload), len);
    bool ok = true, deliver = true;
    const bool known_type = raw_type >= static_cast<uint16_t>(RecordType::HEADER) &&
                            raw_type <= static_cast<uint16_t>(RecordType::DIGEST);
    if (!known_type) {
      s.skipped("record type " + std::to_string(raw_type));
      deliver = false;
    } else if (rver != 0) {
      s.skipped("record type " + std::to_string(raw_type) + " version " + std::to_string(rver));
      deliver = false;
      // a STRING of another version still takes an id, or every later id would be off by one;
      // an event that refers to it is skipped too (it cannot be read faithfully)
      if (type == RecordType::STRING) {
        s.string_bytes += sizeof(std::string);
        if (s.string_bytes > kMaxStringTable) {
          s.stop("string table over " + std::to_string(kMaxStringTable >> 20) + " MiB");
          ok = false;
        }
        s.strings.emplace_back();
        s.unknown_ids.resize(s.strings.size());
        s.unknown_ids.back() = true;
      }
    } else {
      switch (type) {
        case RecordType::STRING:
          // each string costs its bytes and its entry: a journal of millions of empty strings
          // is bounded as surely as one of a few huge ones
          s.string_bytes += body.size() + sizeof(std::string);
          if (s.string_bytes > kMaxStringTable) {
            s.stop("string table over " + std::to_string(kMaxStringTable >> 20) + " MiB");
            ok = false;
            break;
          }
          s.strings.emplace_back(body);
          deliver = false;
          break;
        case RecordType::EVENT: {
          Event e;
          size_t trailing = 0;
          switch (decode_event_payload(body, s.strings, &e, &trailing, s.unknown_ids)) {
            case Decoded::kOk: {
              for (const auto& a : e.argv) s.argv_bytes += a.size();
              if (s.argv_bytes > kMaxArgvTotal) {
                s.stop("events carry more than " + std::to_string(kMaxArgvTotal >> 20) +
                       " MiB of argv");
                ok = false;
                break;
              }
              rec.event = std::move(e);
              r.skipped_trailing_bytes += trailing;
              break;
            }
            case Decoded::kUnknownKind: {
              std::string_view k = body;
              uint64_t kind = 0;
              get_varint(&k, &kind);
              s.skipped("event kind " + std::to_string(kind));
              deliver = false;
              break;
            }
            case Decoded::kUnknownString:
              s.skipped("event referring to a string of an unknown record version");
              deliver = false;
              break;
            case Decoded::kMalformed: ok = false; break;
          }
          break;
        }
        default:  // HEADER, STEP_START, STEP_END, TRAILER, DIGEST
          rec.json = util::parse_bounded_json(body);  // nesting bounded
          ok = !rec.json.is_discarded();
          // a TRAILER is read for its fields: of the wrong shape, it is not a trailer
          if (ok && type == RecordType::TRAILER)
            ok = rec.json.is_object() && rec.json.value("chain_head_before", json()).is_string() &&
                 rec.json.value("records", json()).is_number_unsigned();
          break;
      }
    }
    if (!ok) {
      if (!r.bad_offset)
        s.stop("undecodable record of type " + std::to_string(static_cast<int>(type)));
      break;
    }
    s.head_before_last = r.head;
    chain(s.md, &r.head, h, kFrameHeader, payload, len);
    s.consume_frame(len);
    r.records++;
    if (rec.event) r.events++;
    if (type == RecordType::TRAILER && deliver) {
      r.has_trailer = true;
      s.trailer = rec.json;
      if (s.more_after()) {
        // the trailer itself is valid and counted; what follows it is not trusted. In v2, when
        // the trailer ends its block, the bad data starts at the next block; when more frames
        // follow it in its own block, the block itself is bad.
        s.stop("data after the trailer");
        if (s.version == 2 && s.block_done()) r.bad_offset = s.off;
        s.finish();
        return rec;
      }
    }
    if (deliver) return rec;
  }
  if (!s.done) s.finish();
  return std::nullopt;
}

ReadResult read(const std::string& path, const std::function<void(const Record&)>& on_record) {
  Reader reader(path);
  while (auto rec = reader.next()) on_record(*rec);
  return reader.result();
}

}  // namespace stepseal::journal
