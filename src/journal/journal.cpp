#include "journal/journal.h"
#include "util/hex.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

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

uint64_t frame_checksum(const uint8_t* header8, const void* payload, size_t len) {
  XXH3_state_t st;
  XXH3_64bits_reset(&st);
  XXH3_64bits_update(&st, header8, 8);
  XXH3_64bits_update(&st, payload, len);
  return XXH3_64bits_digest(&st);
}

void chain(EVP_MD_CTX* md, Sha256* head, const void* a, size_t alen, const void* b, size_t blen) {
  unsigned int n = 0;
  if (!EVP_DigestInit_ex(md, EVP_sha256(), nullptr) || !EVP_DigestUpdate(md, head->data(), 32) ||
      !EVP_DigestUpdate(md, a, alen) || (blen && !EVP_DigestUpdate(md, b, blen)) ||
      !EVP_DigestFinal_ex(md, head->data(), &n))
    throw std::runtime_error("SHA-256 failed in OpenSSL");
}

Sha256 initial_head() {
  Sha256 h{};
  unsigned int n = 0;
  EVP_Digest(kMagic, sizeof kMagic, h.data(), &n, EVP_sha256(), nullptr);
  return h;
}

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

void encode_event(const Event& e, const std::function<uint32_t(const std::string&)>& intern,
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

bool decode_event(std::string_view in, const std::vector<std::string>& strings, Event* e) {
  uint64_t v = 0;
  auto num = [&](auto* dst) {
    if (!get_varint(&in, &v)) return false;
    *dst = static_cast<std::remove_pointer_t<decltype(dst)>>(v);
    return true;
  };
  auto str = [&](std::string* dst) {
    if (!get_varint(&in, &v) || v > strings.size()) return false;
    *dst = v == 0 ? std::string() : strings[v - 1];
    return true;
  };
  uint16_t kind = 0;
  if (!num(&kind) || kind == 0 || kind >= static_cast<uint16_t>(Kind::Count)) return false;
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
  if (!get_varint(&in, &argc) || argc > in.size()) return false;
  e->argv.resize(argc);
  for (auto& a : e->argv)
    if (!str(&a)) return false;
  return in.empty();
}

// ---- writer ---------------------------------------------------------------------------------

Writer::Writer(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw std::runtime_error("cannot create journal " + path + ": " + std::strerror(errno));
  md_ = EVP_MD_CTX_new();
  if (!md_) throw std::runtime_error("OpenSSL: cannot allocate a digest context");
  head_ = initial_head();
  buf_.reserve(1 << 20);
  buf_.insert(buf_.end(), kMagic, kMagic + sizeof kMagic);
  bytes_ = sizeof kMagic;
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

void Writer::append_frame(RecordType type, const void* payload, size_t len) {
  if (len > kMaxPayload) throw std::runtime_error("journal record too large");
  uint8_t h[kFrameHeader];
  put_u32(h, static_cast<uint32_t>(len));
  put_u16(h + 4, static_cast<uint16_t>(type));
  put_u16(h + 6, 0);
  put_u64(h + 8, frame_checksum(h, payload, len));
  chain(static_cast<EVP_MD_CTX*>(md_), &head_, h, sizeof h, payload, len);
  buf_.insert(buf_.end(), h, h + sizeof h);
  auto* p = static_cast<const uint8_t*>(payload);
  buf_.insert(buf_.end(), p, p + len);
  records_++;
  bytes_ += sizeof h + len;
  if (buf_.size() >= (1 << 20)) flush();
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
  encode_event(e, [this](const std::string& s) { return intern(s); }, &scratch_);
  append_frame(RecordType::EVENT, scratch_.data(), scratch_.size());
  events_++;
}

void Writer::flush() {
  size_t done = 0;
  while (done < buf_.size()) {
    ssize_t n = ::write(fd_, buf_.data() + done, buf_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw std::runtime_error("cannot write journal " + path_ + ": " + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
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

struct Reader::State {
  std::string path;
  struct stat st{};
  std::unique_ptr<FileWindow> in;
  EVP_MD_CTX* md = nullptr;
  std::vector<std::string> strings;
  uint64_t off = 0;
  nlohmann::json trailer;
  Sha256 head_before_last{};
  bool done = false;
  ReadResult r;

  ~State() {
    if (md) EVP_MD_CTX_free(md);
  }
  void stop(const std::string& why) {
    r.bad_offset = off;
    r.problem = why;
  }
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
  if (static_cast<char>(in.data()[9]) != kMagic[9])
    throw std::runtime_error(path + ": unsupported journal version " +
                             std::to_string(static_cast<char>(in.data()[9])));
  // the chain starts from the magic as written by the writer: every header byte is pinned
  if (std::memcmp(in.data(), kMagic, sizeof kMagic) != 0)
    throw std::runtime_error(path + ": reserved bytes of the journal header are not zero");
  in.consume(sizeof kMagic);
  s_->off = sizeof kMagic;
  s_->md = EVP_MD_CTX_new();
  s_->r.head = initial_head();
}

Reader::~Reader() = default;
Reader::Reader(Reader&&) noexcept = default;

const ReadResult& Reader::result() const { return s_->r; }

std::optional<Record> Reader::next() {
  State& s = *s_;
  FileWindow& in = *s.in;
  ReadResult& r = s.r;
  while (!s.done) {
    const size_t have = in.ensure(kFrameHeader);
    if (have == 0) break;  // the end of the file, at a frame boundary
    if (have < kFrameHeader) {
      s.stop("torn frame header (" + std::to_string(have) + " bytes)");
      break;
    }
    uint32_t len = get<uint32_t>(in.data());
    auto type = static_cast<RecordType>(get<uint16_t>(in.data() + 4));
    if (len > kMaxPayload) {
      s.stop("implausible frame length " + std::to_string(len));
      break;
    }
    if (const size_t avail = in.ensure(kFrameHeader + len); avail < kFrameHeader + len) {
      s.stop("torn frame: " + std::to_string(len) + " byte payload, " +
             std::to_string(avail - kFrameHeader) + " bytes left");
      break;
    }
    const uint8_t* h = in.data();
    const uint8_t* payload = h + kFrameHeader;
    if (frame_checksum(h, payload, len) != get<uint64_t>(h + 8)) {
      s.stop("checksum mismatch");
      break;
    }
    Record rec{type, s.off, {}, std::nullopt};
    std::string_view body(reinterpret_cast<const char*>(payload), len);
    bool ok = true;
    switch (type) {
      case RecordType::STRING:
        s.strings.emplace_back(body);
        break;
      case RecordType::EVENT: {
        Event e;
        ok = decode_event(body, s.strings, &e);
        if (ok) rec.event = std::move(e);
        break;
      }
      case RecordType::HEADER:
      case RecordType::STEP_START:
      case RecordType::STEP_END:
      case RecordType::DIGEST:
      case RecordType::TRAILER:
        rec.json = nlohmann::json::parse(body, nullptr, false);
        ok = !rec.json.is_discarded();
        break;
      default:
        ok = false;
    }
    if (!ok) {
      s.stop("undecodable record of type " + std::to_string(static_cast<int>(type)));
      break;
    }
    s.head_before_last = r.head;
    chain(s.md, &r.head, h, kFrameHeader, payload, len);
    in.consume(kFrameHeader + len);
    s.off += kFrameHeader + len;
    r.records++;
    if (rec.event) r.events++;
    if (type == RecordType::TRAILER) {
      r.has_trailer = true;
      s.trailer = rec.json;
      if (in.ensure(1) > 0) {
        // the trailer itself is valid and counted; what follows it is not trusted
        s.stop("data after the trailer");
        s.finish();
        return rec;
      }
    }
    if (type != RecordType::STRING) return rec;
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
