#include "base/shimlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"

/* Longest escape of one input rune: \U0010ffff. */
#define ESCAPE_MAX 10
/* A single field value never takes more than this, so one runaway error string cannot crowd
 * out the message. */
#define FIELD_VALUE_MAX 1024

struct linebuf
{
  char *buf;
  size_t cap;
  size_t len;
};

static void
lb_put(struct linebuf *lb, const char *s, size_t n)
{
  if (n > lb->cap - lb->len)
    n = lb->cap - lb->len;
  memcpy(lb->buf + lb->len, s, n);
  lb->len += n;
}

static void
lb_puts(struct linebuf *lb, const char *s)
{
  lb_put(lb, s, strlen(s));
}

const char *
shimlog_level_name(enum shimlog_level level)
{
  switch (level)
    {
    case SHIMLOG_ERROR: return "error";
    case SHIMLOG_WARN: return "warning";
    case SHIMLOG_INFO: return "info";
    case SHIMLOG_DEBUG: return "debug";
    default: return "unknown";
    }
}

/* logrus TextFormatter.needsQuoting. */
static bool
needs_quoting(const char *s)
{
  for (; *s; s++)
    {
      char c = *s;
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || c == '-' || c == '.' || c == '_' || c == '/' || c == '@' || c == '^' || c == '+'))
        return true;
    }
  return false;
}

/* Decodes one UTF-8 sequence as Go does (no overlongs, no surrogates, max U+10FFFF). Returns
 * its length, or 0 when s[0] does not start a valid sequence. */
static size_t
utf8_decode(const unsigned char *s, size_t avail, uint32_t *ret_rune)
{
  uint32_t r;
  size_t n;
  if (s[0] < 0x80)
    {
      *ret_rune = s[0];
      return 1;
    }
  else if (s[0] >= 0xc2 && s[0] <= 0xdf)
    {
      r = s[0] & 0x1f;
      n = 2;
    }
  else if (s[0] >= 0xe0 && s[0] <= 0xef)
    {
      r = s[0] & 0x0f;
      n = 3;
    }
  else if (s[0] >= 0xf0 && s[0] <= 0xf4)
    {
      r = s[0] & 0x07;
      n = 4;
    }
  else
    return 0;
  if (avail < n)
    return 0;
  for (size_t i = 1; i < n; i++)
    {
      if ((s[i] & 0xc0) != 0x80)
        return 0;
      r = r << 6 | (s[i] & 0x3f);
    }
  if ((n == 3 && r < 0x800) || (n == 4 && (r < 0x10000 || r > 0x10ffff)) || (r >= 0xd800 && r <= 0xdfff))
    return 0;
  *ret_rune = r;
  return n;
}

/* Go's unicode.IsPrint for runes >= 0x80, approximated without the Unicode tables: the
 * separators other than ASCII space, the C1 controls, the common format characters, private
 * use and noncharacters are escaped; everything else is printed as is. */
static bool
rune_is_print(uint32_t r)
{
  if (r < 0xa0)
    return false;
  if (r == 0xa0 || r == 0xad || r == 0x1680 || r == 0x180e || (r >= 0x2000 && r <= 0x200f)
      || (r >= 0x2028 && r <= 0x202f) || (r >= 0x205f && r <= 0x206f) || r == 0x3000 || r == 0xfeff
      || (r >= 0xfff9 && r <= 0xfffb) || r == 0xfffe || r == 0xffff || (r >= 0xe000 && r <= 0xf8ff)
      || r >= 0xf0000 || (r & 0xfffe) == 0xfffe)
    return false;
  return true;
}

/* Writes the %q form of the rune starting at s into out; returns the bytes of s consumed. */
static size_t
escape_one(const unsigned char *s, size_t avail, char out[ESCAPE_MAX + 1], size_t *ret_out_len)
{
  static const char simple[] = "\a" "a" "\b" "b" "\f" "f" "\n" "n" "\r" "r" "\t" "t" "\v" "v" "\"\"" "\\\\";
  uint32_t r;
  size_t n = utf8_decode(s, avail, &r);

  if (n == 0)
    {
      *ret_out_len = (size_t) snprintf(out, ESCAPE_MAX + 1, "\\x%02x", s[0]);
      return 1;
    }
  if (r < 0x80)
    {
      for (size_t i = 0; i + 1 < sizeof(simple); i += 2)
        if ((uint32_t) (unsigned char) simple[i] == r)
          {
            out[0] = '\\';
            out[1] = simple[i + 1];
            *ret_out_len = 2;
            return 1;
          }
      if (r >= 0x20 && r < 0x7f)
        {
          out[0] = (char) r;
          *ret_out_len = 1;
          return 1;
        }
      *ret_out_len = (size_t) snprintf(out, ESCAPE_MAX + 1, "\\x%02x", (unsigned) r);
      return 1;
    }
  if (rune_is_print(r))
    {
      memcpy(out, s, n);
      *ret_out_len = n;
      return n;
    }
  if (r < 0x10000)
    *ret_out_len = (size_t) snprintf(out, ESCAPE_MAX + 1, "\\u%04x", (unsigned) r);
  else
    *ret_out_len = (size_t) snprintf(out, ESCAPE_MAX + 1, "\\U%08x", (unsigned) r);
  return n;
}

