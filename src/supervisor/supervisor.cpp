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
#include <mutex>

#include "capture/bpf_tracer.h"
#include "capture/decoder.h"
#include "util/exit_codes.h"
#include "digest/digest_plan.h"
#include "digest/digest_service.h"
#include "digest/file_hash.h"
#include "digest/preimage.h"
#include "harden/cgroup.h"
#include "journal/journal.h"
#include "policy/verdict.h"
#include "supervisor/hardened.h"
#include "supervisor/spawner.h"

namespace stepseal {

namespace {

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};

int64_t clock_ns(clockid_t c) {
  timespec ts{};
  clock_gettime(c, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

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

StepOutcome run_step(const RunOptions& opts) {
  std::unique_ptr<journal::Writer> jw;
  try {
    jw = std::make_unique<journal::Writer>(opts.trace_path);
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return exit_code::kJournalWrite;
  }

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
  sigset_t fwd;
  sigemptyset(&fwd);
  for (int s : kForwarded) sigaddset(&fwd, s);
  int64_t t0_real = clock_ns(CLOCK_REALTIME);
  int64_t t0_mono = clock_ns(CLOCK_MONOTONIC);

  // The journal has one writer at a time: the ring consumer (this thread), the digest workers
  // and the pre-image monitor all append under jmu.
  std::mutex jmu;
  std::string sink_error;
  DigestService digests(2, [&](const nlohmann::json& rec) {
    std::lock_guard lk(jmu);
    try {
      jw->append_json(journal::RecordType::DIGEST, rec);
    } catch (const std::exception& e) {
      sink_error = e.what();
    }
  });
  DigestPlan plan(&digests, t0_real - t0_mono);
  // The binary that makes this record, for attestations' builder identity: hashed while the step
  // runs (it is tens of MB with debug info), written with the step's end.
  auto self_sha256 = std::async(std::launch::async, [] {
    return hash_path(AT_FDCWD, "/proc/self/exe", true, std::nullopt).sha256;
  });

  uint64_t decode_errors = 0;
  uint64_t violations = 0;
  policy::JudgeState judge;  // the live judge's memory (learned addresses)
  // what the spawner reports (read_status below); cmd_status stays -1 while the command runs
  int exec_errno = 0, cmd_status = -1;
  bool filter_failed = false, quiesced = false;
  pid_t fail_fast_target = 0;
  StepCgroup* fail_fast_cgroup = nullptr;
  bool fail_fast_fired = false;
  auto sink = [&](const void* data, size_t len) -> int {
    DecodeError err;
    auto ev = decode_event(data, len, &err);
    if (!ev) {
      decode_errors++;
      spdlog::warn("undecodable kernel record ({} bytes): {}", len, err.what);
      return 0;
    }
    {
      std::lock_guard lk(jmu);
      try {
        jw->append_event(*ev);
      } catch (const std::exception& e) {
        sink_error = e.what();
        return -1;
      }
    }
    if (opts.digests) plan.on_event(*ev);
    if (opts.policy)
      if (auto v = policy::judge_event(*opts.policy, opts.workspace, *ev, &judge)) {
        violations++;
        spdlog::warn("policy: {} [{}] pid {}: {}", v->verdict, v->rule, v->pid, v->detail);
        // (once the command has exited, the spawner is ending the rest anyway)
        if (opts.fail_fast && fail_fast_target > 0 && !fail_fast_fired && cmd_status < 0) {
          fail_fast_fired = true;
          spdlog::error("--fail-fast: stopping the step at its first violation");
          // everything in the step's cgroup but its init, which then ends the rest and keeps
          // the namespace for the final digests
          if (fail_fast_cgroup) fail_fast_cgroup->kill_all_but(fail_fast_target);
          else kill(fail_fast_target, SIGKILL);
        }
      }
    return 0;
  };

  const bool hardened = opts.policy.has_value();
  std::optional<HardenedStep> hs;  // hardened mode's kernel objects and plan (hardened.h)
  if (hardened) hs.emplace(opts);
  std::unique_ptr<BpfTracer> tracer;
  try {
    tracer = std::make_unique<BpfTracer>(opts.ring_bytes, sink,
                                         hs ? hs->denied_calls() : std::vector<int>{},
                                         hs && hs->exec_allowlist());
    if (hs) tracer->set_exec_rules(hs->exec_deny(), hs->exec_allow());
  } catch (const AttachError& e) {
    spdlog::error("tracing could not be attached: {}", e.what());
    jw.reset();
    unlink(opts.trace_path.c_str());
    return exit_code::kAttachFailed;
  }

  if (hs) {
    try {
      hs->setup(*tracer);
      fail_fast_cgroup = &hs->cgroup();
    } catch (const std::exception& e) {
      spdlog::error("hardened mode could not be set up: {}", e.what());
      jw.reset();
      unlink(opts.trace_path.c_str());
      return exit_code::kAttachFailed;
    }
  }

  struct utsname un{};
  uname(&un);
  char cwd[PATH_MAX] = {};
  if (hardened)
    snprintf(cwd, sizeof cwd, "%s", opts.workspace.c_str());
  else if (!getcwd(cwd, sizeof cwd))
    cwd[0] = 0;

  Fd sfd(signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK));

  auto t_obs = std::chrono::steady_clock::now();
  // (not from "/": that would be a walk of the system, not of a working tree)
  size_t observed =
      opts.digests && std::string(cwd) != "/" ? observe_timestamps(cwd, 200000) : 0;
  spdlog::debug("observed the timestamps of {} files under {} in {} ms", observed, cwd,
                std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - t_obs)
                    .count());

  int go[2], st[2], fdsock[2];
  if (pipe2(go, O_CLOEXEC) < 0 || pipe2(st, O_CLOEXEC) < 0 ||
      socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fdsock) < 0) {
    spdlog::error("pipe: {}", strerror(errno));
    return exit_code::kInternal;
  }
  Fd go_w(go[1]), st_r(st[0]), fd_r(fdsock[0]);
  // Threads cannot be created once the pid namespace is unshared: make the monitor's now.
  auto preimages = std::make_unique<PreimageMonitor>(&digests);
  if (unshare(CLONE_NEWPID) < 0) {
    spdlog::error("cannot create a pid namespace for the step: {}", strerror(errno));
    return exit_code::kInternal;
  }
  Fd self(static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0)));
  if (self.get() < 0) {
    spdlog::error("pidfd_open: {}", strerror(errno));
    return exit_code::kInternal;
  }
  pid_t spawner = fork();
  if (spawner < 0) {
    spdlog::error("fork: {}", strerror(errno));
    return exit_code::kInternal;
  }
  if (spawner == 0) {
    close(go[1]);
    close(st[0]);
    close(fdsock[0]);
    spawner_main(opts.argv, {go[0], st[1], fdsock[1], self.get()}, opts.digests,
                 hs ? &hs->plan() : nullptr, blocked, orig);
  }
  close(go[0]);
  close(st[1]);
  close(fdsock[1]);

  fail_fast_target = spawner;
  try {
    if (hs) hs->adopt(spawner, *tracer);  // no command exists yet: failing here runs nothing
  } catch (const std::exception& e) {
    spdlog::error("hardened mode could not be set up: {}", e.what());
    kill(spawner, SIGKILL);
    waitpid(spawner, nullptr, 0);
    jw.reset();
    unlink(opts.trace_path.c_str());
    return exit_code::kAttachFailed;
  }
  try {
    tracer->track_spawner(static_cast<uint32_t>(spawner));
    jw->append_json(journal::RecordType::HEADER,
                    {{"format", "stepseal-journal"},
                     {"version", 1},
                     {"stepseal_version", STEPSEAL_VERSION},
                     {"digests", opts.digests},
                     {"host", hostname()},
                     {"kernel", std::string(un.release) + " " + un.version},
                     {"boot_id", read_line("/proc/sys/kernel/random/boot_id")},
                     {"realtime_minus_monotonic_ns", t0_real - t0_mono},
                     {"ring_bytes", opts.ring_bytes}});
    nlohmann::json start = {{"argv", opts.argv},
                            {"cwd", cwd},
                            {"started", rfc3339(t0_real)},
                            {"spawner_pid", spawner},
                            {"uid", getuid()},
                            {"mode", hardened ? "hardened" : "observe"}};
    if (hs) start.update(hs->start_fields());
    jw->append_json(journal::RecordType::STEP_START, start);
    jw->flush();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    kill(spawner, SIGKILL);
    waitpid(spawner, nullptr, 0);
    return exit_code::kJournalWrite;
  }
  // Tracing is attached and the spawner registered: from here on nothing it starts is unseen.
  char g = 'g';
  write_all(go_w.get(), &g, 1);
  go_w.reset();
  if (hardened) {
    // The spawner has built the sandbox when it sends its root: from now on, absolute paths are
    // digested in the step's mount namespace. Nothing arrives if the sandbox failed.
    int root = recv_fd(fd_r.get());
    if (root >= 0) digests.set_root(root);
  }

  Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, spawner, 0)));
  Fd ep(epoll_create1(EPOLL_CLOEXEC));
  auto watch = [&](int fd, uint64_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    epoll_ctl(ep.get(), EPOLL_CTL_ADD, fd, &ev);
  };
  watch(tracer->epoll_fd(), 0);
  watch(sfd.get(), 1);
  watch(pidfd.get(), 2);
  watch(fd_r.get(), 3);
  if (hardened) watch(st_r.get(), 4);

  // The spawner's status messages (spawner.h). In hardened mode they are read as they come:
  // 'Q' ends the loop while the namespace still holds the step's mounts.
  auto read_status = [&]() -> bool {
    StatusMsg msg{};
    if (read(st_r.get(), &msg, sizeof msg) != sizeof msg) return false;
    if (msg.type == 'E') exec_errno = msg.value;
    if (msg.type == 'S') cmd_status = msg.value;
    if (msg.type == 'Q') quiesced = true;
    if (msg.type == 'H') {
      std::string what(static_cast<size_t>(std::max(0, msg.value)), '\0');
      ssize_t n = read(st_r.get(), what.data(), what.size());
      what.resize(n > 0 ? static_cast<size_t>(n) : 0);
      spdlog::error("hardened mode: the sandbox could not be set up: {}", what);
      filter_failed = true;
    }
    if (msg.type == 'F') {
      spdlog::error("cannot install the seccomp filter that captures pre-images: {}",
                    strerror(msg.value));
      filter_failed = true;
    }
    return true;
  };

  bool spawner_done = false;
  bool failed = false;
  auto last_progress = std::chrono::steady_clock::now();
  while (!spawner_done) {
    epoll_event evs[4];
    int n = epoll_wait(ep.get(), evs, 4, 25);
    if (tracer->consume() < 0) {
      std::lock_guard lk(jmu);
      if (!sink_error.empty()) {
        failed = true;
        break;
      }
    }
    for (int i = 0; i < n; i++) {
      if (evs[i].data.u64 == 1) {
        signalfd_siginfo si;
        while (read(sfd.get(), &si, sizeof si) == sizeof si) {
          // A terminal's ^C or ^\ (si_code SI_KERNEL) already reached the command: it shares
          // our process group. Only signals sent to stepseal itself are passed on.
          // In hardened mode the command has no terminal of its own (setsid): a ^C reaches
          // only stepseal, and is passed on like any other.
          if (si.ssi_code == SI_KERNEL && !hardened) continue;
          spdlog::debug("forwarding signal {} to the step", si.ssi_signo);
          kill(spawner, static_cast<int>(si.ssi_signo));
        }
      } else if (evs[i].data.u64 == 3) {
        int nfd = recv_fd(fd_r.get());
        if (nfd >= 0) preimages->attach(nfd);
        epoll_ctl(ep.get(), EPOLL_CTL_DEL, fd_r.get(), nullptr);
      } else if (evs[i].data.u64 == 2) {
        spawner_done = true;
      } else if (evs[i].data.u64 == 4) {
        if (!read_status()) epoll_ctl(ep.get(), EPOLL_CTL_DEL, st_r.get(), nullptr);
        if (quiesced) spawner_done = true;
      }
    }
    try {
      std::lock_guard lk(jmu);
      jw->flush();
    } catch (const std::exception& e) {
      sink_error = e.what();
      failed = true;
      break;
    }
    {
      std::lock_guard lk(jmu);
      if (!sink_error.empty()) {
        failed = true;
        break;
      }
    }
    auto now = std::chrono::steady_clock::now();
    if (now - last_progress > std::chrono::seconds(10)) {
      spdlog::info("tracing: {} events recorded so far", jw->events());
      last_progress = now;
    }
  }
  if (failed) {
    spdlog::error("journal write failed, stopping the step: {}", sink_error);
    kill(spawner, SIGKILL);
    waitpid(spawner, nullptr, 0);
    return exit_code::kJournalWrite;
  }
  int sstatus = 0;
  if (!quiesced) {
    waitpid(spawner, &sstatus, 0);
  }
  // Every process of the namespace is gone now; everything they did is already in the ring.
  while (tracer->consume() > 0) {
  }
  // Every process of the step is gone: no call waits on the filter, and no file of the step
  // changes any more. Now the final content of everything it changed.
  uint64_t notifications = preimages->notifications();
  preimages.reset();
  // hardened: if the namespace died before it was quiesced (a killed spawner), its private
  // mounts are gone, and their files can no longer be digested (never the host's in their place)
  if (hardened && !quiesced) digests.root_gone(opts.workspace);
  spdlog::debug("hashing the final content of {} changed files", plan.changed().size());
  plan.finish();
  if (quiesced) {  // final digests taken: the spawner may end the namespace now
    char c = 'r';
    send(fd_r.get(), &c, 1, MSG_NOSIGNAL);
    waitpid(spawner, &sstatus, 0);
  }
  if (!sink_error.empty()) {
    spdlog::error("journal write failed: {}", sink_error);
    return exit_code::kJournalWrite;
  }

  while (read_status()) {
  }
  int rc;
  if (filter_failed) {
    rc = exit_code::kInternal;
  } else if (exec_errno) {
    spdlog::error("cannot execute {}: {}", opts.argv[0], strerror(exec_errno));
    rc = exec_errno == ENOENT ? exit_code::kNotFound : exit_code::kCannotExecute;
  } else if (cmd_status < 0 && fail_fast_fired) {
    cmd_status = SIGKILL;  // a wait status: killed by SIGKILL, with the whole namespace
    rc = 128 + SIGKILL;
  } else if (cmd_status < 0) {
    spdlog::error("the step's spawner ended without reporting the command's status");
    rc = exit_code::kInternal;
  } else if (WIFEXITED(cmd_status)) {
    rc = WEXITSTATUS(cmd_status);
  } else {
    rc = 128 + WTERMSIG(cmd_status);
  }

  int64_t t1_real = clock_ns(CLOCK_REALTIME);
  const DigestStats ds = digests.stats();  // the workers are idle: one snapshot
  nlohmann::json counters = {
      {"kernel_events", tracer->counter(SS_C_EVENTS)},
      {"lost_ringbuf", tracer->counter(SS_C_LOST_RINGBUF)},
      {"lost_nested", tracer->counter(SS_C_LOST_NESTED)},
      {"lost_inflight", tracer->counter(SS_C_LOST_INFLIGHT)},
      {"lost_track", tracer->counter(SS_C_LOST_TRACK)},
      {"lost_args", tracer->counter(SS_C_LOST_ARGS)},
      {"truncated_blobs", tracer->counter(SS_C_TRUNC_BLOB)},
      {"read_failures", tracer->counter(SS_C_READ_FAIL)},
      {"lost_decode", decode_errors},
      // every event or notification that called for a digest, and how many were answered
      // without reading the file again (a repeat of a version, or the identity cache)
      {"digest_requests", ds.requests + plan.repeats()},
      {"digest_cache_hits", plan.repeats() + ds.cache_hits},
      {"unique_files_hashed", ds.unique_files_hashed},
      {"bytes_hashed", ds.bytes_hashed},
      {"seccomp_notifications", notifications},
      {"ring_bytes", opts.ring_bytes},
  };
  uint64_t lost = journal::lost_events(counters);
  journal::Sha256 head;
  std::lock_guard final_lk(jmu);
  try {
    jw->append_json(journal::RecordType::STEP_END,
                    {{"exit_code", rc},
                     {"stepseal_sha256", self_sha256.get()},
                     {"wait_status", cmd_status},
                     {"exec_errno", exec_errno},
                     {"stopped_by", fail_fast_fired ? nlohmann::json("fail-fast") : nlohmann::json(nullptr)},
                     {"finished", rfc3339(t1_real)},
                     {"duration_s", static_cast<double>(t1_real - t0_real) / 1e9},
                     {"counters", counters}});
    head = jw->finish({{"lost_events", lost}});
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return exit_code::kJournalWrite;
  }
  spdlog::info("{} events, {} lost; journal {} (sha256 {})", jw->events(), lost, opts.trace_path,
               journal::to_hex(head));
  if (lost) spdlog::warn("{} events were lost: the record is incomplete", lost);
  return {rc, hs && !filter_failed};
}

}  // namespace stepseal
