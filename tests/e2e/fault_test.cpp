// fault_test.cpp - stepseal under faults (issue 14): its supervisor killed with SIGKILL at random
// points of a real build, a journal on a full disk, and files it cannot write or read.
//
//   KillAtRandom*     `stepseal run -- make -j2 posix` on Lua 5.4 (tools/fetch-sources), killed
//                     20 times at points chosen by progress: the journal's size crossing a random
//                     threshold (watched with inotify, never by time), the journal just created
//                     (the probes are being loaded), and in hardened mode the step's cgroup just
//                     created. After each kill: `show` recovers and reports the valid prefix and
//                     calls it damaged (exit 4), nothing of the step runs any more (its pid
//                     namespace is empty, no process has its cwd in the tree), and no BPF object
//                     and no cgroup stepseal made is left (bounded polls, then a failure naming
//                     what is left). The seed is printed; STEPSEAL_FAULT_SEED=N repeats a run,
//                     STEPSEAL_FAULT_KILLS=N changes the number of kills (default 20).
//   FullDisk*         the journal on a 512 KiB tmpfs mounted for the test, a step that floods it:
//                     exit 121, a message naming the journal and "No space left on device", the
//                     step stopped, the prefix readable and never intact. On a tmpfs already full:
//                     nothing runs and no journal is left.
//   ReadOnly..., Vanished..., Unreadable...
//                     a journal directory that is read-only (a read-only tmpfs) or not writable
//                     (root without CAP_DAC_OVERRIDE, through setpriv), missing, or removed while
//                     the step runs; a policy, a signing key, a public key and a journal that
//                     cannot be read: each gets its documented exit code and a message naming the
//                     file, and the step does not run when its journal cannot be created.
//
// Root ignores mode bits: "cannot be read" is made real by running stepseal under
// `setpriv --bounding-set=-dac_override,-dac_read_search` (checked with cat(1) first).
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "harness.h"
#include "oci_util.h"

namespace e2e {
namespace {

namespace fs = std::filesystem;

// stepseal's own exit codes (src/util/exit_codes.h, docs/cli.md).
constexpr int kInputUnreadable = 3, kJournalDamaged = 4, kJournalWrite = 121, kUsage = 125;

const char* const kSetpriv = "/usr/bin/setpriv";
// Root as the kernel would check an ordinary user's access: mode bits count.
const std::vector<std::string> kWithoutDacOverride = {
    kSetpriv, "--bounding-set=-dac_override,-dac_read_search", "--"};

std::vector<std::string> Cat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

long long FileSize(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : -1;
}

std::string ReadLink(const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = readlink(path.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

bool Within(const std::string& path, const std::string& dir) {
  return path == dir || path.rfind(dir + "/", 0) == 0;
}

std::vector<pid_t> AllPids() {
  std::vector<pid_t> pids;
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) {
      char* end;
      long pid = strtol(e->d_name, &end, 10);
      if (*end == '\0' && pid > 0 && pid != getpid()) pids.push_back(static_cast<pid_t>(pid));
    }
    closedir(d);
  }
  return pids;
}

// The argv of `stepseal run` for COMMAND, in observe or hardened mode (the bench policy: the
// workspace and /tmp writable, the build's environment passed, completeness required).
std::vector<std::string> RunArgv(const std::string& journal, bool hardened,
                                 const std::string& workspace,
                                 const std::vector<std::string>& command,
                                 const std::string& policy = Source("tools/bench-policy.json")) {
  std::vector<std::string> argv = {STEPSEAL_BIN, "run", "-q"};
  if (hardened) argv = Cat(argv, {"--hardened", "--policy", policy, "--workspace", workspace});
  return Cat(Cat(argv, {"--trace", journal, "--"}), command);
}

// ---------------------------------------------------------------------------------------------
// A tmpfs mounted for one test, unmounted when it goes away (even when the test failed)

class TmpfsMount {
 public:
  TmpfsMount(const std::string& path, const std::string& options, unsigned long flags = 0)
      : path_(path) {
    if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
      error_ = "mkdir " + path + ": " + strerror(errno);
      return;
    }
    if (mount("tmpfs", path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | flags, options.c_str()) != 0) {
      error_ = "mount tmpfs " + options + " on " + path + ": " + strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~TmpfsMount() { Unmount(); }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;

  bool ok() const { return mounted_; }
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

  // Unmounts now; returns what went wrong, or "".
  std::string Unmount() {
    if (!mounted_) return "";
    mounted_ = false;
    if (umount2(path_.c_str(), MNT_DETACH) != 0) return "umount " + path_ + ": " + strerror(errno);
    return "";
  }

 private:
  std::string path_, error_;
  bool mounted_ = false;
};

// ---------------------------------------------------------------------------------------------
// `stepseal run` started in the background, its output in files (a build writes more than a pipe
// holds while nobody reads it); killed and reaped if still running when it goes away

class Supervisor {
 public:
  Supervisor(const std::vector<std::string>& argv, const std::string& cwd,
             const std::string& out_prefix)
      : out_(out_prefix + ".out"), err_(out_prefix + ".err") {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
    std::vector<std::string> args = argv;
    std::vector<char*> p;
    for (auto& a : args) p.push_back(a.data());
    p.push_back(nullptr);
    int rc = posix_spawn(&pid_, p[0], &fa, nullptr, p.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      error_ = std::string("posix_spawn: ") + strerror(rc);
      pid_ = -1;
      return;
    }
    pidfd_ = PidfdOpen(pid_);
  }
  ~Supervisor() {
    if (pid_ > 0 && status_ < 0) {
      kill(pid_, SIGKILL);
      Wait(30s);
    }
    if (pidfd_ >= 0) close(pidfd_);
  }
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  bool started() const { return pid_ > 0 && pidfd_ >= 0; }
  const std::string& error() const { return error_; }
  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_; }
  // Until it is reaped, its pid cannot be reused: kill() reaches this process.
  bool Kill(int sig) { return status_ < 0 && kill(pid_, sig) == 0; }
  bool Exited() const {
    pollfd p{pidfd_, POLLIN, 0};
    return status_ >= 0 || poll(&p, 1, 0) > 0;
  }
  // The exit status (shell convention), or -1 if it did not exit within TIMEOUT.
  int Wait(std::chrono::milliseconds timeout) {
    if (status_ >= 0) return status_;
    if (!WaitReadable(pidfd_, Clock::now() + timeout)) return -1;
    int st = 0;
    while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    status_ = DecodeWaitStatus(st);
    return status_;
  }
  std::string Describe() const {
    return "[stepseal run] exit " + std::to_string(status_) + "\n--- stderr ---\n" +
           ReadFile(err_).substr(0, 4000);
  }
  std::string err() const { return ReadFile(err_); }

