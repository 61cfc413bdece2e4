// model.h - what happened in a step, rebuilt from events: a process table, a file table,
// failed attempts, network attempts and gaps.
//
// The model is a parser plus tables, in the manner of falcosecurity's sinsp: one rule per event
// kind (apply_* in model.cpp) updates the tables. It never knows whether events are live or
// replayed from a journal. Digests (next stage) attach to Process and FileRecord.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "capture/digest_codes.h"
#include "capture/digest_record.h"
#include "capture/event.h"

namespace stepseal {

// File access kinds, in the order they are reported. Names live in access_name().
enum Access : uint32_t {
  kRead = 1 << 0,
  kExec = 1 << 1,
  kCreate = 1 << 2,
  kWrite = 1 << 3,
  kOverwrite = 1 << 4,
  kDelete = 1 << 5,
  kRenameFrom = 1 << 6,
  kRenameTo = 1 << 7,
  kLink = 1 << 8,
  kMmapWrite = 1 << 9,
  kPathOnly = 1 << 10,  // O_PATH: opened as a location, content not read
  kChmod = 1 << 11,     // mode changed (chmod family)
  kChown = 1 << 12,     // owner or group changed (chown family)
  kTimes = 1 << 13,     // access or modification time set (utimensat family)
  kXattr = 1 << 14,     // an extended attribute set or removed (setxattr family)
};
inline constexpr int kAccessKinds = 15;
const char* access_name(int bit_index);

// What the digests of one file (or one executable) add up to.
struct DigestSummary {
  std::string sha256;                 // content read or executed (first version)
  std::vector<std::string> versions;  // every distinct exact content digest, if more than one
  std::string before, after;
  std::string removed;  // content when the step deleted the file or renamed it away
  std::string status;  // "exact", "raced", "unavailable"; empty when no digest applies
  std::string reason;
};

struct Process {
  uint32_t pid = 0;
  uint32_t ppid = 0;  // 0 for the step's root
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  std::vector<std::string> argv;
  std::string exe;     // the file the kernel ran (for a #! script: the interpreter)
  std::string script;  // the #! script, when the exec went through binfmt_script
  std::string interp;  // the ELF interpreter (ld.so) the kernel mapped, for a dynamic binary
  // When the exec ran the dynamic loader itself (`ld.so PROGRAM ...`): the program it loaded,
  // as the first file the process opened under the name its arguments gave. Not the exe: the
  // kernel ran ld.so; the program's code came in by open and mmap.
  std::string program;
  std::string loader_wants;  // that name, until the open is seen
  std::string cwd;
  bool execed = false;
  bool root = false;  // forked by stepseal's spawner: the step's command
  uint64_t exec_ns = 0;
  std::string exe_sha256;
  std::string exe_digest_status, exe_digest_reason;
  bool fileless = false;  // executed from memory (memfd, deleted file)
  bool argv_truncated = false;
  std::optional<int> wait_status;  // raw wait(2) status
  int compat_syscalls = 0;
  bool killed_at_step_end = false;
  bool exec_blocked = false;  // hardened mode killed it at exec: its image never ran
  Inode exe_ino;
};

struct FileRecord {
  std::string path;
  uint32_t access = 0;
  std::set<uint32_t> pids;
  std::optional<Inode> first_ino;  // identity at the first event that named the object
  std::optional<Inode> last_ino;
  uint64_t first_change_ns = 0;   // the step's first change to this path (0: never changed)
  uint64_t last_write_ns = 0;     // the step's last change at this path whose file is unknown
                                  // (truncate by name); known files: Model::grants_
  bool in_place_write = false;    // opened for writing without O_APPEND or O_TRUNC
  bool append_write = false;      // opened for writing with O_APPEND (not created, not emptied)
  uint64_t last_rename_to_ns = 0; // the last rename onto this name
  bool foreign = false;           // named by an event in another mount namespace (the name may
                                  // mean another file there): no before/after digest is its
  std::optional<uint32_t> mode_set;  // the last mode a chmod of the step set (permission bits)
  std::optional<uint32_t> uid_set, gid_set;  // the last owner / group a chown set
  std::set<std::string> xattrs_set;  // extended attributes by the step's last operation on each:
                                     // "NAME" set, "-NAME" removed
  std::vector<DigestRecord> digests;
  DigestSummary digest;           // filled by Model::finish()
};

struct FailedOp {
  std::string path;
  std::string op;
  int err = 0;
  std::set<uint32_t> pids;
};

struct NetAttempt {
  uint32_t pid = 0;
  size_t proc = 0;  // index in Model::processes()
  std::string family, protocol, address;
  std::optional<uint32_t> port;
  std::string op;
  int err = 0;  // 0 = success
  uint64_t ts_ns = 0;
  uint32_t count = 1;  // identical attempts folded together
};

// A sensitive call (SYSCALL event): observed, or refused by hardened mode's deny-list.
struct SyscallRecord {
  uint32_t pid = 0;
  size_t proc = 0;  // index in Model::processes()
  std::string name;  // "ptrace", "i386:5" ...
  int err = 0;       // 0 = succeeded
  bool denied = false;
  uint64_t ts_ns = 0;
  uint32_t count = 1;  // identical calls folded together
};

// A DNS query seen in a payload to port 53 (DNS event).
struct DnsQuery {
  uint32_t pid = 0;
  size_t proc = 0;  // index in Model::processes()
  std::string name, qtype;  // name "" and qtype "" when the payload was not a parseable query
  std::string server;       // the destination address, "" for a connected socket
  uint32_t port = 53;
  std::string protocol;     // "udp", "tcp"
  uint64_t ts_ns = 0;
  uint32_t count = 1;
};

// An address the DNS guard learned from a policy resolver's answer (DNS_LEARNED event).
struct DnsLearned {
  std::string name;     // the question's name
  std::string address;  // inet_ntop form
  std::string qtype;    // "A", "AAAA"
  uint64_t ts_ns = 0;
};

struct Gap {
  std::string kind;  // "io_uring", "aio", "path_truncated", "unreadable_argument"
  uint32_t pid = 0;
  std::string detail;
  uint64_t count = 1;
};

// One file operation as the model read it, for forensic replay (an index, a query): which
// process, when, what it did to which path. Failed attempts carry their errno and call.
struct FileOp {
  size_t proc = 0;      // index in Model::processes(): a surrogate id (pids are reused);
                        // Model::kNoProc for a pid seen in no other event
  uint64_t ts_ns = 0;   // monotonic
  uint32_t access = 0;  // Access bits (0 for a failed attempt)
  std::string path;
  int err = 0;             // a failed attempt's errno
  std::string failed_op;   // ... and what it tried ("open", "unlink", ...)
  std::optional<Inode> ino;  // the file's identity at the event, when the kernel gave one
};

class Model {
 public:
  // Called with every file operation as it is applied (none unless set): forensic replay
  // streams them into its index instead of keeping them here.
  void set_op_sink(std::function<void(const FileOp&)> sink) { op_sink_ = std::move(sink); }
  // The process PID names at this point of the record (its index in processes()), or kNoProc.
  static constexpr size_t kNoProc = static_cast<size_t>(-1);
  size_t proc_of(uint32_t pid) const {
    auto it = live_.find(pid);
    return it == live_.end() ? kNoProc : it->second;
  }
  // The spawner is stepseal's own pid-namespace init: its children are the step's roots.
  void set_spawner(uint32_t pid) { spawner_ = pid; }
  void apply(const Event& e);
  void apply_digest(DigestRecord d);
  // Resolves digests into files and processes; call once, after the last record.
  void finish();
  // The record is known not to be whole (lost events, a damaged journal): finish() then proves
  // no digest by "no writer" (docs/digests.md).
  void set_incomplete() { incomplete_ = true; }

