// framing.h - the byte-level pieces the journal writer and reader share (internal to
// src/journal): little-endian fields, checksums, the hash chain, varints. docs/journal.md.
#pragma once

#include <openssl/evp.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>

#include "journal/journal.h"

namespace stepseal::journal::framing {

inline void put_u16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
inline void put_u32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
inline void put_u64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
template <typename T>
inline T get(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// XXH3-64 over the first HEADER_LEN bytes of a header, then the bytes it describes: a frame's
// checksum covers 8 header bytes, a block's 12.
inline uint64_t checksum(const uint8_t* header, size_t header_len, const void* data, size_t len) {
  XXH3_state_t st;
  XXH3_64bits_reset(&st);
  XXH3_64bits_update(&st, header, header_len);
  XXH3_64bits_update(&st, data, len);
  return XXH3_64bits_digest(&st);
}
inline uint64_t frame_checksum(const uint8_t* h, const void* payload, size_t len) {
  return checksum(h, 8, payload, len);
}
inline uint64_t block_checksum(const uint8_t* h, const void* data, size_t len) {
  return checksum(h, 12, data, len);
}

inline void chain(EVP_MD_CTX* md, Sha256* head, const void* a, size_t alen, const void* b, size_t blen) {
  unsigned int n = 0;
  if (!EVP_DigestInit_ex(md, EVP_sha256(), nullptr) || !EVP_DigestUpdate(md, head->data(), 32) ||
      !EVP_DigestUpdate(md, a, alen) || (blen && !EVP_DigestUpdate(md, b, blen)) ||
      !EVP_DigestFinal_ex(md, head->data(), &n))
    throw std::runtime_error("SHA-256 failed in OpenSSL");
}

inline Sha256 initial_head(const char* magic) {
  Sha256 h{};
  unsigned int n = 0;
  EVP_Digest(magic, 16, h.data(), &n, EVP_sha256(), nullptr);
  return h;
}

inline const char* magic_of(int version) { return version == 1 ? kMagic : kMagicV2; }

inline constexpr uint8_t kCodecNone = 0, kCodecZstd = 1;
inline constexpr size_t kBlockTarget = 64u << 10;
inline constexpr int kZstdLevel = 3;

inline void put_varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

inline bool get_varint(std::string_view* in, uint64_t* v) {
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

inline uint64_t zigzag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
inline int64_t unzigzag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }


}  // namespace stepseal::journal::framing