/* Appends a logrus value taking at most `limit` bytes; a value cut short ends in "...". */
static void
append_value(struct linebuf *lb, const char *value, size_t limit)
{
  static const char cut[] = "...";
  size_t vlen = strlen(value);

  if (!needs_quoting(value))
    {
      if (vlen <= limit)
        lb_put(lb, value, vlen);
      else if (limit >= sizeof(cut) - 1)
        {
          lb_put(lb, value, limit - (sizeof(cut) - 1));
          lb_puts(lb, cut);
        }
      return;
    }

  /* Room for the quotes and a possible "..." is kept back while escaping. */
  if (limit < 2 + sizeof(cut) - 1)
    return;
  size_t budget = limit - 2;
  size_t used = 0;
  const unsigned char *s = (const unsigned char *) value;
  size_t off = 0;
  lb_puts(lb, "\"");
  while (off < vlen)
    {
      char esc[ESCAPE_MAX + 1];
      size_t esc_len;
      size_t consumed = escape_one(s + off, vlen - off, esc, &esc_len);
      size_t rest_after = vlen - off - consumed;
      size_t reserve = rest_after > 0 ? sizeof(cut) - 1 : 0;
      if (used + esc_len + reserve > budget)
        {
          lb_puts(lb, cut);
          break;
        }
      lb_put(lb, esc, esc_len);
      used += esc_len;
      off += consumed;
    }
  lb_puts(lb, "\"");
}

static void
append_time(struct linebuf *lb, const struct timespec *now)
{
  struct tm tm;
  char buf[64];
  time_t sec = now->tv_sec;

  if (localtime_r(&sec, &tm) == NULL)
    {
      gmtime_r(&sec, &tm);
      tm.tm_gmtoff = 0;
    }
  size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  long off = tm.tm_gmtoff;
  if (off == 0)
    snprintf(buf + n, sizeof(buf) - n, ".%09ldZ", (long) now->tv_nsec);
  else
    {
      char sign = off < 0 ? '-' : '+';
      if (off < 0)
        off = -off;
      snprintf(buf + n, sizeof(buf) - n, ".%09ld%c%02ld:%02ld", (long) now->tv_nsec, sign, off / 3600,
               off / 60 % 60);
    }
  lb_puts(lb, "time=\"");
  lb_puts(lb, buf);
  lb_puts(lb, "\"");
}

static int
field_cmp(const void *a, const void *b)
{
  const struct shimlog_field *fa = *(const struct shimlog_field *const *) a;
  const struct shimlog_field *fb = *(const struct shimlog_field *const *) b;
  return strcmp(fa->key, fb->key);
}

size_t
shimlog_format(const struct shimlog *log, const struct timespec *now, enum shimlog_level level,
               const struct shimlog_field *fields, size_t n_fields, const char *msg, char *buf, size_t cap)
{
  const struct shimlog_field *sorted[2 * SHIMLOG_MAX_FIELDS];
  size_t n_sorted = 0;
  char tail_buf[SHIMLOG_LINE_MAX / 2];
  struct linebuf tail = { tail_buf, sizeof(tail_buf), 0 };
  struct linebuf lb = { buf, cap - 1, 0 };

  if (log)
    for (size_t i = 0; i < log->n_fields && n_sorted < ARRAY_SIZE(sorted); i++)
      sorted[n_sorted++] = &log->fields[i];
  for (size_t i = 0; i < n_fields && n_sorted < ARRAY_SIZE(sorted); i++)
    sorted[n_sorted++] = &fields[i];
  qsort(sorted, n_sorted, sizeof(sorted[0]), field_cmp);

  for (size_t i = 0; i < n_sorted; i++)
    {
      size_t keylen = strlen(sorted[i]->key);
      if (tail.len + 2 + keylen + 8 > tail.cap)
        break;
      lb_puts(&tail, " ");
      lb_puts(&tail, sorted[i]->key);
      lb_puts(&tail, "=");
      size_t room = tail.cap - tail.len;
      append_value(&tail, sorted[i]->value ? sorted[i]->value : "", room < FIELD_VALUE_MAX ? room : FIELD_VALUE_MAX);
    }

  append_time(&lb, now);
  lb_puts(&lb, " level=");
  lb_puts(&lb, shimlog_level_name(level));
  if (msg && msg[0])
    {
      lb_puts(&lb, " msg=");
      size_t room = lb.cap - lb.len;
      append_value(&lb, msg, room > tail.len ? room - tail.len : 0);
    }
  lb_put(&lb, tail.buf, tail.len);
  buf[lb.len] = '\n';
  return lb.len + 1;
}

