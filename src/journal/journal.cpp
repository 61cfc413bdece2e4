#include "journal/journal.h"
#include "util/hex.h"
#include "util/json.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <memory>
#include <stdexcept>

namespace stepseal::journal {

std::string to_hex(const Sha256& h) { return util::hex(h); }

namespace {

void put_u16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
void put_u32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
void put_u64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
template <typename T>
T get(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// XXH3-64 over the first HEADER_LEN bytes of a header, then the bytes it describes: a frame's
// checksum covers 8 header bytes, a block's 12.
uint64_t checksum(const uint8_t* header, size_t header_len, const void* data, size_t len) {
  XXH3_state_t st;
  XXH3_64bits_reset(&st);
  XXH3_64bits_update(&st, header, header_len);
  XXH3_64bits_update(&st, data, len);
  return XXH3_64bits_digest(&st);
}
uint64_t frame_checksum(const uint8_t* h, const void* payload, size_t len) {
  return checksum(h, 8, payload, len);
}
uint64_t block_checksum(const uint8_t* h, const void* data, size_t len) {
  return checksum(h, 12, data, len);
}

void chain(EVP_MD_CTX* md, Sha256* head, const void* a, size_t alen, const void* b, size_t blen) {
  unsigned int n = 0;
  if (!EVP_DigestInit_ex(md, EVP_sha256(), nullptr) || !EVP_DigestUpdate(md, head->data(), 32) ||
      !EVP_DigestUpdate(md, a, alen) || (blen && !EVP_DigestUpdate(md, b, blen)) ||
      !EVP_DigestFinal_ex(md, head->data(), &n))
    throw std::runtime_error("SHA-256 failed in OpenSSL");
}

Sha256 initial_head(const char* magic) {
  Sha256 h{};
  unsigned int n = 0;
  EVP_Digest(magic, 16, h.data(), &n, EVP_sha256(), nullptr);
  return h;
}

const char* magic_of(int version) { return version == 1 ? kMagic : kMagicV2; }

constexpr uint8_t kCodecNone = 0, kCodecZstd = 1;
constexpr size_t kBlockTarget = 64u << 10;
constexpr int kZstdLevel = 3;

void put_varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool get_varint(std::string_view* in, uint64_t* v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in->empty()) return false;
    auto b = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    r |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = r;
      return true;
    }
  }
  return false;
}

uint64_t zigzag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t unzigzag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

}  // namespace

// ---- event encoding -----------------------------------------------------------------------
// kind flags nr ts pid tid zigzag(ret) args[6] [ino: dev ino zz(size) zz(mtime) zz(ctime) mode
// nlink] blob_flags[6] then string ids: obj cwd path raw path2 raw2 sockaddr, argc, argv ids.
// All varints; string id 0 is the empty string.

void encode_event_payload(const Event& e,
                          const std::function<uint32_t(const std::string&)>& intern,
                          std::string* out) {
  out->clear();
  put_varint(out, static_cast<uint64_t>(e.kind));
  put_varint(out, e.flags);
  put_varint(out, e.nr);
  put_varint(out, e.ts_ns);
  put_varint(out, e.pid);
  put_varint(out, e.tid);
  put_varint(out, zigzag(e.ret));
  for (uint64_t a : e.args) put_varint(out, a);
  if (e.flags & SS_F_HAS_INO) {
    put_varint(out, e.ino.dev);
    put_varint(out, e.ino.ino);
    put_varint(out, zigzag(e.ino.size));
    put_varint(out, zigzag(e.ino.mtime_ns));
    put_varint(out, zigzag(e.ino.ctime_ns));
    put_varint(out, e.ino.mode);
    put_varint(out, e.ino.nlink);
    put_varint(out, e.ino.flags);
  }
  for (uint8_t f : e.blob_flags) out->push_back(static_cast<char>(f));
  for (const std::string* s : {&e.obj, &e.cwd, &e.path, &e.raw, &e.path2, &e.raw2, &e.sockaddr})
    put_varint(out, s->empty() ? 0 : intern(*s));
  put_varint(out, e.argv.size());
  for (const auto& a : e.argv) put_varint(out, intern(a));
}

