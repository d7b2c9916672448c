/* ttrpc frames, server and client, checked against the bytes containerd 1.6.20 and
 * containerd-shim-runc-v2 exchange (ttrpc v1.1.1 channel.go, types.go, server.go; the observed
 * bytes of docs/protocol.md). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "hex.h"
#include "ttrpc/ttrpc.h"
#include "ttrpc.pb-c.h"
#include "shim.pb-c.h"

#define TASK_SERVICE "containerd.task.v2.Task"

/* The observed Connect request: stream 3, ConnectRequest{id "c2"}. */
static const char CONNECT_REQUEST_HEX[] = "00000028 00000003 01 00"
                                          " 0a 17 636f6e7461696e6572642e7461736b2e76322e5461736b"
                                          " 12 07 436f6e6e656374"
                                          " 1a 04 0a 02 6332";

/* ---------------------------------------------------------------------------------------------
 * Fixture: a server on a unix socket in a temp dir, a log buffer, and handlers for the task
 * service that the tests steer. */

typedef struct fixture
{
  char dir[64];
  char path[128];
  ttrpc_server_t *server;
  char log[8192];
  char debug[8192];
  ttrpc_call_t *deferred[8];
  size_t n_deferred;
  unsigned cancelled;
  uint32_t seen_stream_ids[8];
  size_t n_seen;
  char seen_namespace[64];
  int64_t seen_timeout;
  pthread_mutex_t lock;
} fixture_t;

/* Appends one line to out[cap]. */
static void __attribute__((format(printf, 3, 0)))
capture_line(char *out, size_t cap, const char *fmt, va_list ap)
{
  size_t used = strlen(out);
  vsnprintf(out + used, cap - used, fmt, ap);
  used = strlen(out);
  if (used + 1 < cap)
    strcat(out, "\n");
}

static void __attribute__((format(printf, 2, 3)))
capture_log(void *userdata, const char *fmt, ...)
{
  fixture_t *f = userdata;
  va_list ap;
  va_start(ap, fmt);
  capture_line(f->log, sizeof(f->log), fmt, ap);
  va_end(ap);
}

static void __attribute__((format(printf, 2, 3)))
capture_debug(void *userdata, const char *fmt, ...)
{
  fixture_t *f = userdata;
  va_list ap;
  va_start(ap, fmt);
  capture_line(f->debug, sizeof(f->debug), fmt, ap);
  va_end(ap);
}

/* Connect: replies at once with ConnectResponse; records metadata and the stream id. */
static int
handle_connect(ttrpc_call_t *call, void *userdata, wedge_error_t *err)
{
  fixture_t *f = userdata;
  Containerd__Task__V2__ConnectRequest *req = NULL;
  int ret = ttrpc_call_unpack(call, &containerd__task__v2__connect_request__descriptor, (ProtobufCMessage **) &req,
                              err);
  if (ret < 0)
    return ret;
  if (f->n_seen < ARRAY_SIZE(f->seen_stream_ids))
    f->seen_stream_ids[f->n_seen++] = ttrpc_call_stream_id(call);
  const char *ns = ttrpc_call_metadata(call, TTRPC_NAMESPACE_KEY);
  snprintf(f->seen_namespace, sizeof(f->seen_namespace), "%s", ns ? ns : "");
  f->seen_timeout = ttrpc_call_timeout_ns(call);

  Containerd__Task__V2__ConnectResponse resp = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;
  resp.shim_pid = 30648;
  resp.task_pid = strcmp(req->id, "c2") == 0 ? 30720 : 0;
  protobuf_c_message_free_unpacked(&req->base, NULL);
  return ttrpc_call_reply_message(call, &resp.base);
}

/* State: NotFound for every id, as the runc shim answers for an unknown container. */
static int
handle_state(ttrpc_call_t *call, void *userdata, wedge_error_t *err)
{
  (void) call;
  (void) userdata;
  return wedge_error_set(err, ENOENT, WEDGE_NOT_FOUND, "container not created: not found");
}

static int
handle_shutdown(ttrpc_call_t *call, void *userdata, wedge_error_t *err)
{
  (void) userdata;
  (void) err;
  return ttrpc_call_reply(call, NULL, 0);
}

static void
on_cancel(ttrpc_call_t *call, void *userdata)
{
  fixture_t *f = userdata;
  f->cancelled++;
  for (size_t i = 0; i < f->n_deferred; i++)
    if (f->deferred[i] == call)
      f->deferred[i] = NULL;
  ttrpc_call_abandon(call);
}

/* Wait: deferred; the test completes it later. */
static int
handle_wait(ttrpc_call_t *call, void *userdata, wedge_error_t *err)
{
  fixture_t *f = userdata;
  if (f->n_deferred == ARRAY_SIZE(f->deferred))
    return wedge_error_set(err, ENOSPC, WEDGE_RESOURCE_EXHAUSTED, "too many waiters");
  ttrpc_call_set_cancel(call, on_cancel, f);
  f->deferred[f->n_deferred++] = call;
  return 0;
}

/* Stats: a reply bigger than a socket buffer, to exercise partial writes; Update: one bigger
 * than a frame may be. */
static int
handle_stats(ttrpc_call_t *call, void *userdata, wedge_error_t *err)
{
  (void) userdata;
  (void) err;
  size_t len = strcmp(ttrpc_call_method(call), "Update") == 0 ? TTRPC_MESSAGE_MAX + 1 : 1 << 20;
  _cleanup_free_ uint8_t *big = malloc(len);
  assert_non_null(big);
  for (size_t i = 0; i < len; i++)
    big[i] = (uint8_t) i;
  return ttrpc_call_reply(call, big, len);
}

static const ttrpc_method_t task_methods[] = {
  { "Connect", handle_connect },
  { "State", handle_state },
  { "Shutdown", handle_shutdown },
  { "Wait", handle_wait },
  { "Stats", handle_stats },
  { "Update", handle_stats },
};