  const std::vector<Process>& processes() const { return procs_; }
  const std::map<std::string, FileRecord>& files() const { return files_; }
  std::vector<FailedOp> failed() const;
  const std::vector<NetAttempt>& network() const { return net_; }
  const std::vector<SyscallRecord>& syscalls() const { return syscalls_; }
  const std::vector<DnsQuery>& dns() const { return dns_; }
  const std::vector<DnsLearned>& dns_learned() const { return learned_; }
  std::vector<Gap> gaps() const;
  uint64_t events() const { return events_; }
  uint64_t truncated_events() const { return truncated_; }

 private:
  Process& proc(uint32_t pid, uint64_t ts);
  void touch(const std::string& path, uint32_t access, const Event& e, bool with_ino = false);
  void fail(const std::string& path, std::string_view op, const Event& e);
  void gap(std::string kind, uint32_t pid, std::string detail);
  void apply_fork(const Event& e);
  void apply_exec(const Event& e);
  void apply_exit(const Event& e);
  void apply_open(const Event& e);
  void apply_file(const Event& e);
  void apply_setattr(const Event& e);
  void apply_net(const Event& e);
  void apply_syscall(const Event& e);
  void apply_syscall_named(const Event& e, const std::string& name, bool denied);
  void apply_dns(const Event& e);
  void apply_dns_learned(const Event& e);
  void promote(DigestRecord* d) const;
  bool changed_after(const DigestRecord& d, const FileRecord& f) const;
  bool mapped_shared(const DigestRecord& d, const FileRecord* f) const;