Decoded decode_event_payload(std::string_view in, const std::vector<std::string>& strings,
                             Event* e, size_t* trailing, const std::vector<bool>& unknown_ids) {
  *trailing = 0;
  bool unknown_kind = false, refers_unknown = false;
  const bool ok = [&]() -> bool {
  uint64_t v = 0;
  auto num = [&](auto* dst) {
    if (!get_varint(&in, &v)) return false;
    *dst = static_cast<std::remove_pointer_t<decltype(dst)>>(v);
    return true;
  };
  size_t resolved = 0;  // bytes of strings this event refers to: bounded, or a crafted event of
                        // a few bytes could make the reader copy one huge string many times
  auto str = [&](std::string* dst) {
    if (!get_varint(&in, &v) || v > strings.size()) return false;
    if (v == 0) {
      dst->clear();
      return true;
    }
    const std::string& src = strings[v - 1];
    if (src.empty() && v - 1 < unknown_ids.size() && unknown_ids[v - 1]) {
      refers_unknown = true;  // a STRING of a record version this reader does not know
      return false;
    }
    resolved += src.size();
    if (resolved > kMaxEventStrings) return false;
    *dst = src;
    return true;
  };
  uint64_t kind = 0;
  if (!get_varint(&in, &kind) || kind == 0) return false;
  if (kind >= static_cast<uint64_t>(Kind::Count)) {
    unknown_kind = true;  // a newer writer's kind: its layout after the kind is not ours to read
    return false;
  }
  e->kind = static_cast<Kind>(kind);
  if (!num(&e->flags) || !num(&e->nr) || !num(&e->ts_ns) || !num(&e->pid) || !num(&e->tid))
    return false;
  if (!get_varint(&in, &v)) return false;
  e->ret = unzigzag(v);
  for (auto& a : e->args)
    if (!num(&a)) return false;
  if (e->flags & SS_F_HAS_INO) {
    if (!num(&e->ino.dev) || !num(&e->ino.ino)) return false;
    for (int64_t* t : {&e->ino.size, &e->ino.mtime_ns, &e->ino.ctime_ns}) {
      if (!get_varint(&in, &v)) return false;
      *t = unzigzag(v);
    }
    if (!num(&e->ino.mode) || !num(&e->ino.nlink) || !num(&e->ino.flags)) return false;
  }
  if (in.size() < SS_MAX_BLOBS) return false;
  for (auto& f : e->blob_flags) {
    f = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
  }
  for (std::string* s : {&e->obj, &e->cwd, &e->path, &e->raw, &e->path2, &e->raw2, &e->sockaddr})
    if (!str(s)) return false;
  uint64_t argc = 0;
  if (!get_varint(&in, &argc) || argc > in.size() || argc > kMaxArgc) return false;
  e->argv.resize(argc);
  size_t argv_bytes = 0;
  for (auto& a : e->argv) {
    if (!str(&a)) return false;
    argv_bytes += a.size();
    if (argv_bytes > kMaxEventArgvBytes) return false;
  }
  *trailing = in.size();  // fields a newer writer appended: skipped (Compatibility rule)
  return true;
  }();
  if (unknown_kind) return Decoded::kUnknownKind;
  if (refers_unknown) return Decoded::kUnknownString;
  return ok ? Decoded::kOk : Decoded::kMalformed;
}

// ---- writer ---------------------------------------------------------------------------------

Writer::Writer(const std::string& path, int version) : version_(version), path_(path) {
  if (version != 1 && version != 2)
    throw std::runtime_error("journal format version " + std::to_string(version) +
                             " cannot be written (1 or 2)");
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw std::runtime_error("cannot create journal " + path + ": " + std::strerror(errno));
  md_ = EVP_MD_CTX_new();
  if (!md_) throw std::runtime_error("OpenSSL: cannot allocate a digest context");
  const char* magic = magic_of(version);
  head_ = initial_head(magic);
  buf_.reserve(1 << 20);
  write_out(magic, 16);  // the magic is never in a block
  bytes_ = 16;
}

Writer::~Writer() {
  if (fd_ >= 0) {
    try {
      flush();
    } catch (...) {
    }
    ::close(fd_);
  }
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(md_));
}

