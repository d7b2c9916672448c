#include "ttrpc/ttrpc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/loop.h"
#include "ttrpc.pb-c.h"

struct ttrpc_client
{
  int fd;
  uint32_t next_stream_id;
  bool broken;
  ttrpc_reader_t reader;
  ttrpc_writer_t writer;
};

int
ttrpc_client_new(int fd, ttrpc_client_t **ret, wedge_error_t *err)
{
  _cleanup_close_ int cfd = fd;
  int flags = fcntl(cfd, F_GETFL);
  if (flags < 0 || fcntl(cfd, F_SETFL, flags | O_NONBLOCK) < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "ttrpc: cannot make the client socket non-blocking");
  ttrpc_client_t *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "ttrpc: out of memory");
  c->fd = TAKE_FD(cfd);
  /* Go's client starts at 1 and adds 2 per call; ttrpc 1.2 servers insist ids increase. */
  c->next_stream_id = 1;
  c->reader = (ttrpc_reader_t) TTRPC_READER_INIT;
  c->writer = (ttrpc_writer_t) TTRPC_WRITER_INIT;
  *ret = c;
  return 0;
}

int
ttrpc_client_connect(const char *path, ttrpc_client_t **ret, wedge_error_t *err)
{
  if (strncmp(path, "unix://", 7) == 0)
    path += 7;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen(path) >= sizeof(addr.sun_path))
    return wedge_error_set(err, ENAMETOOLONG, WEDGE_INVALID_ARGUMENT, "ttrpc: socket path too long: %s", path);
  strcpy(addr.sun_path, path);

  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "ttrpc: socket");
  /* A unix connect() completes at once or fails; only a full backlog makes it wait. */
  if (connect(fd, (struct sockaddr *) &addr, sizeof(addr)) < 0)
    return wedge_error_set_errno(err, errno, WEDGE_UNAVAILABLE, "ttrpc: dial %s", path);
  return ttrpc_client_new(TAKE_FD(fd), ret, err);
}

void
ttrpc_client_free(ttrpc_client_t *c)
{
  if (c == NULL)
    return;
  if (c->fd >= 0)
    close(c->fd);
  ttrpc_reader_clear(&c->reader);
  ttrpc_writer_clear(&c->writer);
  free(c);
}

bool
ttrpc_client_broken(const ttrpc_client_t *c)
{
  return c->broken;
}

static int64_t
now_ns(void)
{
  return (int64_t) loop_clock_usec() * 1000;
}

static int
client_fail(ttrpc_client_t *c, int ret)
{
  c->broken = true;
  return ret;
}

/* Waits until the socket is ready for what the call still needs, or the deadline passes. */
static int
client_wait(ttrpc_client_t *c, int64_t deadline, wedge_error_t *err)
{
  struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
  if (ttrpc_writer_pending(&c->writer) > 0)
    pfd.events |= POLLOUT;
  int timeout_ms = -1;
  if (deadline > 0)
    {
      int64_t left = deadline - now_ns();
      if (left <= 0)
        return wedge_error_set(err, ETIMEDOUT, WEDGE_DEADLINE_EXCEEDED, "ttrpc: context deadline exceeded");
      int64_t ms = (left + 999999) / 1000000;
      timeout_ms = ms > INT_MAX ? INT_MAX : (int) ms;
    }
  int n = poll(&pfd, 1, timeout_ms);
  if (n < 0 && errno != EINTR)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "ttrpc: poll");
  return 0;
}

static enum wedge_status
status_from_code(int32_t code)
{
  if (code <= 0 || code > WEDGE_UNAVAILABLE)
    return WEDGE_UNKNOWN;
  return (enum wedge_status) code;
}

static int
client_take_response(const ttrpc_frame_t *frame, uint8_t **ret_payload, size_t *ret_len, wedge_error_t *err)
{
  Ttrpc__Response *resp = ttrpc__response__unpack(NULL, frame->length, frame->data);
  if (resp == NULL)
    return wedge_error_set(err, EPROTO, WEDGE_INTERNAL, "ttrpc: undecodable response on stream %u", frame->stream_id);

  int ret = 0;
  if (resp->status && resp->status->code != 0)
    ret = wedge_error_set(err, EREMOTEIO, status_from_code(resp->status->code), "%s",
                          resp->status->message ? resp->status->message : "");
  else
    {
      uint8_t *payload = NULL;
      if (resp->payload.len > 0 && ret_payload)
        {
          payload = malloc(resp->payload.len);
          if (payload == NULL)
            ret = wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "ttrpc: out of memory");
          else
            memcpy(payload, resp->payload.data, resp->payload.len);
        }
      if (ret == 0 && ret_payload)
        {
          *ret_payload = payload;
          *ret_len = payload ? resp->payload.len : 0;
        }
    }
  ttrpc__response__free_unpacked(resp, NULL);
  return ret;
}

