// decoder.h - ring-buffer record (struct ss_event + blobs) -> typed Event.
//
// Stateless: every path the kernel side sends is either a component list from a dentry walk or
// a verbatim argument with the walked directory it is relative to, so no fd or cwd table is
// needed here. Malformed records are reported, never guessed at.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "capture/event.h"

namespace stepseal {

struct DecodeError {
  std::string what;
};

// Decodes one record. On failure returns nullopt and sets *err.
std::optional<Event> decode_event(const void* data, size_t len, DecodeError* err);

// Joins a verbatim path argument with its base directory and normalises "." and ".."
// lexically. An absolute `arg` ignores `dir`; an empty `arg` yields `dir` (AT_EMPTY_PATH).
std::string join_path(const std::string& dir, const std::string& arg);

// Renders a PATH blob (components leaf first, NUL terminated) as an absolute path.
std::string render_path(std::string_view blob, uint8_t blob_flags, uint32_t inode_mode,
                        uint64_t ino);

}  // namespace stepseal