void Writer::append_frame(RecordType type, const void* payload, size_t len, uint16_t rver) {
  if (len > kMaxPayload) throw std::runtime_error("journal record too large");
  uint8_t h[kFrameHeader];
  put_u32(h, static_cast<uint32_t>(len));
  put_u16(h + 4, static_cast<uint16_t>(type));
  put_u16(h + 6, rver);
  put_u64(h + 8, frame_checksum(h, payload, len));
  chain(static_cast<EVP_MD_CTX*>(md_), &head_, h, sizeof h, payload, len);
  buf_.insert(buf_.end(), h, h + sizeof h);
  auto* p = static_cast<const uint8_t*>(payload);
  buf_.insert(buf_.end(), p, p + len);
  records_++;
  bytes_ += sizeof h + len;
  // v2: a block holds at most ~64 KiB of frames, so a damaged block costs a bounded number of
  // records (a few hundred events), at little cost to the compression
  if (buf_.size() >= (version_ == 1 ? size_t{1} << 20 : kBlockTarget)) flush();
}

void Writer::append_raw(uint16_t type, uint16_t rver, const void* payload, size_t len) {
  append_frame(static_cast<RecordType>(type), payload, len, rver);
}

uint32_t Writer::intern(const std::string& s) {
  auto it = strings_.find(s);
  if (it != strings_.end()) return it->second;
  append_frame(RecordType::STRING, s.data(), s.size());
  uint32_t id = static_cast<uint32_t>(strings_.size() + 1);
  strings_.emplace(s, id);
  return id;
}

void Writer::append_json(RecordType type, const nlohmann::json& j) {
  // argv and paths are bytes, not always UTF-8: invalid sequences become U+FFFD in JSON records
  // (the EVENT records keep the exact bytes)
  std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  append_frame(type, s.data(), s.size());
}

void Writer::append_event(const Event& e) {
  encode_event_payload(e, [this](const std::string& s) { return intern(s); }, &scratch_);
  append_frame(RecordType::EVENT, scratch_.data(), scratch_.size());
  events_++;
}

void Writer::write_out(const void* p, size_t n) {
  const auto* c = static_cast<const uint8_t*>(p);
  size_t done = 0;
  while (done < n) {
    ssize_t w = ::write(fd_, c + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0)
      throw std::runtime_error("cannot write journal " + path_ + ": " + std::strerror(errno));
    done += static_cast<size_t>(w);
  }
  file_bytes_ += n;
}

// v1: the frames as they are. v2: one block of them, zstd-compressed (stored as is if that is
// not smaller), in one write.
void Writer::flush() {
  if (buf_.empty()) return;
  if (version_ == 1) {
    write_out(buf_.data(), buf_.size());
    buf_.clear();
    return;
  }
  packed_.resize(kBlockHeader + ZSTD_compressBound(buf_.size()));
  size_t z = ZSTD_compress(packed_.data() + kBlockHeader, packed_.size() - kBlockHeader,
                           buf_.data(), buf_.size(), kZstdLevel);
  uint8_t codec = kCodecZstd;
  if (ZSTD_isError(z) || z >= buf_.size()) {
    codec = kCodecNone;
    z = buf_.size();
    std::memcpy(packed_.data() + kBlockHeader, buf_.data(), z);
  }
  uint8_t* h = packed_.data();
  put_u32(h, static_cast<uint32_t>(z));
  put_u32(h + 4, static_cast<uint32_t>(buf_.size()));
  h[8] = codec;
  h[9] = h[10] = h[11] = 0;
  put_u64(h + 12, block_checksum(h, h + kBlockHeader, z));
  write_out(packed_.data(), kBlockHeader + z);
  buf_.clear();
}

Sha256 Writer::finish(const nlohmann::json& counters) {
  nlohmann::json t = counters;
  t["records"] = records_ + 1;
  t["events"] = events_;
  t["strings"] = strings_.size();
  t["chain_head_before"] = to_hex(head_);
  append_json(RecordType::TRAILER, t);
  flush();
  if (::fsync(fd_) < 0)
    throw std::runtime_error("cannot sync journal " + path_ + ": " + std::strerror(errno));
  ::close(fd_);
  fd_ = -1;
  return head_;
}

// ---- reader ---------------------------------------------------------------------------------

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

// A JSON record, parsed with its nesting bounded (util/json.h).
json parse_json_record(std::string_view body) { return util::parse_bounded_json(body, kMaxJsonDepth); }

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
        s.strings.emplace_back();
        s.unknown_ids.resize(s.strings.size());
        s.unknown_ids.back() = true;
      }
    } else {
      switch (type) {
        case RecordType::STRING:
          s.string_bytes += body.size();
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
          rec.json = parse_json_record(body);
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
