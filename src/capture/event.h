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
  // The event's place in the probes' one order across CPUs (ss_inode.seq), taken at sys_exit
  // after the call's work and before its inode was read; 0 in journals of older probes.
  uint32_t seq = 0;

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

// Whether the event names files in another mount namespace than the one stepseal reads in: a
// path walk that ended at another namespace's root (SS_BF_FOREIGN), or a process that entered a
// mount namespace of its own after it was first followed (SS_F_OWN_MNTNS).
inline bool names_elsewhere(const Event& e) {
  return ((e.blob_flags[SS_B_OBJ] | e.blob_flags[SS_B_DIR1] | e.blob_flags[SS_B_DIR2]) &
          SS_BF_FOREIGN) ||
         (e.flags & SS_F_OWN_MNTNS);
}

// Whether an OPEN's OBJ and identity may not be the file the call opened: the probe found no
// file, or one of another access mode, in the returned descriptor (SS_F_FD_UNCERTAIN), or the
// caller shares its descriptor table and the file's name is not the one it asked for (a thread
// may have put another file in the slot; a symbolic link as the last component looks the same,
// and is reported as uncertain too: docs/events.md).
inline bool open_uncertain(const Event& e) {
  if (e.kind != Kind::OPEN || e.failed()) return false;
  if (e.flags & SS_F_FD_UNCERTAIN) return true;
  if (!(e.flags & SS_F_FD_SHARED)) return false;
  // no name to compare (a handle, O_TMPFILE): nothing shows it is the file the call opened
  if (e.path.empty() || e.obj.empty() || (e.args[2] & 020000000)) return true;
  auto base = [](const std::string& p) {
    size_t end = p.find_last_not_of('/');
    if (end == std::string::npos) return std::string("/");
    size_t start = p.find_last_of('/', end);
    return p.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
  };
  std::string want = base(e.path), got = base(e.obj);
  if (want == "." || want == "..") return false;  // a directory named by a dot: no name to compare
  return want != got;
}

}  // namespace stepseal
