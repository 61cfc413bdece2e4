#include "harden/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <grp.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "harden/seccomp_deny.h"
#include "policy/policy.h"
#include "stepseal/harden.h"

extern char** environ;

namespace stepseal {

namespace {

std::string fail(const std::string& what, const std::string& path = "") {
  return what + (path.empty() ? "" : " " + path) + ": " + strerror(errno);
}

int mkdirs(const std::string& path) {
  for (size_t i = 1; i <= path.size(); i++)
    if (i == path.size() || path[i] == '/')
      if (mkdir(path.substr(0, i).c_str(), 0755) < 0 && errno != EEXIST) return -1;
  return 0;
}

int setattr(const char* path, uint64_t set, uint64_t clr) {
  mount_attr a{};
  a.attr_set = set;
  a.attr_clr = clr;
  return static_cast<int>(
      syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE | AT_SYMLINK_NOFOLLOW, &a, sizeof a));
}

bool glob_match(const char* pat, const char* s) {  // '*' matches any run, as policy.cpp's
  if (!*pat) return !*s;
  if (*pat == '*') return glob_match(pat + 1, s) || (*s && glob_match(pat, s + 1));
  return *s == *pat && glob_match(pat + 1, s + 1);
}

std::string lo_up() {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return fail("socket for lo");
  ifreq ifr{};
  strcpy(ifr.ifr_name, "lo");
  std::string err;
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
    err = fail("SIOCGIFFLAGS lo");
  } else {
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) err = fail("SIOCSIFFLAGS lo");
  }
  close(s);
  return err;
}

// Covers PATH: an empty read-only tmpfs over a directory, /dev/null over anything else.
std::string hide(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) < 0) return errno == ENOENT ? "" : fail("stat", path);
  if (S_ISDIR(st.st_mode)) {
    if (mount("hidden", path.c_str(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "size=0,mode=000") < 0)
      return fail("hide directory", path);
    return "";
  }
  if (S_ISLNK(st.st_mode)) return "cannot hide a symbolic link (name its target): " + path;
  if (mount("/dev/null", path.c_str(), nullptr, MS_BIND, nullptr) < 0) return fail("hide", path);
  if (mount(nullptr, path.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) < 0)
    return fail("hide (read-only)", path);
  return "";
}

}  // namespace

std::string enter_sandbox(const SandboxPlan& plan) {
  // The spawner is already in the step's cgroup: a cgroup namespace rooted there means no
  // process of the step can move itself out (and away from the network guard).
  int flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP |
              (plan.own_netns ? CLONE_NEWNET : 0);
  if (unshare(flags) < 0) return fail("unshare");
  if (plan.own_netns)
    if (std::string e = lo_up(); !e.empty()) return e;
  if (sethostname("stepseal", 8) < 0) return fail("sethostname");
  // Nothing done here may propagate back to the host.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0) return fail("make / a slave");

  // The writable trees are detached copies taken before / turns read-only, put back afterwards.
  // Writable paths on /tmp (other than the workspace) live on the step's fresh tmpfs instead.
  std::vector<std::string> keep = plan.writable;
  keep.push_back(plan.workspace);
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  std::vector<std::pair<std::string, int>> trees;
  std::vector<std::string> on_tmp;
  for (const auto& w : keep) {
    if (policy::on_private_dir(w) && !policy::path_within(w, plan.workspace)) {
      on_tmp.push_back(w);
      continue;
    }
    if (w != plan.workspace && !plan.readonly_default) continue;  // already writable
    int fd = static_cast<int>(syscall(SYS_open_tree, AT_FDCWD, w.c_str(),
                                      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
    if (fd < 0) {
      if (errno == ENOENT && w != plan.workspace) continue;  // nothing to keep
      return fail("open_tree", w);
    }
    trees.emplace_back(w, fd);
  }
  if (plan.readonly_default && setattr("/", MOUNT_ATTR_RDONLY, 0) < 0)
    return fail("make the filesystem read-only");
  // sysfs (cgroups included) is never the step's to change, whatever the policy says
  if (setattr("/sys", MOUNT_ATTR_RDONLY, 0) < 0 && errno != ENOENT && errno != EINVAL)
    return fail("make /sys read-only");
  for (const char* t : SS_PRIVATE_DIRS) {  // a real directory (not /var/run -> /run)
    struct stat st;
    if (lstat(t, &st) == 0 && S_ISDIR(st.st_mode) &&
        mount("tmpfs", t, "tmpfs",
              MS_NOSUID | MS_NODEV | (plan.noexec_writable ? MS_NOEXEC : 0), "mode=1777") < 0)
      return fail("mount a fresh tmpfs on", t);
  }
  for (const auto& w : on_tmp)
    if (mkdirs(w) < 0) return fail("mkdir", w);
  for (auto& [w, fd] : trees) {
    if (policy::on_private_dir(w) && mkdirs(w) < 0) return fail("mkdir", w);
    if (syscall(SYS_move_mount, fd, "", AT_FDCWD, w.c_str(), MOVE_MOUNT_F_EMPTY_PATH) < 0)
      return fail("move_mount", w);
    close(fd);
    if (setattr(w.c_str(), plan.noexec_writable ? MOUNT_ATTR_NOEXEC : 0, MOUNT_ATTR_RDONLY) < 0)
      return fail("make writable", w);
  }
  for (const auto& h : plan.hidden)
    if (std::string e = hide(h); !e.empty()) return e;
  // The host's ptys (other users' terminals) are not the step's: a devpts of its own.
  if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
            "newinstance,ptmxmode=0666,mode=0620") < 0)
    return fail("mount a devpts of the step's own");
  if (mount("/dev/pts/ptmx", "/dev/ptmx", nullptr, MS_BIND, nullptr) < 0)
    return fail("bind /dev/pts/ptmx");
  // hidepid=ptraceable (not "invisible", which exempts gid 0): the step does not see its init
  // (the spawner, made undumpable), whose
  // /proc files (oom_score_adj ...) would otherwise be the step's root user's to write.
  if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=ptraceable") < 0)
    return fail("mount /proc for the step's pid namespace");
  // Root without capabilities may still write most of /proc/sys (only the euid is checked):
  // kernel.core_pattern alone would run a program of the step's as root on the host. These
  // parts of the fresh /proc are the host's, and read-only.
  for (const char* p : {"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus", "/proc/fs",
                        "/proc/acpi", "/proc/asound", "/proc/scsi"}) {
    struct stat st;
    if (lstat(p, &st) < 0) continue;
    if (mount(p, p, nullptr, MS_BIND | MS_REC, nullptr) < 0 ||
        mount(nullptr, p, nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              nullptr) < 0)
      return fail("make read-only", p);
  }
  if (chdir(plan.workspace.c_str()) < 0) return fail("chdir", plan.workspace);
  return "";
}

