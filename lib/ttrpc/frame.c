#include "ttrpc/ttrpc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/cleanup.h"

void
ttrpc_frame_clear(ttrpc_frame_t *frame)
{
  free(frame->data);
  *frame = (ttrpc_frame_t) { 0 };
}

static void
put_be32(uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t) (v >> 24);
  p[1] = (uint8_t) (v >> 16);
  p[2] = (uint8_t) (v >> 8);
  p[3] = (uint8_t) v;
}

static uint32_t
get_be32(const uint8_t *p)
{
  return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) | ((uint32_t) p[2] << 8) | p[3];
}

void
ttrpc_header_encode(uint8_t *buf, uint32_t length, uint32_t stream_id, uint8_t type, uint8_t flags)
{
  put_be32(buf, length);
  put_be32(buf + 4, stream_id);
  buf[8] = type;
  buf[9] = flags;
}

void
ttrpc_reader_clear(ttrpc_reader_t *r)
{
  ttrpc_frame_clear(&r->frame);
  r->header_len = 0;
  r->data_len = 0;
}

/* Called once the 10 header bytes are in: validates the length before any allocation. */
static int
reader_start_body(ttrpc_reader_t *r, wedge_error_t *err)
{
  uint32_t length = get_be32(r->header);
  if (length > TTRPC_MESSAGE_MAX)
    return wedge_error_set(err, EMSGSIZE, WEDGE_RESOURCE_EXHAUSTED,
                           "message length %u exceed maximum message size of %u", length,
                           TTRPC_MESSAGE_MAX);
  r->frame.length = length;
  r->frame.stream_id = get_be32(r->header + 4);
  r->frame.type = r->header[8];
  r->frame.flags = r->header[9];
  r->frame.data = NULL;
  r->data_len = 0;
  if (length > 0)
    {
      r->frame.data = malloc(length);
      if (r->frame.data == NULL)
        return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "cannot allocate %u bytes for a frame", length);
    }
  return 0;
}

static bool
reader_in_body(const ttrpc_reader_t *r)
{
  return r->header_len == TTRPC_HEADER_SIZE;
}

static bool
reader_complete(const ttrpc_reader_t *r)
{
  return reader_in_body(r) && r->data_len == r->frame.length;
}

static void
reader_take(ttrpc_reader_t *r, ttrpc_frame_t *ret_frame)
{
  *ret_frame = r->frame;
  r->frame = (ttrpc_frame_t) { 0 };
  r->header_len = 0;
  r->data_len = 0;
}

/* The next span of the current frame that still has to be filled. */
static uint8_t *
reader_want(ttrpc_reader_t *r, size_t *ret_len)
{
  if (!reader_in_body(r))
    {
      *ret_len = TTRPC_HEADER_SIZE - r->header_len;
      return r->header + r->header_len;
    }
  *ret_len = r->frame.length - r->data_len;
  return r->frame.data + r->data_len;
}

/* Accounts `n` new bytes; returns <0 on an oversized header. */
static int
reader_advance(ttrpc_reader_t *r, size_t n, wedge_error_t *err)
{
  if (!reader_in_body(r))
    {
      r->header_len += n;
      if (reader_in_body(r))
        return reader_start_body(r, err);
      return 0;
    }
  r->data_len += n;
  return 0;
}

int
ttrpc_reader_feed(ttrpc_reader_t *r, const uint8_t *buf, size_t len, size_t *ret_consumed,
                  ttrpc_frame_t *ret_frame, wedge_error_t *err)
{
  size_t used = 0;
  for (;;)
    {
      if (reader_complete(r))
        {
          reader_take(r, ret_frame);
          *ret_consumed = used;
          return TTRPC_READ_FRAME;
        }
      if (used == len)
        break;
      size_t want;
      uint8_t *dst = reader_want(r, &want);
      size_t n = want < len - used ? want : len - used;
      memcpy(dst, buf + used, n);
      used += n;
      int ret = reader_advance(r, n, err);
      if (ret < 0)
        {
          *ret_consumed = used;
          return ret;
        }
    }
  *ret_consumed = used;
  return TTRPC_READ_AGAIN;
}

int
ttrpc_reader_read(ttrpc_reader_t *r, int fd, ttrpc_frame_t *ret_frame, wedge_error_t *err)
{
  for (;;)
    {
      if (reader_complete(r))
        {
          reader_take(r, ret_frame);
          return TTRPC_READ_FRAME;
        }
      size_t want;
      uint8_t *dst = reader_want(r, &want);
      ssize_t n = read(fd, dst, want);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK)
            return TTRPC_READ_AGAIN;
          return wedge_error_set_errno(err, errno, WEDGE_UNAVAILABLE, "ttrpc: read");
        }
      if (n == 0)
        {
          if (r->header_len == 0)
            return TTRPC_READ_EOF;
          return wedge_error_set(err, EPROTO, WEDGE_UNAVAILABLE,
                                 "ttrpc: connection closed inside a frame (%zu of %u data bytes)",
                                 r->data_len, reader_in_body(r) ? r->frame.length : 0);
        }
      int ret = reader_advance(r, (size_t) n, err);
      if (ret < 0)
        return ret;
    }
}

