/* ns_escape DIR
 * The first steps of a container escape or of a private view of the filesystem:
 *   unshare(CLONE_NEWNS)                                        prints "unshare RESULT"
 *   mount("none", DIR, "tmpfs", MS_NOSUID | MS_NODEV, ...)       prints "mount RESULT"
 * RESULT is "ok" or the errno name. A tmpfs that did get mounted is detached again at once.
 * If the unshare succeeded, the new namespace is first made private (mount(NULL, "/", NULL,
 * MS_REC | MS_PRIVATE)), so that the tmpfs cannot propagate back to the mount namespace of the
 * host; if it failed, "/" is left alone (making it private would change the caller's
 * namespace). Exits 0 once both lines are printed: the outcome is the output, not the status.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/mount.h>

#include "prog_util.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  int unshared = unshare(CLONE_NEWNS) == 0;
  printf("unshare %s\n", unshared ? "ok" : strerrorname_np(errno));
  fflush(stdout);
  if (unshared && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
    die("make / private in the new mount namespace");

  int mounted = mount("none", argv[1], "tmpfs", MS_NOSUID | MS_NODEV, "size=64k") == 0;
  printf("mount %s\n", mounted ? "ok" : strerrorname_np(errno));
  fflush(stdout);
  if (mounted && umount2(argv[1], MNT_DETACH) != 0) die("umount2 %s", argv[1]);
  return 0;
}
