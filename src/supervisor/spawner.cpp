#include "supervisor/spawner.h"
#include "util/file_io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "util/exit_codes.h"
#include "digest/preimage.h"
#include "harden/sandbox.h"

namespace stepseal {

// One byte plus room for one SCM_RIGHTS descriptor: the message both ends of fd passing use.
namespace {
struct FdMessage {
  char byte = 'f';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  FdMessage() {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl;
    msg.msg_controllen = sizeof ctl;
  }
  FdMessage(const FdMessage&) = delete;
};

}  // namespace

bool send_fd(int sock, int fd) {
  FdMessage m;
  cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  return sendmsg(sock, &m.msg, MSG_NOSIGNAL) == 1;
}

int recv_fd(int sock) {
  FdMessage m;
  if (recvmsg(sock, &m.msg, MSG_CMSG_CLOEXEC) != 1) return -1;
  cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

void write_all(int fd, const void* p, size_t n) { (void)util::write_all(fd, p, n); }

// pid 1 of the step's pid namespace. Forks the command once the supervisor has registered it
// with the probes, forwards signals to it, reaps orphans, and reports the command's status.
namespace {

[[noreturn]] void sandbox_failed(int st_w, const std::string& what) {
  StatusMsg m{'H', static_cast<int32_t>(what.size())};
  write_all(st_w, &m, sizeof m);
  write_all(st_w, what.data(), what.size());
  _exit(exit_code::kInternal);
}

}  // namespace

[[noreturn]] void spawner_main(const std::vector<std::string>& argv, const SpawnerFds& fds,
                               bool preimages, const SandboxPlan* sandbox, const sigset_t& blocked,
                               const sigset_t& orig) {
  const int go_r = fds.go_r, st_w = fds.status_w, fd_sock = fds.fd_sock,
            supervisor_pidfd = fds.supervisor_pidfd;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The supervisor may have died before PDEATHSIG was armed. getppid() cannot tell from inside
  // the new pid namespace (it reads 0), but the supervisor's pidfd becomes readable on exit.
  pollfd pfd{supervisor_pidfd, POLLIN, 0};
  if (poll(&pfd, 1, 0) != 0) _exit(exit_code::kInternal);
  close(supervisor_pidfd);
  char go;
  if (read(go_r, &go, 1) != 1) _exit(exit_code::kInternal);  // supervisor gave up
  close(go_r);
  if (sandbox) {
    if (std::string err = enter_sandbox(*sandbox); !err.empty()) sandbox_failed(st_w, err);
    // the supervisor digests absolute paths from here: the step's root, in its mount namespace
    int root = open("/", O_PATH | O_CLOEXEC);
    if (root < 0 || !send_fd(fd_sock, root)) sandbox_failed(st_w, "cannot pass the step's root");
    close(root);
    // Out of the step's reach though it runs as root too: undumpable (so invisible in its
    // hidepid /proc) and with a saved gid of its own (so prlimit() on it is refused).
    prctl(PR_SET_DUMPABLE, 0);
    if (setresgid(static_cast<gid_t>(-1), static_cast<gid_t>(-1), 65534) < 0)
      sandbox_failed(st_w, "cannot set the spawner's saved gid");
  }
  pid_t cmd = fork();
  if (cmd < 0) {
    StatusMsg m{'E', errno};
    write_all(st_w, &m, sizeof m);
    _exit(exit_code::kInternal);
  }
  if (cmd == 0) {
    // Pre-images: from here on, calls that would change a file wait for the supervisor.
    if (preimages) {
      int nfd = install_preimage_filter();
      if (nfd < 0 || !send_fd(fd_sock, nfd)) {
        StatusMsg m{'F', nfd < 0 ? -nfd : errno};
        write_all(st_w, &m, sizeof m);
        _exit(exit_code::kInternal);
      }
      close(nfd);
    }
    if (sandbox) {
      // No controlling terminal: the step cannot push input into the caller's shell (TIOCSTI)
      // or take the terminal's foreground; its stdio stay the fds it was given.
      setsid();
      if (std::string err = restrict_self(*sandbox); !err.empty()) sandbox_failed(st_w, err);
      // Nothing stepseal's caller left open reaches the step but stdin, stdout and stderr (a
      // directory fd would lead past every mount). The status pipe closes itself at exec.
      if (st_w > 3) close_range(3, static_cast<unsigned>(st_w) - 1, 0);
      close_range(static_cast<unsigned>(st_w) + 1, ~0U, 0);
    }
    signal(SIGTTOU, SIG_DFL);  // the supervisor ignores them; the command gets the defaults
    signal(SIGTTIN, SIG_DFL);
    sigprocmask(SIG_SETMASK, &orig, nullptr);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    StatusMsg m{'E', errno};
    write_all(st_w, &m, sizeof m);
    _exit(m.value == ENOENT ? exit_code::kNotFound : exit_code::kCannotExecute);
  }
  for (;;) {
    siginfo_t si{};
    int sig = sigwaitinfo(&blocked, &si);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      // a terminal's ^C (SI_KERNEL) reached the command directly: it is in our process group
      // (hardened: the command leads its own session and process group; the group gets it)
      if (si.si_code != SI_KERNEL) kill(sandbox ? -cmd : cmd, sig);
      continue;
    }
    int status = 0;
    pid_t w;
    while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
      if (w == cmd) {
        StatusMsg m{'S', status};
        write_all(st_w, &m, sizeof m);
        if (!sandbox) _exit(0);  // the kernel now kills what is left in the namespace
        // Hardened: the step's mounts (its private /tmp) die with the namespace, and the final
        // digests must see them. End every other process here, keep the namespace, and wait.
        kill(-1, SIGKILL);
        while (waitpid(-1, nullptr, 0) > 0 || errno == EINTR) {
        }
        StatusMsg q{'Q', 0};
        write_all(st_w, &q, sizeof q);
        char c;
        while (recv(fd_sock, &c, 1, 0) < 0 && errno == EINTR) {
        }
        _exit(0);
      }
    }
  }
}

}  // namespace stepseal
