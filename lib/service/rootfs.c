#include "service/rootfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/mount.h"

struct rootfs_flag
{
  const char *name;
  bool clear;
  unsigned long flag;
};

/* containerd's parseMountOptions table (mount/mount_linux.go). */
static const struct rootfs_flag rootfs_flags[] = {
  { "async", true, MS_SYNCHRONOUS },
  { "atime", true, MS_NOATIME },
  { "bind", false, MS_BIND },
  { "defaults", false, 0 },
  { "dev", true, MS_NODEV },
  { "diratime", true, MS_NODIRATIME },
  { "dirsync", false, MS_DIRSYNC },
  { "exec", true, MS_NOEXEC },
  { "mand", false, MS_MANDLOCK },
  { "noatime", false, MS_NOATIME },
  { "nodev", false, MS_NODEV },
  { "nodiratime", false, MS_NODIRATIME },
  { "noexec", false, MS_NOEXEC },
  { "nomand", true, MS_MANDLOCK },
  { "norelatime", true, MS_RELATIME },
  { "nostrictatime", true, MS_STRICTATIME },
  { "nosuid", false, MS_NOSUID },
  { "rbind", false, MS_BIND | MS_REC },
  { "relatime", false, MS_RELATIME },
  { "remount", false, MS_REMOUNT },
  { "ro", false, MS_RDONLY },
  { "rw", true, MS_RDONLY },
  { "strictatime", false, MS_STRICTATIME },
  { "suid", true, MS_NOSUID },
  { "sync", false, MS_SYNCHRONOUS },
};

static const struct rootfs_flag rootfs_propagation[] = {
  { "private", false, MS_PRIVATE },
  { "rprivate", false, MS_PRIVATE | MS_REC },
  { "shared", false, MS_SHARED },
  { "rshared", false, MS_SHARED | MS_REC },
  { "slave", false, MS_SLAVE },
  { "rslave", false, MS_SLAVE | MS_REC },
  { "unbindable", false, MS_UNBINDABLE },
  { "runbindable", false, MS_UNBINDABLE | MS_REC },
};

static const struct rootfs_flag *
rootfs_lookup(const struct rootfs_flag *table, size_t n, const char *word)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(table[i].name, word) == 0)
      return &table[i];
  return NULL;
}

int
rootfs_parse_options(const char *const *options, size_t n, struct rootfs_options *ret, wedge_error_t *err)
{
  unsigned long flags = 0, propagation = 0;
  _cleanup_free_ char *data = NULL;
  size_t data_len = 0;

  for (size_t i = 0; i < n; i++)
    {
      const char *o = options[i];
      const struct rootfs_flag *f = rootfs_lookup(rootfs_flags, ARRAY_SIZE(rootfs_flags), o);
      if (f)
        {
          if (f->clear)
            flags &= ~f->flag;
          else
            flags |= f->flag;
          continue;
        }
      f = rootfs_lookup(rootfs_propagation, ARRAY_SIZE(rootfs_propagation), o);
      if (f)
        {
          propagation = f->flag;
          continue;
        }
      size_t len = strlen(o);
      char *grown = realloc(data, data_len + len + 2);
      if (grown == NULL)
        return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "out of memory");
      data = grown;
      if (data_len > 0)
        data[data_len++] = ',';
      memcpy(data + data_len, o, len + 1);
      data_len += len;
    }

  if (data == NULL && (data = strdup("")) == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "out of memory");
  ret->flags = flags;
  ret->propagation = propagation;
  ret->data = TAKE_PTR(data);
  return 0;
}

void
rootfs_options_clear(struct rootfs_options *o)
{
  free(o->data);
  o->data = NULL;
}

static char *
rootfs_describe(const struct rootfs_mount *m)
{
  size_t len = 0;
  for (size_t i = 0; i < m->n_options; i++)
    len += strlen(m->options[i]) + 1;
  _cleanup_free_ char *opts = calloc(1, len + 1);
  if (opts == NULL)
    return NULL;
  for (size_t i = 0; i < m->n_options; i++)
    {
      if (i > 0)
        strcat(opts, ",");
      strcat(opts, m->options[i]);
    }
  char *s = NULL;
  if (asprintf(&s, "%s %s (%s)", m->type, m->source, opts) < 0)
    return NULL;
  return s;
}

static int
rootfs_mount_error(const struct rootfs_mount *m, int errnum, wedge_error_t *err)
{
  _cleanup_free_ char *what = rootfs_describe(m);
  return wedge_error_set_errno(err, errnum, WEDGE_INTERNAL, "failed to mount rootfs component %s",
                               what ? what : m->type);
}

int
rootfs_mount_one(const struct rootfs_mount *m, const char *target, wedge_error_t *err)
{
  struct rootfs_options o;
  int r = rootfs_parse_options(m->options, m->n_options, &o, err);
  if (r < 0)
    return r;
  _cleanup_free_ char *data = o.data;

  /* mount(2) copies at most one page of data. containerd shortens long overlay lowerdir lists by
   * chdir'ing to their common parent; we do not, and refuse plainly rather than let the kernel
   * cut the list. */
  long page = sysconf(_SC_PAGESIZE);
  if (page > 0 && strlen(data) >= (size_t) page)
    return rootfs_mount_error(m, E2BIG, err);

  if (mount(m->source, target, m->type, o.flags, data[0] ? data : NULL) < 0)
    return rootfs_mount_error(m, errno, err);

  if (o.propagation && mount("", target, "", o.propagation, NULL) < 0)
    return rootfs_mount_error(m, errno, err);

  /* The first bind mount call ignores MS_RDONLY; only a remount makes it read-only. */
  if ((o.flags & MS_BIND) && (o.flags & MS_RDONLY)
      && mount("", target, "", o.flags | MS_REMOUNT, NULL) < 0)
    return rootfs_mount_error(m, errno, err);
  return 0;
}

int
rootfs_mount_all(const struct rootfs_mount *mounts, size_t n, const char *target, wedge_error_t *err)
{
  for (size_t i = 0; i < n; i++)
    {
      int r = rootfs_mount_one(&mounts[i], target, err);
      if (r < 0)
        {
          if (i > 0 || mount_is_mountpoint(target) > 0)
            (void) mount_unmount_all(target, NULL);
          return r;
        }
    }
  return 0;
}
