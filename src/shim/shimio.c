#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "shim.h"
#include "shimio.h"

void
shim_report(const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "%s: ", SHIM_RUNTIME_NAME);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

/* An options Any is a few hundred bytes; a BootstrapParams a few KiB. */
#define SHIM_STDIN_MAX (1 << 20)

int
shim_read_stdin(char **ret_buf, size_t *ret_len, wedge_error_t *err)
{
  size_t cap = 4096, len = 0;
  _cleanup_free_ char *buf = malloc(cap);
  if (buf == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
  for (;;)
    {
      if (len == cap)
        {
          if (cap >= SHIM_STDIN_MAX)
            return wedge_error_set(err, EFBIG, WEDGE_INVALID_ARGUMENT, "stdin larger than %d bytes", SHIM_STDIN_MAX);
          char *bigger = realloc(buf, cap * 2);
          if (bigger == NULL)
            return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
          buf = bigger;
          cap *= 2;
        }
      ssize_t n = read(STDIN_FILENO, buf + len, cap - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          /* A closed fd 0 (EBADF) is "no options", as /dev/null would be. */
          if (errno == EBADF)
            break;
          return wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "read stdin");
        }
      if (n == 0)
        break;
      len += (size_t) n;
    }
  *ret_buf = TAKE_PTR(buf);
  *ret_len = len;
  return 0;
}

int
shim_write_stdout(const void *buf, size_t len, wedge_error_t *err)
{
  for (size_t off = 0; off < len;)
    {
      ssize_t n = write(STDOUT_FILENO, (const uint8_t *) buf + off, len - off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "write stdout");
      off += (size_t) n;
    }
  return 0;
}
