// hex.h - lowercase hex and SHA-256, written once for every stage.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace stepseal::util {

using Sha256 = std::array<uint8_t, 32>;

// Lowercase hex of N bytes at P ("" for none).
std::string hex(const void* p, size_t n);
inline std::string hex(std::string_view bytes) { return hex(bytes.data(), bytes.size()); }
inline std::string hex(const Sha256& d) { return hex(d.data(), d.size()); }

// SHA-256 of BYTES (OpenSSL EVP). Throws std::runtime_error if OpenSSL fails.
Sha256 sha256(std::string_view bytes);
// Its lowercase hex: 64 characters.
inline std::string sha256_hex(std::string_view bytes) { return hex(sha256(bytes)); }

// Whether S is exactly 64 lowercase hex digits (a SHA-256 as stepseal writes it).
bool is_sha256_hex(std::string_view s);

}  // namespace stepseal::util