static int
fixture_setup_with(void **state, const ttrpc_server_options_t *base)
{
  fixture_t *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  pthread_mutex_init(&f->lock, NULL);
  strcpy(f->dir, "/tmp/wedge-ttrpc-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->path, sizeof(f->path), "%s/s", f->dir);

  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  int lfd = ttrpc_listen_unix(f->path, &err);
  assert_true(lfd >= 0);
  struct stat st;
  assert_int_equal(stat(f->path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);

  ttrpc_server_options_t opts = base ? *base : (ttrpc_server_options_t) { 0 };
  opts.log = capture_log;
  opts.log_debug = capture_debug;
  opts.log_userdata = f;
  assert_int_equal(ttrpc_server_new(lfd, &opts, &f->server, &err), 0);
  assert_int_equal(ttrpc_server_register(f->server, TASK_SERVICE, task_methods, ARRAY_SIZE(task_methods), f, &err),
                   0);
  assert_int_equal(ttrpc_server_register(f->server, TASK_SERVICE, task_methods, 1, f, &err), -EEXIST);
  *state = f;
  return 0;
}

static int
fixture_setup(void **state)
{
  return fixture_setup_with(state, NULL);
}

static int
fixture_setup_small(void **state)
{
  ttrpc_server_options_t opts = { .max_requests_in_flight = 2, .max_connections = 2 };
  return fixture_setup_with(state, &opts);
}

static int
fixture_teardown(void **state)
{
  fixture_t *f = *state;
  for (size_t i = 0; i < f->n_deferred; i++)
    if (f->deferred[i])
      ttrpc_call_abandon(f->deferred[i]);
  ttrpc_server_free(f->server);
  unlink(f->path);
  rmdir(f->dir);
  pthread_mutex_destroy(&f->lock);
  free(f);
  return 0;
}

/* Runs the server until it has nothing left to do, as the epoll loop would. */
static void
pump(fixture_t *f)
{
  for (int i = 0; i < 64; i++)
    {
      struct pollfd pfd = { .fd = ttrpc_server_get_fd(f->server), .events = POLLIN };
      if (poll(&pfd, 1, 20) <= 0)
        return;
      assert_int_equal(ttrpc_server_process(f->server, NULL), 0);
    }
}

static int
raw_connect(fixture_t *f)
{
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  strcpy(addr.sun_path, f->path);
  assert_int_equal(connect(fd, (struct sockaddr *) &addr, sizeof(addr)), 0);
  struct timeval tv = { .tv_sec = 2 };
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

static void
write_all(int fd, const void *buf, size_t len)
{
  const uint8_t *p = buf;
  while (len > 0)
    {
      ssize_t n = write(fd, p, len);
      assert_true(n > 0);
      p += n;
      len -= (size_t) n;
    }
}

static void
write_hex(int fd, const char *hex)
{
  uint8_t buf[1024];
  size_t len = unhex(hex, buf);
  write_all(fd, buf, len);
}

/* Sends one Request frame built from its parts. */
static void
send_request(int fd, uint32_t sid, const char *service, const char *method, const ProtobufCMessage *payload)
{
  Ttrpc__Request req = TTRPC__REQUEST__INIT;
  req.service = (char *) service;
  req.method = (char *) method;
  uint8_t pl[256];
  if (payload)
    {
      req.payload.len = protobuf_c_message_pack(payload, pl);
      req.payload.data = pl;
    }
  ttrpc_writer_t w = TTRPC_WRITER_INIT;
  assert_int_equal(ttrpc_writer_queue_message(&w, sid, TTRPC_TYPE_REQUEST, 0, &req.base, NULL), 0);
  write_all(fd, w.buf + w.start, ttrpc_writer_pending(&w));
  ttrpc_writer_clear(&w);
}

/* Reads one whole frame (blocking, 2 s receive timeout); returns false on EOF. */
static bool
read_frame(int fd, ttrpc_frame_t *ret)
{
  ttrpc_reader_t r = TTRPC_READER_INIT;
  for (;;)
    {
      uint8_t buf[4096];
      size_t want = TTRPC_HEADER_SIZE;
      if (r.header_len == TTRPC_HEADER_SIZE)
        want = r.frame.length - r.data_len;
      else
        want = TTRPC_HEADER_SIZE - r.header_len;
      if (want > sizeof(buf))
        want = sizeof(buf);
      ssize_t n = want ? read(fd, buf, want) : 0;
      if (want && n <= 0)
        {
          assert_true(n == 0);
          ttrpc_reader_clear(&r);
          return false;
        }
      size_t used = 0;
      int res = ttrpc_reader_feed(&r, buf, (size_t) n, &used, ret, NULL);
      assert_true(res >= 0);
      assert_int_equal(used, (size_t) n);
      if (res == TTRPC_READ_FRAME)
        return true;
    }
}

static void
assert_frame_hex(const ttrpc_frame_t *frame, uint32_t sid, const char *data_hex)
{
  uint8_t want[512];
  size_t len = unhex(data_hex, want);
  assert_int_equal(frame->stream_id, sid);
  assert_int_equal(frame->type, TTRPC_TYPE_RESPONSE);
  assert_int_equal(frame->flags, 0);
  assert_int_equal(frame->length, len);
  if (len)
    assert_memory_equal(frame->data, want, len);
}

/* Decodes a Response frame into its status code and message. */
static int
response_code(const ttrpc_frame_t *frame, char *msg, size_t msg_len)
{
  Ttrpc__Response *resp = ttrpc__response__unpack(NULL, frame->length, frame->data);
  assert_non_null(resp);
  int code = resp->status ? resp->status->code : 0;
  if (msg)
    snprintf(msg, msg_len, "%s", resp->status && resp->status->message ? resp->status->message : "");
  ttrpc__response__free_unpacked(resp, NULL);
  return code;
}

/* ---------------------------------------------------------------------------------------------
 * Frames */

static void
test_header_round_trip(void **state)
{
  (void) state;
  uint8_t hdr[TTRPC_HEADER_SIZE];
  ttrpc_header_encode(hdr, 0x28, 3, TTRPC_TYPE_REQUEST, 0);
  uint8_t want[TTRPC_HEADER_SIZE];
  unhex("00000028 00000003 01 00", want);
  assert_memory_equal(hdr, want, sizeof(want));

  ttrpc_writer_t w = TTRPC_WRITER_INIT;
  const uint8_t data[] = "hello";
  assert_int_equal(ttrpc_writer_queue(&w, 0x01020305, TTRPC_TYPE_RESPONSE, 0x04, data, 5, NULL), 0);
  assert_int_equal(ttrpc_writer_queue(&w, 7, TTRPC_TYPE_REQUEST, 0, NULL, 0, NULL), 0);
  assert_int_equal(ttrpc_writer_pending(&w), 2 * TTRPC_HEADER_SIZE + 5);

  ttrpc_reader_t r = TTRPC_READER_INIT;
  ttrpc_frame_t frame = { 0 };
  size_t used = 0;
  const uint8_t *p = w.buf + w.start;
  size_t left = ttrpc_writer_pending(&w);
  assert_int_equal(ttrpc_reader_feed(&r, p, left, &used, &frame, NULL), TTRPC_READ_FRAME);
  assert_int_equal(used, TTRPC_HEADER_SIZE + 5);
  assert_int_equal(frame.stream_id, 0x01020305);
  assert_int_equal(frame.type, TTRPC_TYPE_RESPONSE);
  assert_int_equal(frame.flags, 0x04);
  assert_int_equal(frame.length, 5);
  assert_memory_equal(frame.data, "hello", 5);
  ttrpc_frame_clear(&frame);

  /* A zero-length frame is complete with its header. */
  assert_int_equal(ttrpc_reader_feed(&r, p + used, left - used, &used, &frame, NULL), TTRPC_READ_FRAME);
  assert_int_equal(frame.stream_id, 7);
  assert_int_equal(frame.length, 0);
  assert_null(frame.data);
  ttrpc_reader_clear(&r);
  ttrpc_writer_clear(&w);
}

static void
test_connect_request_bytes(void **state)
{
  (void) state;
  uint8_t want[128];
  size_t want_len = unhex(CONNECT_REQUEST_HEX, want);
  assert_int_equal(want_len, 50);

  Containerd__Task__V2__ConnectRequest creq = CONTAINERD__TASK__V2__CONNECT_REQUEST__INIT;
  creq.id = "c2";
  uint8_t pl[16];
  Ttrpc__Request req = TTRPC__REQUEST__INIT;
  req.service = TASK_SERVICE;
  req.method = "Connect";
  req.payload.len = protobuf_c_message_pack(&creq.base, pl);
  req.payload.data = pl;
  ttrpc_writer_t w = TTRPC_WRITER_INIT;
  assert_int_equal(ttrpc_writer_queue_message(&w, 3, TTRPC_TYPE_REQUEST, 0, &req.base, NULL), 0);
  assert_int_equal(ttrpc_writer_pending(&w), want_len);
  assert_memory_equal(w.buf + w.start, want, want_len);
  ttrpc_writer_clear(&w);

  /* Parsed back one byte at a time. */
  ttrpc_reader_t r = TTRPC_READER_INIT;
  ttrpc_frame_t frame = { 0 };
  for (size_t i = 0; i < want_len; i++)
    {
      size_t used = 0;
      int res = ttrpc_reader_feed(&r, want + i, 1, &used, &frame, NULL);
      assert_int_equal(used, 1);
      assert_int_equal(res, i + 1 == want_len ? TTRPC_READ_FRAME : TTRPC_READ_AGAIN);
    }
  Ttrpc__Request *back = ttrpc__request__unpack(NULL, frame.length, frame.data);
  assert_non_null(back);
  assert_string_equal(back->service, TASK_SERVICE);
  assert_string_equal(back->method, "Connect");
  assert_int_equal(back->timeout_nano, 0);
  assert_int_equal(back->n_metadata, 0);
  Containerd__Task__V2__ConnectRequest *c
    = containerd__task__v2__connect_request__unpack(NULL, back->payload.len, back->payload.data);
  assert_string_equal(c->id, "c2");
  containerd__task__v2__connect_request__free_unpacked(c, NULL);
  ttrpc__request__free_unpacked(back, NULL);
  ttrpc_frame_clear(&frame);
}

static void
test_reader_refuses_oversized_before_allocating(void **state)
{
  (void) state;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  uint8_t hdr[TTRPC_HEADER_SIZE];
  ttrpc_reader_t r = TTRPC_READER_INIT;
  ttrpc_frame_t frame = { 0 };
  size_t used = 0;

  ttrpc_header_encode(hdr, TTRPC_MESSAGE_MAX, 1, TTRPC_TYPE_REQUEST, 0);
  assert_int_equal(ttrpc_reader_feed(&r, hdr, sizeof(hdr), &used, &frame, &err), TTRPC_READ_AGAIN);
  assert_non_null(r.frame.data); /* exactly the maximum is fine */
  ttrpc_reader_clear(&r);

  ttrpc_header_encode(hdr, TTRPC_MESSAGE_MAX + 1, 1, TTRPC_TYPE_REQUEST, 0);
  assert_int_equal(ttrpc_reader_feed(&r, hdr, sizeof(hdr), &used, &frame, &err), -EMSGSIZE);
  assert_null(r.frame.data);
  assert_int_equal(err.status, WEDGE_RESOURCE_EXHAUSTED);
  assert_string_equal(wedge_error_message(&err), "message length 4194305 exceed maximum message size of 4194304");

  /* A stray byte 0 (reserved, always 0 below 16 MiB) is an oversized frame too. */
  ttrpc_reader_clear(&r);
  memset(hdr, 0xff, sizeof(hdr));
  assert_int_equal(ttrpc_reader_feed(&r, hdr, sizeof(hdr), &used, &frame, NULL), -EMSGSIZE);
  assert_null(r.frame.data);
  ttrpc_reader_clear(&r);

  ttrpc_writer_t w = TTRPC_WRITER_INIT;
  assert_int_equal(ttrpc_writer_queue(&w, 1, TTRPC_TYPE_RESPONSE, 0, hdr, TTRPC_MESSAGE_MAX + 1, NULL), -EMSGSIZE);
  assert_int_equal(ttrpc_writer_pending(&w), 0);
  ttrpc_writer_clear(&w);
}

static void
test_reader_on_fd_partial_and_truncated(void **state)
{
  (void) state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
  uint8_t bytes[128];
  size_t len = unhex(CONNECT_REQUEST_HEX, bytes);
  ttrpc_reader_t r = TTRPC_READER_INIT;
  ttrpc_frame_t frame = { 0 };

  assert_int_equal(ttrpc_reader_read(&r, sv[0], &frame, NULL), TTRPC_READ_AGAIN);
  for (size_t i = 0; i + 1 < len; i++)
    {
      write_all(sv[1], bytes + i, 1);
      assert_int_equal(ttrpc_reader_read(&r, sv[0], &frame, NULL), TTRPC_READ_AGAIN);
    }
  write_all(sv[1], bytes + len - 1, 1);
  assert_int_equal(ttrpc_reader_read(&r, sv[0], &frame, NULL), TTRPC_READ_FRAME);
  assert_int_equal(frame.length, 40);
  assert_int_equal(frame.stream_id, 3);
  ttrpc_frame_clear(&frame);

  /* Half a frame, then the peer goes away. */
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  write_all(sv[1], bytes, 20);
  close(sv[1]);
  assert_int_equal(ttrpc_reader_read(&r, sv[0], &frame, &err), -EPROTO);
  assert_string_equal(wedge_error_message(&err), "ttrpc: connection closed inside a frame (10 of 40 data bytes)");
  ttrpc_reader_clear(&r);

  /* Between frames, a close is a clean EOF. */
  assert_int_equal(ttrpc_reader_read(&r, sv[0], &frame, NULL), TTRPC_READ_EOF);
  close(sv[0]);
}

static void
test_writer_partial_writes(void **state)
{
  (void) state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
  size_t len = 2 << 20;
  _cleanup_free_ uint8_t *data = malloc(len);
  for (size_t i = 0; i < len; i++)
    data[i] = (uint8_t) (i * 7);

  ttrpc_writer_t w = TTRPC_WRITER_INIT;
  assert_int_equal(ttrpc_writer_queue(&w, 5, TTRPC_TYPE_RESPONSE, 0, data, len, NULL), 0);
  /* The peer reads nothing yet: the flush stops at EAGAIN instead of blocking. */
  assert_int_equal(ttrpc_writer_flush(&w, sv[0], NULL), 1);
  assert_true(ttrpc_writer_pending(&w) > 0);

  ttrpc_reader_t r = TTRPC_READER_INIT;
  ttrpc_frame_t frame = { 0 };
  int res = TTRPC_READ_AGAIN;
  while (res == TTRPC_READ_AGAIN)
    {
      int f = ttrpc_writer_flush(&w, sv[0], NULL);
      assert_true(f == 0 || f == 1);
      res = ttrpc_reader_read(&r, sv[1], &frame, NULL);
    }
  assert_int_equal(res, TTRPC_READ_FRAME);
  assert_int_equal(ttrpc_writer_pending(&w), 0);
  assert_int_equal(frame.length, len);
  assert_memory_equal(frame.data, data, len);
  ttrpc_frame_clear(&frame);

  close(sv[1]);
  assert_int_equal(ttrpc_writer_queue(&w, 7, TTRPC_TYPE_RESPONSE, 0, NULL, 0, NULL), 0);
  assert_int_equal(ttrpc_writer_flush(&w, sv[0], NULL), -EPIPE);
  ttrpc_writer_clear(&w);
  close(sv[0]);
}

/* ---------------------------------------------------------------------------------------------
 * Server */

static void
test_server_connect_byte_by_byte(void **state)
{
  fixture_t *f = *state;
  int fd = raw_connect(f);
  uint8_t bytes[128];
  size_t len = unhex(CONNECT_REQUEST_HEX, bytes);
  for (size_t i = 0; i < len; i++)
    {
      write_all(fd, bytes + i, 1);
      pump(f);
    }
  ttrpc_frame_t frame = { 0 };
  assert_true(read_frame(fd, &frame));
  /* Observed: ConnectResponse{shim_pid 30648, task_pid 30720}, no status. */
  assert_frame_hex(&frame, 3, "12 08 08 b8ef01 10 80f001");
  ttrpc_frame_clear(&frame);
  assert_int_equal(ttrpc_server_connection_count(f->server), 1);
  close(fd);
  pump(f);
  assert_int_equal(ttrpc_server_connection_count(f->server), 0);
  assert_string_equal(f->log, "");
}

static void
test_server_empty_success_and_errors(void **state)
{
  fixture_t *f = *state;
  int fd = raw_connect(f);
  ttrpc_frame_t frame = { 0 };

  Containerd__Task__V2__ShutdownRequest sd = CONTAINERD__TASK__V2__SHUTDOWN_REQUEST__INIT;
  sd.id = "c2";
  send_request(fd, 17, TASK_SERVICE, "Shutdown", &sd.base);
  pump(f);
  assert_true(read_frame(fd, &frame));
  assert_frame_hex(&frame, 17, ""); /* observed Empty success: 00000000 00000011 02 00 */
  ttrpc_frame_clear(&frame);

  Containerd__Task__V2__StateRequest st = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
  st.id = "nope";
  send_request(fd, 19, TASK_SERVICE, "State", &st.base);
  pump(f);
  assert_true(read_frame(fd, &frame));
  assert_frame_hex(&frame, 19,
                   "0a 24 08 05 12 20 636f6e7461696e6572206e6f7420637265617465643a206e6f7420666f756e64");
  ttrpc_frame_clear(&frame);

  send_request(fd, 21, TASK_SERVICE, "NoSuchMethod", NULL);
  pump(f);
  assert_true(read_frame(fd, &frame));
  /* Observed unknown method: code 12 "method NoSuchMethod". */
  assert_frame_hex(&frame, 21, "0a 17 08 0c 12 13 6d6574686f64204e6f537563684d6574686f64");
  ttrpc_frame_clear(&frame);

  char msg[128];
  send_request(fd, 23, "containerd.task.v3.Task", "Connect", NULL);
  pump(f);
  assert_true(read_frame(fd, &frame));
  assert_int_equal(frame.stream_id, 23);
  assert_int_equal(response_code(&frame, msg, sizeof(msg)), WEDGE_UNIMPLEMENTED);
  assert_string_equal(msg, "service containerd.task.v3.Task");
  ttrpc_frame_clear(&frame);

  /* The method payload does not decode: Go ttrpc's Internal error, connection kept. */
  write_hex(fd, "00000026 00000019 01 00 0a 17 636f6e7461696e6572642e7461736b2e76322e5461736b"
                " 12 07 436f6e6e656374 1a 02 0a 05");
  pump(f);
  assert_true(read_frame(fd, &frame));
  assert_int_equal(frame.stream_id, 0x19);
  assert_int_equal(response_code(&frame, msg, sizeof(msg)), WEDGE_INTERNAL);
  assert_string_equal(msg, "ttrpc: error unmarshalling payload: invalid containerd.task.v2.ConnectRequest");
  ttrpc_frame_clear(&frame);

  /* The Request itself does not decode: InvalidArgument, connection kept. */
  write_hex(fd, "00000002 0000001b 01 00 0a 09");
  pump(f);
  assert_true(read_frame(fd, &frame));
  assert_int_equal(frame.stream_id, 0x1b);
  assert_int_equal(response_code(&frame, msg, sizeof(msg)), WEDGE_INVALID_ARGUMENT);
  assert_string_equal(msg, "unmarshal request error: invalid ttrpc.Request");
  ttrpc_frame_clear(&frame);

  /* An all-default request has no payload field at all; it decodes as an empty message. */
  send_request(fd, 31, TASK_SERVICE, "Connect", NULL);
  pump(f);
  assert_true(read_frame(fd, &frame));
  assert_frame_hex(&frame, 31, "12 04 08 b8ef01");
  ttrpc_frame_clear(&frame);

  /* A reply too big for a frame becomes an error reply rather than silence. */
  send_request(fd, 33, TASK_SERVICE, "Update", NULL);
  pump(f);
  assert_true(read_frame(fd, &frame));
  assert_int_equal(response_code(&frame, msg, sizeof(msg)), WEDGE_RESOURCE_EXHAUSTED);
  assert_string_equal(msg, "message length 4194310 exceed maximum message size of 4194304");
  ttrpc_frame_clear(&frame);

  /* Still usable. */
  send_request(fd, 29, TASK_SERVICE, "Shutdown", NULL);
  pump(f);
  assert_true(read_frame(fd, &frame));
  assert_frame_hex(&frame, 29, "");
  ttrpc_frame_clear(&frame);
  assert_int_equal(ttrpc_server_connection_count(f->server), 1);
  close(fd);
}

static void
test_server_even_stream_id(void **state)
{
  fixture_t *f = *state;
  int fd = raw_connect(f);
  ttrpc_frame_t frame = { 0 };
  char msg[128];
  send_request(fd, 2, TASK_SERVICE, "Shutdown", NULL);
  pump(f);
  assert_true(read_frame(fd, &frame));
  assert_int_equal(frame.stream_id, 2);
  assert_int_equal(response_code(&frame, msg, sizeof(msg)), WEDGE_INVALID_ARGUMENT);
  assert_string_equal(msg, "StreamID must be odd for client initiated streams");
  ttrpc_frame_clear(&frame);
  close(fd);
}

static void
test_server_streaming_request_refused(void **state)
{
  fixture_t *f = *state;
  int fd = raw_connect(f);
  ttrpc_frame_t frame = { 0 };
  /* An empty Request with the remote-open flag (ttrpc 1.2 streaming). */
  write_hex(fd, "00000000 00000001 01 02");
  pump(f);
  assert_true(read_frame(fd, &frame));
  assert_int_equal(response_code(&frame, NULL, 0), WEDGE_UNIMPLEMENTED);
  ttrpc_frame_clear(&frame);
  close(fd);
}

static void
test_server_deferred_reply_overlaps(void **state)
{
  fixture_t *f = *state;
  int fd = raw_connect(f);
  ttrpc_frame_t frame = { 0 };

  Containerd__Task__V2__WaitRequest wr = CONTAINERD__TASK__V2__WAIT_REQUEST__INIT;
  wr.id = "c2";
  Containerd__Task__V2__ConnectRequest cr = CONTAINERD__TASK__V2__CONNECT_REQUEST__INIT;
  cr.id = "c2";
  send_request(fd, 1, TASK_SERVICE, "Wait", &wr.base);
  send_request(fd, 3, TASK_SERVICE, "Connect", &cr.base);
  pump(f);
  assert_int_equal(f->n_deferred, 1);
  assert_true(ttrpc_call_connected(f->deferred[0]));
  assert_string_equal(ttrpc_call_method(f->deferred[0]), "Wait");

  /* The later request is answered while Wait is pending. */
  assert_true(read_frame(fd, &frame));
  assert_frame_hex(&frame, 3, "12 08 08 b8ef01 10 80f001");
  ttrpc_frame_clear(&frame);

  /* Then the process "exits": Wait completes from outside any handler. */
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  ts.seconds = 1795916420;
  ts.nanos = 612472396;
  Containerd__Task__V2__WaitResponse resp = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
  resp.exit_status = 3;
  resp.exited_at = &ts;
  assert_int_equal(ttrpc_call_reply_message(f->deferred[0], &resp.base), 0);
  f->deferred[0] = NULL;
  assert_true(read_frame(fd, &frame));
  /* Observed WaitResponse for exit code 3. */
  assert_frame_hex(&frame, 1, "12 10 08 03 12 0c 08 8485aed806 10 ccac86a402");
  ttrpc_frame_clear(&frame);
  close(fd);
  pump(f);
}

static void
test_server_cancels_deferred_on_close(void **state)
{
  fixture_t *f = *state;
  int fd = raw_connect(f);
  send_request(fd, 1, TASK_SERVICE, "Wait", NULL);
  pump(f);
  assert_int_equal(f->n_deferred, 1);
  close(fd);
  pump(f);
  assert_int_equal(f->cancelled, 1);
  assert_null(f->deferred[0]);
  assert_int_equal(ttrpc_server_connection_count(f->server), 0);
}

static void
test_server_bad_connection_does_not_hurt_others(void **state)
{
  fixture_t *f = *state;
  int bad = raw_connect(f);
  int good = raw_connect(f);
  int garbage = raw_connect(f);
  int truncated = raw_connect(f);
  ttrpc_frame_t frame = { 0 };

  send_request(good, 1, TASK_SERVICE, "Wait", NULL);
  pump(f);
  assert_int_equal(ttrpc_server_connection_count(f->server), 4);

  write_hex(bad, "00400001 00000001 01 00");   /* 4 MiB + 1 */
  write_hex(garbage, "00000000 00000001 09 00"); /* no such message type */
  write_hex(truncated, "00000028 00000003 01 00 0a 17");
  shutdown(truncated, SHUT_WR);
  Containerd__Task__V2__ConnectRequest cr = CONTAINERD__TASK__V2__CONNECT_REQUEST__INIT;
  cr.id = "c2";
  send_request(good, 3, TASK_SERVICE, "Connect", &cr.base);
  pump(f);

  assert_false(read_frame(bad, &frame));
  assert_false(read_frame(garbage, &frame));
  assert_false(read_frame(truncated, &frame));
  assert_true(read_frame(good, &frame));
  assert_frame_hex(&frame, 3, "12 08 08 b8ef01 10 80f001");
  ttrpc_frame_clear(&frame);
  assert_int_equal(ttrpc_server_connection_count(f->server), 1);
  /* The good connection's deferred Wait survived the others. */
  assert_non_null(f->deferred[0]);
  assert_true(ttrpc_call_connected(f->deferred[0]));
  assert_int_equal(f->cancelled, 0);

  assert_non_null(strstr(f->log, "message length 4194305 exceed maximum message size of 4194304"));
  assert_non_null(strstr(f->log, "frame of unknown type 9 on stream 1"));
  assert_non_null(strstr(f->log, "connection closed inside a frame (2 of 40 data bytes)"));
  close(bad);
  close(garbage);
  close(truncated);
  close(good);
  pump(f);
}

static void
test_server_limits(void **state)
{
  fixture_t *f = *state; /* max 2 connections, 2 requests in flight each */
  int a = raw_connect(f);
  int b = raw_connect(f);
  pump(f);
  int c = raw_connect(f);
  pump(f);
  ttrpc_frame_t frame = { 0 };
  assert_false(read_frame(c, &frame));
  assert_int_equal(ttrpc_server_connection_count(f->server), 2);
  assert_non_null(strstr(f->log, "2 connections open already"));
  close(c);

  /* Two deferred calls fill the connection; the third request waits unread. */
  send_request(a, 1, TASK_SERVICE, "Wait", NULL);
  send_request(a, 3, TASK_SERVICE, "Wait", NULL);
  send_request(a, 5, TASK_SERVICE, "Shutdown", NULL);
  pump(f);
  assert_int_equal(f->n_deferred, 2);
  struct pollfd pfd = { .fd = a, .events = POLLIN };
  assert_int_equal(poll(&pfd, 1, 50), 0);

  /* The other connection is not affected. */
  send_request(b, 1, TASK_SERVICE, "Shutdown", NULL);
  pump(f);
  assert_true(read_frame(b, &frame));
  assert_frame_hex(&frame, 1, "");
  ttrpc_frame_clear(&frame);

  /* One reply frees a slot, and the queued request is read and answered. */
  assert_int_equal(ttrpc_call_reply(f->deferred[1], NULL, 0), 0);
  f->deferred[1] = NULL;
  assert_true(read_frame(a, &frame));
  assert_frame_hex(&frame, 3, "");
  ttrpc_frame_clear(&frame);
  pump(f);
  assert_true(read_frame(a, &frame));
  assert_frame_hex(&frame, 5, "");
  ttrpc_frame_clear(&frame);
  close(a);
  close(b);
  pump(f);
}

static void
test_server_out_of_fds(void **state)
{
  fixture_t *f = *state;
  int fd = raw_connect(f);
  struct rlimit saved;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
  int lowest_free = fcntl(0, F_DUPFD_CLOEXEC, 0);
  assert_true(lowest_free >= 0);
  close(lowest_free);
  struct rlimit tight = { .rlim_cur = (rlim_t) lowest_free, .rlim_max = saved.rlim_max };
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);
  pump(f);
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);

  ttrpc_frame_t frame = { 0 };
  assert_false(read_frame(fd, &frame));
  assert_non_null(strstr(f->log, "ttrpc: refusing connection: Too many open files"));
  assert_int_equal(ttrpc_server_connection_count(f->server), 0);
  close(fd);

  /* The spare fd is back: the next connection is served. */
  fd = raw_connect(f);
  send_request(fd, 1, TASK_SERVICE, "Shutdown", NULL);
  pump(f);
  assert_true(read_frame(fd, &frame));
  assert_frame_hex(&frame, 1, "");
  ttrpc_frame_clear(&frame);
  close(fd);
}

/* containerd (2.x most often) closes a task's connection without reading the last reply: the
 * server's write fails with EPIPE, or with ECONNRESET when replies were left unread. That is a
 * peer going away, not a fault: the connection closes with a debug line and no warning, and the
 * server goes on serving. */
static void
test_server_peer_hangup_is_not_a_warning(void **state)
{
  fixture_t *f = *state;

  /* A request, then the close, before the server has read either: its reply meets EPIPE. */
  int fd = raw_connect(f);
  write_hex(fd, CONNECT_REQUEST_HEX);
  close(fd);
  pump(f);
  assert_int_equal(f->n_seen, 1);
  assert_int_equal(ttrpc_server_connection_count(f->server), 0);

  /* A reply much larger than the socket buffers, of which the peer reads a little and leaves
   * the rest unread when it closes. */
  fd = raw_connect(f);
  send_request(fd, 1, TASK_SERVICE, "Stats", NULL);
  pump(f);
  uint8_t buf[4096];
  assert_true(read(fd, buf, sizeof(buf)) > 0);
  close(fd);
  pump(f);
  assert_int_equal(ttrpc_server_connection_count(f->server), 0);

  assert_string_equal(f->log, "");
  /* One line for each connection, at debug level. */
  const char *first = strstr(f->debug, "closed by the peer before 20 bytes of replies: ttrpc: write: Broken pipe\n");
  assert_non_null(first);
  assert_non_null(strstr(first + 1, "closed by the peer"));

  /* Still serving. */
  fd = raw_connect(f);
  send_request(fd, 3, TASK_SERVICE, "Shutdown", NULL);
  pump(f);
  ttrpc_frame_t frame = { 0 };
  assert_true(read_frame(fd, &frame));
  assert_frame_hex(&frame, 3, "");
  ttrpc_frame_clear(&frame);
  close(fd);
  assert_string_equal(f->log, "");
}

static void
test_server_slow_reader_does_not_block(void **state)
{
  fixture_t *f = *state;
  int fd = raw_connect(f);
  send_request(fd, 1, TASK_SERVICE, "Stats", NULL);
  send_request(fd, 3, TASK_SERVICE, "Shutdown", NULL);
  pump(f); /* returns although the peer reads nothing */

  ttrpc_frame_t frame = { 0 };
  ttrpc_reader_t r = TTRPC_READER_INIT;
  int res = TTRPC_READ_AGAIN;
  /* Drain with the server driven in between, as the loop would on EPOLLOUT. */
  struct timeval tv = { .tv_usec = 20000 };
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  for (int i = 0; i < 10000 && res != TTRPC_READ_FRAME; i++)
    {
      uint8_t buf[65536];
      ssize_t n = read(fd, buf, sizeof(buf));
      if (n > 0)
        {
          size_t off = 0;
          while (off < (size_t) n)
            {
              size_t used = 0;
              res = ttrpc_reader_feed(&r, buf + off, (size_t) n - off, &used, &frame, NULL);
              off += used;
              if (res == TTRPC_READ_FRAME)
                {
                  if (frame.stream_id == 1)
                    {
                      Ttrpc__Response *resp = ttrpc__response__unpack(NULL, frame.length, frame.data);
                      assert_non_null(resp);
                      assert_null(resp->status);
                      assert_int_equal(resp->payload.len, 1 << 20);
                      assert_int_equal(resp->payload.data[12345], (uint8_t) 12345);
                      ttrpc__response__free_unpacked(resp, NULL);
                      res = TTRPC_READ_AGAIN;
                    }
                  else
                    {
                      assert_int_equal(frame.stream_id, 3);
                      res = TTRPC_READ_FRAME;
                      break;
                    }
                  ttrpc_frame_clear(&frame);
                }
            }
        }
      pump(f);
    }
  assert_int_equal(res, TTRPC_READ_FRAME);
  assert_int_equal(frame.length, 0);
  ttrpc_frame_clear(&frame);
  ttrpc_reader_clear(&r);
  close(fd);
  pump(f);
}

static void
test_server_refuses_other_users(void **state)
{
  fixture_t *f = *state;
  if (geteuid() != 0)
    {
      print_message("skipped: needs root to connect as another user\n");
      return;
    }
  chmod(f->dir, 0755);
  chmod(f->path, 0666);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    {
      if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
        _exit(2);
      int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      struct sockaddr_un addr = { .sun_family = AF_UNIX };
      strcpy(addr.sun_path, f->path);
      if (connect(fd, (struct sockaddr *) &addr, sizeof(addr)) < 0)
        _exit(3);
      char c;
      struct timeval tv = { .tv_sec = 5 };
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      _exit(read(fd, &c, 1) == 0 ? 0 : 4); /* closed by the server */
    }
  int status = 0;
  for (int i = 0; i < 200 && waitpid(pid, &status, WNOHANG) == 0; i++)
    pump(f);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  assert_int_equal(ttrpc_server_connection_count(f->server), 0);
  assert_non_null(strstr(f->log, "uid 65534 gid 65534, expected uid 0 gid 0"));
}

/* ---------------------------------------------------------------------------------------------
 * Client against the server, the server driven by a thread as the shim's loop would. */

typedef struct server_thread
{
  fixture_t *f;
  int stop_fd[2];
} server_thread_t;

static void *
server_thread_main(void *arg)
{
  server_thread_t *t = arg;
  for (;;)
    {
      struct pollfd pfd[2] = {
        { .fd = ttrpc_server_get_fd(t->f->server), .events = POLLIN },
        { .fd = t->stop_fd[0], .events = POLLIN },
      };
      if (poll(pfd, 2, -1) < 0)
        continue;
      if (pfd[1].revents)
        return NULL;
      pthread_mutex_lock(&t->f->lock);
      ttrpc_server_process(t->f->server, NULL);
      pthread_mutex_unlock(&t->f->lock);
    }
}

static void
test_client_round_trip(void **state)
{
  fixture_t *f = *state;
  server_thread_t t = { .f = f };
  assert_int_equal(pipe2(t.stop_fd, O_CLOEXEC), 0);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, server_thread_main, &t), 0);

  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  ttrpc_client_t *c = NULL;
  char addr[160];
  snprintf(addr, sizeof(addr), "unix://%s", f->path);
  assert_int_equal(ttrpc_client_connect(addr, &c, &err), 0);

  const ttrpc_kv_t md[] = { { TTRPC_NAMESPACE_KEY, "refns" } };
  for (int i = 0; i < 3; i++)
    {
      Containerd__Task__V2__ConnectRequest req = CONTAINERD__TASK__V2__CONNECT_REQUEST__INIT;
      req.id = "c2";
      Containerd__Task__V2__ConnectResponse *resp = NULL;
      assert_int_equal(ttrpc_client_call_message(c, TASK_SERVICE, "Connect", &req.base, md, 1, 5000000000,
                                                 &containerd__task__v2__connect_response__descriptor,
                                                 (ProtobufCMessage **) &resp, &err),
                       0);
      assert_int_equal(resp->shim_pid, 30648);
      assert_int_equal(resp->task_pid, 30720);
      protobuf_c_message_free_unpacked(&resp->base, NULL);
    }
  pthread_mutex_lock(&f->lock);
  assert_int_equal(f->n_seen, 3);
  assert_int_equal(f->seen_stream_ids[0], 1);
  assert_int_equal(f->seen_stream_ids[1], 3);
  assert_int_equal(f->seen_stream_ids[2], 5);
  assert_string_equal(f->seen_namespace, "refns");
  assert_int_equal(f->seen_timeout, 5000000000);
  pthread_mutex_unlock(&f->lock);

  /* An error status comes back as the error, with its code. */
  Containerd__Task__V2__StateRequest st = CONTAINERD__TASK__V2__STATE_REQUEST__INIT;
  st.id = "nope";
  assert_int_equal(ttrpc_client_call_message(c, TASK_SERVICE, "State", &st.base, NULL, 0, 0,
                                             &containerd__task__v2__state_response__descriptor, NULL, &err),
                   -EREMOTEIO);
  assert_int_equal(err.status, WEDGE_NOT_FOUND);
  assert_string_equal(wedge_error_message(&err), "container not created: not found");
  assert_false(ttrpc_client_broken(c));

  /* Empty reply, no response type. */
  assert_int_equal(ttrpc_client_call_message(c, TASK_SERVICE, "Shutdown", &st.base, NULL, 0, 0, NULL, NULL, &err), 0);

  /* A deferred reply that never comes: the deadline ends the call and the client. */
  assert_int_equal(ttrpc_client_call(c, TASK_SERVICE, "Wait", NULL, 0, NULL, 0, 50000000, NULL, NULL, &err),
                   -ETIMEDOUT);
  assert_int_equal(err.status, WEDGE_DEADLINE_EXCEEDED);
  assert_true(ttrpc_client_broken(c));
  assert_int_equal(ttrpc_client_call(c, TASK_SERVICE, "Shutdown", NULL, 0, NULL, 0, 0, NULL, NULL, &err), -EPIPE);
  assert_string_equal(wedge_error_message(&err), "ttrpc: closed");
  ttrpc_client_free(c);

  assert_int_equal(write(t.stop_fd[1], "x", 1), 1);
  pthread_join(th, NULL);
  close(t.stop_fd[0]);
  close(t.stop_fd[1]);
  pump(f);
  assert_int_equal(f->cancelled, 1); /* the Wait of the closed client */
}