void
ttrpc_writer_clear(ttrpc_writer_t *w)
{
  free(w->buf);
  *w = (ttrpc_writer_t) TTRPC_WRITER_INIT;
}

size_t
ttrpc_writer_pending(const ttrpc_writer_t *w)
{
  return w->end - w->start;
}

static int
writer_reserve(ttrpc_writer_t *w, size_t extra, wedge_error_t *err)
{
  if (w->start > 0 && (w->start == w->end || w->cap - w->end < extra))
    {
      memmove(w->buf, w->buf + w->start, w->end - w->start);
      w->end -= w->start;
      w->start = 0;
    }
  if (w->cap - w->end >= extra)
    return 0;
  size_t cap = w->cap ? w->cap : 4096;
  while (cap - w->end < extra)
    cap *= 2;
  uint8_t *buf = realloc(w->buf, cap);
  if (buf == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "ttrpc: cannot grow the output buffer to %zu bytes", cap);
  w->buf = buf;
  w->cap = cap;
  return 0;
}

/* Reserves room for one frame, writes its header and returns where its `len` data bytes go. */
static int
writer_append_frame(ttrpc_writer_t *w, uint32_t stream_id, uint8_t type, uint8_t flags, size_t len,
                    uint8_t **ret_data, wedge_error_t *err)
{
  if (len > TTRPC_MESSAGE_MAX)
    return wedge_error_set(err, EMSGSIZE, WEDGE_RESOURCE_EXHAUSTED,
                           "message length %zu exceed maximum message size of %u", len, TTRPC_MESSAGE_MAX);
  int ret = writer_reserve(w, TTRPC_HEADER_SIZE + len, err);
  if (ret < 0)
    return ret;
  uint8_t *frame = w->buf + w->end;
  ttrpc_header_encode(frame, (uint32_t) len, stream_id, type, flags);
  w->end += TTRPC_HEADER_SIZE + len;
  *ret_data = frame + TTRPC_HEADER_SIZE;
  return 0;
}

int
ttrpc_writer_queue(ttrpc_writer_t *w, uint32_t stream_id, uint8_t type, uint8_t flags,
                   const uint8_t *data, size_t len, wedge_error_t *err)
{
  uint8_t *dst = NULL;
  int ret = writer_append_frame(w, stream_id, type, flags, len, &dst, err);
  if (ret < 0)
    return ret;
  if (len > 0)
    memcpy(dst, data, len);
  return 0;
}

int
ttrpc_writer_queue_message(ttrpc_writer_t *w, uint32_t stream_id, uint8_t type, uint8_t flags,
                           const ProtobufCMessage *msg, wedge_error_t *err)
{
  size_t len = protobuf_c_message_get_packed_size(msg);
  uint8_t *dst = NULL;
  int ret = writer_append_frame(w, stream_id, type, flags, len, &dst, err);
  if (ret < 0)
    return ret;
  protobuf_c_message_pack(msg, dst);
  return 0;
}

int
ttrpc_writer_flush(ttrpc_writer_t *w, int fd, wedge_error_t *err)
{
  while (w->start < w->end)
    {
      ssize_t n = send(fd, w->buf + w->start, w->end - w->start, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 1;
          return wedge_error_set_errno(err, errno, WEDGE_UNAVAILABLE, "ttrpc: write");
        }
      w->start += (size_t) n;
    }
  w->start = w->end = 0;
  return 0;
}

int
ttrpc_pack_message(const ProtobufCMessage *msg, uint8_t **ret, size_t *ret_len, wedge_error_t *err)
{
  size_t len = protobuf_c_message_get_packed_size(msg);
  if (len > TTRPC_MESSAGE_MAX)
    return wedge_error_set(err, EMSGSIZE, WEDGE_RESOURCE_EXHAUSTED,
                           "%s of %zu bytes exceeds the maximum message size of %u",
                           msg->descriptor->name, len, TTRPC_MESSAGE_MAX);
  _cleanup_free_ uint8_t *buf = NULL;
  if (len > 0)
    {
      buf = malloc(len);
      if (buf == NULL)
        return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "cannot allocate %zu bytes", len);
      protobuf_c_message_pack(msg, buf);
    }
  *ret = TAKE_PTR(buf);
  *ret_len = len;
  return 0;
}
