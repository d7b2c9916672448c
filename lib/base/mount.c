#include "base/mount.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>

#include "base/cleanup.h"

/* containerd's mount.Unmount retries EBUSY (50 x 50 ms); ours is shorter because the shim's loop
 * must not stall for long on one container. */
#define MOUNT_BUSY_RETRIES 10
#define MOUNT_BUSY_SLEEP_NS (50 * 1000 * 1000L)
/* No target has this many mounts stacked; the bound only stops a kernel that keeps answering 0. */
#define MOUNT_MAX_STACKED 4096

static int
mount_unmount_one(const char *target)
{
  for (int i = 0;; i++)
    {
      if (umount2(target, UMOUNT_NOFOLLOW) == 0)
        return 0;
      if (errno != EBUSY || i >= MOUNT_BUSY_RETRIES)
        return -errno;
      struct timespec ts = { 0, MOUNT_BUSY_SLEEP_NS };
      nanosleep(&ts, NULL);
    }
}

int
mount_unmount_all(const char *target, wedge_error_t *err)
{
  for (int n = 0; n < MOUNT_MAX_STACKED; n++)
    {
      int r = mount_unmount_one(target);
      /* EINVAL: not a mount point (any more); ENOENT: the target is gone. Both mean done, as in
       * containerd's UnmountAll. */
      if (r == -EINVAL || r == -ENOENT)
        return 0;
      if (r < 0)
        return wedge_error_set_errno(err, r, WEDGE_INTERNAL, "unmount %s", target);
    }
  return wedge_error_set(err, ELOOP, WEDGE_INTERNAL, "unmount %s: still mounted after %d unmounts", target,
                         MOUNT_MAX_STACKED);
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void
mount_unescape(char *s)
{
  char *w = s;
  for (char *r = s; *r; r++)
    {
      if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7')
        {
          *w++ = (char) (((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
          r += 3;
        }
      else
        *w++ = *r;
    }
  *w = '\0';
}

char *
mount_info_mount_point(char *line)
{
  /* "<id> <parent> <major:minor> <root> <mount point> ..." */
  char *save = NULL;
  char *field = strtok_r(line, " ", &save);
  for (int i = 0; field && i < 4; i++)
    field = strtok_r(NULL, " ", &save);
  if (field == NULL)
    return NULL;
  mount_unescape(field);
  return field;
}

int
mount_is_mountpoint(const char *path)
{
  _cleanup_free_ char *canon = realpath(path, NULL);
  if (canon == NULL)
    return -errno;

  _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
  if (f == NULL)
    return -errno;

  _cleanup_free_ char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0)
    {
      const char *mount_point = mount_info_mount_point(line);
      if (mount_point && strcmp(mount_point, canon) == 0)
        return 1;
    }
  return 0;
}
