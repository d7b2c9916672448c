#include "runtime/runtime_log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"

/* A failing call logs a handful of records; more than this after the offset means the file is
 * being flooded (debug logging), and the error we want is at the end. */
#define RUNTIME_LOG_TAIL_MAX (1 << 20)

off_t
runtime_log_offset(const char *path)
{
  struct stat st;
  if (path == NULL || stat(path, &st) < 0)
    return 0;
  return st.st_size;
}

static bool
is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static char *
trimmed_dup(const char *s)
{
  size_t b = 0, e = strlen(s);
  while (b < e && is_space(s[b]))
    b++;
  while (e > b && is_space(s[e - 1]))
    e--;
  return strndup(s + b, e - b);
}

/* The message of one line when it is an error record, else NULL. */
static char *
runtime_log_line_error(const char *line, size_t len)
{
  json_t *rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
  if (rec == NULL)
    return NULL;
  char *msg = NULL;
  if (json_is_object(rec))
    {
      const char *level = json_string_value(json_object_get(rec, "level"));
      const char *text = json_string_value(json_object_get(rec, "msg"));
      if (text == NULL)
        text = json_string_value(json_object_get(rec, "message"));
      if (level && text && strcasecmp(level, "error") == 0)
        msg = trimmed_dup(text);
    }
  json_decref(rec);
  return msg;
}

char *
runtime_log_last_error_buf(const char *buf, size_t len)
{
  char *last = NULL;
  size_t pos = 0;
  while (pos < len)
    {
      const char *nl = memchr(buf + pos, '\n', len - pos);
      size_t end = nl ? (size_t) (nl - buf) : len;
      char *msg = runtime_log_line_error(buf + pos, end - pos);
      if (msg)
        {
          free(last);
          last = msg;
        }
      pos = end + 1;
    }
  return last;
}

char *
runtime_log_last_error(const char *path, off_t offset)
{
  if (path == NULL)
    return NULL;
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return NULL;
  struct stat st;
  if (fstat(fd, &st) < 0)
    return NULL;
  /* A file smaller than the offset was truncated or replaced since: all of it is new. */
  if (offset < 0 || offset > st.st_size)
    offset = 0;
  bool cut = false;
  if (st.st_size - offset > RUNTIME_LOG_TAIL_MAX)
    {
      offset = st.st_size - RUNTIME_LOG_TAIL_MAX;
      cut = true;
    }
  size_t want = (size_t) (st.st_size - offset);
  if (want == 0)
    return NULL;

  _cleanup_free_ char *buf = malloc(want);
  if (buf == NULL)
    return NULL;
  size_t len = 0;
  while (len < want)
    {
      ssize_t n = pread(fd, buf + len, want - len, offset + (off_t) len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      len += (size_t) n;
    }

  const char *start = buf;
  if (cut)
    {
      const char *nl = memchr(buf, '\n', len);
      if (nl == NULL)
        return NULL;
      start = nl + 1;
    }
  return runtime_log_last_error_buf(start, len - (size_t) (start - buf));
}
