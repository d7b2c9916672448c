#include "base/ident.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>


/* The text of containerd's identifierRe, quoted in its messages. */
#define IDENT_PATTERN "^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$"

static bool
ident_alnum(char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
ident_separator(char c)
{
  return c == '.' || c == '_' || c == '-';
}

/* The id for a message: printable ASCII as is, the rest as \xNN, at most IDENT_MAX_LEN + 1
 * bytes of it so a 4 MiB id does not become a 4 MiB log line. */
static void
ident_quote(const char *id, char *buf, size_t size)
{
  size_t o = 0;
  for (size_t i = 0; id[i] && i <= IDENT_MAX_LEN && o + 5 < size; i++)
    {
      unsigned char c = (unsigned char) id[i];
      if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
        buf[o++] = (char) c;
      else
        o += (size_t) snprintf(buf + o, size - o, "\\x%02x", c);
    }
  if (id[0] && strnlen(id, IDENT_MAX_LEN + 2) > IDENT_MAX_LEN + 1 && o + 4 < size)
    {
      memcpy(buf + o, "...", 3);
      o += 3;
    }
  buf[o] = '\0';
}

int
ident_validate(const char *what, const char *id, wedge_error_t *err)
{
  if (id == NULL || id[0] == '\0')
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "%s: identifier must not be empty",
                           what);
  char quoted[(IDENT_MAX_LEN + 1) * 4 + 8];
  size_t len = strnlen(id, IDENT_MAX_LEN + 1);
  if (len > IDENT_MAX_LEN)
    {
      ident_quote(id, quoted, sizeof(quoted));
      return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT,
                             "%s: identifier \"%s\" greater than maximum length (%d characters)",
                             what, quoted, IDENT_MAX_LEN);
    }
  bool valid = ident_alnum(id[0]);
  for (size_t i = 1; valid && i < len; i++)
    valid = ident_alnum(id[i]) || (ident_separator(id[i]) && ident_alnum(id[i - 1]));
  if (!valid || !ident_alnum(id[len - 1]))
    {
      ident_quote(id, quoted, sizeof(quoted));
      return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT,
                             "%s: identifier \"%s\" must match %s", what, quoted, IDENT_PATTERN);
    }
  return 0;
}

int
ident_validate_path(const char *what, const char *path, wedge_error_t *err)
{
  if (path == NULL || path[0] != '/')
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "%s path must be absolute: %s", what,
                           path ? path : "");
  if (strnlen(path, PATH_MAX) >= PATH_MAX)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "%s path is longer than %d bytes", what,
                           PATH_MAX - 1);
  for (const char *p = path; *p;)
    {
      while (*p == '/')
        p++;
      size_t n = strcspn(p, "/");
      if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
        return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "%s path %s: has a \"%.*s\" component", what,
                               path, (int) n, p);
      p += n;
    }
  return 0;
}

/* A protobuf varint at *pos, 0 when it runs past `len` or over 10 bytes. */
static int
ident_pb_varint(const uint8_t *data, size_t len, size_t *pos, uint64_t *ret)
{
  uint64_t v = 0;
  for (unsigned shift = 0; shift < 70 && *pos < len; shift += 7)
    {
      uint8_t b = data[(*pos)++];
      v |= (uint64_t) (b & 0x7f) << shift;
      if (!(b & 0x80))
        {
          *ret = v;
          return 1;
        }
    }
  return 0;
}

static int
ident_pb_walk(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, unsigned depth,
              wedge_error_t *err)
{
  size_t pos = 0;
  uint64_t key, n;
  /* Deeper than any shim request nests; the decoder has its own limits. */
  if (depth > 16)
    return 0;
  while (pos < len)
    {
      if (!ident_pb_varint(data, len, &pos, &key))
        return 0;
      switch (key & 7)
        {
        case 0:
          if (!ident_pb_varint(data, len, &pos, &n))
            return 0;
          break;
        case 1:
          pos += 8;
          break;
        case 5:
          pos += 4;
          break;
        case 2:
          {
            if (!ident_pb_varint(data, len, &pos, &n) || n > len - pos)
              return 0;
            const ProtobufCFieldDescriptor *f =
              key >> 3 <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(desc, (unsigned) (key >> 3)) : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_STRING && memchr(data + pos, '\0', n))
              return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "%s: field %s holds a NUL byte",
                                     desc->name, f->name);
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE)
              {
                int r = ident_pb_walk(f->descriptor, data + pos, n, depth + 1, err);
                if (r < 0)
                  return r;
              }
            pos += n;
            break;
          }
        default:
          return 0;
        }
    }
  return 0;
}

int
ident_check_pb_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, wedge_error_t *err)
{
  return data ? ident_pb_walk(desc, data, len, 0, err) : 0;
}
