#include "supervisor/supervisor.h"
#include "util/fd.h"
#include "util/file_io.h"
#include "util/time.h"
#include "journal/counters.h"

#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <ftw.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <future>
#include <map>
#include <memory>
#include <optional>

#include "capture/bpf_tracer.h"
#include "util/exit_codes.h"
#include "digest/digest_plan.h"
#include "digest/digest_service.h"
#include "digest/file_hash.h"
#include "digest/preimage.h"
#include "harden/cgroup.h"
#include "journal/journal.h"
#include "supervisor/step_recorder.h"
#include "supervisor/tracer_host.h"
#include "policy/verdict.h"
#include "supervisor/hardened.h"
#include "supervisor/spawner.h"

namespace stepseal {

namespace {

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

std::string hostname() {
  char h[HOST_NAME_MAX + 1] = {};
  gethostname(h, sizeof h - 1);
  return h;
}

// A small kernel file's first line ("" if unreadable).
std::string read_line(const char* path) {
  std::string s = util::try_read_file(path, 4096).value_or("");
  if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  return s;
}

// Stats every regular file under `dir` (the step's working tree, at most `limit` entries).
// On filesystems with multigrain timestamps a stat marks the file's ctime as seen, and the kernel
// then gives any later change a strictly later ctime: a read of a file that was checked out a
// moment ago becomes provable (see DigestPlan). Returns the number of files stat'ed.
size_t observe_timestamps(const std::string& dir, size_t limit) {
  static thread_local size_t seen, cap;
  seen = 0;
  cap = limit;
  nftw(
      dir.c_str(),
      [](const char*, const struct stat*, int type, struct FTW*) -> int {
        // nftw has already stat'ed the entry: that is all this needs
        return type == FTW_F && ++seen >= cap ? 1 : 0;
      },
      32, FTW_PHYS | FTW_MOUNT);
  return seen;
}

using Fd = util::UniqueFd;

}  // namespace

// One step under the probes, in phases:
//
//   attach   the journal, hardened mode's kernel objects, the probes (a TracerHost of one step)
//   spawn    the spawner in a fresh pid namespace, registered before it may fork the command;
//            HEADER and STEP_START
//   pump     the ring into the step's LiveSource and through its StepRecorder, signals passed
//            on, the spawner's status read, until the step ends
//   drain    what the ring still holds, the pre-image monitor, the final content digests
//   status   the exit status (the command's, or stepseal's own)
//   finish   STEP_END with the counters charged to the step, and the trailer
//
// A phase that fails returns the exit status to give; the later ones do not run.
class StepRun {
 public:
  explicit StepRun(const RunOptions& opts) : opts_(opts), hardened_(opts.policy.has_value()) {}
  StepOutcome run();

 private:
  std::optional<int> attach();
  std::optional<int> spawn(const sigset_t& blocked, const sigset_t& orig);
  std::optional<int> pump();
  void drain();
  int status();
  std::optional<int> finish(int rc);
  void on_violation(const policy::Violation& v);
  bool read_status();
  int abort_step(int rc);  // kills the spawner, waits for it

