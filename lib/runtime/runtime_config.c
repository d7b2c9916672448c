#include "runtime/runtime_config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fileio.h"

enum runtime_config_kind
{
  RUNTIME_CONFIG_BOOL,
  RUNTIME_CONFIG_STRING,
  RUNTIME_CONFIG_UINT32,
};

struct runtime_config_key
{
  const char *name; /* as the CRI options table spells it */
  enum runtime_config_kind kind;
  size_t offset; /* in Containerd__Runc__V1__Options */
};

#define RC_KEY(name, kind, field) { name, RUNTIME_CONFIG_##kind, offsetof(Containerd__Runc__V1__Options, field) }

/* The containerd 1.6 fields of containerd.runc.v1.Options. TaskApiAddress/Version belong to
 * containerd 2.x sandboxes and are not something a user sets. */
static const struct runtime_config_key runtime_config_keys[] = {
  RC_KEY("NoPivotRoot", BOOL, no_pivot_root),
  RC_KEY("NoNewKeyring", BOOL, no_new_keyring),
  RC_KEY("ShimCgroup", STRING, shim_cgroup),
  RC_KEY("IoUid", UINT32, io_uid),
  RC_KEY("IoGid", UINT32, io_gid),
  RC_KEY("BinaryName", STRING, binary_name),
  RC_KEY("Root", STRING, root),
  RC_KEY("CriuPath", STRING, criu_path),
  RC_KEY("SystemdCgroup", BOOL, systemd_cgroup),
  RC_KEY("CriuImagePath", STRING, criu_image_path),
  RC_KEY("CriuWorkPath", STRING, criu_work_path),
};
#define RUNTIME_CONFIG_NKEYS (sizeof(runtime_config_keys) / sizeof(runtime_config_keys[0]))

/* The parse in progress: one line at a time, `p` moving through it. */
struct runtime_config_parser
{
  const char *name;
  unsigned line;
  const char *p, *end; /* the current line, without its newline */
  Containerd__Runc__V1__Options opts; /* strings owned by `strings` until packed */
  char *strings[RUNTIME_CONFIG_NKEYS];
  bool seen[RUNTIME_CONFIG_NKEYS];
};

static int
runtime_config_fail(struct runtime_config_parser *ps, wedge_error_t *err, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

static int
runtime_config_fail(struct runtime_config_parser *ps, wedge_error_t *err, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  _cleanup_free_ char *what = NULL;
  int n = vasprintf(&what, fmt, ap);
  va_end(ap);
  if (n < 0)
    what = NULL;
  return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "%s:%u: %s", ps->name, ps->line,
                         what ? what : "invalid line");
}

static void
runtime_config_skip_blanks(struct runtime_config_parser *ps)
{
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
    ps->p++;
}

/* Equal ignoring case and underscores: BinaryName, binary_name, binaryname. */
static bool
runtime_config_key_matches(const char *want, const char *key, size_t len)
{
  size_t i = 0;
  for (; *want; want++)
    {
      while (i < len && key[i] == '_')
        i++;
      if (i == len || tolower((unsigned char) key[i]) != tolower((unsigned char) *want))
        return false;
      i++;
    }
  while (i < len && key[i] == '_')
    i++;
  return i == len;
}

static void
runtime_config_put_utf8(char *out, size_t *n, uint32_t cp)
{
  if (cp < 0x80)
    out[(*n)++] = (char) cp;
  else if (cp < 0x800)
    {
      out[(*n)++] = (char) (0xc0 | (cp >> 6));
      out[(*n)++] = (char) (0x80 | (cp & 0x3f));
    }
  else if (cp < 0x10000)
    {
      out[(*n)++] = (char) (0xe0 | (cp >> 12));
      out[(*n)++] = (char) (0x80 | ((cp >> 6) & 0x3f));
      out[(*n)++] = (char) (0x80 | (cp & 0x3f));
    }
  else
    {
      out[(*n)++] = (char) (0xf0 | (cp >> 18));
      out[(*n)++] = (char) (0x80 | ((cp >> 12) & 0x3f));
      out[(*n)++] = (char) (0x80 | ((cp >> 6) & 0x3f));
      out[(*n)++] = (char) (0x80 | (cp & 0x3f));
    }
}

