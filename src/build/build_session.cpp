#include "build/build_session.h"

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
#include "util/exit_codes.h"
#include "util/fd.h"
#include "util/file_io.h"
#include "util/subprocess.h"
#include "util/json.h"
#include "util/time.h"

namespace stepseal::build {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Fd = util::UniqueFd;

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

// PATH lookup, as execvp would do it.
std::string which(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    std::string dir = p.substr(start, end == std::string::npos ? std::string::npos : end - start);
    std::string cand = (dir.empty() ? "." : dir) + "/" + name;
    if (access(cand.c_str(), X_OK) == 0) return cand;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return "";
}

// One RUN step: a container whose init the tracer follows.
struct Step {
  uint16_t number = 0;
  int index = 0;  // 1, 2, ... in the order the builder created them
  std::string container_id, bundle, journal_rel;
  uint32_t root_pid = 0;
  json argv = json::array();
  std::string cwd;
  std::vector<std::string> mounts;  // the container's mount destinations (config.json)
  int64_t started_real = 0;
  std::unique_ptr<StepRecorder> rec;
  Fd pidfd;
  Fd mntns;  // the container's mount namespace, held until the final digests: its mounts with it
  std::optional<int64_t> wait_status;  // the init's, from its EXIT event
  std::vector<int> pending_deletes;     // shim connections waiting for the step to finish
  std::unique_ptr<StepOutput> output[2];  // its stdout and stderr, when the shim passed them
  bool done = false;
  json record;  // its entry in build.json, once done
};

class BuildSession {
 public:
  explicit BuildSession(const BuildOptions& o) : o_(o) {}
  int run();

 private:
  std::optional<int> attach();
  std::optional<int> spawn(const sigset_t& orig);
  int pump();
  void consume_ring();
  void handle_connection(int fd);
  std::string check_peer(int fd);
  std::string open_step(const json& req, std::vector<Fd>& fds);
  void finish_step(Step& s, const std::string& why);
  int finish(int builder_rc);
  std::optional<std::string> export_image(json* manifest, json& steps);
  int run_quiet(const std::vector<std::string>& argv);
  void watch(int fd, uint64_t tag);

  const BuildOptions& o_;
  BuilderPlan plan_;
  std::string runtime_, shim_dir_, shim_path_, sock_path_;
  std::unique_ptr<TracerHost> host_;
  Fd listen_, ep_, sfd_, builder_pidfd_;
  pid_t builder_ = -1;
  int64_t t0_real_ = 0, t0_mono_ = 0;
  std::map<uint64_t, std::unique_ptr<Step>> steps_;  // by epoll tag of its pidfd
  std::map<int, Fd> conns_;                          // shim connections not yet read
  std::map<uint64_t, StepOutput*> outputs_;          // by epoll tag, while open
  struct stat self_exe_{};
  int next_index_ = 1;
  bool write_failed_ = false;
};

enum : uint64_t { kRing = 1, kListen = 2, kSignal = 3, kBuilder = 4, kConnBase = 1ull << 32,
                  kOutputBase = 1ull << 40, kStepBase = 1ull << 48 };

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
    plan_builder(o_.builder_argv, "/run/stepseal-build/stepseal-runtime");
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
  stat("/proc/self/exe", &self_exe_);
  shim_path_ = shim_dir_ + "/" + kShimName;
  sock_path_ = shim_dir_ + "/shim.sock";
  char self[PATH_MAX] = {};
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0 || symlink(std::string(self, static_cast<size_t>(n)).c_str(), shim_path_.c_str()) < 0) {
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
  runtime_ = which(plan_.user_runtime.empty() ? "runc" : plan_.user_runtime);
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
    host_ = std::make_unique<TracerHost>(TracerOptions{o_.ring_bytes, {}, false});
  } catch (const AttachError& e) {
    spdlog::error("tracing could not be attached: {}", e.what());
    return exit_code::kAttachFailed;
  }
  return std::nullopt;
}

