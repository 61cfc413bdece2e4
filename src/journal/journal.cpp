#include "journal/journal.h"
#include "journal/framing.h"
#include "util/file_io.h"
#include "util/hex.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <memory>
#include <stdexcept>

namespace stepseal::journal {

std::string to_hex(const Sha256& h) { return util::hex(h); }

using namespace framing;  // NOLINT: the shared byte-level pieces

// ---- event encoding -----------------------------------------------------------------------
// kind flags nr ts pid tid zigzag(ret) args[6] [ino: dev ino zz(size) zz(mtime) zz(ctime) mode
// nlink] blob_flags[6] then string ids: obj cwd path raw path2 raw2 sockaddr, argc, argv ids,
// then the fields appended since (Compatibility rule): seq. All varints; string id 0 is the
// empty string.

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
  put_varint(out, e.seq);  // appended field 1
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
  // appended fields, each absent from journals written before it existed
  if (!in.empty()) {
    uint64_t seq = 0;
    if (!get_varint(&in, &seq) || seq > UINT32_MAX) return false;
    e->seq = static_cast<uint32_t>(seq);
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
  md_ = EVP_MD_CTX_new();
  if (!md_) throw std::runtime_error("OpenSSL: cannot allocate a digest context");
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    int err = errno;
    EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(md_));
    throw std::runtime_error("cannot create journal " + path + ": " + std::strerror(err));
  }
  const char* magic = magic_of(version);
  head_ = initial_head(magic);
  buf_.reserve(1 << 20);
  try {
    write_out(magic, 16);  // the magic is never in a block
  } catch (...) {
    // (a full disk): no journal rather than a file that is not one
    ::close(fd_);
    ::unlink(path.c_str());
    EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(md_));
    throw;
  }
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
  if (!util::write_all(fd_, p, n))
    throw std::runtime_error("cannot write journal " + path_ + ": " + std::strerror(errno));
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
  // Written whole, but to a file no name leads to any more: its directory (or the file) was
  // removed while it was written, and the record is lost with it.
  struct stat st{};
  const bool removed = ::fstat(fd_, &st) == 0 && st.st_nlink == 0;
  ::close(fd_);
  fd_ = -1;
  if (removed)
    throw std::runtime_error("journal " + path_ +
                             " was removed while it was written (its directory deleted?): "
                             "the record is lost");
  return head_;
}

}  // namespace stepseal::journal
