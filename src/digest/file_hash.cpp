#include "digest/file_hash.h"
#include "util/hex.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/syscall.h>
#include <openssl/evp.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

namespace stepseal {

namespace {

using util::hex;

HashOutcome unavailable(DigestReasonCode code, std::string why,
                        std::optional<FileId> id = std::nullopt) {
  HashOutcome o;
  o.status = DigestStatus::kUnavailable;
  o.reason = std::move(why);
  o.code = code;
  o.id = id;
  return o;
}
HashOutcome unavailable(std::string why, std::optional<FileId> id = std::nullopt) {
  return unavailable(DigestReasonCode::kOther, std::move(why), id);
}

std::string describe(const FileId& f) {
  return "dev " + std::to_string(f.dev) + " ino " + std::to_string(f.ino) + " size " +
         std::to_string(f.size) + " mtime " + std::to_string(f.mtime_ns) + " ctime " +
         std::to_string(f.ctime_ns);
}

}  // namespace

FileId file_id_of(const struct stat& st) {
  return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
          static_cast<int64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
          static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec};
}

size_t FileIdHash::operator()(const FileId& f) const noexcept {
  return static_cast<size_t>(XXH3_64bits(&f, sizeof f));
}

std::string sha256_hex(std::string_view bytes) { return util::sha256_hex(bytes); }

HashOutcome hash_fd(int fd, const std::optional<FileId>& expected, uint64_t prefix_len) {
  struct stat before{};
  if (fstat(fd, &before) < 0) return unavailable(std::string("fstat: ") + strerror(errno));
  FileId id = file_id_of(before);
  if (!S_ISREG(before.st_mode)) return unavailable(DigestReasonCode::kNotRegular, "not a regular file", id);
  // A step can make a sparse file of exabytes in no time: no hash may take unbounded time.
  if (static_cast<uint64_t>(before.st_size) > kMaxHashBytes)
    return unavailable("larger than the hashing limit (" + std::to_string(kMaxHashBytes >> 30) +
                           " GiB)",
                       id);
  if (expected && !(*expected == id)) {
    HashOutcome o;
    o.status = DigestStatus::kRaced;
    o.reason = "the file changed between the event and the hash (at the event: " +
               describe(*expected) + "; now: " + describe(id) + ")";
    o.id = id;
    return o;
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!md || !EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr)) return unavailable("OpenSSL");
  thread_local std::vector<char> buf(1 << 20);
  std::string prefix;
  uint64_t total = 0;
  off_t off = 0;
  for (;;) {
    ssize_t n = pread(fd, buf.data(), buf.size(), off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return unavailable(std::string("read: ") + strerror(errno), id);
    if (n == 0) break;
    if (total + static_cast<uint64_t>(n) > kMaxHashBytes)
      return unavailable("grew past the hashing limit while being hashed", id);
    size_t head = 0;  // bytes of this chunk that complete the prefix
    if (prefix_len > total && prefix_len <= total + static_cast<uint64_t>(n)) {
      head = static_cast<size_t>(prefix_len - total);
      std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> pre(EVP_MD_CTX_new(), EVP_MD_CTX_free);
      unsigned char pout[EVP_MAX_MD_SIZE];
      unsigned int plen = 0;
      if (!pre || !EVP_DigestUpdate(md.get(), buf.data(), head) ||
          !EVP_MD_CTX_copy_ex(pre.get(), md.get()) || !EVP_DigestFinal_ex(pre.get(), pout, &plen))
        return unavailable("OpenSSL digest failed", id);
      prefix = hex(pout, plen);
    }
    if (!EVP_DigestUpdate(md.get(), buf.data() + head, static_cast<size_t>(n) - head))
      return unavailable("OpenSSL digest failed", id);
    off += n;
    total += static_cast<uint64_t>(n);
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!EVP_DigestFinal_ex(md.get(), out, &len)) return unavailable("OpenSSL digest failed", id);
  struct stat after{};
  if (fstat(fd, &after) < 0) return unavailable(std::string("fstat: ") + strerror(errno), id);
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);  // the caller still holds fd open
  HashOutcome o;
  o.id = id;
  o.bytes = total;
  if (!(file_id_of(after) == id) || total != static_cast<uint64_t>(before.st_size)) {
    o.status = DigestStatus::kRaced;
    o.reason = "the file changed while it was hashed";
    return o;
  }
  o.status = DigestStatus::kExact;
  o.sha256 = hex(out, len);
  o.prefix_sha256 = prefix;
  o.verified_ns = static_cast<uint64_t>(now.tv_sec) * 1000000000u + static_cast<uint64_t>(now.tv_nsec);
  return o;
}

HashOutcome hash_path(int dirfd, const std::string& path, bool follow,
                      const std::optional<FileId>& expected, bool in_root, uint64_t prefix_len) {
  // Located first (O_PATH), opened only if it is a regular file: a name the step chose must not
  // make stepseal open a device or a fifo. In the step's root (in_root), symlinks and ".." are
  // resolved as the step would see them, never reaching out into stepseal's view.
  int p;
  if (in_root) {
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    p = static_cast<int>(syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how));
  } else {
    p = openat(dirfd, path.c_str(), O_PATH | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
  }
  if (p < 0) {
    if (errno == ENOENT) return unavailable(DigestReasonCode::kGone, "no longer exists");
    if (errno == ELOOP && !follow) return unavailable(DigestReasonCode::kSymlink, "a symbolic link");
    return unavailable(std::string("cannot open: ") + strerror(errno));
  }
  struct stat st{};
  if (fstat(p, &st) < 0 || !S_ISREG(st.st_mode)) {
    close(p);
    return S_ISLNK(st.st_mode) ? unavailable(DigestReasonCode::kSymlink, "a symbolic link")
                               : unavailable(DigestReasonCode::kNotRegular, "not a regular file");
  }
  int fd = open(("/proc/self/fd/" + std::to_string(p)).c_str(),
                O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  close(p);
  if (fd < 0) return unavailable(std::string("cannot open: ") + strerror(errno));
  HashOutcome o = hash_fd(fd, expected, prefix_len);
  close(fd);
  return o;
}

}  // namespace stepseal
