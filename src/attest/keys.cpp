// keys.cpp - see keys.h. All cryptography goes through OpenSSL 3 EVP.
//
// Error messages name the file and what is wrong with it, never the file's contents: nothing read
// from a key file (and no OpenSSL error string, which could quote input) is put into a message.
#include "attest/keys.h"
#include "util/file_io.h"
#include "util/hex.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

namespace stepseal::attest {
namespace {

constexpr const char* kSupportedTypes = "(stepseal uses ECDSA P-256 or Ed25519)";

EVP_PKEY* as_pkey(void* p) { return static_cast<EVP_PKEY*>(p); }

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

// A string that is wiped when it goes away (holds private key PEM).
struct SecretString {
  std::string s;
  SecretString() = default;
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;
  ~SecretString() {
    if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  }
};

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  if (n <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<size_t>(n));
}

// Never prompt for a passphrase (OpenSSL's default callback would read the terminal).
int no_passphrase(char*, int, int, void*) { return -1; }

std::string errno_text(int err) { return std::strerror(err); }

// --- reading key files ---------------------------------------------------------------------------

void read_key_file(const std::string& path, SecretString& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) throw KeyError("key file " + path + " does not exist");
    throw KeyError("cannot open key file " + path + ": " + errno_text(err));
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    throw KeyError("cannot read key file " + path + ": " + errno_text(err));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw KeyError("key file " + path + " is a directory");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw KeyError("key file " + path + " is not a regular file");
  }
  constexpr size_t kMaxKeyFile = 1 << 20;  // a PEM key is a few hundred bytes
  if (static_cast<uint64_t>(st.st_size) > kMaxKeyFile) {
    ::close(fd);
    throw KeyError("key file " + path + " is too large to be a PEM key (over 1 MiB)");
  }
  out.s.reserve(static_cast<size_t>(st.st_size) + 1);
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      OPENSSL_cleanse(buf, sizeof buf);
      ::close(fd);
      throw KeyError("cannot read key file " + path + ": " + errno_text(err));
    }
    if (n == 0) break;
    if (out.s.size() + static_cast<size_t>(n) > kMaxKeyFile) {
      OPENSSL_cleanse(buf, sizeof buf);
      ::close(fd);
      throw KeyError("key file " + path + " is too large to be a PEM key (over 1 MiB)");
    }
    // Grow by reserving up front so no unwiped copy of earlier contents is left behind.
    if (out.s.capacity() < out.s.size() + static_cast<size_t>(n)) {
      SecretString bigger;
      bigger.s.reserve(std::max<size_t>(2 * out.s.capacity(), out.s.size() + n + 4096));
      bigger.s = out.s;
      std::swap(bigger.s, out.s);
    }
    out.s.append(buf, static_cast<size_t>(n));
  }
  OPENSSL_cleanse(buf, sizeof buf);
  ::close(fd);
  if (out.s.empty()) throw KeyError("key file " + path + " is empty");
}

// The labels of the PEM blocks in `text` ("PRIVATE KEY", "PUBLIC KEY", ...), in order. Labels are
// not key material; they come from the fixed set of PEM type names.
std::vector<std::string> pem_labels(const std::string& text) {
  std::vector<std::string> labels;
  static const std::string kBegin = "-----BEGIN ";
  size_t pos = 0;
  while ((pos = text.find(kBegin, pos)) != std::string::npos) {
    size_t start = pos + kBegin.size();
    size_t end = text.find("-----", start);
    size_t eol = text.find('\n', start);
    if (end == std::string::npos || (eol != std::string::npos && end > eol) || end - start > 64) {
      pos = start;
      continue;
    }
    std::string label = text.substr(start, end - start);
    bool printable = !label.empty();
    for (char c : label)
      if (c < 0x20 || c > 0x7e) printable = false;
    if (printable) labels.push_back(label);
    pos = end;
  }
  return labels;
}

bool is_private_label(const std::string& l) {
  return l == "PRIVATE KEY" || l == "ENCRYPTED PRIVATE KEY" || l == "EC PRIVATE KEY" ||
         l == "RSA PRIVATE KEY" || l == "DSA PRIVATE KEY" || l == "ANY PRIVATE KEY" ||
         l == "OPENSSH PRIVATE KEY";
}
bool is_public_label(const std::string& l) {
  return l == "PUBLIC KEY" || l == "RSA PUBLIC KEY" || l == "DSA PUBLIC KEY";
}

