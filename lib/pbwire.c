#include "pbwire.h"

#include <errno.h>
#include <string.h>

void
pbwire_init(struct pbwire *w, void *buf, size_t cap)
{
  w->buf = buf;
  w->cap = cap;
  w->len = 0;
  w->overflow = false;
}

static void
pbwire_put(struct pbwire *w, const void *data, size_t len)
{
  if (w->overflow || len > w->cap - w->len)
    {
      w->overflow = true;
      return;
    }
  if (len > 0)
    memcpy(w->buf + w->len, data, len);
  w->len += len;
}

void
pbwire_varint(struct pbwire *w, uint64_t v)
{
  uint8_t tmp[10];
  size_t n = 0;
  do
    {
      tmp[n] = (uint8_t) (v & 0x7f);
      v >>= 7;
      if (v != 0)
        tmp[n] |= 0x80;
      n++;
    }
  while (v != 0);
  pbwire_put(w, tmp, n);
}

void
pbwire_tag(struct pbwire *w, uint32_t field, enum pbwire_type type)
{
  pbwire_varint(w, (uint64_t) field << 3 | (uint64_t) type);
}

void
pbwire_uint(struct pbwire *w, uint32_t field, uint64_t v)
{
  if (v == 0)
    return;
  pbwire_tag(w, field, PBWIRE_VARINT);
  pbwire_varint(w, v);
}

void
pbwire_bytes(struct pbwire *w, uint32_t field, const void *data, size_t len)
{
  pbwire_tag(w, field, PBWIRE_LEN);
  pbwire_varint(w, len);
  pbwire_put(w, data, len);
}

void
pbwire_timestamp(struct pbwire *w, uint32_t field, int64_t seconds, int32_t nanos)
{
  uint8_t tmp[24];
  struct pbwire ts;
  pbwire_init(&ts, tmp, sizeof(tmp));
  pbwire_uint(&ts, 1, (uint64_t) seconds);
  pbwire_uint(&ts, 2, (uint64_t) (int64_t) nanos);
  pbwire_bytes(w, field, ts.buf, ts.len);
}

int
pbwire_delete_response(void *buf, size_t cap, uint32_t pid, uint32_t exit_status,
                       int64_t exited_sec, int32_t exited_nsec, wedge_error_t *err)
{
  struct pbwire w;
  pbwire_init(&w, buf, cap);
  pbwire_uint(&w, 1, pid);
  pbwire_uint(&w, 2, exit_status);
  pbwire_timestamp(&w, 3, exited_sec, exited_nsec);
  if (w.overflow)
    return wedge_error_set(err, ENOBUFS, WEDGE_INTERNAL,
                           "DeleteResponse does not fit in %zu bytes", cap);
  return (int) w.len;
}