std::optional<int> BuildSession::spawn(const sigset_t& orig) {
  const pid_t parent = getpid();
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
    setenv("STEPSEAL_SHIM_SOCKET", sock_path_.c_str(), 1);
    setenv("STEPSEAL_REAL_RUNTIME", runtime_.c_str(), 1);
    std::vector<char*> v;
    for (auto& a : plan_.argv) v.push_back(const_cast<char*>(a.c_str()));
    v.push_back(nullptr);
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

std::string BuildSession::open_step(const json& req, std::vector<Fd>& fds) {
  const std::string id = req.value("id", "");
  const std::string bundle = req.value("bundle", "");
  const int64_t pid = req.contains("pid") && req["pid"].is_number_integer() ? req["pid"].get<int64_t>() : 0;
  if (id.empty() || bundle.empty() || pid <= 0 || pid > INT32_MAX) return "error: a malformed create";
  auto s = std::make_unique<Step>();
  s->index = next_index_++;
  s->container_id = id;
  s->bundle = bundle;
  s->root_pid = static_cast<uint32_t>(pid);
  char name[32];
  snprintf(name, sizeof name, "steps/%02d.journal", s->index);
  s->journal_rel = name;
  s->pidfd = Fd(static_cast<int>(syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0)));
  if (s->pidfd.get() < 0) return std::string("error: the container's init is gone: ") + strerror(errno);
  // the pid must be a container's init waiting to exec: runc's "runc init" (checked after the
  // pidfd is held, so the pid cannot be another process's by then)
  auto cmdline = util::try_read_file("/proc/" + std::to_string(pid) + "/cmdline", 4096);
  std::string arg0, arg1;
  if (cmdline) {
    arg0 = cmdline->substr(0, cmdline->find('\0'));
    if (arg0.size() + 1 < cmdline->size()) {
      arg1 = cmdline->substr(arg0.size() + 1);
      arg1 = arg1.substr(0, arg1.find('\0'));
    }
  }
  if (arg0.substr(arg0.rfind('/') == std::string::npos ? 0 : arg0.rfind('/') + 1) != "runc" ||
      arg1 != "init")
    return "error: process " + std::to_string(pid) + " is not a runc container's init";
  // what the step runs, from its bundle (the builder wrote it; it is what runc executes)
  try {
    // the builder's bundle: a regular file (opened without blocking: never a FIFO's reader)
    int cfd = open((bundle + "/config.json").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat cst{};
    if (cfd < 0 || fstat(cfd, &cst) < 0 || !S_ISREG(cst.st_mode)) {
      if (cfd >= 0) close(cfd);
      return "error: the bundle has no regular config.json";
    }
    close(cfd);
    json cfg = util::parse_bounded_json(util::read_file(bundle + "/config.json", 16u << 20));
    if (cfg.contains("process") && cfg["process"].is_object()) {
      s->argv = cfg["process"].value("args", json::array());
      s->cwd = cfg["process"].value("cwd", "");
    }
    for (const auto& m : cfg.value("mounts", json::array()))
      if (m.is_object() && m.contains("destination") && m["destination"].is_string())
        s->mounts.push_back(m["destination"].get<std::string>());
  } catch (const std::exception& e) {
    return std::string("error: cannot read the bundle's config.json: ") + e.what();
  }
  try {
    s->number = host_->open_step();
    s->rec = std::make_unique<StepRecorder>(RecorderOptions{
        (fs::path(o_.out_dir) / s->journal_rel).string(), o_.digests, nullptr, "",
        t0_real_ - t0_mono_});
    host_->tracer().follow(s->root_pid, s->number);
  } catch (const std::exception& e) {
    if (s->number) host_->close_step(s->number);
    return std::string("error: ") + e.what();
  }
  // digests of the container's files are taken inside its root (paths are the container's),
  // never in stepseal's; its mount namespace is held so that its mounts stay for the final ones
  int root = open(("/proc/" + std::to_string(pid) + "/root").c_str(), O_PATH | O_CLOEXEC);
  s->mntns = Fd(open(("/proc/" + std::to_string(pid) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC));
  if (root < 0 || s->mntns.get() < 0) {
    if (root >= 0) close(root);
    host_->close_step(s->number);
    return std::string("error: cannot open the container's root: ") + strerror(errno);
  }
  s->rec->digests().set_root(root);
  s->started_real = clock_ns(CLOCK_REALTIME);
  struct utsname un{};
  uname(&un);
  try {
    s->rec->append_json(journal::RecordType::HEADER,
                        {{"format", "stepseal-journal"},
                         {"version", 1},
                         {"stepseal_version", STEPSEAL_VERSION},
                         {"digests", o_.digests},
                         {"kernel", std::string(un.release) + " " + un.version},
                         {"realtime_minus_monotonic_ns", t0_real_ - t0_mono_},
                         {"ring_bytes", o_.ring_bytes}});
    s->rec->append_json(journal::RecordType::STEP_START,
                        {{"argv", s->argv},
                         {"cwd", s->cwd},
                         {"started", rfc3339(s->started_real)},
                         {"uid", getuid()},
                         {"mode", "observe"},
                         // the container's processes are not under stepseal's pre-image filter
                         {"preimages", false},
                         {"build", {{"step", s->index},
                                    {"container_id", id},
                                    {"bundle", bundle},
                                    {"root_pid", pid},
                                    {"builder", plan_.builder}}}});
    s->rec->flush();
  } catch (const std::exception& e) {
    write_failed_ = true;
    return std::string("error: the step's journal could not be written: ") + e.what();
  }
  spdlog::info("step {}: following container {} (pid {}): {}", s->index, id.substr(0, 12), pid,
               s->argv.dump());
  // its stdout and stderr: [pipe read end, the builder's descriptor] for each (none when the
  // container has a terminal)
  if (fds.size() == 4) {
    for (int k = 0; k < 2; k++) {
      char rel[32];
      snprintf(rel, sizeof rel, "steps/%02d.%s", s->index, k ? "stderr" : "stdout");
      int src = fds[k].release(), dst = fds[k + 2].release();
      s->output[k] = std::make_unique<StepOutput>(src, dst, (fs::path(o_.out_dir) / rel).string(), rel);
      uint64_t otag = kOutputBase + static_cast<uint64_t>(s->index) * 2 + static_cast<uint64_t>(k);
      watch(src, otag);
      outputs_[otag] = s->output[k].get();
    }
  }
  uint64_t tag = kStepBase + static_cast<uint64_t>(s->index);
  watch(s->pidfd.get(), tag);
  steps_[tag] = std::move(s);
  return "ok";
}

void BuildSession::finish_step(Step& s, const std::string& why) {
  if (s.done) return;
  // the init is gone: its namespace's processes too; what they did is in the ring
  while (host_->consume() > 0) {
  }
  consume_ring();
  // its output to the end: every writer was in the container, and is gone
  json output[2];
  for (int k = 0; k < 2; k++) {
    if (!s.output[k]) continue;
    uint64_t otag = kOutputBase + static_cast<uint64_t>(s.index) * 2 + static_cast<uint64_t>(k);
    if (outputs_.erase(otag)) epoll_ctl(ep_.get(), EPOLL_CTL_DEL, s.output[k]->fd(), nullptr);
    s.output[k]->drain(2000);
    output[k] = s.output[k]->record();
    if (!output[k].value("complete", false))
      spdlog::warn("step {}: its {} was still open 2 s after the container ended: cut there",
                   s.index, k ? "stderr" : "stdout");
  }
  s.rec->plan().finish();
  const DigestStats ds = s.rec->digests().stats();
  json counters = host_->counters(s.number);
  counters["digest_requests"] = ds.requests + s.rec->plan().repeats();
  counters["digest_cache_hits"] = s.rec->plan().repeats() + ds.cache_hits;
  counters["unique_files_hashed"] = ds.unique_files_hashed;
  counters["bytes_hashed"] = ds.bytes_hashed;
  uint64_t lost = journal::lost_events(counters);
  int64_t t1 = clock_ns(CLOCK_REALTIME);
  int rc = -1;
  if (s.wait_status) {
    int w = static_cast<int>(*s.wait_status);
    rc = WIFEXITED(w) ? WEXITSTATUS(w) : 128 + WTERMSIG(w);
  }
  std::string head;
  try {
    head = journal::to_hex(s.rec->finish({{"exit_code", rc},
                                          {"wait_status", s.wait_status ? json(*s.wait_status) : json(nullptr)},
                                          {"ended_by", why},
                                          {"finished", rfc3339(t1)},
                                          {"duration_s", static_cast<double>(t1 - s.started_real) / 1e9},
                                          {"stdout", output[0]},
                                          {"stderr", output[1]},
                                          {"counters", counters}},
                                         {{"lost_events", lost}}));
  } catch (const std::exception& e) {
    spdlog::error("journal {} could not be finished: {}", s.rec->path(), e.what());
    write_failed_ = true;
  }
  host_->close_step(s.number);
  s.done = true;
  const uint64_t events = s.rec->events();
  s.record = {{"step", s.index},
              {"container_id", s.container_id},
              {"argv", s.argv},
              {"cwd", s.cwd},
              {"journal", s.journal_rel},
              {"mounts", s.mounts},
              {"journal_sha256", head},
              {"events", events},
              {"lost_events", lost},
              {"exit_code", rc},
              {"stdout", output[0]},
              {"stderr", output[1]},
              {"started", rfc3339(s.started_real)},
              {"finished", rfc3339(t1)}};
  spdlog::info("step {}: exit {}, {} events, {} lost: {}", s.index, rc, events, lost,
               s.journal_rel);
  for (int fd : s.pending_deletes) {
    const std::string r = write_failed_ ? "error: the step's journal could not be written" : "ok";
    send(fd, r.data(), r.size(), MSG_NOSIGNAL);
    close(fd);
  }
  s.pending_deletes.clear();
  s.pidfd.reset();
  s.mntns.reset();
  s.rec.reset();  // its digest workers and the container's root
}

// The peer must run this very binary (as the shim) and descend from the builder.
std::string BuildSession::check_peer(int pid) {
  struct stat st{};
  if (stat(("/proc/" + std::to_string(pid) + "/exe").c_str(), &st) < 0 ||
      st.st_dev != self_exe_.st_dev || st.st_ino != self_exe_.st_ino)
    return "not stepseal's runtime shim";
  for (int p = pid, hops = 0; p > 1 && hops < 64; hops++) {
    if (p == builder_) return "";
    auto stat_text = util::try_read_file("/proc/" + std::to_string(p) + "/stat", 4096);
    if (!stat_text) break;
    auto close_paren = stat_text->rfind(')');
    if (close_paren == std::string::npos) break;
    int ppid = 0;
    char state = 0;
    if (sscanf(stat_text->c_str() + close_paren + 1, " %c %d", &state, &ppid) != 2) break;
    p = ppid;
  }
  return "not started by the builder";
}

void BuildSession::handle_connection(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  char buf[65536];
  // a create may pass the container's stdout and stderr (SCM_RIGHTS): 4 descriptors
  alignas(cmsghdr) char cbuf[CMSG_SPACE(4 * sizeof(int))];
  iovec iov{buf, sizeof buf};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cbuf;
  mh.msg_controllen = sizeof cbuf;
  ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
  std::vector<Fd> fds;  // closed on every path that does not take them
  if (n >= 0)
    for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
        for (size_t k = 0; k < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
          int got;
          memcpy(&got, CMSG_DATA(c) + k * sizeof(int), sizeof got);
          fds.emplace_back(got);
        }
  if (mh.msg_flags & MSG_CTRUNC) fds.clear();
  auto reply = [&](const std::string& r) {
    send(fd, r.data(), r.size(), MSG_NOSIGNAL);
    close(fd);
  };
  // only the shim: this binary, run by the builder stepseal started
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != geteuid())
    return reply("error: not allowed");
  if (std::string why = check_peer(cred.pid); !why.empty()) {
    spdlog::warn("shim socket: refused a request from pid {}: {}", cred.pid, why);
    return reply("error: not allowed: " + why);
  }
  if (n <= 0) return reply("error: empty request");
  json req;
  try {
    req = util::parse_bounded_json(std::string_view(buf, static_cast<size_t>(n)));
  } catch (const std::exception&) {
    return reply("error: a malformed request");
  }
  if (!req.is_object()) return reply("error: a malformed request");
  const std::string op = req.value("op", "");
  if (op == "create") {
    if (!fds.empty() && fds.size() != 4) return reply("error: a create passes 4 descriptors or none");
    return reply(open_step(req, fds));
  }
  if (op == "delete") {
    const std::string id = req.value("id", "");
    for (auto& [tag, s] : steps_)
      if (s->container_id == id && !s->done) {
        // a forced delete of a running container: the init dies first, then the step ends
        if (req.value("force", false) && s->pidfd.get() >= 0)
          syscall(SYS_pidfd_send_signal, s->pidfd.get(), SIGKILL, nullptr, 0);
        s->pending_deletes.push_back(fd);  // answered when the step is finished
        return;
      }
    return reply("ok");  // a container stepseal never followed (or finished already)
  }
  reply("error: unknown request '" + op + "'");
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
      } else if (tag >= kOutputBase && tag < kStepBase) {
        auto it = outputs_.find(tag);
        if (it != outputs_.end() && !it->second->pump()) {
          epoll_ctl(ep_.get(), EPOLL_CTL_DEL, it->second->fd(), nullptr);
          outputs_.erase(it);
        }
      } else if (tag >= kConnBase && tag < kOutputBase) {
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
int BuildSession::run_quiet(const std::vector<std::string>& argv) {
  return util::run_command(argv);
}

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
  if (int rc = run_quiet(push); rc != 0)
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
  if (builder_rc == 0 && !o_.image_out.empty()) image_error = export_image(&image_part, steps);
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
                   {"unrouted_events", host_->unrouted()}};
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
  manifest["complete"] = lost == 0 && !untraced && !image_error && !o_.image_out.empty();
  // every traced RUN's layer explained by its trace, and its trace's changes all in the layer
  bool reconciled = !o_.image_out.empty() && !image_error;
  for (const auto& st : steps)
    if (!st.contains("layer_check") || !st["layer_check"].value("reconciled", false))
      reconciled = false;
  manifest["reconciled"] = reconciled;
  std::string path = (fs::path(o_.out_dir) / "build.json").string();
  std::string tmp = path + ".tmp";
  std::string text = manifest.dump(2) + "\n";
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
  return builder_rc;
}

int BuildSession::run() {
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

}  // namespace

int run_build(const BuildOptions& opts) { return BuildSession(opts).run(); }

}  // namespace stepseal::build
