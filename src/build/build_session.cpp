#include "build/build_session.h"
#include "build/session.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "attest/oci.h"
#include "build/builder_args.h"
#include "build/image_record.h"
#include "build/step_output.h"
#include "distill/summary.h"
#include "replay/step_record.h"
#include "build/runtime_shim.h"
#include "journal/counters.h"
#include "supervisor/step_recorder.h"
#include "supervisor/tracer_host.h"
#include "digest/file_hash.h"
#include "syscalls/denylist.h"
#include "util/exit_codes.h"
#include "util/fd.h"
#include "util/file_io.h"
#include "util/subprocess.h"
#include "util/json.h"
#include "util/time.h"

namespace stepseal::build {

namespace detail {

namespace {
namespace fs = std::filesystem;

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
}  // namespace



void BuildSession::watch(int fd, uint64_t tag) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = tag;
  epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev);
}

std::optional<int> BuildSession::attach() {
  t0_real_ = clock_ns(CLOCK_REALTIME);
  t0_mono_ = clock_ns(CLOCK_MONOTONIC);
  try {  // the builder's arguments first: a refusal needs nothing else
    BuilderPlan early = plan_builder(o_.builder_argv, "/run/stepseal-build/stepseal-runtime");
    // a cached RUN is not executed, so never under the policy: its layer would carry a
    // sterile verdict it never earned
    if (o_.policy && !early.no_cache) {
      spdlog::error("a sterile build (--policy) needs the builder's --no-cache: a RUN taken "
                    "from the cache would not run under the policy");
      return exit_code::kUsage;
    }
  } catch (const BuilderArgsError& e) {
    spdlog::error("{}", e.what());
    return exit_code::kUsage;
  }
  // the shim: this binary under the shim's name, in a directory only root can use
  char tmpl[] = "/run/stepseal-build-XXXXXX";
  if (!mkdtemp(tmpl)) {
    spdlog::error("cannot create a directory under /run: {}", strerror(errno));
    return exit_code::kInternal;
  }
  shim_dir_ = tmpl;
  shim_path_ = shim_dir_ + "/" + kShimName;
  sock_path_ = shim_dir_ + "/shim.sock";
  // the shim is its own small program, installed beside this one; only a peer running that very
  // file (its inode) is answered on the socket
  char self[PATH_MAX] = {};
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  // a helper program installed beside stepseal, writable by its owner (root) only
  auto beside = [&](const char* name, struct stat* st) -> std::string {
    const std::string path =
        n > 0 ? (fs::path(std::string(self, static_cast<size_t>(n))).parent_path() / name).string() : "";
    if (path.empty() || stat(path.c_str(), st) < 0 || !S_ISREG(st->st_mode) ||
        (st->st_mode & 0022) || (st->st_uid != 0 && st->st_uid != geteuid())) {
      spdlog::error("{} is missing, or writable by others than its owner (root): it is built "
                    "with stepseal (tools/build) and must sit beside it", path);
      return "";
    }
    return path;
  };
  struct stat st{};
  const std::string shim_exe = beside(kShimName, &st);
  if (shim_exe.empty()) return exit_code::kInternal;
  shim_exe_ = st;
  if (o_.policy) {  // a sterile build: every RUN starts with stepseal-seal (sterile.h)
    struct stat seal{};
    const std::string installed = beside(kSealName, &seal);
    if (installed.empty()) return exit_code::kInternal;
    // a copy of its own, in the directory only root can use: what every RUN binds is what was
    // hashed here, whatever happens to the installed file meanwhile
    seal_exe_ = shim_dir_ + "/" + kSealName;
    std::error_code ec;
    fs::copy_file(installed, seal_exe_, ec);
    if (ec || chmod(seal_exe_.c_str(), 0555) < 0) {
      spdlog::error("cannot copy {} into {}: {}", installed, shim_dir_, ec ? ec.message() : strerror(errno));
      return exit_code::kInternal;
    }
    const HashOutcome h = hash_path(AT_FDCWD, seal_exe_, false, std::nullopt);
    if (h.status != DigestStatus::kExact) {
      spdlog::error("cannot hash {}: {}", seal_exe_, h.reason);
      return exit_code::kInternal;
    }
    seal_sha256_ = h.sha256;
    seal_installed_ = installed;
  }
  if (symlink(shim_exe.c_str(), shim_path_.c_str()) < 0) {
    spdlog::error("cannot install the runtime shim: {}", strerror(errno));
    return exit_code::kInternal;
  }
  try {
    plan_ = plan_builder(o_.builder_argv, shim_path_, shim_dir_ + "/iid");
  } catch (const BuilderArgsError& e) {
    spdlog::error("{}", e.what());
    return exit_code::kUsage;
  }
  // the record's directory: new, or empty
  std::error_code ec;
  if (fs::exists(o_.out_dir, ec) && !fs::is_empty(o_.out_dir, ec)) {
    spdlog::error("the build record directory {} is not empty: give a new one", o_.out_dir);
    return exit_code::kUsage;
  }
  fs::create_directories(fs::path(o_.out_dir) / "steps", ec);
  if (ec) {
    spdlog::error("cannot create {}: {}", o_.out_dir, ec.message());
    return exit_code::kJournalWrite;
  }
  runtime_ = util::find_in_path(plan_.user_runtime.empty() ? "runc" : plan_.user_runtime);
  if (runtime_.empty()) {
    spdlog::error("the OCI runtime '{}' was not found: install runc (Debian package runc)",
                  plan_.user_runtime.empty() ? "runc" : plan_.user_runtime);
    return exit_code::kInternal;
  }
  listen_ = Fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, sock_path_.c_str(), sock_path_.size());
  if (listen_.get() < 0 || bind(listen_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 ||
      chmod(sock_path_.c_str(), 0600) < 0 || ::listen(listen_.get(), 16) < 0) {
    spdlog::error("cannot listen on {}: {}", sock_path_, strerror(errno));
    return exit_code::kInternal;
  }
  try {
    // a sterile build: the probes record what the deny-list refused (hardened mode's tracer)
    host_ = std::make_unique<TracerHost>(TracerOptions{
        o_.ring_bytes, o_.policy ? syscalls::refusal_numbers() : std::vector<int>{}, false});
  } catch (const AttachError& e) {
    spdlog::error("tracing could not be attached: {}", e.what());
    return exit_code::kAttachFailed;
  }
  return std::nullopt;
}