  const RunOptions& opts_;
  const bool hardened_;
  int64_t t0_real_ = 0, t0_mono_ = 0;
  std::unique_ptr<StepRecorder> rec_;
  std::optional<HardenedStep> hs_;  // hardened mode's kernel objects and plan (hardened.h)
  std::unique_ptr<TracerHost> host_;
  uint16_t step_ = 0;
  std::future<std::string> self_sha256_;
  std::unique_ptr<PreimageMonitor> preimages_;
  std::string cwd_;
  Fd sfd_, go_w_, st_r_, fd_r_, pidfd_, ep_;
  pid_t spawner_ = -1;
  // what the spawner reports (read_status); cmd_status_ stays -1 while the command runs
  int exec_errno_ = 0, cmd_status_ = -1;
  bool filter_failed_ = false, quiesced_ = false;
  bool fail_fast_fired_ = false;
  uint64_t notifications_ = 0;  // of the pre-image monitor
};

StepOutcome run_step(const RunOptions& opts) { return StepRun(opts).run(); }

StepOutcome StepRun::run() {
  // Forwarded signals (and SIGCHLD) are blocked here, before any thread exists (threads inherit
  // the mask), and read from a signalfd; the spawner inherits the mask and waits for them.
  sigset_t blocked, orig;
  sigemptyset(&blocked);
  for (int s : kForwarded) sigaddset(&blocked, s);
  sigaddset(&blocked, SIGCHLD);
  sigprocmask(SIG_BLOCK, &blocked, &orig);
  struct MaskGuard {
    sigset_t* o;
    ~MaskGuard() { sigprocmask(SIG_SETMASK, o, nullptr); }
  } mask_guard{&orig};
  // The step shares stepseal's terminal: if it makes itself the foreground process group,
  // stepseal's own last log lines must not stop it (SIGTTOU). The command gets the defaults back.
  struct sigaction ign{}, old_ttou{}, old_ttin{};
  ign.sa_handler = SIG_IGN;
  sigaction(SIGTTOU, &ign, &old_ttou);
  sigaction(SIGTTIN, &ign, &old_ttin);
  struct TtyGuard {
    struct sigaction *ou, *in;
    ~TtyGuard() {
      sigaction(SIGTTOU, ou, nullptr);
      sigaction(SIGTTIN, in, nullptr);
    }
  } tty_guard{&old_ttou, &old_ttin};

  if (auto rc = attach()) return *rc;
  if (auto rc = spawn(blocked, orig)) return *rc;
  if (auto rc = pump()) return *rc;
  drain();
  if (!rec_->error().empty()) {
    spdlog::error("journal write failed: {}", rec_->error());
    return exit_code::kJournalWrite;
  }
  int rc = status();
  if (auto err = finish(rc)) return *err;
  return {rc, hs_ && !filter_failed_};
}

std::optional<int> StepRun::attach() {
  t0_real_ = clock_ns(CLOCK_REALTIME);
  t0_mono_ = clock_ns(CLOCK_MONOTONIC);
  try {
    rec_ = std::make_unique<StepRecorder>(RecorderOptions{
        opts_.trace_path, opts_.digests, opts_.policy ? &*opts_.policy : nullptr,
        opts_.workspace, t0_real_ - t0_mono_});
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return exit_code::kJournalWrite;
  }
  // The binary that makes this record, for attestations' builder identity: hashed while the step
  // runs (it is tens of MB with debug info), written with the step's end.
  self_sha256_ = std::async(std::launch::async, [] {
    return hash_path(AT_FDCWD, "/proc/self/exe", true, std::nullopt).sha256;
  });
  if (hardened_) hs_.emplace(opts_);
  try {
    host_ = std::make_unique<TracerHost>(TracerOptions{
        opts_.ring_bytes, hs_ ? hs_->denied_calls() : std::vector<int>{},
        hs_ && hs_->exec_allowlist()});
    step_ = host_->open_step(/*single=*/true);
    if (hs_) host_->tracer().set_exec_rules(hs_->exec_deny(), hs_->exec_allow());
  } catch (const AttachError& e) {
    spdlog::error("tracing could not be attached: {}", e.what());
    rec_->discard();
    return exit_code::kAttachFailed;
  }
  if (hs_) {
    try {
      hs_->setup(host_->tracer());
    } catch (const std::exception& e) {
      spdlog::error("hardened mode could not be set up: {}", e.what());
      rec_->discard();
      return exit_code::kAttachFailed;
    }
  }
  return std::nullopt;
}

std::optional<int> StepRun::spawn(const sigset_t& blocked, const sigset_t& orig) {
  struct utsname un{};
  uname(&un);
  char cwd[PATH_MAX] = {};
  if (hardened_)
    snprintf(cwd, sizeof cwd, "%s", opts_.workspace.c_str());
  else if (!getcwd(cwd, sizeof cwd))
    cwd[0] = 0;
  cwd_ = cwd;

  sigset_t fwd;
  sigemptyset(&fwd);
  for (int s : kForwarded) sigaddset(&fwd, s);
  sfd_ = Fd(signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK));