std::string restrict_self(const SandboxPlan& plan) {
  // the spawner keeps another saved gid (spawner.cpp): the step's credentials never all match
  // its init's, so prlimit() and the like on pid 1 need a capability the step does not have
  if (!plan.uid && setresgid(0, 0, 0) < 0) return fail("setresgid");
  // Environment: only what the allowlist names.
  std::vector<std::string> drop;
  for (char** e = environ; e && *e; e++) {
    std::string kv = *e;
    std::string name = kv.substr(0, kv.find('='));
    bool ok = std::any_of(plan.env_allow.begin(), plan.env_allow.end(),
                          [&](const std::string& p) { return glob_match(p.c_str(), name.c_str()); });
    if (!ok) drop.push_back(name);
  }
  for (const auto& n : drop) unsetenv(n.c_str());

  // No core dumps: the kernel would write one with no system call of the step's, or hand it to
  // a core_pattern pipe helper outside the step. A hard limit (the step cannot raise it without
  // CAP_SYS_RESOURCE) of 1, not 0: the kernel skips a pipe dump only for 1 (its own recursion
  // guard), and a file dump for anything below a page.
  rlimit no_core{1, 1};
  if (setrlimit(RLIMIT_CORE, &no_core) < 0) return fail("setrlimit RLIMIT_CORE");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return fail("no_new_privs");
  uint64_t keep = 0;
  for (int c : plan.capabilities) keep |= uint64_t{1} << c;
  for (int c = 0; c <= CAP_LAST_CAP; c++)
    if (!(keep & (uint64_t{1} << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
      return fail("drop capability from the bounding set");
  if (plan.uid) {
    if (keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) return fail("keepcaps");
    if (setgroups(0, nullptr) < 0) return fail("setgroups");
    if (setresgid(*plan.uid, *plan.uid, *plan.uid) < 0) return fail("setresgid");
    if (setresuid(*plan.uid, *plan.uid, *plan.uid) < 0) return fail("setresuid");
  }
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2] = {};
  for (int i = 0; i < 2; i++) {
    d[i].effective = d[i].permitted = d[i].inheritable = static_cast<uint32_t>(keep >> (32 * i));
  }
  if (syscall(SYS_capset, &h, d) < 0) return fail("capset");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) return fail("clear ambient");
  if (plan.uid && *plan.uid != 0)  // a non-root uid keeps capabilities across exec only as ambient
    for (int c : plan.capabilities)
      if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0) return fail("raise ambient");
  if (plan.deny_filter)
    if (int rc = install_deny_filter(); rc < 0) {
      errno = -rc;
      return fail("install the seccomp deny-list");
    }
  return "";
}

}  // namespace stepseal