/* A basic ("...", with escapes) or literal ('...') string at ps->p. */
static int
runtime_config_string(struct runtime_config_parser *ps, char **ret, wedge_error_t *err)
{
  char quote = *ps->p++;
  /* An escape never produces more bytes than it takes (\uXXXX: 6 in, at most 3 out;
   * \UXXXXXXXX: 10 in, at most 4 out). */
  _cleanup_free_ char *out = malloc((size_t) (ps->end - ps->p) + 1);
  if (out == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "out of memory");
  size_t n = 0;
  for (;;)
    {
      if (ps->p == ps->end)
        return runtime_config_fail(ps, err, "unterminated string (multi-line strings are not read)");
      char c = *ps->p++;
      if (c == quote)
        break;
      if ((unsigned char) c < 0x20 && c != '\t')
        return runtime_config_fail(ps, err, "control character in a string");
      if (c != '\\' || quote == '\'')
        {
          out[n++] = c;
          continue;
        }
      if (ps->p == ps->end)
        return runtime_config_fail(ps, err, "unterminated string");
      c = *ps->p++;
      switch (c)
        {
        case 'b': out[n++] = '\b'; break;
        case 't': out[n++] = '\t'; break;
        case 'n': out[n++] = '\n'; break;
        case 'f': out[n++] = '\f'; break;
        case 'r': out[n++] = '\r'; break;
        case '"': out[n++] = '"'; break;
        case '\\': out[n++] = '\\'; break;
        case 'u':
        case 'U':
          {
            int digits = c == 'u' ? 4 : 8;
            if (ps->end - ps->p < digits)
              return runtime_config_fail(ps, err, "short \\%c escape", c);
            uint32_t cp = 0;
            for (int i = 0; i < digits; i++)
              {
                char h = *ps->p++;
                if (!isxdigit((unsigned char) h))
                  return runtime_config_fail(ps, err, "bad \\%c escape", c);
                cp = cp * 16 + (uint32_t) (isdigit((unsigned char) h) ? h - '0' : tolower((unsigned char) h) - 'a' + 10);
              }
            if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
              return runtime_config_fail(ps, err, "\\%c escape is not a usable character", c);
            runtime_config_put_utf8(out, &n, cp);
            break;
          }
        default:
          return runtime_config_fail(ps, err, "unknown escape \\%c", c);
        }
    }
  out[n] = '\0';
  *ret = TAKE_PTR(out);
  return 0;
}

static int
runtime_config_uint32(struct runtime_config_parser *ps, uint32_t *ret, wedge_error_t *err)
{
  if (*ps->p == '+')
    ps->p++;
  uint64_t v = 0;
  bool digit_before = false;
  if (ps->p < ps->end && *ps->p == '0' && ps->end - ps->p > 1 && isdigit((unsigned char) ps->p[1]))
    return runtime_config_fail(ps, err, "leading zeros are not allowed in an integer");
  for (; ps->p < ps->end && (isdigit((unsigned char) *ps->p) || *ps->p == '_'); ps->p++)
    {
      if (*ps->p == '_')
        {
          if (!digit_before || ps->p + 1 == ps->end || !isdigit((unsigned char) ps->p[1]))
            return runtime_config_fail(ps, err, "an underscore in an integer must sit between digits");
          digit_before = false;
          continue;
        }
      v = v * 10 + (uint64_t) (*ps->p - '0');
      if (v > UINT32_MAX)
        return runtime_config_fail(ps, err, "integer out of range (0 to %" PRIu32 ")", UINT32_MAX);
      digit_before = true;
    }
  if (!digit_before)
    return runtime_config_fail(ps, err, "expected a non-negative integer");
  *ret = (uint32_t) v;
  return 0;
}