void
shimlog_init_fd(struct shimlog *log, int fd, bool debug)
{
  memset(log, 0, sizeof(*log));
  log->fd = fd;
  log->own_fd = false;
  log->max_level = debug ? SHIMLOG_DEBUG : SHIMLOG_INFO;
}

int
shimlog_open(struct shimlog *log, const char *path, bool debug, wedge_error_t *err)
{
  shimlog_init_fd(log, -1, debug);
  /* O_NONBLOCK: a blocking open would wait for a reader forever, and blocking writes would let
   * a stalled containerd stop the shim. containerd opens the FIFO O_RDWR before `start`, so a
   * reader exists whenever containerd runs us. */
  int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return wedge_error_set_errno(err, errno, errno == ENOENT ? WEDGE_NOT_FOUND : WEDGE_UNKNOWN,
                                 "open shim log %s", path);
  log->fd = fd;
  log->own_fd = true;
  return 0;
}

int
shimlog_add_field(struct shimlog *log, const char *key, const char *value)
{
  if (log->n_fields >= SHIMLOG_MAX_FIELDS)
    return -E2BIG;
  _cleanup_free_ char *k = strdup(key);
  _cleanup_free_ char *v = strdup(value ? value : "");
  if (k == NULL || v == NULL)
    return -ENOMEM;
  log->fields[log->n_fields].key = TAKE_PTR(k);
  log->fields[log->n_fields].value = TAKE_PTR(v);
  log->n_fields++;
  return 0;
}

void
shimlog_close(struct shimlog *log)
{
  if (log == NULL)
    return;
  if (log->own_fd && log->fd >= 0)
    close(log->fd);
  log->fd = -1;
  log->own_fd = false;
  for (size_t i = 0; i < log->n_fields; i++)
    {
      free((char *) log->fields[i].key);
      free((char *) log->fields[i].value);
    }
  log->n_fields = 0;
}

bool
shimlog_enabled(const struct shimlog *log, enum shimlog_level level)
{
  return log && log->fd >= 0 && level <= log->max_level;
}

static void shimlog_emit(struct shimlog *log, enum shimlog_level level, const struct shimlog_field *fields,
                         size_t n_fields, const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void
shimlog_emit(struct shimlog *log, enum shimlog_level level, const struct shimlog_field *fields, size_t n_fields,
             const char *fmt, va_list ap)
{
  char msg[SHIMLOG_LINE_MAX];
  char line[SHIMLOG_LINE_MAX];
  struct timespec now;
  int saved_errno = errno;

  vsnprintf(msg, sizeof(msg), fmt, ap);
  clock_gettime(CLOCK_REALTIME, &now);
  size_t len = shimlog_format(log, &now, level, fields, n_fields, msg, line, sizeof(line));

  /* One write of at most PIPE_BUF bytes is atomic on a pipe: either the whole line goes in or
   * (O_NONBLOCK, pipe full) nothing does. EPIPE means containerd is gone for now; it reopens
   * the FIFO when it comes back, and until then lines are lost as with the runc shim. */
  ssize_t n;
  do
    n = write(log->fd, line, len);
  while (n < 0 && errno == EINTR);
  if (n != (ssize_t) len)
    log->dropped++;
  errno = saved_errno;
}

void
shimlog(struct shimlog *log, enum shimlog_level level, const char *fmt, ...)
{
  if (!shimlog_enabled(log, level))
    return;
  va_list ap;
  va_start(ap, fmt);
  shimlog_emit(log, level, NULL, 0, fmt, ap);
  va_end(ap);
}

void
shimlog_with(struct shimlog *log, enum shimlog_level level, const struct shimlog_field *fields, size_t n_fields,
             const char *fmt, ...)
{
  if (!shimlog_enabled(log, level))
    return;
  va_list ap;
  va_start(ap, fmt);
  shimlog_emit(log, level, fields, n_fields, fmt, ap);
  va_end(ap);
}
