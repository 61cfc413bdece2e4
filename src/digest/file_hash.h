// file_hash.h - SHA-256 of a file's bytes, with proof that the bytes are the ones meant.
//
// A digest is only "exact" when the file's identity (dev, ino, size, mtime, ctime) is the one the
// kernel reported at the event, and is unchanged from before the first byte is read to after
// the last. Anything else is "raced" or "unavailable", with the reason. A wrong digest presented
// as exact is the one outcome this code exists to rule out.
#pragma once

#include "capture/digest_codes.h"
#include "capture/digest_record.h"

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>

namespace stepseal {

struct FileId {
  uint64_t dev = 0;
  uint64_t ino = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  bool operator==(const FileId&) const = default;
};

FileId file_id_of(const struct stat& st);

struct FileIdHash {
  size_t operator()(const FileId& f) const noexcept;
};


struct HashOutcome {
  DigestStatus status = DigestStatus::kUnavailable;
  std::string sha256;  // lowercase hex; empty unless status is kExact
  std::string reason;  // why not exact
  DigestReasonCode code = DigestReasonCode::kNone;  // the same, for programs (kOther if unsure)
  std::optional<FileId> id;  // identity of what was hashed (or found)
  uint64_t bytes = 0;
  std::optional<NoWriterProof> proof;  // see DigestRecord
  // CLOCK_MONOTONIC right after the last identity check, with the file still open (exact only):
  // up to then the inode, and its number, were this file's (the no-writer proof's window end)
  uint64_t verified_ns = 0;
  std::string prefix_sha256;  // exact only, when a prefix length was asked for and the file
                              // is at least that long: SHA-256 of its first prefix_len bytes
};

// Hashes the regular file open at `fd` (the caller keeps ownership). When `expected` is given,
// the file must have that identity.
// Files larger than this are not hashed ("unavailable"): a sparse file of exabytes costs a
// step nothing to make and would keep stepseal hashing for years.
inline constexpr uint64_t kMaxHashBytes = uint64_t{16} << 30;

// prefix_len > 0: also the digest of the first prefix_len bytes (prefix_sha256).
HashOutcome hash_fd(int fd, const std::optional<FileId>& expected, uint64_t prefix_len = 0);

// Hashes the regular file at `path` (relative paths against `dirfd`; symlinks followed only if
// `follow`); anything else (a device, a fifo, a directory) is "unavailable" and never opened
// for reading. `in_root`: `dirfd` is a root directory (the step's), and the path is resolved
// inside it (openat2 RESOLVE_IN_ROOT): absolute symlinks and ".." stay within it.
HashOutcome hash_path(int dirfd, const std::string& path, bool follow,
                      const std::optional<FileId>& expected, bool in_root = false,
                      uint64_t prefix_len = 0);

// SHA-256 of a byte string, lowercase hex (OpenSSL EVP).
std::string sha256_hex(std::string_view bytes);

}  // namespace stepseal