std::optional<int> BuildSession::spawn(const sigset_t& orig) {
  const pid_t parent = getpid();
  // made before fork: the child of a multithreaded process may not allocate
  std::vector<std::string> env_add = {"STEPSEAL_SHIM_SOCKET=" + sock_path_,
                                      "STEPSEAL_REAL_RUNTIME=" + runtime_};
  std::vector<char*> v;
  for (auto& a : plan_.argv) v.push_back(const_cast<char*>(a.c_str()));
  v.push_back(nullptr);
  builder_ = fork();
  if (builder_ < 0) {
    spdlog::error("fork: {}", strerror(errno));
    return exit_code::kInternal;
  }
  if (builder_ == 0) {
    // if stepseal dies, the build stops: no RUN step may go on untraced
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(122);  // it died before the line above
    sigprocmask(SIG_SETMASK, &orig, nullptr);
    signal(SIGPIPE, SIG_DFL);  // stepseal ignores it; the builder gets the default back
    putenv(env_add[0].data());
    putenv(env_add[1].data());
    execvp(v[0], v.data());
    fprintf(stderr, "stepseal: cannot execute %s: %s\n", v[0], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  builder_pidfd_ = Fd(static_cast<int>(syscall(SYS_pidfd_open, builder_, 0)));
  std::string shown;
  for (const auto& a : plan_.argv) shown += (shown.empty() ? "" : " ") + a;
  spdlog::info("build: {}", shown);
  return std::nullopt;
}

void BuildSession::consume_ring() {
  host_->consume();
  for (auto& [tag, s] : steps_) {
    if (s->done) continue;
    while (auto r = host_->source(s->number).next()) {
      if (r->event && r->event->kind == Kind::EXIT && r->event->pid == s->root_pid)
        s->wait_status = r->event->ret;
      s->rec->consume(*r);
    }
    s->rec->flush();
    if (s->rec->failed() && !write_failed_) {
      spdlog::error("journal {} could not be written: {}", s->rec->path(), s->rec->error());
      write_failed_ = true;
    }
  }
}

int BuildSession::pump() {
  ep_ = Fd(epoll_create1(EPOLL_CLOEXEC));
  watch(host_->tracer().epoll_fd(), kRing);
  watch(listen_.get(), kListen);
  watch(sfd_.get(), kSignal);
  watch(builder_pidfd_.get(), kBuilder);
  bool builder_done = false;
  while (!builder_done) {
    epoll_event evs[8];
    int n = epoll_wait(ep_.get(), evs, 8, 25);
    consume_ring();
    for (int i = 0; i < n; i++) {
      uint64_t tag = evs[i].data.u64;
      if (tag == kListen) {
        // read when the request arrives, never waited for: a silent client stalls nothing
        for (int c; (c = accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0;) {
          watch(c, kConnBase + static_cast<uint64_t>(c));
          conns_.emplace(c, Fd(c));
        }
      } else if (tag >= kConnBase && tag < kStepBase) {
        int c = static_cast<int>(tag - kConnBase);
        auto it = conns_.find(c);
        if (it != conns_.end()) {
          epoll_ctl(ep_.get(), EPOLL_CTL_DEL, c, nullptr);
          int fd = it->second.release();
          conns_.erase(it);
          handle_connection(fd);
        }
      } else if (tag == kSignal) {
        signalfd_siginfo si;
        while (read(sfd_.get(), &si, sizeof si) == sizeof si) {
          if (si.ssi_code == SI_KERNEL) continue;  // a terminal's ^C reached the builder too
          kill(builder_, static_cast<int>(si.ssi_signo));
        }
      } else if (tag == kBuilder) {
        builder_done = true;
      } else if (tag >= kStepBase) {
        auto it = steps_.find(tag);
        if (it != steps_.end()) {
          epoll_ctl(ep_.get(), EPOLL_CTL_DEL, it->second->pidfd.get(), nullptr);
          finish_step(*it->second, "exit");
        }
      }
    }
  }
  int st = 0;
  waitpid(builder_, &st, 0);
  // containers the builder left behind are not traced any longer than the build
  for (auto& [tag, s] : steps_)
    if (!s->done) {
      spdlog::warn("step {}: the builder ended while its container ran: killing it", s->index);
      syscall(SYS_pidfd_send_signal, s->pidfd.get(), SIGKILL, nullptr, 0);
      pollfd p{s->pidfd.get(), POLLIN, 0};
      poll(&p, 1, 5000);
      finish_step(*s, "builder_exit");
    }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// Runs a helper command (the builder's push), its output on stderr; returns its exit status.

// The built image into an OCI layout, its digest from the layout's bytes, and the steps matched
// to its history. Returns an error message, or nullopt.
std::optional<std::string> BuildSession::export_image(json* manifest, json& steps) {
  std::string spec = o_.image_out;
  if (spec.rfind("oci:", 0) == 0) spec = spec.substr(4);
  std::string dir = spec, tag = "latest";
  if (auto colon = spec.rfind(':'); colon != std::string::npos && colon + 1 < spec.size() &&
                                    spec.find('/', colon) == std::string::npos) {
    dir = spec.substr(0, colon);
    tag = spec.substr(colon + 1);
  }
  auto iid = util::try_read_file(plan_.iidfile, 4096);
  if (!iid || iid->empty()) return "the builder wrote no image id to " + plan_.iidfile;
  std::string id = *iid;
  while (!id.empty() && isspace(static_cast<unsigned char>(id.back()))) id.pop_back();
  if (id.rfind("sha256:", 0) == 0) id = id.substr(7);
  if (id.size() != 64 || id.find_first_not_of("0123456789abcdef") != std::string::npos)
    return "the image id in " + plan_.iidfile + " is not a sha256 digest";
  std::vector<std::string> push = {o_.builder_argv[0]};
  push.insert(push.end(), plan_.global_args.begin(), plan_.global_args.end());
  push.insert(push.end(), {"push", "--quiet", id, "oci:" + dir + ":" + tag});
  spdlog::info("exporting the image {} to {}:{}", id.substr(0, 12), dir, tag);
  if (int rc = util::run_command(push); rc != 0)
    return plan_.builder + " push to oci:" + dir + ":" + tag + " failed (exit " +
           std::to_string(rc) + ")";
  ImageRecordInput in{dir, tag, id, o_.out_dir, plan_.context, shim_dir_ + "/layer", t0_real_};
  return record_image(in, *manifest, steps);
}

int BuildSession::finish(int builder_rc) {
  json steps = json::array();
  uint64_t lost = 0;
  for (auto& [tag, s] : steps_) {
    steps.push_back(s->record);
    lost += s->record.value("lost_events", uint64_t{0});
  }
  json image_part = json::object();
  std::optional<std::string> image_error;
  const int64_t export_start = clock_ns(CLOCK_MONOTONIC);
  if (builder_rc == 0 && !o_.image_out.empty()) image_error = export_image(&image_part, steps);
  const double export_s = static_cast<double>(clock_ns(CLOCK_MONOTONIC) - export_start) / 1e9;
  int64_t t1 = clock_ns(CLOCK_REALTIME);
  json manifest = {{"format", "stepseal-build"},
                   {"version", 1},
                   {"stepseal_version", STEPSEAL_VERSION},
                   {"builder", {{"name", plan_.builder},
                                {"argv", o_.builder_argv},
                                {"executed", plan_.argv},
                                {"runtime", runtime_}}},
                   {"started", rfc3339(t0_real_)},
                   {"finished", rfc3339(t1)},
                   {"exit_code", builder_rc},
                   {"steps", steps},
                   {"lost_events", lost},
                   {"unrouted_events", host_->unrouted()},
                   // the image exported, matched, its layers checked and read (--image-out)
                   {"costs", {{"export_and_check_s", export_s}}}};
  manifest.update(image_part);
  if (image_error) {
    manifest["image_error"] = *image_error;
    spdlog::error("{}", *image_error);
  }
  // every RUN of this build traced and matched, nothing lost (pre-images aside: each step's
  // summary says so). Without --image-out, untraced RUNs cannot be told.
  bool untraced = false;
  for (const auto& in : manifest.value("instructions", json::array()))
    if (in.value("traced", true) == false) untraced = true;
  for (const auto& st : steps)
    if (!o_.image_out.empty() && !image_error && st.value("instruction", json()).is_null())
      untraced = true;
  // with the cache allowed, a cached RUN (not executed, not traced) cannot be told from the base
  // image's layers: only a --no-cache build can be complete
  manifest["cache"] = plan_.no_cache ? "off" : "allowed";
  if (!plan_.no_cache && !o_.image_out.empty())
    spdlog::warn("the builder's cache was allowed (no --no-cache): a cached RUN is not executed, "
                 "so not traced, and looks like a base layer; the record is not complete");
  manifest["complete"] = lost == 0 && !untraced && !image_error && !o_.image_out.empty() &&
                         plan_.no_cache;
  // every traced RUN's layer explained by its trace, and its trace's changes all in the layer
  bool reconciled = !o_.image_out.empty() && !image_error;
  for (const auto& st : steps)
    if (!st.contains("layer_check") || !st["layer_check"].value("reconciled", false))
      reconciled = false;
  manifest["reconciled"] = reconciled;
  // a sterile build: the policy every RUN ran under, and whether every RUN kept it
  bool held = true, all_complete = true;
  if (o_.policy) {
    for (auto& st : manifest["steps"]) {
      // its completeness again, with what the image's lower layers gave of what it replaced (a
      // complete one stays so: pre-images only close preimage_unavailable gaps)
      if (st.contains("preimages") && st.contains("sterile") &&
          !st["sterile"]["verdict"].contains("error") && !st["sterile"]["verdict"].value("complete", false))
        try {
          st["sterile"]["verdict"] = sterile_verdict(
              (fs::path(o_.out_dir) / st.value("journal", "")).string(), st["preimages"], seal_sha256_);
        } catch (const std::exception& e) {
          st["sterile"]["verdict"] = {{"held", false}, {"error", e.what()}};
        }
      const json v = st.value("sterile", json::object()).value("verdict", json::object());
      held = held && v.value("held", false);
      all_complete = all_complete && v.value("complete", false);
    }
    manifest["sterile"] = {{"policy_path", o_.policy_path},
                           {"policy_sha256", policy::policy_sha256(*o_.policy)},
                           {"seal", {{"path", seal_installed_}, {"sha256", seal_sha256_}}},
                           {"held", held},
                           {"complete", all_complete}};
  }
  std::string path = (fs::path(o_.out_dir) / "build.json").string();
  std::string tmp = path + ".tmp";
  std::string text = manifest.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool ok = fd >= 0 && util::write_all(fd, text.data(), text.size()) && fsync(fd) == 0;
  if (fd >= 0) close(fd);
  if (!ok || rename(tmp.c_str(), path.c_str()) < 0) {
    spdlog::error("cannot write {}: {}", path, strerror(errno));
    return exit_code::kJournalWrite;
  }
  spdlog::info("build exit {}: {} RUN step(s) traced, {} events lost; record in {}", builder_rc,
               steps.size(), lost, o_.out_dir);
  if (write_failed_) return exit_code::kJournalWrite;
  if (image_error) return exit_code::kInternal;
  if (builder_rc == 0 && untraced) {
    spdlog::error("a RUN of this build was not traced, or a traced step is not in the image "
                  "(build.json \"instructions\")");
    return exit_code::kIncomplete;
  }
  if (builder_rc == 0 && o_.policy) {  // the builder's own failure comes first
    if (!held) {
      spdlog::error("a RUN broke the build's policy (build.json steps[].sterile.verdict)");
      return exit_code::kPolicyViolated;
    }
    if (!all_complete) {
      if (o_.policy->completeness == policy::Completeness::kFail) {
        spdlog::error("a RUN's record is incomplete and the policy requires complete ones");
        return exit_code::kIncomplete;
      }
      spdlog::warn("a RUN's record is incomplete; the policy's completeness is \"warn\"");
    }
  }
  return builder_rc;
}

int BuildSession::run() {
  // a builder that stops reading a RUN's output (stepseal forwards it) is an EPIPE, not death
  signal(SIGPIPE, SIG_IGN);
  sigset_t fwd, orig;
  sigemptyset(&fwd);
  for (int s : kForwarded) sigaddset(&fwd, s);
  sigprocmask(SIG_BLOCK, &fwd, &orig);
  struct Restore {
    sigset_t* o;
    std::string* dir;
    ~Restore() {
      sigprocmask(SIG_SETMASK, o, nullptr);
      if (!dir->empty()) {
        std::error_code ec;
        fs::remove_all(*dir, ec);
      }
    }
  } restore{&orig, &shim_dir_};
  sfd_ = Fd(signalfd(-1, &fwd, SFD_CLOEXEC | SFD_NONBLOCK));
  if (auto rc = attach()) return *rc;
  if (auto rc = spawn(orig)) return *rc;
  int rc = pump();
  return finish(rc);
}

}  // namespace detail

int run_build(const BuildOptions& opts) { return detail::BuildSession(opts).run(); }

}  // namespace stepseal::build