  auto t_obs = std::chrono::steady_clock::now();
  // (not from "/": that would be a walk of the system, not of a working tree)
  size_t observed = opts_.digests && cwd_ != "/" ? observe_timestamps(cwd_, 200000) : 0;
  spdlog::debug("observed the timestamps of {} files under {} in {} ms", observed, cwd_,
                std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - t_obs)
                    .count());

  int go[2], st[2], fdsock[2];
  if (pipe2(go, O_CLOEXEC) < 0 || pipe2(st, O_CLOEXEC) < 0 ||
      socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fdsock) < 0) {
    spdlog::error("pipe: {}", strerror(errno));
    return exit_code::kInternal;
  }
  go_w_ = Fd(go[1]);
  st_r_ = Fd(st[0]);
  fd_r_ = Fd(fdsock[0]);
  // Threads cannot be created once the pid namespace is unshared: make the monitor's now.
  preimages_ = std::make_unique<PreimageMonitor>(&rec_->digests());
  if (unshare(CLONE_NEWPID) < 0) {
    spdlog::error("cannot create a pid namespace for the step: {}", strerror(errno));
    return exit_code::kInternal;
  }
  Fd self(static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0)));
  if (self.get() < 0) {
    spdlog::error("pidfd_open: {}", strerror(errno));
    return exit_code::kInternal;
  }
  spawner_ = fork();
  if (spawner_ < 0) {
    spdlog::error("fork: {}", strerror(errno));
    return exit_code::kInternal;
  }
  if (spawner_ == 0) {
    close(go[1]);
    close(st[0]);
    close(fdsock[0]);
    spawner_main(opts_.argv, {go[0], st[1], fdsock[1], self.get()}, opts_.digests,
                 hs_ ? &hs_->plan() : nullptr, blocked, orig);
  }
  close(go[0]);
  close(st[1]);
  close(fdsock[1]);

  try {
    if (hs_) hs_->adopt(spawner_, host_->tracer());  // no command exists yet: failing runs nothing
  } catch (const std::exception& e) {
    spdlog::error("hardened mode could not be set up: {}", e.what());
    abort_step(0);
    rec_->discard();
    return exit_code::kAttachFailed;
  }
  try {
    host_->tracer().track_spawner(static_cast<uint32_t>(spawner_), step_);
    rec_->append_json(journal::RecordType::HEADER,
                      {{"format", "stepseal-journal"},
                       {"version", 1},
                       {"stepseal_version", STEPSEAL_VERSION},
                       {"digests", opts_.digests},
                       {"host", hostname()},
                       {"kernel", std::string(un.release) + " " + un.version},
                       {"boot_id", read_line("/proc/sys/kernel/random/boot_id")},
                       {"realtime_minus_monotonic_ns", t0_real_ - t0_mono_},
                       {"ring_bytes", opts_.ring_bytes}});
    nlohmann::json start = {{"argv", opts_.argv},
                            {"cwd", cwd_},
                            {"started", rfc3339(t0_real_)},
                            {"spawner_pid", spawner_},
                            {"uid", getuid()},
                            {"mode", hardened_ ? "hardened" : "observe"}};
    if (hs_) start.update(hs_->start_fields());
    rec_->append_json(journal::RecordType::STEP_START, start);
    rec_->flush();
    if (rec_->failed()) throw std::runtime_error(rec_->error());
  } catch (const AttachError& e) {
    spdlog::error("tracing could not follow the step: {}", e.what());
    rec_->discard();
    return abort_step(exit_code::kAttachFailed);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return abort_step(exit_code::kJournalWrite);
  }
  // Tracing is attached and the spawner registered: from here on nothing it starts is unseen.
  char g = 'g';
  write_all(go_w_.get(), &g, 1);
  go_w_.reset();
  if (hardened_) {
    // The spawner has built the sandbox when it sends its root: from now on, absolute paths are
    // digested in the step's mount namespace. Nothing arrives if the sandbox failed.
    int root = recv_fd(fd_r_.get());
    if (root >= 0) rec_->digests().set_root(root);
  }
  return std::nullopt;
}

int StepRun::abort_step(int rc) {
  kill(spawner_, SIGKILL);
  waitpid(spawner_, nullptr, 0);
  return rc;
}

