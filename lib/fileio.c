#include "fileio.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

static int
fileio_write_rename(const char *path, const void *data, size_t len, mode_t mode, bool durable, wedge_error_t *err)
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
  if (durable && fsync(fd) < 0)
    {
      int r = wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "write %s", tmp);
      (void) unlink(tmp);
      return r;
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
fileio_write_atomic(const char *path, const void *data, size_t len, mode_t mode, wedge_error_t *err)
{
  return fileio_write_rename(path, data, len, mode, true, err);
}

int
fileio_write_replace(const char *path, const void *data, size_t len, mode_t mode, wedge_error_t *err)
{
  return fileio_write_rename(path, data, len, mode, false, err);
}