bool has_label(const std::vector<std::string>& labels, bool (*pred)(const std::string&)) {
  for (const auto& l : labels)
    if (pred(l)) return true;
  return false;
}

// A description of an unsupported key such as "RSA-3072" or "ECDSA secp384r1".
std::string describe_key(EVP_PKEY* pkey) {
  int id = EVP_PKEY_get_base_id(pkey);
  if (id == EVP_PKEY_EC) {
    char group[80] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &len) == 1 && len > 0)
      return std::string("ECDSA ") + group;
    return "ECDSA (curve not named)";
  }
  if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS)
    return std::string(id == EVP_PKEY_RSA ? "RSA-" : "RSA-PSS-") +
           std::to_string(EVP_PKEY_get_bits(pkey));
  const char* name = EVP_PKEY_get0_type_name(pkey);
  if (name != nullptr && *name != '\0') return name;
  const char* sn = OBJ_nid2sn(id);
  return sn != nullptr ? sn : "unknown";
}

bool is_p256(EVP_PKEY* pkey) {
  char group[80] = {0};
  size_t len = 0;
  if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &len) != 1 || len == 0) return false;
  int nid = OBJ_sn2nid(group);
  if (nid == NID_undef) nid = EC_curve_nist2nid(group);
  return nid == NID_X9_62_prime256v1;
}

// The KeyType of `pkey`, or a KeyError naming `path` if stepseal does not use that kind of key.
KeyType supported_type(EVP_PKEY* pkey, const std::string& path) {
  int id = EVP_PKEY_get_base_id(pkey);
  if (id == EVP_PKEY_ED25519) return KeyType::kEd25519;
  if (id == EVP_PKEY_EC && is_p256(pkey)) return KeyType::kEcdsaP256;
  throw KeyError("key file " + path + ": unsupported key type " + describe_key(pkey) + " " +
                 kSupportedTypes);
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1)
    throw KeyError("SHA-256 failed");
  return hex_encode(std::string_view(reinterpret_cast<const char*>(md), len));
}

// --- writing key files ---------------------------------------------------------------------------

void write_all(int fd, const std::string& data, const std::string& path) {
  if (!util::write_all(fd, data.data(), data.size()))
    throw KeyError("cannot write " + path + ": " + errno_text(errno));
}

// Creates `path` exclusively with exactly `mode` and writes `data`; on failure nothing is left.
void create_exclusive(const std::string& path, const std::string& data, mode_t mode,
                      const char* what) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    int err = errno;
    if (err == EEXIST)
      throw KeyError(std::string("refusing to overwrite ") + what + " " + path +
                     ": the file already exists (move it away or choose another prefix)");
    throw KeyError(std::string("cannot create ") + what + " " + path + ": " + errno_text(err));
  }
  try {
    if (::fchmod(fd, mode) != 0)  // the umask may have narrowed `mode`; make it exact
      throw KeyError("cannot set the mode of " + path + ": " + errno_text(errno));
    write_all(fd, data, path);
    if (::fsync(fd) != 0) throw KeyError("cannot write " + path + ": " + errno_text(errno));
    if (::close(fd) != 0) {
      fd = -1;
      throw KeyError("cannot write " + path + ": " + errno_text(errno));
    }
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(path.c_str());
    throw;
  }
}

// Replaces `path` atomically (temporary file + rename) with `data`, mode exactly `mode`.
void replace_file(const std::string& path, const std::string& data, mode_t mode) {
  std::string tmp = path + ".tmp-XXXXXX";
  int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) throw KeyError("cannot create " + path + ": " + errno_text(errno));
  try {
    if (::fchmod(fd, mode) != 0)
      throw KeyError("cannot set the mode of " + path + ": " + errno_text(errno));
    write_all(fd, data, path);
    if (::fsync(fd) != 0) throw KeyError("cannot write " + path + ": " + errno_text(errno));
    int rc = ::close(fd);
    fd = -1;
    if (rc != 0) throw KeyError("cannot write " + path + ": " + errno_text(errno));
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      throw KeyError("cannot write " + path + ": " + errno_text(errno));
  } catch (...) {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
}

int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

std::string describe_char(unsigned char c) {
  if (c >= 0x21 && c <= 0x7e) return std::string("'") + static_cast<char>(c) + "'";
  return "byte 0x" + util::hex(&c, 1);
}