 private:
  std::string out_, err_, error_;
  pid_t pid_ = -1;
  int pidfd_ = -1;
  int status_ = -1;
};

// The cgroup2 mount point ("" if none).
std::string Cgroup2Root() {
  std::ifstream m("/proc/self/mounts");
  std::string dev, dir, type, rest;
  while (m >> dev >> dir >> type && std::getline(m, rest))
    if (type == "cgroup2") return dir;
  return "";
}

// ---------------------------------------------------------------------------------------------
// What stepseal may leave behind: BPF objects, cgroups, processes

struct BpfObjects {
  std::map<long, json> progs, maps, links;
  std::string error;  // bpftool failed
};

BpfObjects ListBpf() {
  BpfObjects o;
  for (auto [kind, into] : {std::pair{"prog", &o.progs}, std::pair{"map", &o.maps},
                            std::pair{"link", &o.links}}) {
    CommandResult r = RunCommand({"/usr/sbin/bpftool", "-j", kind, "show"}, {}, 30s);
    json list = json::parse(r.out, nullptr, false);
    if (r.exit_code != 0 || !list.is_array()) {
      o.error += std::string("bpftool -j ") + kind + " show: " + r.Describe() + "\n";
      continue;
    }
    for (const auto& x : list) (*into)[x.value("id", -1L)] = x;
  }
  return o;
}

// The kernel keeps 15 characters of an object's name.
std::string Name15(const json& x) { return x.value("name", "").substr(0, 15); }

// The names of stepseal's programs and maps (the probes' and the hardened guards'), and those
// learned from a live run (Learn), so that one added later is covered too.
struct OurBpfNames {
  std::set<std::string> progs = {"on_sys_enter",      "on_sys_exit",        "on_fork",
                                 "on_exec",           "on_exit",            "guard_connect4",
                                 "guard_connect6",    "guard_sendmsg4",     "guard_sendmsg6",
                                 "guard_sock_create", "guard_connect_unix", "guard_sendmsg_unix",
                                 "dns_egress",        "dns_ingress",        "guard_dev"};
  std::set<std::string> maps = {"tracked",     "inflight",        "scratch_map",
                                "counters",    "events",          "denied",
                                "exec_deny",   "exec_allow",      "step_pidns",
                                "stepseal.rodata", "stepseal.bss",  "dns_scratch_map",
                                "dns_pending", "dns_resolvers",   "dns_names",
                                "dns_learned", "rules",           "harden_b.rodata"};

  // The objects in NOW that were not in BEFORE: stepseal's, when only it ran in between.
  void Learn(const BpfObjects& before, const BpfObjects& now) {
    for (const auto& [id, p] : now.progs)
      if (!before.progs.count(id)) progs.insert(Name15(p));
    for (const auto& [id, m] : now.maps)
      if (!before.maps.count(id)) maps.insert(Name15(m));
  }
  bool Prog(const json& p) const {
    std::string n = Name15(p);
    for (const auto& o : progs)
      if (o.substr(0, 15) == n) return true;
    return false;
  }
  bool Map(const json& m) const {
    std::string n = Name15(m);
    for (const auto& o : maps)
      if (o.substr(0, 15) == n) return true;
    return false;
  }
};

// Every directory under /sys/fs/cgroup (all hierarchies).
std::set<std::string> CgroupDirs() {
  static std::set<std::string>* into;
  std::set<std::string> dirs;
  into = &dirs;
  nftw(
      "/sys/fs/cgroup",
      [](const char* p, const struct stat*, int type, FTW*) {
        if (type == FTW_D) into->insert(p);
        return 0;
      },
      32, FTW_PHYS);
  return dirs;
}

// The state before a run, to compare with after it.
struct Before {
  BpfObjects bpf = ListBpf();
  std::set<std::string> cgroups = CgroupDirs();
};

// What a run left that it should not have, each item described; empty if nothing.
//   - a BPF program or map not there before whose name is stepseal's, or a link to such a program
//   - a cgroup not there before named stepseal-* (or below one)
//   - a live process in the step's pid namespace STEP_PIDNS (if known), with its cwd in TREE, or
//     whose command line mentions NEEDLE (a janitor or spawner: stepseal's argv names the journal)
std::vector<std::string> Leftovers(const Before& before, const OurBpfNames& ours,
                                   const std::string& tree, const std::string& needle,
                                   const std::string& step_pidns) {
  std::vector<std::string> left;
  BpfObjects now = ListBpf();
  if (!now.error.empty()) left.push_back(now.error);
  for (const auto& [id, p] : now.progs)
    if (!before.bpf.progs.count(id) && ours.Prog(p))
      left.push_back("BPF program " + std::to_string(id) + " " + p.value("name", ""));
  for (const auto& [id, m] : now.maps)
    if (!before.bpf.maps.count(id) && ours.Map(m))
      left.push_back("BPF map " + std::to_string(id) + " " + m.value("name", ""));
  for (const auto& [id, l] : now.links) {
    auto prog = now.progs.find(l.value("prog_id", -1L));
    if (!before.bpf.links.count(id) && prog != now.progs.end() && ours.Prog(prog->second))
      left.push_back("BPF link " + l.dump());
  }
  for (const auto& d : CgroupDirs())
    if (!before.cgroups.count(d) && d.find("/stepseal-") != std::string::npos)
      left.push_back("cgroup " + d);
  for (pid_t pid : AllPids()) {
    if (!IsAlive(pid)) continue;
    const std::string proc = "/proc/" + std::to_string(pid);
    std::string why;
    if (!step_pidns.empty() && ReadLink(proc + "/ns/pid") == step_pidns)
      why = "in the step's pid namespace";
    else if (!tree.empty() && Within(ReadLink(proc + "/cwd"), tree))
      why = "its cwd is in " + tree;
    else if (!needle.empty() && CmdlineOf(pid).find(needle) != std::string::npos)
      why = "its command line mentions " + needle;
    if (!why.empty()) left.push_back("process " + std::to_string(pid) + " (" + why + "): " +
                                     CmdlineOf(pid));
  }
  return left;
}

// Leftovers() until there are none or DEADLINE passes (programs detached from tracepoints are
// freed after an RCU tasks-trace grace period; a janitor removes a cgroup once its last process
// is gone): what was still left then.
std::vector<std::string> AwaitNoLeftovers(const Before& before, const OurBpfNames& ours,
                                          const std::string& tree, const std::string& needle,
                                          const std::string& step_pidns,
                                          std::chrono::seconds timeout = 20s) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    std::vector<std::string> left = Leftovers(before, ours, tree, needle, step_pidns);
    if (left.empty() || Clock::now() >= deadline) return left;
    usleep(50 * 1000);  // a poll interval, bounded by the deadline
  }
}

