#include "build/runtime_shim.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "util/file_io.h"

namespace stepseal::build {

namespace {

// runc's global options that take a value in the next argument
const std::set<std::string> kRuncGlobalWithValue = {"--root", "--log", "--log-format", "--criu",
                                                    "--rootless"};
// `runc create` options that take a value
const std::set<std::string> kCreateWithValue = {"--bundle", "-b", "--pid-file", "--console-socket",
                                                "--preserve-fds"};

void say(const std::string& msg) {
  std::string line = std::string(kShimName) + ": " + msg + "\n";
  (void)!write(2, line.data(), line.size());
}

[[noreturn]] void exec_runtime(const std::string& runtime, int argc, char** argv) {
  std::vector<char*> args;
  args.push_back(const_cast<char*>(runtime.c_str()));
  for (int i = 1; i < argc; i++) args.push_back(argv[i]);
  args.push_back(nullptr);
  execv(runtime.c_str(), args.data());
  say("cannot execute the runtime " + runtime + ": " + strerror(errno));
  _exit(127);
}

// Runs the real runtime as a child and returns its exit status (as a shell reports it). STDIO:
// descriptors for the child's stdout and stderr (-1: ours).
int run_runtime(const std::string& runtime, const std::vector<std::string>& args,
                const int stdio[2] = nullptr) {
  pid_t c = fork();
  if (c < 0) return 1;
  if (c == 0) {
    if (stdio)
      for (int k = 0; k < 2; k++)
        if (stdio[k] >= 0) dup2(stdio[k], k + 1);
    std::vector<char*> v;
    v.push_back(const_cast<char*>(runtime.c_str()));
    for (const auto& a : args) v.push_back(const_cast<char*>(a.c_str()));
    v.push_back(nullptr);
    execv(runtime.c_str(), v.data());
    _exit(127);
  }
  int st = 0;
  while (waitpid(c, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// One request, one reply ("ok" or "error: ..."), on a fresh connection. The supervisor may take
// its time (a delete waits for the step's final digests), but never forever.
std::string ask(const std::string& socket_path, const nlohmann::json& request, int timeout_s,
                const std::vector<int>& pass = {}) {
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("error: socket: ") + strerror(errno);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) return "error: socket path too long";
  memcpy(addr.sun_path, socket_path.c_str(), socket_path.size());
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) {
    std::string e = std::string("error: cannot reach stepseal at ") + socket_path + ": " +
                    strerror(errno);
    close(fd);
    return e;
  }
  std::string msg = request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  iovec iov{msg.data(), msg.size()};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  alignas(cmsghdr) char cbuf[CMSG_SPACE(4 * sizeof(int))] = {};
  if (!pass.empty() && pass.size() <= 4) {
    mh.msg_control = cbuf;
    mh.msg_controllen = CMSG_SPACE(pass.size() * sizeof(int));
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(pass.size() * sizeof(int));
    memcpy(CMSG_DATA(c), pass.data(), pass.size() * sizeof(int));
  }
  if (sendmsg(fd, &mh, MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size())) {
    close(fd);
    return std::string("error: send: ") + strerror(errno);
  }
  pollfd p{fd, POLLIN, 0};
  int r = poll(&p, 1, timeout_s * 1000);
  std::string reply = "error: stepseal did not answer";
  if (r > 0) {
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    reply = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "error: stepseal closed the connection";
  }
  close(fd);
  return reply;
}

}  // namespace

RuntimeCall parse_runtime_call(const std::vector<std::string>& args) {
  RuntimeCall c;
  size_t i = 0;
  while (i < args.size() && !args[i].empty() && args[i][0] == '-') {
    if (args[i].find('=') == std::string::npos && kRuncGlobalWithValue.count(args[i])) i++;
    i++;
  }
  if (i >= args.size()) return c;
  c.command = args[i];
  std::vector<std::string> positional;
  for (size_t j = i + 1; j < args.size(); j++) {
    const std::string& a = args[j];
    if (!a.empty() && a[0] == '-') {
      std::string name = a, value;
      if (auto eq = a.find('='); eq != std::string::npos) {
        name = a.substr(0, eq);
        value = a.substr(eq + 1);
      } else if (c.command == "create" && kCreateWithValue.count(a) && j + 1 < args.size()) {
        value = args[++j];
      }
      if (name == "--bundle" || name == "-b") c.bundle = value;
      if (name == "--pid-file") c.pid_file = value;
      continue;
    }
    positional.push_back(a);
  }
  if (!positional.empty()) c.id = positional.back();
  return c;
}

int shim_main(int argc, char** argv) {
  const char* sock = std::getenv("STEPSEAL_SHIM_SOCKET");
  const char* real = std::getenv("STEPSEAL_REAL_RUNTIME");
  if (!sock || !*sock || !real || !*real) {
    say("runs only under 'stepseal build' (STEPSEAL_SHIM_SOCKET and STEPSEAL_REAL_RUNTIME unset)");
    return 1;
  }
  std::vector<std::string> args(argv + 1, argv + argc);
  RuntimeCall call = parse_runtime_call(args);
  // Only what a builder needs, and nothing that could start a process stepseal does not follow
  // (run, exec, restore ...). A "create" this parser did not recognise as the command (behind a
  // global option it does not know) is refused too.
  static const std::set<std::string> kPassThrough = {"start", "state", "kill", "delete",
                                                     "features", "list", "ps", "events"};
  const bool create_named = std::find(args.begin(), args.end(), "create") != args.end();
  if (call.command.empty() && !create_named) exec_runtime(real, argc, argv);  // --version, --help
  if (call.command != "create" && (create_named || !kPassThrough.count(call.command))) {
    say("refusing '" + call.command + "': under stepseal build a container is started only "
        "through create and start, which stepseal follows");
    return 1;
  }
  if (call.command == "delete" && !call.id.empty()) {
    // the step's journal and final digests first: the builder commits the layer after this
    const bool force = std::find(args.begin(), args.end(), "--force") != args.end() ||
                       std::find(args.begin(), args.end(), "-f") != args.end();
    std::string reply = ask(sock, {{"op", "delete"}, {"id", call.id}, {"force", force}}, 600);
    if (reply != "ok") {
      say("the step's record could not be finished before the container is deleted: " + reply);
      return 1;
    }
  }
  if (call.command != "create") exec_runtime(real, argc, argv);

  // The container's stdout and stderr: runc passes its own stdio through to the init, so the
  // init gets a pipe of ours for each, whose read end stepseal reads (and forwards to the
  // builder's descriptor, which it gets too). Not with a terminal (--console-socket).
  const bool terminal = std::any_of(args.begin(), args.end(), [](const std::string& a) {
    return a == "--console-socket" || a.rfind("--console-socket=", 0) == 0;
  });
  std::string bundle = call.bundle;
  if (bundle.empty()) {
    char cwd[4096];
    bundle = getcwd(cwd, sizeof cwd) ? cwd : ".";
  } else if (bundle[0] != '/') {
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd)) bundle = std::string(cwd) + "/" + bundle;
  }
  // a sterile build seals the bundle's config.json before the runtime reads it
  if (std::string r = ask(sock, {{"op", "prepare"}, {"id", call.id}, {"bundle", bundle}}, 60);
      r != "ok") {
    say("the RUN step cannot be prepared, so it does not run: " + r);
    return 1;
  }
  int out[2] = {-1, -1}, err[2] = {-1, -1};
  if (!terminal && (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)) {
    say(std::string("cannot make the step's output pipes: ") + strerror(errno));
    return 1;
  }
  const int child_stdio[2] = {out[1], err[1]};
  int rc = run_runtime(real, args, terminal ? nullptr : child_stdio);
  if (!terminal) {
    close(out[1]);  // the init holds them now: the streams end when the container's processes do
    close(err[1]);
  }
  if (rc != 0) {  // nothing was created: runc's own messages go where the builder reads them
    if (!terminal)
      for (int k = 0; k < 2; k++) {
        int src = k ? err[0] : out[0];
        fcntl(src, F_SETFL, O_NONBLOCK);
        char buf[4096];
        for (ssize_t n; (n = read(src, buf, sizeof buf)) > 0;) (void)!write(k + 1, buf, static_cast<size_t>(n));
        close(src);
      }
    return rc;  // the builder reports runc's error
  }
  auto fail = [&](const std::string& why) {
    say("the RUN step cannot be traced, so it does not run: " + why);
    run_runtime(real, {"delete", "--force", call.id});
    return 1;
  };
  if (call.pid_file.empty()) return fail("the runtime was called without --pid-file");
  auto text = util::try_read_file(call.pid_file, 64);
  long pid = text ? strtol(text->c_str(), nullptr, 10) : 0;
  if (pid <= 0) return fail("no pid in " + call.pid_file);
  std::vector<int> pass;
  if (!terminal) pass = {out[0], err[0], 1, 2};
  std::string reply =
      ask(sock, {{"op", "create"}, {"id", call.id}, {"bundle", bundle}, {"pid", pid}}, 60, pass);
  if (!terminal) {
    close(out[0]);
    close(err[0]);
  }
  if (reply != "ok") return fail(reply);
  return 0;
}

}  // namespace stepseal::build