// Checks that `s` is well-formed UTF-8 (what Python's str and JSON text can hold).
bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n + 1;
  }
  return true;
}

void canonical_string(const std::string& s, std::string& out) {
  if (!valid_utf8(s)) throw KeyError("canonical JSON: string is not valid UTF-8");
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

void canonical(const nlohmann::json& j, std::string& out) {
  using value_t = nlohmann::json::value_t;
  switch (j.type()) {
    case value_t::null:
      out += "null";
      return;
    case value_t::boolean:
      out += j.get<bool>() ? "true" : "false";
      return;
    case value_t::number_integer:
      out += std::to_string(j.get<int64_t>());
      return;
    case value_t::number_unsigned:
      out += std::to_string(j.get<uint64_t>());
      return;
    case value_t::number_float:
      throw KeyError("canonical JSON does not allow floating-point numbers (got " + j.dump() +
                     ")");
    case value_t::string:
      canonical_string(j.get_ref<const std::string&>(), out);
      return;
    case value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : j) {
        if (!first) out.push_back(',');
        first = false;
        canonical(e, out);
      }
      out.push_back(']');
      return;
    }
    case value_t::object: {
      // nlohmann::json objects are std::map<std::string, ...>: iteration is in byte order of the
      // UTF-8 keys, which is the code point order Python's sorted() uses.
      out.push_back('{');
      bool first = true;
      for (const auto& [k, v] : j.items()) {
        if (!first) out.push_back(',');
        first = false;
        canonical_string(k, out);
        out.push_back(':');
        canonical(v, out);
      }
      out.push_back('}');
      return;
    }
    case value_t::binary:
      throw KeyError("canonical JSON cannot encode binary values");
    case value_t::discarded:
      break;
  }
  throw KeyError("canonical JSON cannot encode a discarded value");
}

}  // namespace

// --- Key -----------------------------------------------------------------------------------------

Key::Key(Key&& other) noexcept
    : pkey_(std::exchange(other.pkey_, nullptr)),
      type_(other.type_),
      has_private_(std::exchange(other.has_private_, false)) {}

Key& Key::operator=(Key&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(as_pkey(pkey_));
    pkey_ = std::exchange(other.pkey_, nullptr);
    type_ = other.type_;
    has_private_ = std::exchange(other.has_private_, false);
  }
  return *this;
}

Key::~Key() { EVP_PKEY_free(as_pkey(pkey_)); }

Key Key::generate(KeyType type) {
  EVP_PKEY* pkey = nullptr;
  if (type == KeyType::kEcdsaP256)
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  else
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (pkey == nullptr) {
    ERR_clear_error();
    throw KeyError(std::string("cannot generate an ") +
                   (type == KeyType::kEcdsaP256 ? "ECDSA P-256" : "Ed25519") + " key");
  }
  return Key(pkey, type, true);
}

namespace {

// OpenSSL's own check of a loaded key: the private and public halves belong together
// (PAIR), or the public key is a valid point of its curve (public only).
bool key_is_consistent(EVP_PKEY* pkey, bool pair) {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr), EVP_PKEY_CTX_free);
  if (!ctx) return false;
  const int ok = pair ? EVP_PKEY_pairwise_check(ctx.get()) : EVP_PKEY_public_check(ctx.get());
  ERR_clear_error();
  return ok == 1;
}

}  // namespace