// Whatever a failed run left: its processes killed, its cgroups emptied and removed. (The test
// has failed already; this keeps the failure from leaking into the machine and the next test.)
void CleanUpAfterFailure(const Before& before, const std::string& tree, const std::string& needle) {
  for (pid_t pid : AllPids())
    if (IsAlive(pid) && (Within(ReadLink("/proc/" + std::to_string(pid) + "/cwd"), tree) ||
                         CmdlineOf(pid).find(needle) != std::string::npos))
      kill(pid, SIGKILL);
  std::vector<std::string> dirs;
  for (const auto& d : CgroupDirs())
    if (!before.cgroups.count(d) && d.find("/stepseal-") != std::string::npos) dirs.push_back(d);
  std::sort(dirs.rbegin(), dirs.rend());  // children first
  for (const auto& d : dirs) {
    WriteFile(d + "/cgroup.kill", "1");
    auto deadline = Clock::now() + 10s;
    while (rmdir(d.c_str()) != 0 && errno == EBUSY && Clock::now() < deadline) usleep(50 * 1000);
  }
}

// Runs CleanUpAfterFailure() when it goes out of scope, however the scope is left (a failed
// ASSERT included), unless the run passed its checks (Passed()).
class CleanUpUnlessPassed {
 public:
  CleanUpUnlessPassed(const Before& before, std::string tree, std::string needle)
      : before_(before), tree_(std::move(tree)), needle_(std::move(needle)) {}
  ~CleanUpUnlessPassed() {
    if (!passed_) CleanUpAfterFailure(before_, tree_, needle_);
  }
  CleanUpUnlessPassed(const CleanUpUnlessPassed&) = delete;
  CleanUpUnlessPassed& operator=(const CleanUpUnlessPassed&) = delete;
  void Passed() { passed_ = true; }

 private:
  const Before& before_;
  std::string tree_, needle_;
  bool passed_ = false;
};

// ---------------------------------------------------------------------------------------------
// Kill points: progress of the run, seen through inotify

struct KillPoint {
  enum Kind { kJournalBytes, kCgroupCreated } kind = kJournalBytes;
  long long bytes = 0;  // kJournalBytes: kill once the journal holds at least this many
  std::string Describe() const {
    if (kind == kCgroupCreated) return "the step's cgroup created";
    if (bytes <= 16) return "the journal created (its magic written; the probes loading)";
    return "journal >= " + std::to_string(bytes) + " bytes";
  }
};

// Watches the journal's directory (and the cgroup2 root) from before the run starts, so that no
// step of the run's progress is missed.
class ProgressWatch {
 public:
  ProgressWatch(const std::string& journal, const std::string& cgroup_root) : journal_(journal) {
    fd_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    const std::string dir = fs::path(journal).parent_path();
    if (fd_ < 0 || inotify_add_watch(fd_, dir.c_str(), IN_CREATE | IN_MODIFY | IN_MOVED_TO) < 0)
      error_ = "inotify on " + dir + ": " + strerror(errno);
    else if (!cgroup_root.empty() && inotify_add_watch(fd_, cgroup_root.c_str(), IN_CREATE) < 0)
      error_ = "inotify on " + cgroup_root + ": " + strerror(errno);
    cgroup_root_ = cgroup_root;
  }
  ~ProgressWatch() {
    if (fd_ >= 0) close(fd_);
  }
  ProgressWatch(const ProgressWatch&) = delete;
  ProgressWatch& operator=(const ProgressWatch&) = delete;
  const std::string& error() const { return error_; }
  const std::string& cgroup() const { return cgroup_; }  // the step's, once seen created

  // Waits until the run of SUP reaches POINT. "" when it did; otherwise why not (the run ended
  // first, or DEADLINE passed).
  std::string Await(const Supervisor& sup, const KillPoint& point, Clock::time_point deadline) {
    const std::string prefix = "stepseal-" + std::to_string(sup.pid()) + "-";
    for (;;) {
      if (point.kind == KillPoint::kJournalBytes && FileSize(journal_) >= point.bytes) return "";
      if (point.kind == KillPoint::kCgroupCreated && !cgroup_.empty()) return "";
      pollfd fds[2] = {{fd_, POLLIN, 0}, {sup.pidfd(), POLLIN, 0}};
      int n = poll(fds, 2, MillisLeft(deadline));
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) return "the run did not reach " + point.Describe() + " in time (journal " +
                         std::to_string(FileSize(journal_)) + " bytes)";
      Drain(prefix);
      if (fds[1].revents) {
        if (point.kind == KillPoint::kJournalBytes && FileSize(journal_) >= point.bytes) return "";
        return "stepseal run ended before " + point.Describe() + " (journal " +
               std::to_string(FileSize(journal_)) + " bytes)";
      }
    }
  }

 private:
  void Drain(const std::string& prefix) {
    alignas(inotify_event) char buf[8192];
    for (ssize_t n; (n = read(fd_, buf, sizeof buf)) > 0;) {
      for (char* p = buf; p < buf + n;) {
        auto* e = reinterpret_cast<inotify_event*>(p);
        std::string name = e->len ? e->name : "";
        if ((e->mask & IN_CREATE) && name.rfind(prefix, 0) == 0 && cgroup_.empty())
          cgroup_ = cgroup_root_ + "/" + name;
        p += sizeof(inotify_event) + e->len;
      }
    }
  }

  std::string journal_, cgroup_root_, cgroup_, error_;
  int fd_ = -1;
};