// The spawner's status messages (spawner.h). In hardened mode they are read as they come:
// 'Q' ends the pump while the namespace still holds the step's mounts.
bool StepRun::read_status() {
  StatusMsg msg{};
  if (read(st_r_.get(), &msg, sizeof msg) != sizeof msg) return false;
  if (msg.type == 'E') exec_errno_ = msg.value;
  if (msg.type == 'S') cmd_status_ = msg.value;
  if (msg.type == 'Q') quiesced_ = true;
  if (msg.type == 'H') {
    std::string what(static_cast<size_t>(std::max(0, msg.value)), '\0');
    ssize_t n = read(st_r_.get(), what.data(), what.size());
    what.resize(n > 0 ? static_cast<size_t>(n) : 0);
    spdlog::error("hardened mode: the sandbox could not be set up: {}", what);
    filter_failed_ = true;
  }
  if (msg.type == 'F') {
    spdlog::error("cannot install the seccomp filter that captures pre-images: {}",
                  strerror(msg.value));
    filter_failed_ = true;
  }
  return true;
}

void StepRun::on_violation(const policy::Violation& v) {
  spdlog::warn("policy: {} [{}] pid {}: {}", v.verdict, v.rule, v.pid, v.detail);
  // (once the command has exited, the spawner is ending the rest anyway)
  if (!opts_.fail_fast || fail_fast_fired_ || cmd_status_ >= 0) return;
  fail_fast_fired_ = true;
  spdlog::error("--fail-fast: stopping the step at its first violation");
  // everything in the step's cgroup but its init, which then ends the rest and keeps the
  // namespace for the final digests
  if (hs_) hs_->cgroup().kill_all_but(spawner_);
  else kill(spawner_, SIGKILL);
}

std::optional<int> StepRun::pump() {
  pidfd_ = Fd(static_cast<int>(syscall(SYS_pidfd_open, spawner_, 0)));
  ep_ = Fd(epoll_create1(EPOLL_CLOEXEC));
  auto watch = [&](int fd, uint64_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev);
  };
  enum : uint64_t { kRing, kSignal, kSpawnerGone, kFdSock, kStatus };
  watch(host_->tracer().epoll_fd(), kRing);
  watch(sfd_.get(), kSignal);
  watch(pidfd_.get(), kSpawnerGone);
  watch(fd_r_.get(), kFdSock);
  if (hardened_) watch(st_r_.get(), kStatus);

  LiveSource& source = host_->source(step_);
  // every violation is logged; the first one may stop the step (--fail-fast)
  auto consume = [&] {
    if (rec_->failed()) return 0;  // the journal is broken: the step is being stopped
    int n = host_->consume();
    while (auto r = source.next())
      if (auto v = rec_->consume(*r)) on_violation(*v);
    return n;
  };
  bool spawner_done = false;
  auto last_progress = std::chrono::steady_clock::now();
  while (!spawner_done) {
    epoll_event evs[4];
    int n = epoll_wait(ep_.get(), evs, 4, 25);
    consume();
    for (int i = 0; i < n; i++) {
      switch (evs[i].data.u64) {
        case kSignal: {
          signalfd_siginfo si;
          while (read(sfd_.get(), &si, sizeof si) == sizeof si) {
            // A terminal's ^C or ^\ (si_code SI_KERNEL) already reached the command: it shares
            // our process group. Only signals sent to stepseal itself are passed on.
            // In hardened mode the command has no terminal of its own (setsid): a ^C reaches
            // only stepseal, and is passed on like any other.
            if (si.ssi_code == SI_KERNEL && !hardened_) continue;
            spdlog::debug("forwarding signal {} to the step", si.ssi_signo);
            kill(spawner_, static_cast<int>(si.ssi_signo));
          }
          break;
        }
        case kFdSock: {
          int nfd = recv_fd(fd_r_.get());
          if (nfd >= 0) preimages_->attach(nfd);
          epoll_ctl(ep_.get(), EPOLL_CTL_DEL, fd_r_.get(), nullptr);
          break;
        }
        case kSpawnerGone: spawner_done = true; break;
        case kStatus:
          if (!read_status()) epoll_ctl(ep_.get(), EPOLL_CTL_DEL, st_r_.get(), nullptr);
          if (quiesced_) spawner_done = true;
          break;
        default: break;
      }
    }
    rec_->flush();
    if (rec_->failed()) {
      spdlog::error("journal write failed, stopping the step: {}", rec_->error());
      return abort_step(exit_code::kJournalWrite);
    }
    auto now = std::chrono::steady_clock::now();
    if (now - last_progress > std::chrono::seconds(10)) {
      spdlog::info("tracing: {} events recorded so far", rec_->events());
      last_progress = now;
    }
  }
  return std::nullopt;
}

