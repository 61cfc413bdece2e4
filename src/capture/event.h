// event.h - the typed event every stage after the kernel works with.
//
// The decoder (capture) makes these from ring-buffer records; the journal stores and replays
// them; the model consumes them without knowing whether they are live or replayed. Paths here
// are already absolute: the decoder joins each verbatim argument with the directory the kernel
// resolved it against.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "stepseal/events.h"

namespace stepseal {

enum class Kind : uint16_t {
#define SS_KIND_CXX(name, json) name,
  SS_KINDS(SS_KIND_CXX)
#undef SS_KIND_CXX
  Count
};

// The catalogue's name for a kind ("open", "rename", ...); "unknown" past the table.
std::string_view kind_name(Kind k);

struct Inode {
  uint64_t dev = 0;
  uint64_t ino = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint32_t mode = 0;
  uint32_t nlink = 0;
  uint32_t flags = 0;  // SS_INO_*
  bool operator==(const Inode&) const = default;
};

struct Event {
  Kind kind = Kind::NONE;
  uint16_t flags = 0;  // SS_F_*
  uint32_t nr = 0;     // raw syscall number (i386 number when SS_F_COMPAT)
  uint64_t ts_ns = 0;  // CLOCK_MONOTONIC
  uint32_t pid = 0;
  uint32_t tid = 0;
  int64_t ret = 0;
  std::array<uint64_t, 6> args{};
  Inode ino;  // valid when flags & SS_F_HAS_INO
  std::array<uint8_t, SS_MAX_BLOBS> blob_flags{};
  // Which step of the tracer the process belongs to (ss_event.step): how a tracer that follows
  // several steps routes the event to its step's journal. Not journaled (a journal is one step).
  uint16_t step = 0;

  std::string obj;    // the kernel object's absolute path (fd result, fd argument, exe)
  std::string cwd;    // exec: the working directory at exec
  std::string path;   // first path argument, absolute (DIR1 joined with raw)
  std::string raw;    // first path argument verbatim (exec: bprm->filename; symlink: target)
  std::string path2;  // second path, absolute (rename/link target; copy: the destination object)
  std::string raw2;   // second argument verbatim (exec: interpreter of a #! script)
  std::vector<std::string> argv;  // exec
  std::string sockaddr;           // raw struct sockaddr bytes (network kinds)

  bool compat() const { return flags & SS_F_COMPAT; }
  bool failed() const { return ret < 0; }
  int err() const { return ret < 0 ? static_cast<int>(-ret) : 0; }
  bool operator==(const Event&) const = default;
};

}  // namespace stepseal