// The pid namespace of the step of the supervisor SUP: that of its child in another pid
// namespace than ours (the spawner), "" if it has none (yet).
std::string StepPidns(pid_t sup) {
  const std::string ours = ReadLink("/proc/self/ns/pid");
  std::istringstream children(
      ReadProc("/proc/" + std::to_string(sup) + "/task/" + std::to_string(sup) + "/children"));
  for (pid_t c; children >> c;) {
    std::string ns = ReadLink("/proc/" + std::to_string(c) + "/ns/pid");
    if (!ns.empty() && ns != ours) return ns;
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// What `stepseal show` must say of a journal whose writer did not finish

struct Unfinished {
  std::string journal;
  std::vector<std::string> argv;  // the step's, when the HEADER and STEP_START were written
  bool started = false;           // the HEADER and STEP_START were written (the file was > 16 bytes)
  std::string mode;               // "observe" or "hardened"
};

// Problems with the summary of an unfinished journal: it must be reported damaged (exit 4),
// with its valid prefix (records, bytes, the step's argv and events), never intact or complete.
// RECORDS and EVENTS receive what the summary reports.
std::vector<std::string> CheckUnfinished(const Unfinished& u, long* records = nullptr,
                                         long* events = nullptr) {
  std::vector<std::string> bad;
  const long long size = FileSize(u.journal);
  CommandResult show = Show(u.journal);
  if (show.exit_code != kJournalDamaged)
    bad.push_back("show --format json exited " + std::to_string(show.exit_code) +
                  ", not 4 (damaged)\n" + show.Describe());
  json s = json::parse(show.out, nullptr, false);
  if (!s.is_object()) {
    bad.push_back("show printed no summary of the prefix\n" + show.Describe());
    return bad;
  }
  const json j = s.value("journal", json::object());
  if (s.value("complete", true) != false) bad.push_back("the summary says complete");
  if (j.value("intact", true) != false) bad.push_back("the journal is called intact: " + j.dump());
  const std::string problem = j.value("problem", "");
  if (problem.find("no trailer") == std::string::npos && problem.find("torn") == std::string::npos)
    bad.push_back("the problem is neither an unfinished nor a torn journal: " + j.dump());
  const long long valid = j.value("valid_bytes", -1LL), unreadable = j.value("unreadable_bytes", -1LL);
  if (valid < 16 || unreadable < 0 || valid + unreadable != size)
    bad.push_back("valid " + std::to_string(valid) + " + unreadable " + std::to_string(unreadable) +
                  " bytes is not the file's " + std::to_string(size));
  // a killed writer leaves whole blocks and at most one torn one (a block holds ~64 KiB)
  if (unreadable > 128 * 1024)
    bad.push_back("more than the last block is unreadable: " + j.dump());
  const long recs = j.value("records", -1L);
  const long evs = s.value("stats", json::object()).value("events", -1L);
  if (records) *records = recs;
  if (events) *events = evs;
  bool damaged_gap = false, unfinished_gap = false;
  for (const auto& g : s.value("gaps", json::array())) {
    damaged_gap |= g.value("kind", "") == "journal_damaged";
    unfinished_gap |= g.value("kind", "") == "unfinished";
  }
  if (!damaged_gap || !unfinished_gap)
    bad.push_back("no journal_damaged and unfinished gaps: " + Dump(s.value("gaps", json())));
  if (u.started) {
    const json step = s.value("step", json::object());
    if (recs < 2) bad.push_back("the HEADER and STEP_START were not recovered: " + j.dump());
    if (step.value("argv", json()) != json(u.argv))
      bad.push_back("the step's argv is not recovered: " + step.dump());
    if (step.contains("exit_code") && !step["exit_code"].is_null())
      bad.push_back("the summary claims an exit status: " + step.dump());
    if (!u.mode.empty() && s.value("mode", "") != u.mode)
      bad.push_back("mode is " + s.value("mode", json()).dump() + ", not " + u.mode);
    // past the first block (HEADER and STEP_START, a few KiB), events were written
    if (valid > 16 * 1024 && evs <= 0)
      bad.push_back("no events recovered from " + std::to_string(valid) + " valid bytes");
  }
  // stderr names the journal and what was recovered
  const std::string said = u.journal + " is damaged";
  if (show.err.find(said) == std::string::npos ||
      show.err.find(std::to_string(recs) + " records recovered") == std::string::npos)
    bad.push_back("show's message does not name the journal and the records recovered: " +
                  show.err);
  // the text summary says the same
  CommandResult text = RunCommand({STEPSEAL_BIN, "show", u.journal}, {}, 120s);
  if (text.exit_code != kJournalDamaged || text.out.find("complete:  NO") == std::string::npos ||
      text.out.find("(DAMAGED)") == std::string::npos)
    bad.push_back("the text summary does not say incomplete and damaged\n" + text.Describe());
  return bad;
}

std::string Lines(const std::vector<std::string>& items, const std::string& indent = "  ") {
  std::string s;
  for (const auto& i : items) s += indent + "- " + i + "\n";
  return s;
}

// The Lua 5.4 source tree (tools/fetch-sources, its cache), or "" after skipping or failing.
std::string LuaSource() {
  CommandResult fetched = RunCommand({Source("tools/fetch-sources"), "lua5.4"}, {}, 600s);
  if (fetched.exit_code != 0 || fetched.out.empty()) {
    if (PrivilegeRequired()) ADD_FAILURE() << "the Lua source could not be fetched: " << fetched.Describe();
    return "";
  }
  return fetched.out.substr(0, fetched.out.find('\n'));
}

uint64_t SeedFromEnvironment() {
  if (const char* s = getenv("STEPSEAL_FAULT_SEED"); s && *s) return std::stoull(s);
  return std::random_device{}() ^ (static_cast<uint64_t>(std::random_device{}()) << 32);
}

int KillsFromEnvironment() {
  if (const char* s = getenv("STEPSEAL_FAULT_KILLS"); s && *s) return std::max(1, std::stoi(s));
  return 20;
}

class FaultTest : public E2ETest {
 protected:
  // Kills `stepseal run -- make -j2 posix` on Lua at KillsFromEnvironment() points, in observe or
  // hardened mode, and checks what each kill left.
  void KillAtRandom(bool hardened);
};

void FaultTest::KillAtRandom(bool hardened) {
  const std::string src = LuaSource();
  if (src.empty()) {
    if (!HasFailure()) GTEST_SKIP() << "no Lua source (tools/fetch-sources failed)";
    return;
  }
  const std::string tree = dir() / "lua", journal = dir() / "kill.journal";
  fs::copy(src, tree, fs::copy_options::recursive);
  const std::vector<std::string> build = {"make", "-j2", "posix"};
  const std::string mode = hardened ? "hardened" : "observe";
  const std::string cgroup_root = hardened ? Cgroup2Root() : "";
  if (hardened) {
    ASSERT_FALSE(cgroup_root.empty()) << "no cgroup2 hierarchy";
  }
  const uint64_t seed = SeedFromEnvironment();
  const int kills = KillsFromEnvironment();
  std::printf("[ fault    ] %s: seed %llu (STEPSEAL_FAULT_SEED=%llu repeats these kill points)\n",
              mode.c_str(), static_cast<unsigned long long>(seed),
              static_cast<unsigned long long>(seed));
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);
  auto clean_tree = [&] {
    CommandResult c = RunCommand({"/usr/bin/make", "clean"}, {.cwd = tree}, 120s);
    ASSERT_EQ(c.exit_code, 0) << c.Describe();
  };

  // A whole run first: the final size (the range of the thresholds) and, while it runs, the BPF
  // objects a run of this mode makes (whose names identify stepseal's objects later).
  OurBpfNames ours;
  long long final_size = 0;
  {
    Before before;
    ASSERT_EQ(before.bpf.error, "");
    ProgressWatch watch(journal, "");
    ASSERT_EQ(watch.error(), "");
    auto t0 = Clock::now();
    Supervisor sup(RunArgv(journal, hardened, tree, build), tree, dir() / "whole");
    ASSERT_TRUE(sup.started()) << sup.error();
    ASSERT_EQ(watch.Await(sup, {KillPoint::kJournalBytes, 17}, Clock::now() + 300s), "")
        << sup.Describe();
    ours.Learn(before.bpf, ListBpf());  // the probes (and guards) are attached before the HEADER
    // The leftover check sees every kind of object a live run has: it can fail.
    const std::vector<std::string> live =
        Leftovers(before, ours, tree, dir().path(), StepPidns(sup.pid()));
    std::vector<std::string> kinds = {"BPF program", "BPF map", "BPF link", "process"};
    if (hardened) kinds.push_back("cgroup");
    for (const auto& kind : kinds)
      EXPECT_TRUE(std::any_of(live.begin(), live.end(),
                              [&](const std::string& l) { return l.rfind(kind, 0) == 0; }))
          << "the leftover check does not see a live run's " << kind << ":\n" << Lines(live);
    EXPECT_TRUE(std::any_of(live.begin(), live.end(), [](const std::string& l) {
      return l.find("in the step's pid namespace") != std::string::npos;
    })) << "the live run's step has no process in a pid namespace of its own:\n" << Lines(live);
    ASSERT_EQ(sup.Wait(600s), 0) << sup.Describe();
    CommandResult show = Show(journal);
    ASSERT_EQ(show.exit_code, 0) << show.Describe();
    final_size = FileSize(journal);
    std::printf("[ fault    ] %s: a whole build: %lld journal bytes in %.1f s\n", mode.c_str(),
                final_size, std::chrono::duration<double>(Clock::now() - t0).count());
    EXPECT_TRUE(ours.progs.count("on_sys_enter") && !ours.maps.empty())
        << "the run's BPF objects were not seen: the leftover check would miss maps";
    if (hardened) {
      EXPECT_TRUE(ours.progs.count("guard_connect4"));
    }
    EXPECT_EQ(AwaitNoLeftovers(before, ours, tree, dir().path(), ""), std::vector<std::string>{})
        << "a whole run left something";
    ASSERT_GT(final_size, 64 * 1024) << "a Lua build's journal is larger than that";
    ASSERT_NO_FATAL_FAILURE(clean_tree());
  }

  // The kill points: the journal just created, in hardened mode the step's cgroup just created
  // (three times: the janitor must exist by then), and random journal sizes from just past the
  // magic to 90% of a whole build's (so that the kill lands while the step runs, never after
  // the trailer).
  std::vector<KillPoint> points;
  std::uniform_int_distribution<long long> size(17, final_size * 9 / 10);
  for (int i = 0; i < kills; i++) {
    if (i == 0)
      points.push_back({KillPoint::kJournalBytes, 16});
    else if (hardened && i <= 3)
      points.push_back({KillPoint::kCgroupCreated, 0});
    else
      points.push_back({KillPoint::kJournalBytes, size(rng)});
  }
  std::shuffle(points.begin(), points.end(), rng);

  int passed = 0, pidns_checked = 0;
  for (int i = 0; i < kills; i++) {
    const KillPoint& point = points[i];
    SCOPED_TRACE("kill " + std::to_string(i + 1) + " of " + std::to_string(kills) + " (" + mode +
                 ", seed " + std::to_string(seed) + "): at " + point.Describe());
    std::vector<std::string> bad;
    unlink(journal.c_str());  // a stale journal's size must not look like progress
    Before before;
    ASSERT_EQ(before.bpf.error, "");
    CleanUpUnlessPassed cleanup(before, tree, dir().path());
    ProgressWatch watch(journal, point.kind == KillPoint::kCgroupCreated ? cgroup_root : "");
    ASSERT_EQ(watch.error(), "");
    auto t0 = Clock::now();
    std::string step_pidns;
    long long size_at_kill = -1;
    {
      Supervisor sup(RunArgv(journal, hardened, tree, build), tree, dir() / "kill");
      ASSERT_TRUE(sup.started()) << sup.error();
      std::string not_reached = watch.Await(sup, point, Clock::now() + 300s);
      if (!not_reached.empty()) {
        bad.push_back(not_reached + "\n" + sup.Describe());
      } else {
        step_pidns = StepPidns(sup.pid());
        if (!sup.Kill(SIGKILL)) bad.push_back(std::string("kill: ") + strerror(errno));
        int status = sup.Wait(60s);
        if (status != 128 + SIGKILL)
          bad.push_back("stepseal run was not ended by the SIGKILL (status " +
                        std::to_string(status) + "): it had finished before\n" + sup.Describe());
        size_at_kill = FileSize(journal);
      }
    }
    pidns_checked += !step_pidns.empty();
    // nothing of the run may be left: the step's processes, the janitor, BPF objects, cgroups
    std::vector<std::string> left =
        AwaitNoLeftovers(before, ours, tree, dir().path(), step_pidns);
    if (!left.empty()) bad.push_back("left behind after 20 s:\n" + Lines(left, "      "));
    if (hardened && !watch.cgroup().empty() && Exists(watch.cgroup()))
      bad.push_back("the step's cgroup " + watch.cgroup() + " is still there");
    const double settled = std::chrono::duration<double>(Clock::now() - t0).count();
    // the journal: its prefix recovered, reported damaged
    long records = -1, events = -1;
    if (size_at_kill >= 16) {
      Unfinished u{journal, build, size_at_kill > 16, mode};
      for (auto& b : CheckUnfinished(u, &records, &events)) bad.push_back(b);
    } else if (bad.empty()) {
      bad.push_back("no journal after the kill (" + std::to_string(size_at_kill) + " bytes)");
    }
    std::printf("[ kill %2d  ] %s at %s: journal %lld bytes, %ld records, %ld events recovered; "
                "settled %.1f s after the start%s\n",
                i + 1, mode.c_str(), point.Describe().c_str(), size_at_kill, records, events,
                settled, step_pidns.empty() ? "" : "; pid namespace checked");
    if (!bad.empty()) {
      ADD_FAILURE() << Lines(bad);
      break;  // (cleaned up now) what is left would confuse the next kill's checks
    }
    passed++;
    cleanup.Passed();
    ASSERT_NO_FATAL_FAILURE(clean_tree());
  }
  EXPECT_EQ(passed, kills) << "kills that left nothing and a recoverable journal (seed " << seed
                           << ")";
  // the pid namespace check ran at all (kills after the step's start have a spawner to look at)
  if (passed == kills && kills >= 5) {
    EXPECT_GT(pidns_checked, 0);
  }
}

TEST_F(FaultTest, KillAtRandomPointsOfALuaBuild) { KillAtRandom(false); }

TEST_F(FaultTest, KillAtRandomPointsOfAHardenedLuaBuild) { KillAtRandom(true); }

// ---------------------------------------------------------------------------------------------
// A full disk

// A step that opens a file over and over floods a 512 KiB journal file system in a second or two.
// stepseal must stop the step, say why, exit 121, and leave a prefix `show` can read.
TEST_F(FaultTest, FullDiskStopsTheStepWith121AndLeavesARecoverablePrefix) {
  const std::string input = work("input");
  WriteFile(input, "input\n");
  for (bool hardened : {false, true}) {
    const std::string mode = hardened ? "hardened" : "observe";
    SCOPED_TRACE(mode);
    TmpfsMount small(dir() / ("small-" + mode), "size=512k,mode=0755");
    ASSERT_TRUE(small.ok()) << small.error();
    const std::string journal = small / "step.journal";
    // Hardened steps get a fresh /tmp: a build tree under /tmp (a CI checkout) is not visible to
    // them, so the program runs from a copy in the workspace, which is.
    const std::string progs = work(".progs"), flood_bin = progs + "/open_flood";
    fs::create_directories(progs);
    fs::copy_file(Prog("open_flood"), flood_bin, fs::copy_options::overwrite_existing);
    ASSERT_EQ(chmod(flood_bin.c_str(), 0755), 0);
    const std::vector<std::string> flood = {flood_bin, "1000000000", input};
    Before before;
    ASSERT_EQ(before.bpf.error, "");
    CleanUpUnlessPassed cleanup(before, work(), input);
    OurBpfNames ours;
    auto t0 = Clock::now();
    CommandResult r = RunCommand(RunArgv(journal, hardened, work(), flood), {.cwd = work()}, 300s);
    const double ran = std::chrono::duration<double>(Clock::now() - t0).count();
    EXPECT_EQ(r.exit_code, kJournalWrite) << r.Describe();
    EXPECT_NE(r.err.find("cannot write journal " + journal + ": No space left on device"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("stopping the step"), std::string::npos) << r.err;
    // the step is not left running (open_flood names the input file)
    EXPECT_EQ(WaitForExit(LiveProcessesMentioning(input), 10s), std::vector<pid_t>{})
        << "the step still runs after stepseal exited";
    EXPECT_EQ(AwaitNoLeftovers(before, ours, work(), input, ""), std::vector<std::string>{});
    const double settled = std::chrono::duration<double>(Clock::now() - t0).count();
    // the file system is full, and what is on it is a prefix, never intact
    struct statvfs fsinfo{};
    ASSERT_EQ(statvfs(small.path().c_str(), &fsinfo), 0);
    EXPECT_LT(fsinfo.f_bavail * fsinfo.f_frsize, 64u * 1024) << "the journal did not fill the disk";
    long records = -1, events = -1;
    Unfinished u{journal, flood, true, mode};
    std::vector<std::string> bad = CheckUnfinished(u, &records, &events);
    EXPECT_TRUE(bad.empty()) << Lines(bad);
    EXPECT_GT(events, 1000) << "the flood's opens before the disk was full are in the prefix";
    std::printf("[ full     ] %s: stepseal ran %.1f s, nothing left %.1f s after the start; "
                "%lld journal bytes, %ld records, %ld events recovered\n",
                mode.c_str(), ran, settled, FileSize(journal), records, events);
    if (!HasFailure()) cleanup.Passed();
    EXPECT_EQ(small.Unmount(), "");
  }
}

// On a file system that is full already, not even the journal's magic fits: nothing runs, and no
// file that is not a journal is left in its place.
TEST_F(FaultTest, FullDiskBeforeTheStartRunsNothing) {
  TmpfsMount full(dir() / "full", "size=64k,mode=0755");
  ASSERT_TRUE(full.ok()) << full.error();
  {
    std::ofstream filler(full / "filler", std::ios::binary);
    std::string block(4096, 'x');
    while (filler.write(block.data(), block.size()) && filler.flush()) {
    }
  }
  const std::string journal = full / "step.journal";
  for (bool hardened : {false, true}) {
    SCOPED_TRACE(hardened ? "hardened" : "observe");
    CommandResult r = RunCommand(
        RunArgv(journal, hardened, work(), {"/usr/bin/touch", work("ran")}), {.cwd = work()}, 120s);
    EXPECT_EQ(r.exit_code, kJournalWrite) << r.Describe();
    EXPECT_NE(r.err.find("cannot write journal " + journal + ": No space left on device"),
              std::string::npos)
        << r.err;
    EXPECT_FALSE(Exists(work("ran"))) << "the step ran without a journal";
    EXPECT_FALSE(Exists(journal)) << "a file that is not a journal was left: " << FileSize(journal)
                                  << " bytes";
  }
  EXPECT_EQ(full.Unmount(), "");
}

// ---------------------------------------------------------------------------------------------
// Files stepseal cannot write or read

// The journal cannot be created in a read-only directory: 121, the journal named with the reason,
// and the step never runs.
TEST_F(FaultTest, ReadOnlyJournalDirectoryRunsNothing) {
  TmpfsMount ro(dir() / "ro", "size=64k,mode=0755", MS_RDONLY);
  ASSERT_TRUE(ro.ok()) << ro.error();
  for (bool hardened : {false, true}) {
    SCOPED_TRACE(hardened ? "hardened" : "observe");
    const std::string journal = ro / "step.journal";
    CommandResult r = RunCommand(
        RunArgv(journal, hardened, work(), {"/usr/bin/touch", work("ran")}), {.cwd = work()}, 120s);
    EXPECT_EQ(r.exit_code, kJournalWrite) << r.Describe();
    EXPECT_NE(r.err.find("cannot create journal " + journal + ": Read-only file system"),
              std::string::npos)
        << r.err;
    EXPECT_FALSE(Exists(work("ran"))) << "the step ran without a journal";
  }
  EXPECT_EQ(ro.Unmount(), "");

  // A directory root may not write once its DAC override is gone (mode 0555). The same run with
  // a writable directory works, so the directory is what fails.
  const std::string locked = dir() / "locked";
  ASSERT_EQ(mkdir(locked.c_str(), 0555), 0) << strerror(errno);
  CommandResult control = RunCommand(
      Cat(kWithoutDacOverride,
          RunArgv(dir() / "control.journal", false, work(), {"/usr/bin/touch", work("control")})),
      {.cwd = work()}, 120s);
  ASSERT_EQ(control.exit_code, 0) << control.Describe();
  ASSERT_TRUE(Exists(work("control")));
  const std::string journal = locked + "/step.journal";
  CommandResult r = RunCommand(
      Cat(kWithoutDacOverride, RunArgv(journal, false, work(), {"/usr/bin/touch", work("ran")})),
      {.cwd = work()}, 120s);
  EXPECT_EQ(r.exit_code, kJournalWrite) << r.Describe();
  EXPECT_NE(r.err.find("cannot create journal " + journal + ": Permission denied"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(Exists(work("ran"))) << "the step ran without a journal";
}

// A journal directory that does not exist: 121 and nothing runs. One that the step removes while
// it runs: the record is lost with it, and `run` says so with 121 instead of reporting a journal
// that no name leads to.
TEST_F(FaultTest, VanishedJournalDirectory) {
  for (bool hardened : {false, true}) {
    SCOPED_TRACE(hardened ? "hardened" : "observe");
    const std::string journal = dir() / "gone/step.journal";
    CommandResult r = RunCommand(
        RunArgv(journal, hardened, work(), {"/usr/bin/touch", work("ran")}), {.cwd = work()}, 120s);
    EXPECT_EQ(r.exit_code, kJournalWrite) << r.Describe();
    EXPECT_NE(r.err.find("cannot create journal " + journal + ": No such file or directory"),
              std::string::npos)
        << r.err;
    EXPECT_FALSE(Exists(work("ran"))) << "the step ran without a journal";
  }

  const std::string jdir = dir() / "journals", journal = jdir + "/step.journal";
  ASSERT_EQ(mkdir(jdir.c_str(), 0755), 0) << strerror(errno);
  CommandResult r = RunCommand(RunArgv(journal, false, work(), {"/bin/rm", "-rf", jdir}),
                               {.cwd = work()}, 120s);
  ASSERT_FALSE(Exists(jdir)) << "the step did not remove the journal's directory";
  EXPECT_EQ(r.exit_code, kJournalWrite) << r.Describe();
  EXPECT_NE(r.err.find("journal " + journal + " was removed while it was written"),
            std::string::npos)
      << r.err;
}

// Whether FILE is unreadable for a process without the DAC override (cat(1) fails on it): the
// precondition of the tests below, so that their failures mean what they say.
testing::AssertionResult UnreadableWithoutDacOverride(const std::string& file) {
  CommandResult cat = RunCommand(Cat(kWithoutDacOverride, {"/bin/cat", file}), {}, 30s);
  if (cat.exit_code != 0 && cat.err.find("Permission denied") != std::string::npos)
    return testing::AssertionSuccess();
  return testing::AssertionFailure() << file << " is readable without CAP_DAC_OVERRIDE\n"
                                     << cat.Describe();
}

// An unreadable policy: `run --hardened` refuses it as an invalid policy (125), naming the file
// and the reason, before anything runs or a journal exists.
TEST_F(FaultTest, UnreadablePolicyRunsNothing) {
  ASSERT_TRUE(Exists(kSetpriv)) << "setpriv (util-linux) is needed";
  const std::string policy = dir() / "policy.json";
  fs::copy_file(Source("tools/bench-policy.json"), policy);
  // readable, the policy runs the step (with every privilege: hardened mode needs the DAC
  // override for the step's cgroup)
  CommandResult control = RunCommand(
      RunArgv(dir() / "control.journal", true, work(), {"/usr/bin/touch", work("control")}, policy),
      {.cwd = work()}, 120s);
  ASSERT_EQ(control.exit_code, 0) << control.Describe();
  ASSERT_TRUE(Exists(work("control")));

  ASSERT_EQ(chmod(policy.c_str(), 0), 0) << strerror(errno);
  ASSERT_TRUE(UnreadableWithoutDacOverride(policy));
  const std::string journal = dir() / "step.journal";
  CommandResult r = RunCommand(
      Cat(kWithoutDacOverride,
          RunArgv(journal, true, work(), {"/usr/bin/touch", work("ran")}, policy)),
      {.cwd = work()}, 120s);
  EXPECT_EQ(r.exit_code, kUsage) << r.Describe();
  EXPECT_NE(r.err.find("invalid policy: " + policy + ": cannot open policy file: Permission denied"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(Exists(work("ran"))) << "the step ran under a policy stepseal could not read";
  EXPECT_FALSE(Exists(journal)) << "a journal was started for a step that never ran";
}

// Unreadable keys for attest and verify, an unreadable policy for verify --require-policy, an
// unreadable journal for show: each its documented exit code and a message naming the file.
// Each is first shown to work when readable, under the same reduced privileges.
TEST_F(FaultTest, UnreadableKeysPolicyAndJournal) {
  ASSERT_TRUE(Exists(kSetpriv)) << "setpriv (util-linux) is needed";
  for (const char* tool : {"/usr/bin/umoci", "/bin/busybox"})
    if (!Exists(tool)) {
      if (PrivilegeRequired()) FAIL() << tool << " is needed (tools/install-deps)";
      GTEST_SKIP() << tool << " is missing (tools/install-deps)";
    }
  auto stepseal = [&](const std::vector<std::string>& args) {
    return RunCommand(Cat(Cat(kWithoutDacOverride, {STEPSEAL_BIN}), args), {.cwd = dir().path()},
                      120s);
  };
  const std::string layout = dir() / "img", key = dir() / "signing.key",
                    pub = dir() / "signing.pub", policy = dir() / "policy.json";
  ASSERT_NO_FATAL_FAILURE(BuildBusyboxLayout(dir(), layout, "v1"));
  CommandResult k = stepseal({"keygen", "--out", dir() / "signing"});
  ASSERT_EQ(k.exit_code, 0) << k.Describe();
  TracedRun step = Trace({"/bin/true"});
  ASSERT_TRUE(CleanRun(step));
  fs::copy_file(Source("tools/bench-policy.json"), policy);

  // readable: attest and verify work
  CommandResult a = stepseal({"attest", "--key", key, "--image", layout + ":v1", "--out",
                              dir() / "att", "--attach", "none", step.journal});
  ASSERT_EQ(a.exit_code, 0) << a.Describe();
  const std::string envelope = dir() / "att/step.runtime-trace.intoto.json";
  ASSERT_TRUE(Exists(envelope));
  const std::vector<std::string> verify = {"verify", "--pub", pub, "--image", layout + ":v1",
                                           "--trace", step.journal, envelope};
  CommandResult v = stepseal(verify);
  ASSERT_EQ(v.exit_code, 0) << v.Describe();

  // the private key
  ASSERT_EQ(chmod(key.c_str(), 0), 0) << strerror(errno);
  ASSERT_TRUE(UnreadableWithoutDacOverride(key));
  CommandResult a2 = stepseal({"attest", "--key", key, "--image", layout + ":v1", "--out",
                               dir() / "att2", "--attach", "none", step.journal});
  EXPECT_EQ(a2.exit_code, kInputUnreadable) << a2.Describe();
  EXPECT_NE(a2.err.find(key), std::string::npos) << a2.err;
  EXPECT_NE(a2.err.find("Permission denied"), std::string::npos) << a2.err;
  EXPECT_FALSE(Exists(dir() / "att2/step.runtime-trace.intoto.json"));

  // the public key
  ASSERT_EQ(chmod(pub.c_str(), 0), 0) << strerror(errno);
  ASSERT_TRUE(UnreadableWithoutDacOverride(pub));
  CommandResult v2 = stepseal(verify);
  EXPECT_EQ(v2.exit_code, kInputUnreadable) << v2.Describe();
  EXPECT_NE(v2.err.find(pub), std::string::npos) << v2.err;
  EXPECT_NE(v2.err.find("Permission denied"), std::string::npos) << v2.err;
  EXPECT_EQ(v2.out.find("OK"), std::string::npos) << "a verdict without a key: " << v2.out;
  ASSERT_EQ(chmod(pub.c_str(), 0644), 0) << strerror(errno);

  // the policy of verify --require-policy: an invalid policy, 125
  ASSERT_EQ(chmod(policy.c_str(), 0), 0) << strerror(errno);
  ASSERT_TRUE(UnreadableWithoutDacOverride(policy));
  CommandResult v3 = stepseal(Cat(verify, {"--require-policy", policy}));
  EXPECT_EQ(v3.exit_code, kUsage) << v3.Describe();
  EXPECT_NE(v3.err.find("invalid policy: " + policy + ": cannot open policy file: Permission denied"),
            std::string::npos)
      << v3.err;

  // the journal, for show
  ASSERT_EQ(chmod(step.journal.c_str(), 0), 0) << strerror(errno);
  ASSERT_TRUE(UnreadableWithoutDacOverride(step.journal));
  CommandResult s = stepseal({"show", step.journal});
  EXPECT_EQ(s.exit_code, kInputUnreadable) << s.Describe();
  EXPECT_NE(s.err.find(step.journal), std::string::npos) << s.err;
  EXPECT_NE(s.err.find("Permission denied"), std::string::npos) << s.err;
}

}  // namespace
}  // namespace e2e