void StepRun::drain() {
  int sstatus = 0;
  if (!quiesced_) waitpid(spawner_, &sstatus, 0);
  // Every process of the namespace is gone now; everything they did is already in the ring.
  LiveSource& source = host_->source(step_);
  do {
    while (auto r = source.next())
      if (auto v = rec_->consume(*r)) on_violation(*v);
  } while (host_->consume() > 0);
  while (auto r = source.next())
    if (auto v = rec_->consume(*r)) on_violation(*v);
  // Every process of the step is gone: no call waits on the filter, and no file of the step
  // changes any more. Now the final content of everything it changed.
  notifications_ = preimages_->notifications();
  preimages_.reset();
  // hardened: if the namespace died before it was quiesced (a killed spawner), its private
  // mounts are gone, and their files can no longer be digested (never the host's in their place)
  if (hardened_ && !quiesced_) rec_->digests().root_gone(opts_.workspace);
  spdlog::debug("hashing the final content of {} changed files", rec_->plan().changed().size());
  rec_->plan().finish();
  if (quiesced_) {  // final digests taken: the spawner may end the namespace now
    char c = 'r';
    send(fd_r_.get(), &c, 1, MSG_NOSIGNAL);
    waitpid(spawner_, &sstatus, 0);
  }
}

int StepRun::status() {
  while (read_status()) {
  }
  if (filter_failed_) return exit_code::kInternal;
  if (exec_errno_) {
    spdlog::error("cannot execute {}: {}", opts_.argv[0], strerror(exec_errno_));
    return exec_errno_ == ENOENT ? exit_code::kNotFound : exit_code::kCannotExecute;
  }
  if (cmd_status_ < 0 && fail_fast_fired_) {
    cmd_status_ = SIGKILL;  // a wait status: killed by SIGKILL, with the whole namespace
    return 128 + SIGKILL;
  }
  if (cmd_status_ < 0) {
    spdlog::error("the step's spawner ended without reporting the command's status");
    return exit_code::kInternal;
  }
  if (WIFEXITED(cmd_status_)) return WEXITSTATUS(cmd_status_);
  return 128 + WTERMSIG(cmd_status_);
}

std::optional<int> StepRun::finish(int rc) {
  int64_t t1_real = clock_ns(CLOCK_REALTIME);
  const DigestStats ds = rec_->digests().stats();  // the workers are idle: one snapshot
  const DigestPlan& plan = rec_->plan();
  nlohmann::json counters = host_->counters(step_);
  // every event or notification that called for a digest, and how many were answered without
  // reading the file again (a repeat of a version, or the identity cache)
  counters["digest_requests"] = ds.requests + plan.repeats();
  counters["digest_cache_hits"] = plan.repeats() + ds.cache_hits;
  counters["unique_files_hashed"] = ds.unique_files_hashed;
  counters["bytes_hashed"] = ds.bytes_hashed;
  counters["seccomp_notifications"] = notifications_;
  uint64_t lost = journal::lost_events(counters);
  journal::Sha256 head;
  try {
    head = rec_->finish(
        {{"exit_code", rc},
         {"stepseal_sha256", self_sha256_.get()},
         {"wait_status", cmd_status_},
         {"exec_errno", exec_errno_},
         {"stopped_by", fail_fast_fired_ ? nlohmann::json("fail-fast") : nlohmann::json(nullptr)},
         {"finished", rfc3339(t1_real)},
         {"duration_s", static_cast<double>(t1_real - t0_real_) / 1e9},
         {"counters", counters}},
        {{"lost_events", lost}});
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return exit_code::kJournalWrite;
  }
  host_->close_step(step_);
  spdlog::info("{} events, {} lost; journal {} (sha256 {})", rec_->events(), lost,
               opts_.trace_path, journal::to_hex(head));
  if (lost) spdlog::warn("{} events were lost: the record is incomplete", lost);
  return std::nullopt;
}

}  // namespace stepseal
