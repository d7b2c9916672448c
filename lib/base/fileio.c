#include "base/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"

int
fileio_write_replace(const char *path, const void *data, size_t len, mode_t mode, wedge_error_t *err)
{
  _cleanup_free_ char *tmp = NULL;
  const char *base = strrchr(path, '/');
  int n = base ? asprintf(&tmp, "%.*s/.%s", (int) (base - path), path, base + 1) : asprintf(&tmp, ".%s", path);
  if (n < 0)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");

  _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "write %s", tmp);

  const char *p = data;
  size_t off = 0;
  while (off < len)
    {
      ssize_t w = write(fd, p + off, len - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        {
          int r = wedge_error_set_errno(err, w < 0 ? errno : EIO, WEDGE_INTERNAL, "write %s", tmp);
          (void) unlink(tmp);
          return r;
        }
      off += (size_t) w;
    }
  if (rename(tmp, path) < 0)
    {
      int r = wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "rename %s to %s", tmp, path);
      (void) unlink(tmp);
      return r;
    }
  return 0;
}

int
fileio_read_fd(int fd, void *buf, size_t cap, size_t *ret_len)
{
  char *p = buf;
  size_t len = 0;
  while (len < cap)
    {
      ssize_t n = read(fd, p + len, cap - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -errno;
      if (n == 0)
        break;
      len += (size_t) n;
    }
  *ret_len = len;
  return 0;
}

int
fileio_mkdir_parents(const char *path, mode_t mode, wedge_error_t *err)
{
  _cleanup_free_ char *p = strdup(path);
  if (p == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
  for (char *s = p + 1;; s++)
    {
      if (*s != '/' && *s != '\0')
        continue;
      char saved = *s;
      *s = '\0';
      if (mkdir(p, mode) < 0 && errno != EEXIST)
        return wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "mkdir %s", p);
      *s = saved;
      if (saved == '\0')
        return 0;
    }
}

int
fileio_copy(const char *from, const char *to, wedge_error_t *err)
{
  _cleanup_close_ int in = open(from, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "open %s", from);
  _cleanup_close_ int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (out < 0)
    return wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "open %s", to);
  for (;;)
    {
      ssize_t n = sendfile(out, in, NULL, 1 << 20);
      if (n == 0)
        return 0;
      if (n < 0 && errno != EINTR)
        return wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "copy %s to %s", from, to);
    }
}

static int
fileio_remove_at(int parent, const char *name, wedge_error_t *err)
{
  if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
    return 0;
  if (errno != EISDIR && errno != EPERM)
    return wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "remove %s", name);
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "open %s", name);
  _cleanup_closedir_ DIR *d = fdopendir(fd);
  if (d == NULL)
    {
      close(fd);
      return wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "open %s", name);
    }
  struct dirent *de;
  while ((de = readdir(d)) != NULL)
    {
      if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
        continue;
      int r = fileio_remove_at(dirfd(d), de->d_name, err);
      if (r < 0)
        return wedge_error_prefix(err, "%s", name);
    }
  if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "remove %s", name);
  return 0;
}

int
fileio_remove_tree(const char *path, wedge_error_t *err)
{
  return fileio_remove_at(AT_FDCWD, path, err);
}
