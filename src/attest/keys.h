// keys.h - signing keys for attestations: ECDSA P-256 (default) and Ed25519, through OpenSSL EVP.
//
// Private keys are PEM (PKCS#8), written 0600 and never logged. Public keys are PEM
// (SubjectPublicKeyInfo). ECDSA signatures are DER (as cosign and securesystemslib use); Ed25519
// signatures are the raw 64 bytes. Key ids follow in-toto 1.x: the SHA-256 hex of the canonical
// JSON of {"keyid_hash_algorithms": ["sha256", "sha512"], "keytype", "keyval": {"public"},
// "scheme"}, where keyval.public is the PEM for ECDSA and the raw hex key for Ed25519.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace stepseal::attest {

class KeyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class KeyType { kEcdsaP256, kEd25519 };

class Key {
 public:
  static Key generate(KeyType type);
  // Throw KeyError with a message naming the file and what is wrong with it.
  static Key load_private(const std::string& pem_path);
  static Key load_public(const std::string& pem_path);

  // Writes PREFIX.key (0600, created exclusively: an existing file is an error) and PREFIX.pub.
  void write(const std::string& prefix) const;

  KeyType type() const { return type_; }
  bool has_private() const { return has_private_; }
  std::string public_pem() const;
  std::string keyid() const;             // in-toto key id (see above)
  nlohmann::json intoto_public() const;  // {"keytype", "scheme", "keyid_hash_algorithms", "keyval"}
  std::string sign(std::string_view message) const;  // raw signature bytes
  bool verify(std::string_view message, std::string_view signature) const;

  Key(Key&&) noexcept;
  Key& operator=(Key&&) noexcept;
  ~Key();

 private:
  Key(void* pkey, KeyType type, bool priv) : pkey_(pkey), type_(type), has_private_(priv) {}
  void* pkey_ = nullptr;  // EVP_PKEY*
  KeyType type_;
  bool has_private_ = false;
};

// securesystemslib canonical JSON: keys sorted, no whitespace, only \ and " escaped, raw UTF-8.
// Throws KeyError on floats (not allowed).
std::string canonical_json(const nlohmann::json& j);

std::string base64_encode(std::string_view bytes);
// Accepts the standard or the URL-safe alphabet (not both in one string), with or without
// padding, as DSSE allows. Refuses everything else, so each byte string has exactly one spelling
// per alphabet and padding style: bits after the last byte must be zero, padding must be
// complete, no whitespace. Throws KeyError if invalid.
std::string base64_decode(std::string_view text);
std::string hex_encode(std::string_view bytes);

}  // namespace stepseal::attest
