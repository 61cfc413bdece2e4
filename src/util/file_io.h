// file_io.h - whole-file reads and complete writes, with errors that name the file.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace stepseal::util {

// The whole content of PATH. Throws std::runtime_error("PATH: reason") if it cannot be read, or
// if it is larger than MAX_BYTES (a guard against reading a device or a huge file by mistake).
std::string read_file(const std::string& path, size_t max_bytes = size_t{1} << 30);

// The same, or nullopt (errno set) instead of an exception.
std::optional<std::string> try_read_file(const std::string& path,
                                         size_t max_bytes = size_t{1} << 30);

// Writes all N bytes at P to FD, retrying short writes and EINTR. Returns false (errno set) on
// an error. Only write(2): safe between fork and exec.
bool write_all(int fd, const void* p, size_t n);

}  // namespace stepseal::util