Key Key::load_private(const std::string& pem_path) {
  SecretString text;
  read_key_file(pem_path, text);
  std::vector<std::string> labels = pem_labels(text.s);
  if (labels.empty())
    throw KeyError("key file " + pem_path +
                   " is not a PEM file (no \"-----BEGIN ...-----\" line); expected a PEM private"
                   " key such as the PREFIX.key written by stepseal");
  if (!has_label(labels, is_private_label)) {
    if (has_label(labels, is_public_label))
      throw KeyError("key file " + pem_path +
                     " holds a public key, but a private key is needed to sign (give the .key"
                     " file, not the .pub)");
    throw KeyError("key file " + pem_path + " holds a PEM " + labels.front() +
                   ", not a private key");
  }
  for (const auto& l : labels) {
    if (l == "ENCRYPTED PRIVATE KEY")
      throw KeyError("key file " + pem_path +
                     " holds an encrypted private key; stepseal needs an unencrypted PKCS#8 key"
                     " (decrypt it with: openssl pkey -in FILE -out NEW.key)");
    if (l == "OPENSSH PRIVATE KEY")
      throw KeyError("key file " + pem_path +
                     " holds an OpenSSH-format private key; convert it to PKCS#8 PEM");
  }
  BioPtr bio(BIO_new_mem_buf(text.s.data(), static_cast<int>(text.s.size())));
  if (!bio) throw KeyError("out of memory reading key file " + pem_path);
  PkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  ERR_clear_error();  // never surface OpenSSL's messages: they may quote the input
  if (!pkey)
    throw KeyError("key file " + pem_path +
                   " is corrupt: its PEM private key block cannot be decoded");
  KeyType type = supported_type(pkey.get(), pem_path);
  // A PKCS#8 key carries its public half beside the private one, and nothing makes them agree:
  // a file whose public key is not its private key's would sign with one key and name another
  // (its keyid, its .pub), so every signature fails to verify, or names a key it is not by.
  if (!key_is_consistent(pkey.get(), true))
    throw KeyError("key file " + pem_path +
                   " is inconsistent: the public key it holds is not its private key's (a damaged"
                   " or tampered key file; generate a new key with stepseal keygen)");
  return Key(pkey.release(), type, true);
}

Key Key::load_public(const std::string& pem_path) {
  SecretString text;  // might be a private key given by mistake
  read_key_file(pem_path, text);
  std::vector<std::string> labels = pem_labels(text.s);
  if (labels.empty())
    throw KeyError("key file " + pem_path +
                   " is not a PEM file (no \"-----BEGIN ...-----\" line); expected a PEM public"
                   " key (SubjectPublicKeyInfo) such as the PREFIX.pub written by stepseal");
  bool spki = false;
  for (const auto& l : labels)
    if (l == "PUBLIC KEY") spki = true;
  if (!spki) {
    if (has_label(labels, is_private_label))
      throw KeyError("key file " + pem_path +
                     " holds a private key, but a public key is expected here (give the .pub"
                     " file; never hand out the .key)");
    for (const auto& l : labels) {
      if (l == "RSA PUBLIC KEY")
        throw KeyError("key file " + pem_path + ": unsupported key type RSA " + kSupportedTypes);
      if (l == "CERTIFICATE")
        throw KeyError("key file " + pem_path +
                       " holds a certificate; give the public key (PEM \"PUBLIC KEY\") instead");
    }
    throw KeyError("key file " + pem_path + " holds a PEM " + labels.front() +
                   ", not a public key");
  }
  BioPtr bio(BIO_new_mem_buf(text.s.data(), static_cast<int>(text.s.size())));
  if (!bio) throw KeyError("out of memory reading key file " + pem_path);
  PkeyPtr pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr));
  ERR_clear_error();
  if (!pkey)
    throw KeyError("key file " + pem_path +
                   " is corrupt: its PEM public key block cannot be decoded");
  KeyType type = supported_type(pkey.get(), pem_path);
  if (!key_is_consistent(pkey.get(), false))
    throw KeyError("key file " + pem_path + " is corrupt: its public key is not a valid key");
  return Key(pkey.release(), type, false);
}

void Key::write(const std::string& prefix) const {
  if (!has_private_) throw KeyError("cannot write " + prefix + ".key: the key has no private part");
  SecretString priv;
  {
    BioPtr bio(BIO_new(BIO_s_secmem()));
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), as_pkey(pkey_), nullptr, nullptr, 0, nullptr,
                                 nullptr) != 1) {
      ERR_clear_error();
      throw KeyError("cannot encode the private key as PEM");
    }
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    if (n <= 0 || data == nullptr) throw KeyError("cannot encode the private key as PEM");
    priv.s.assign(data, static_cast<size_t>(n));
  }
  std::string pub = public_pem();
  create_exclusive(prefix + ".key", priv.s, 0600, "private key file");
  try {
    replace_file(prefix + ".pub", pub, 0644);
  } catch (...) {
    ::unlink((prefix + ".key").c_str());
    throw;
  }
}

std::string Key::public_pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), as_pkey(pkey_)) != 1) {
    ERR_clear_error();
    throw KeyError("cannot encode the public key as PEM");
  }
  return bio_contents(bio.get());
}