int
ttrpc_client_call(ttrpc_client_t *c, const char *service, const char *method, const uint8_t *payload, size_t len,
                  const ttrpc_kv_t *metadata, size_t n_metadata, int64_t timeout_ns, uint8_t **ret_payload,
                  size_t *ret_len, wedge_error_t *err)
{
  if (c->broken)
    return wedge_error_set(err, EPIPE, WEDGE_UNAVAILABLE, "ttrpc: closed");

  Ttrpc__Request req = TTRPC__REQUEST__INIT;
  req.service = (char *) service;
  req.method = (char *) method;
  req.payload.data = (uint8_t *) payload;
  req.payload.len = len;
  req.timeout_nano = timeout_ns > 0 ? timeout_ns : 0;
  _cleanup_free_ Ttrpc__KeyValue *kvs = NULL;
  _cleanup_free_ Ttrpc__KeyValue **kvps = NULL;
  if (n_metadata > 0)
    {
      kvs = calloc(n_metadata, sizeof(*kvs));
      kvps = calloc(n_metadata, sizeof(*kvps));
      if (kvs == NULL || kvps == NULL)
        return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "ttrpc: out of memory");
      for (size_t i = 0; i < n_metadata; i++)
        {
          ttrpc__key_value__init(&kvs[i]);
          kvs[i].key = (char *) metadata[i].key;
          kvs[i].value = (char *) metadata[i].value;
          kvps[i] = &kvs[i];
        }
      req.n_metadata = n_metadata;
      req.metadata = kvps;
    }

  uint32_t sid = c->next_stream_id;
  int ret = ttrpc_writer_queue_message(&c->writer, sid, TTRPC_TYPE_REQUEST, 0, &req.base, err);
  if (ret < 0)
    return ret;
  c->next_stream_id += 2;

  int64_t deadline = timeout_ns > 0 ? now_ns() + timeout_ns : 0;
  for (;;)
    {
      ret = ttrpc_writer_flush(&c->writer, c->fd, err);
      if (ret < 0)
        return client_fail(c, ret);

      for (;;)
        {
          ttrpc_frame_t frame = { 0 };
          int r = ttrpc_reader_read(&c->reader, c->fd, &frame, err);
          if (r == TTRPC_READ_AGAIN)
            break;
          if (r == TTRPC_READ_EOF)
            return client_fail(c, wedge_error_set(err, ECONNRESET, WEDGE_UNAVAILABLE, "ttrpc: closed"));
          if (r < 0)
            return client_fail(c, r);
          /* Replies to calls that timed out earlier, or frames of a type we never asked for. */
          if (frame.type != TTRPC_TYPE_RESPONSE || frame.stream_id != sid)
            {
              ttrpc_frame_clear(&frame);
              continue;
            }
          ret = client_take_response(&frame, ret_payload, ret_len, err);
          ttrpc_frame_clear(&frame);
          return ret;
        }

      ret = client_wait(c, deadline, err);
      if (ret < 0)
        return client_fail(c, ret);
    }
}

int
ttrpc_client_call_message(ttrpc_client_t *c, const char *service, const char *method, const ProtobufCMessage *req,
                          const ttrpc_kv_t *metadata, size_t n_metadata, int64_t timeout_ns,
                          const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **ret_resp,
                          wedge_error_t *err)
{
  _cleanup_free_ uint8_t *buf = NULL;
  size_t len = 0;
  int ret = ttrpc_pack_message(req, &buf, &len, err);
  if (ret < 0)
    return ret;

  _cleanup_free_ uint8_t *out = NULL;
  size_t out_len = 0;
  ret = ttrpc_client_call(c, service, method, buf, len, metadata, n_metadata, timeout_ns, &out, &out_len, err);
  if (ret < 0)
    return ret;
  if (resp_desc == NULL)
    return 0;
  ProtobufCMessage *msg = protobuf_c_message_unpack(resp_desc, NULL, out_len, out);
  if (msg == NULL)
    return wedge_error_set(err, EPROTO, WEDGE_INTERNAL, "ttrpc: error unmarshalling %s", resp_desc->name);
  *ret_resp = msg;
  return 0;
}