  // Write access granted to a file (by identity), in the probes' order: opens for writing,
  // ftruncate, copies into it, shared writable mappings. What a descriptor opened earlier may
  // read, and what the "no writer" proof of a digest must rule out (docs/digests.md).
  // An inode number is reused once its file is gone: a grant that created the file starts a new
  // file of that number, and ends the history of the one before.
  struct Grant {
    uint32_t seq = 0;
    uint64_t ts_ns = 0;
    bool created = false;
  };
  std::map<std::pair<uint64_t, uint64_t>, std::vector<Grant>> grants_;
  std::vector<Grant> anon_grants_;  // changes to a file the probes could not identify
  std::set<std::pair<uint64_t, uint64_t>> mapped_;  // identities mapped shared and writable
  bool foreign_event_ = false;  // the event being applied names things in another namespace
  bool incomplete_ = false;     // set_incomplete(): no digest is promoted by a proof
  std::function<void(const FileOp&)> op_sink_;
  uint32_t spawner_ = 0;
  uint64_t step_end_ns_ = 0;
  std::vector<Process> procs_;
  std::unordered_map<uint32_t, size_t> live_;  // pid -> index in procs_ (pids get reused)
  std::map<std::string, FileRecord> files_;
  std::map<std::tuple<std::string, std::string, int>, std::set<uint32_t>> failed_;
  std::vector<NetAttempt> net_;
  std::vector<SyscallRecord> syscalls_;
  std::vector<DnsQuery> dns_;
  std::vector<DnsLearned> learned_;
  std::map<std::tuple<uint32_t, int, int>, std::string> bound_;  // (pid, fd, instance) -> addr
  std::map<std::tuple<std::string, uint32_t, std::string>, uint64_t> gaps_;
  std::vector<DigestRecord> exec_digests_;
  uint64_t events_ = 0;
  uint64_t truncated_ = 0;
};

// Helpers shared with the summary (exposed for tests).
std::string loader_program(const std::string& exe, const std::vector<std::string>& argv);
std::string errno_name(int err);
struct SockAddr {
  std::string family, address;
  std::optional<uint32_t> port;
};
SockAddr decode_sockaddr(const std::string& raw);
// The sockaddr of a SENDTO or DNS event as the kernel read it (AF_UNSPEC on IPv4: AF_INET).
std::string sent_to(const Event& e);
std::string family_name(int af);
std::string protocol_name(int af, int type, int protocol);
// The address of a DNS_LEARNED event (4 or 16 raw bytes), inet_ntop form; "" if malformed.
std::string learned_address(const Event& e);

}  // namespace stepseal