nlohmann::json Key::intoto_public() const {
  nlohmann::json j;
  j["keyid_hash_algorithms"] = {"sha256", "sha512"};
  if (type_ == KeyType::kEcdsaP256) {
    j["keytype"] = "ecdsa";
    j["scheme"] = "ecdsa-sha2-nistp256";
    // The PEM exactly as OpenSSL (and so Python's cryptography, which securesystemslib uses)
    // writes it, including the final newline.
    j["keyval"] = {{"public", public_pem()}};
  } else {
    unsigned char raw[32];
    size_t len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(as_pkey(pkey_), raw, &len) != 1 || len != sizeof raw) {
      ERR_clear_error();
      throw KeyError("cannot read the raw Ed25519 public key");
    }
    j["keytype"] = "ed25519";
    j["scheme"] = "ed25519";
    j["keyval"] = {
        {"public", hex_encode(std::string_view(reinterpret_cast<const char*>(raw), len))}};
  }
  return j;
}

std::string Key::keyid() const { return sha256_hex(canonical_json(intoto_public())); }

std::string Key::sign(std::string_view message) const {
  if (!has_private_) throw KeyError("cannot sign: this is a public key (no private part)");
  MdCtxPtr ctx(EVP_MD_CTX_new());
  const EVP_MD* md = type_ == KeyType::kEcdsaP256 ? EVP_sha256() : nullptr;
  size_t len = 0;
  const auto* msg = reinterpret_cast<const unsigned char*>(message.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, as_pkey(pkey_)) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, msg, message.size()) != 1) {
    ERR_clear_error();
    throw KeyError("signing failed");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, msg,
                     message.size()) != 1) {
    ERR_clear_error();
    throw KeyError("signing failed");
  }
  sig.resize(len);
  return sig;
}

bool Key::verify(std::string_view message, std::string_view signature) const {
  if (pkey_ == nullptr || signature.empty()) return false;
  if (type_ == KeyType::kEd25519 && signature.size() != 64) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  const EVP_MD* md = type_ == KeyType::kEcdsaP256 ? EVP_sha256() : nullptr;
  bool ok = ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, as_pkey(pkey_)) == 1 &&
            EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                             signature.size(),
                             reinterpret_cast<const unsigned char*>(message.data()),
                             message.size()) == 1;
  ERR_clear_error();
  return ok;
}

// --- encodings -----------------------------------------------------------------------------------

std::string canonical_json(const nlohmann::json& j) {
  std::string out;
  canonical(j, out);
  return out;
}

std::string base64_encode(std::string_view bytes) {
  static const char* kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  auto at = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(bytes[k])); };
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = at(i) << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out += "==";
  } else if (rest == 2) {
    uint32_t v = (at(i) << 16) | (at(i + 1) << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

std::string base64_decode(std::string_view text) {
  // Padding, if any, must be complete: 1 or 2 '=' making the length a multiple of 4.
  size_t data_len = text.size();
  while (data_len > 0 && text[data_len - 1] == '=') --data_len;
  size_t pad = text.size() - data_len;
  for (size_t i = 0; i < data_len; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (b64_value(c) < 0)
      throw KeyError("invalid base64: unexpected " + describe_char(c) + " at offset " +
                     std::to_string(i));
  }
  // One alphabet per string: "+/" (standard) or "-_" (URL-safe), never both. A string mixing
  // them has no meaning in either, and a second spelling of the same bytes is malleability.
  const bool standard = text.find_first_of("+/") != std::string_view::npos;
  const bool url_safe = text.find_first_of("-_") != std::string_view::npos;
  if (standard && url_safe)
    throw KeyError("invalid base64: mixes the standard (+/) and URL-safe (-_) alphabets");
  if (pad > 0 && (pad > 2 || text.size() % 4 != 0))
    throw KeyError("invalid base64: wrong padding");
  if (data_len % 4 == 1) throw KeyError("invalid base64: truncated (length " +
                                        std::to_string(text.size()) + ")");
  std::string out;
  out.reserve(data_len / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < data_len; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    int v = b64_value(c);  // checked above
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Leftover bits (2 or 4) must be zero: one encoding per byte string.
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
    throw KeyError("invalid base64: non-zero bits after the last byte");
  return out;
}

std::string hex_encode(std::string_view bytes) { return util::hex(bytes); }

}  // namespace stepseal::attest