static int
runtime_config_line(struct runtime_config_parser *ps, wedge_error_t *err)
{
  runtime_config_skip_blanks(ps);
  if (ps->p == ps->end || *ps->p == '#')
    return 0;
  if (*ps->p == '[')
    return runtime_config_fail(ps, err, "tables are not read here: write the options as top-level keys");

  const char *key = ps->p;
  while (ps->p < ps->end && (isalnum((unsigned char) *ps->p) || *ps->p == '_' || *ps->p == '-'))
    ps->p++;
  size_t key_len = (size_t) (ps->p - key);
  if (key_len == 0)
    return runtime_config_fail(ps, err, "expected an option name (quoted and dotted keys are not read)");
  runtime_config_skip_blanks(ps);
  if (ps->p == ps->end || *ps->p != '=')
    return runtime_config_fail(ps, err, "expected '=' after %.*s", (int) key_len, key);
  ps->p++;
  runtime_config_skip_blanks(ps);

  size_t k = 0;
  while (k < RUNTIME_CONFIG_NKEYS && !runtime_config_key_matches(runtime_config_keys[k].name, key, key_len))
    k++;
  if (k == RUNTIME_CONFIG_NKEYS)
    return runtime_config_fail(ps, err,
                               "unknown option \"%.*s\" (wedge reads the containerd.runc.v1.Options keys: NoPivotRoot, "
                               "NoNewKeyring, ShimCgroup, IoUid, IoGid, BinaryName, Root, CriuPath, SystemdCgroup, "
                               "CriuImagePath, CriuWorkPath)",
                               (int) key_len, key);
  const struct runtime_config_key *def = &runtime_config_keys[k];
  if (ps->seen[k])
    return runtime_config_fail(ps, err, "%s is set twice", def->name);
  ps->seen[k] = true;
  if (ps->p == ps->end)
    return runtime_config_fail(ps, err, "%s has no value", def->name);

  char *field = (char *) &ps->opts + def->offset;
  int r;
  switch (def->kind)
    {
    case RUNTIME_CONFIG_STRING:
      if (*ps->p != '"' && *ps->p != '\'')
        return runtime_config_fail(ps, err, "%s wants a string (\"...\")", def->name);
      if (ps->end - ps->p >= 3 && (memcmp(ps->p, "\"\"\"", 3) == 0 || memcmp(ps->p, "'''", 3) == 0))
        return runtime_config_fail(ps, err, "multi-line strings are not read");
      r = runtime_config_string(ps, &ps->strings[k], err);
      if (r < 0)
        return r;
      *(char **) field = ps->strings[k];
      break;
    case RUNTIME_CONFIG_BOOL:
      if (ps->end - ps->p >= 4 && memcmp(ps->p, "true", 4) == 0)
        {
          *(protobuf_c_boolean *) field = 1;
          ps->p += 4;
        }
      else if (ps->end - ps->p >= 5 && memcmp(ps->p, "false", 5) == 0)
        {
          *(protobuf_c_boolean *) field = 0;
          ps->p += 5;
        }
      else
        return runtime_config_fail(ps, err, "%s wants true or false", def->name);
      break;
    case RUNTIME_CONFIG_UINT32:
    default:
      if (!isdigit((unsigned char) *ps->p) && *ps->p != '+')
        return runtime_config_fail(ps, err, "%s wants a non-negative integer", def->name);
      r = runtime_config_uint32(ps, (uint32_t *) field, err);
      if (r < 0)
        return r;
      break;
    }

  runtime_config_skip_blanks(ps);
  if (ps->p < ps->end && *ps->p != '#')
    return runtime_config_fail(ps, err, "unexpected text after the value of %s", def->name);
  return 0;
}

static void
runtime_config_parser_done(struct runtime_config_parser *ps)
{
  for (size_t i = 0; i < RUNTIME_CONFIG_NKEYS; i++)
    free(ps->strings[i]);
}

int
runtime_config_parse(const char *text, size_t len, const char *name, Containerd__Runc__V1__Options **ret,
                     wedge_error_t *err)
{
  __attribute__((cleanup(runtime_config_parser_done))) struct runtime_config_parser ps = {
    .name = name,
    .opts = CONTAINERD__RUNC__V1__OPTIONS__INIT,
  };
  if (memchr(text, '\0', len) != NULL)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "%s: not a text file (NUL byte)", name);

  const char *p = text, *end = text + len;
  if (end - p >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
    p += 3;
  while (p < end)
    {
      const char *nl = memchr(p, '\n', (size_t) (end - p));
      const char *line_end = nl ? nl : end;
      ps.line++;
      ps.p = p;
      ps.end = line_end > p && line_end[-1] == '\r' ? line_end - 1 : line_end;
      int r = runtime_config_line(&ps, err);
      if (r < 0)
        return r;
      p = nl ? nl + 1 : end;
    }

  /* Pack and unpack: the result owns its strings as protobuf-c's free_unpacked expects. */
  size_t packed_len = containerd__runc__v1__options__get_packed_size(&ps.opts);
  _cleanup_free_ uint8_t *packed = malloc(packed_len ? packed_len : 1);
  if (packed == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "out of memory");
  containerd__runc__v1__options__pack(&ps.opts, packed);
  Containerd__Runc__V1__Options *o = containerd__runc__v1__options__unpack(NULL, packed_len, packed);
  if (o == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "out of memory");
  *ret = o;
  return 0;
}

int
runtime_config_read(const char *path, Containerd__Runc__V1__Options **ret, wedge_error_t *err)
{
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INVALID_ARGUMENT, "open runtime config %s", path);
  _cleanup_free_ char *buf = malloc(RUNTIME_CONFIG_MAX_BYTES + 1);
  if (buf == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "out of memory");
  size_t n = 0;
  int r = fileio_read_fd(fd, buf, RUNTIME_CONFIG_MAX_BYTES + 1, &n);
  if (r < 0)
    return wedge_error_set_errno(err, -r, WEDGE_INVALID_ARGUMENT, "read runtime config %s", path);
  if (n > RUNTIME_CONFIG_MAX_BYTES)
    return wedge_error_set(err, EFBIG, WEDGE_INVALID_ARGUMENT, "runtime config %s: larger than %d bytes", path,
                           RUNTIME_CONFIG_MAX_BYTES);
  return runtime_config_parse(buf, n, path, ret, err);
}