static void
test_client_sees_server_close(void **state)
{
  (void) state;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  ttrpc_client_t *c = NULL;
  assert_int_equal(ttrpc_client_new(sv[0], &c, &err), 0);
  /* The server side: reads the request, answers an unrelated stream, then hangs up. */
  write_hex(sv[1], "00000000 00000063 02 00");
  shutdown(sv[1], SHUT_WR);
  assert_int_equal(ttrpc_client_call(c, "containerd.services.events.ttrpc.v1.Events", "Forward", NULL, 0, NULL, 0,
                                     1000000000, NULL, NULL, &err),
                   -ECONNRESET);
  assert_string_equal(wedge_error_message(&err), "ttrpc: closed");
  assert_true(ttrpc_client_broken(c));
  ttrpc_frame_t frame = { 0 };
  assert_true(read_frame(sv[1], &frame));
  Ttrpc__Request *req = ttrpc__request__unpack(NULL, frame.length, frame.data);
  assert_non_null(req);
  assert_int_equal(frame.stream_id, 1);
  assert_string_equal(req->method, "Forward");
  assert_int_equal(req->timeout_nano, 1000000000);
  ttrpc__request__free_unpacked(req, NULL);
  ttrpc_frame_clear(&frame);
  ttrpc_client_free(c);
  close(sv[1]);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_header_round_trip),
    cmocka_unit_test(test_connect_request_bytes),
    cmocka_unit_test(test_reader_refuses_oversized_before_allocating),
    cmocka_unit_test(test_reader_on_fd_partial_and_truncated),
    cmocka_unit_test(test_writer_partial_writes),
    cmocka_unit_test_setup_teardown(test_server_connect_byte_by_byte, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_server_empty_success_and_errors, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_server_even_stream_id, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_server_streaming_request_refused, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_server_deferred_reply_overlaps, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_server_cancels_deferred_on_close, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_server_bad_connection_does_not_hurt_others, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_server_limits, fixture_setup_small, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_server_out_of_fds, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_server_slow_reader_does_not_block, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_server_peer_hangup_is_not_a_warning, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_server_refuses_other_users, fixture_setup, fixture_teardown),
    cmocka_unit_test_setup_teardown(test_client_round_trip, fixture_setup, fixture_teardown),
    cmocka_unit_test(test_client_sees_server_close),
  };
  return cmocka_run_group_tests_name("ttrpc", tests, NULL, NULL);
}
