#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

int
fileio_write_atomic(const char *path, const void *data, size_t len, mode_t mode, wedge_error_t *err)
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
  if (fsync(fd) < 0)
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
