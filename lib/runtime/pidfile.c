#include "runtime/pidfile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fileio.h"

/* A pid is at most 7 digits (pid_max <= 4194304); anything longer than this is not a pid file. */
#define PIDFILE_MAX 64

pid_t
pidfile_parse(const char *buf, size_t len, wedge_error_t *err)
{
  size_t b = 0, e = len;
  while (b < e && isspace((unsigned char) buf[b]))
    b++;
  while (e > b && isspace((unsigned char) buf[e - 1]))
    e--;

  long v = 0;
  bool ok = b < e && e - b <= 10;
  for (size_t i = b; ok && i < e; i++)
    {
      if (buf[i] < '0' || buf[i] > '9')
        ok = false;
      else
        v = v * 10 + (buf[i] - '0');
    }
  if (!ok || v <= 0 || v > INT_MAX)
    return wedge_error_set(err, EINVAL, WEDGE_INTERNAL, "pid file content is not a pid: \"%.*s\"",
                           (int) (len > PIDFILE_MAX ? PIDFILE_MAX : len), buf);
  return (pid_t) v;
}

pid_t
pidfile_read(const char *path, wedge_error_t *err)
{
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    {
      int e = errno;
      return wedge_error_set_errno(err, e, e == ENOENT ? WEDGE_NOT_FOUND : WEDGE_INTERNAL, "cannot open pid file %s",
                                   path);
    }

  char buf[PIDFILE_MAX + 1];
  size_t len = 0;
  int r = fileio_read_fd(fd, buf, sizeof buf, &len);
  if (r < 0)
    return wedge_error_set_errno(err, -r, WEDGE_INTERNAL, "cannot read pid file %s", path);

  pid_t pid = pidfile_parse(buf, len, err);
  if (pid < 0)
    return wedge_error_prefix(err, "%s", path);
  return pid;
}
