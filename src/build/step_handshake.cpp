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
#include "util/exit_codes.h"
#include "util/fd.h"
#include "util/file_io.h"
#include "util/subprocess.h"
#include "util/json.h"
#include "util/time.h"

namespace stepseal::build::detail {

namespace fs = std::filesystem;

std::string BuildSession::open_step(const json& req, std::vector<Fd>& fds) {
  const int64_t entered = clock_ns(CLOCK_MONOTONIC);
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
  json cfg;
  try {
    // the builder's bundle: a regular file (opened without blocking: never a FIFO's reader)
    int cfd = open((bundle + "/config.json").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat cst{};
    if (cfd < 0 || fstat(cfd, &cst) < 0 || !S_ISREG(cst.st_mode)) {
      if (cfd >= 0) close(cfd);
      return "error: the bundle has no regular config.json";
    }
    close(cfd);
    cfg = util::parse_bounded_json(util::read_file(bundle + "/config.json", 16u << 20));
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
  // a sterile build: the sealed container in its cgroup, under the network guard, before its
  // first instruction
  if (o_.policy)
    if (std::string r = confine_step(*s, cfg); r != "ok") {
      host_->close_step(s->number);
      return r;
    }
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
    json start = {{"argv", s->argv},
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
                             {"builder", plan_.builder}}}};
    if (o_.policy) {
      start.update(sterile_start_fields(*s));
      start["build"]["sterile"] = s->sterile_record;
    }
    s->rec->append_json(journal::RecordType::STEP_START, start);
    s->rec->flush();
  } catch (const std::exception& e) {
    write_failed_ = true;
    host_->close_step(s->number);
    s->sterile.reset();
    return std::string("error: the step's journal could not be written: ") + e.what();
  }
  spdlog::info("step {}: following container {} (pid {}): {}", s->index, id.substr(0, 12), pid,
               s->argv.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  // its stdout and stderr: [pipe read end, the builder's descriptor] for each (none when the
  // container has a terminal)
  if (fds.size() == 4) {
    for (int k = 0; k < 2; k++) {
      char rel[32];
      snprintf(rel, sizeof rel, "steps/%02d.%s", s->index, k ? "stderr" : "stdout");
      int src = fds[k].release(), dst = fds[k + 2].release();
      s->output[k] = std::make_unique<StepOutput>(src, dst, (fs::path(o_.out_dir) / rel).string(), rel);
    }
  }
  uint64_t tag = kStepBase + static_cast<uint64_t>(s->index);
  watch(s->pidfd.get(), tag);
  s->follow_ns = clock_ns(CLOCK_MONOTONIC) - entered;
  steps_[tag] = std::move(s);
  return "ok";
}

void BuildSession::finish_step(Step& s, const std::string& why) {
  if (s.done) return;
  const int64_t entered = clock_ns(CLOCK_MONOTONIC);
  // the init is gone: its namespace's processes too; what they did is in the ring
  while (host_->consume() > 0) {
  }
  consume_ring();
  // its output to the end: every writer was in the container, and is gone
  json output[2];
  for (int k = 0; k < 2; k++) {
    if (!s.output[k]) continue;
    s.output[k]->drain(2000);
    output[k] = s.output[k]->record();
    if (!output[k].value("complete", false))
      spdlog::warn("step {}: its {} did not end within 2 s of the container (a writer outlived "
                   "it, or the builder did not read it): cut there", s.index, k ? "stderr" : "stdout");
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
  s.sterile.reset();  // the guard detached, the cgroup emptied and removed
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
              {"finished", rfc3339(t1)},
              // what stepseal added to the step: following it at create, and finishing it (its
              // output to the end, the final digests, the journal) before the builder's delete
              {"costs", {{"follow_ms", static_cast<double>(s.follow_ns) / 1e6},
                         {"finish_ms", static_cast<double>(clock_ns(CLOCK_MONOTONIC) - entered) / 1e6}}}};
  if (o_.policy && !write_failed_) judge_step(s);
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

// The peer must run the runtime shim (that very file) and descend from the builder.
std::string BuildSession::check_peer(int pid) {
  struct stat st{};
  if (stat(("/proc/" + std::to_string(pid) + "/exe").c_str(), &st) < 0 ||
      st.st_dev != shim_exe_.st_dev || st.st_ino != shim_exe_.st_ino)
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
  if (op == "prepare") return reply(prepare_step(req));
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

}  // namespace stepseal::build::detail
