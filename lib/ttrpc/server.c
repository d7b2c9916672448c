#include "ttrpc/ttrpc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "ttrpc.pb-c.h"

/* Frames handled per connection per wake-up, so one busy peer cannot starve the others. */
#define CONN_FRAMES_PER_WAKEUP 16
#define ACCEPTS_PER_WAKEUP 16
#define EVENTS_PER_WAIT 32

/* Every object registered in the inner epoll starts with its kind, so process() knows what woke. */
enum watch_kind
{
  WATCH_LISTENER,
  WATCH_CONN,
};

typedef struct ttrpc_conn ttrpc_conn_t;

struct ttrpc_call
{
  ttrpc_conn_t *conn; /* NULL once the connection is gone */
  ttrpc_call_t *prev, *next;
  Ttrpc__Request *req;
  uint32_t stream_id;
  ttrpc_cancel_fn cancel;
  void *cancel_userdata;
  bool in_handler;
  bool replied;
};

struct ttrpc_conn
{
  enum watch_kind kind;
  ttrpc_server_t *server;
  int fd;
  pid_t peer_pid;
  ttrpc_reader_t reader;
  ttrpc_writer_t writer;
  unsigned in_flight;
  bool limit_logged; /* in_flight reached the limit; cleared when it falls to half of it */
  uint32_t events; /* as registered in the inner epoll */
  bool dead;
  ttrpc_conn_t *prev, *next;
  ttrpc_call_t *calls;
};

typedef struct service
{
  const char *name;
  const ttrpc_method_t *methods;
  size_t n_methods;
  void *userdata;
} service_t;

struct ttrpc_server
{
  int epfd;
  struct
  {
    enum watch_kind kind;
    int fd;
  } listener;
  ttrpc_server_options_t opts;
  service_t *services;
  size_t n_services;
  ttrpc_conn_t *conns;
  unsigned n_conns;
  ttrpc_conn_t *dead; /* closed, freed when no entry point is running */
  int spare_fd;       /* given up on EMFILE to accept and drop one connection */
  unsigned busy;
};

static void __attribute__((format(printf, 2, 3)))
default_log(void *userdata, const char *fmt, ...)
{
  (void) userdata;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

#define server_log(s, ...) (s)->opts.log((s)->opts.log_userdata, __VA_ARGS__)
#define server_debug(s, ...)                                       \
  do                                                               \
    {                                                              \
      if ((s)->opts.log_debug)                                     \
        (s)->opts.log_debug((s)->opts.log_userdata, __VA_ARGS__);  \
    }                                                              \
  while (0)

/* The errors of a peer that closed its end: normal, not worth a warning (ttrpc.h). */
static bool
errno_is_hangup(int r)
{
  return r == -EPIPE || r == -ECONNRESET;
}

/* Intrusive doubly linked lists of calls and of connections, both with prev/next members. */
#define LIST_UNLINK(head, item)                 \
  do                                            \
    {                                           \
      if ((item)->prev)                         \
        (item)->prev->next = (item)->next;      \
      else                                      \
        *(head) = (item)->next;                 \
      if ((item)->next)                         \
        (item)->next->prev = (item)->prev;      \
      (item)->prev = (item)->next = NULL;       \
    }                                           \
  while (0)

#define LIST_PUSH(head, item)                   \
  do                                            \
    {                                           \
      (item)->prev = NULL;                      \
      (item)->next = *(head);                   \
      if (*(head))                              \
        (*(head))->prev = (item);               \
      *(head) = (item);                         \
    }                                           \
  while (0)

static void
call_free(ttrpc_call_t *call)
{
  if (call->req)
    ttrpc__request__free_unpacked(call->req, NULL);
  free(call);
}

/* The call no longer counts against its connection; it stays alive for its holder. */
static void
call_detach(ttrpc_call_t *call)
{
  ttrpc_conn_t *conn = call->conn;
  if (conn == NULL)
    return;
  LIST_UNLINK(&conn->calls, call);
  conn->in_flight--;
  if (conn->in_flight <= conn->server->opts.max_requests_in_flight / 2)
    conn->limit_logged = false;
  call->conn = NULL;
}

static void
conn_free(ttrpc_conn_t *conn)
{
  ttrpc_reader_clear(&conn->reader);
  ttrpc_writer_clear(&conn->writer);
  free(conn);
}

static void
server_enter(ttrpc_server_t *s)
{
  s->busy++;
}

/* Frees closed connections once no entry point up the stack can still hold a pointer to one. */
static void
server_leave(ttrpc_server_t *s)
{
  if (--s->busy > 0)
    return;
  while (s->dead)
    {
      ttrpc_conn_t *conn = s->dead;
      LIST_UNLINK(&s->dead, conn);
      conn_free(conn);
    }
}

static void
conn_close(ttrpc_conn_t *conn)
{
  if (conn->dead)
    return;
  ttrpc_server_t *s = conn->server;
  conn->dead = true;
  epoll_ctl(s->epfd, EPOLL_CTL_DEL, conn->fd, NULL);
  close(conn->fd);
  conn->fd = -1;
  LIST_UNLINK(&s->conns, conn);
  s->n_conns--;
  LIST_PUSH(&s->dead, conn);

  /* Go ttrpc drops in-flight work silently when the client goes away; deferred holders are
   * told, so a pending Wait can forget its waiter. */
  while (conn->calls)
    {
      ttrpc_call_t *call = conn->calls;
      call_detach(call);
      if (call->cancel)
        call->cancel(call, call->cancel_userdata);
    }
}

static bool
conn_paused(const ttrpc_conn_t *conn)
{
  const ttrpc_server_options_t *o = &conn->server->opts;
  return conn->in_flight >= o->max_requests_in_flight || ttrpc_writer_pending(&conn->writer) >= o->max_output;
}

static void
conn_update_events(ttrpc_conn_t *conn)
{
  if (conn->dead)
    return;
  uint32_t events = 0;
  if (!conn_paused(conn))
    events |= EPOLLIN;
  if (ttrpc_writer_pending(&conn->writer) > 0)
    events |= EPOLLOUT;
  if (events == conn->events)
    return;
  struct epoll_event ev = { .events = events, .data.ptr = conn };
  if (epoll_ctl(conn->server->epfd, EPOLL_CTL_MOD, conn->fd, &ev) < 0)
    {
      server_log(conn->server, "ttrpc: cannot update epoll for connection of pid %d: %s", (int) conn->peer_pid,
                 strerror(errno));
      conn_close(conn);
      return;
    }
  conn->events = events;
}

static void
conn_flush(ttrpc_conn_t *conn)
{
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  if (conn->dead)
    return;
  int r = ttrpc_writer_flush(&conn->writer, conn->fd, &err);
  if (r < 0)
    {
      if (errno_is_hangup(r))
        server_debug(conn->server, "ttrpc: connection of pid %d closed by the peer before %zu bytes of replies: %s",
                     (int) conn->peer_pid, ttrpc_writer_pending(&conn->writer), wedge_error_message(&err));
      else
        server_log(conn->server, "ttrpc: connection of pid %d: %s", (int) conn->peer_pid, wedge_error_message(&err));
      conn_close(conn);
      return;
    }
  conn_update_events(conn);
}

/* Queues a Response (status omitted when code is OK, as Go's status.FromError(nil) is nil) and
 * tries to send it. */
static int
conn_send_response(ttrpc_conn_t *conn, uint32_t stream_id, enum wedge_status code, const char *message,
                   const uint8_t *payload, size_t len)
{
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  Ttrpc__Response resp = TTRPC__RESPONSE__INIT;
  Google__Rpc__Status status = GOOGLE__RPC__STATUS__INIT;
  if (code != WEDGE_OK)
    {
      status.code = (int32_t) code;
      status.message = (char *) (message ? message : "");
      resp.status = &status;
    }
  else
    {
      resp.payload.data = (uint8_t *) payload;
      resp.payload.len = len;
    }

  int ret = ttrpc_writer_queue_message(&conn->writer, stream_id, TTRPC_TYPE_RESPONSE, 0, &resp.base, &err);
  if (ret < 0)
    {
      /* An oversized reply becomes an error reply, so the client is not left waiting. */
      server_log(conn->server, "ttrpc: reply to stream %u: %s", stream_id, wedge_error_message(&err));
      Ttrpc__Response fallback = TTRPC__RESPONSE__INIT;
      status.code = err.status ? (int32_t) err.status : WEDGE_INTERNAL;
      status.message = (char *) wedge_error_message(&err);
      fallback.status = &status;
      if (ttrpc_writer_queue_message(&conn->writer, stream_id, TTRPC_TYPE_RESPONSE, 0, &fallback.base, NULL) < 0)
        {
          conn_close(conn);
          return ret;
        }
    }
  conn_flush(conn);
  if (conn->dead)
    return ret < 0 ? ret : -EPIPE;
  return ret;
}

const char *
ttrpc_call_service(const ttrpc_call_t *call)
{
  return call->req->service;
}

const char *
ttrpc_call_method(const ttrpc_call_t *call)
{
  return call->req->method;
}

uint32_t
ttrpc_call_stream_id(const ttrpc_call_t *call)
{
  return call->stream_id;
}

const uint8_t *
ttrpc_call_payload(const ttrpc_call_t *call, size_t *ret_len)
{
  *ret_len = call->req->payload.len;
  return call->req->payload.data;
}

int64_t
ttrpc_call_timeout_ns(const ttrpc_call_t *call)
{
  return call->req->timeout_nano;
}

const char *
ttrpc_call_metadata(const ttrpc_call_t *call, const char *key)
{
  for (size_t i = 0; i < call->req->n_metadata; i++)
    if (call->req->metadata[i]->key && strcmp(call->req->metadata[i]->key, key) == 0)
      return call->req->metadata[i]->value;
  return NULL;
}

bool
ttrpc_call_connected(const ttrpc_call_t *call)
{
  return call->conn != NULL;
}

void
ttrpc_call_set_cancel(ttrpc_call_t *call, ttrpc_cancel_fn fn, void *userdata)
{
  call->cancel = fn;
  call->cancel_userdata = userdata;
}

int
ttrpc_call_unpack(const ttrpc_call_t *call, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **ret,
                  wedge_error_t *err)
{
  ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, call->req->payload.len, call->req->payload.data);
  if (msg == NULL)
    return wedge_error_set(err, EINVAL, WEDGE_INTERNAL, "ttrpc: error unmarshalling payload: invalid %s",
                           desc->name);
  *ret = msg;
  return 0;
}

/* Ends the call's life: freed now, or by the dispatcher when this happens inside the handler. */
static void
call_finish(ttrpc_call_t *call)
{
  call->replied = true;
  if (!call->in_handler)
    call_free(call);
}

static int
call_reply_full(ttrpc_call_t *call, enum wedge_status code, const char *message, const uint8_t *payload,
                size_t len)
{
  if (call->replied)
    return -EALREADY;
  ttrpc_conn_t *conn = call->conn;
  if (conn == NULL)
    {
      call_finish(call);
      return -ENOTCONN;
    }
  ttrpc_server_t *s = conn->server;
  server_enter(s);
  uint32_t stream_id = call->stream_id;
  call_detach(call);
  call_finish(call);
  int ret = conn_send_response(conn, stream_id, code, message, payload, len);
  conn_update_events(conn);
  server_leave(s);
  return ret;
}

int
ttrpc_call_reply(ttrpc_call_t *call, const uint8_t *payload, size_t len)
{
  return call_reply_full(call, WEDGE_OK, NULL, payload, len);
}

int
ttrpc_call_reply_message(ttrpc_call_t *call, const ProtobufCMessage *msg)
{
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  _cleanup_free_ uint8_t *buf = NULL;
  size_t len = 0;
  if (ttrpc_pack_message(msg, &buf, &len, &err) < 0)
    return ttrpc_call_reply_error(call, &err);
  return call_reply_full(call, WEDGE_OK, NULL, buf, len);
}

int
ttrpc_call_reply_status(ttrpc_call_t *call, enum wedge_status status, const char *message)
{
  if (status == WEDGE_OK)
    status = WEDGE_UNKNOWN;
  return call_reply_full(call, status, message, NULL, 0);
}

int
ttrpc_call_reply_error(ttrpc_call_t *call, const wedge_error_t *err)
{
  enum wedge_status status = err ? err->status : WEDGE_UNKNOWN;
  const char *message = err ? wedge_error_message(err) : "unknown error";
  return ttrpc_call_reply_status(call, status, message);
}

void
ttrpc_call_abandon(ttrpc_call_t *call)
{
  if (call->replied)
    return;
  ttrpc_conn_t *conn = call->conn;
  if (conn == NULL)
    {
      call_finish(call);
      return;
    }
  ttrpc_server_t *s = conn->server;
  server_enter(s);
  call_detach(call);
  call_finish(call);
  conn_update_events(conn);
  server_leave(s);
}

static const service_t *
server_find_service(const ttrpc_server_t *s, const char *name)
{
  for (size_t i = 0; i < s->n_services; i++)
    if (strcmp(s->services[i].name, name) == 0)
      return &s->services[i];
  return NULL;
}

static const ttrpc_method_t *
service_find_method(const service_t *svc, const char *name)
{
  for (size_t i = 0; i < svc->n_methods; i++)
    if (strcmp(svc->methods[i].name, name) == 0)
      return &svc->methods[i];
  return NULL;
}

static void
conn_dispatch(ttrpc_conn_t *conn, ttrpc_call_t *call)
{
  ttrpc_server_t *s = conn->server;
  const char *service = call->req->service ? call->req->service : "";
  const char *method = call->req->method ? call->req->method : "";
  _cleanup_free_ char *text = NULL;

  /* Texts as Go ttrpc's serviceSet.resolve; containerd shows them to users. */
  const service_t *svc = server_find_service(s, service);
  if (svc == NULL)
    {
      if (asprintf(&text, "service %s", service) < 0)
        text = NULL;
      ttrpc_call_reply_status(call, WEDGE_UNIMPLEMENTED, text ? text : "service");
      return;
    }
  const ttrpc_method_t *m = service_find_method(svc, method);
  if (m == NULL)
    {
      if (asprintf(&text, "method %s", method) < 0)
        text = NULL;
      ttrpc_call_reply_status(call, WEDGE_UNIMPLEMENTED, text ? text : "method");
      return;
    }

  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  call->in_handler = true;
  int ret = m->handler(call, svc->userdata, &err);
  call->in_handler = false;
  if (call->replied)
    {
      /* Without a message, ret is the reply's own failure (a handler that returns what
       * ttrpc_call_reply*() gave), which conn_send_response and conn_flush report. */
      if (ret < 0 && err.msg)
        server_log(s, "ttrpc: %s/%s failed after replying: %s", service, method, wedge_error_message(&err));
      call_free(call);
      return;
    }
  if (ret < 0)
    {
      if (err.msg == NULL)
        wedge_error_set_errno(&err, ret, WEDGE_UNKNOWN, "%s", method);
      ttrpc_call_reply_error(call, &err);
    }
}

static void
conn_handle_request(ttrpc_conn_t *conn, ttrpc_frame_t *frame)
{
  ttrpc_server_t *s = conn->server;
  uint32_t sid = frame->stream_id;

  /* Checked in Go ttrpc's order: the Request must decode, then the stream id must be odd. */
  Ttrpc__Request *req = ttrpc__request__unpack(NULL, frame->length, frame->data);
  if (req == NULL)
    {
      server_log(s, "ttrpc: undecodable request on stream %u from pid %d", sid, (int) conn->peer_pid);
      conn_send_response(conn, sid, WEDGE_INVALID_ARGUMENT, "unmarshal request error: invalid ttrpc.Request", NULL,
                         0);
      return;
    }

  if (sid % 2 == 0)
    {
      conn_send_response(conn, sid, WEDGE_INVALID_ARGUMENT, "StreamID must be odd for client initiated streams",
                         NULL, 0);
      ttrpc__request__free_unpacked(req, NULL);
      return;
    }
  if (frame->flags & TTRPC_FLAG_REMOTE_OPEN)
    {
      /* ttrpc 1.2 streaming; nothing in the shim API of containerd 1.6-2.3 uses it. */
      conn_send_response(conn, sid, WEDGE_UNIMPLEMENTED, "ttrpc: streaming requests are not supported", NULL, 0);
      ttrpc__request__free_unpacked(req, NULL);
      return;
    }

  ttrpc_call_t *call = calloc(1, sizeof(*call));
  if (call == NULL)
    {
      ttrpc__request__free_unpacked(req, NULL);
      conn_send_response(conn, sid, WEDGE_RESOURCE_EXHAUSTED, "ttrpc: out of memory", NULL, 0);
      return;
    }
  call->req = req;
  call->stream_id = sid;
  call->conn = conn;
  LIST_PUSH(&conn->calls, call);
  conn->in_flight++;
  if (conn->in_flight >= s->opts.max_requests_in_flight && !conn->limit_logged)
    {
      /* Everything the peer sends on this connection now waits: say so, once. */
      conn->limit_logged = true;
      server_log(s, "ttrpc: connection of pid %d has %u requests in flight, its limit: not reading more until one is answered",
                 (int) conn->peer_pid, conn->in_flight);
    }

  conn_dispatch(conn, call);
}

static void
conn_handle_frame(ttrpc_conn_t *conn, ttrpc_frame_t *frame)
{
  switch (frame->type)
    {
    case TTRPC_TYPE_REQUEST:
      conn_handle_request(conn, frame);
      break;
    case TTRPC_TYPE_DATA:
      /* ttrpc 1.1.1 ignores every non-Request frame; a Data frame can only belong to a stream we
       * already refused. */
      break;
    default:
      server_log(conn->server, "ttrpc: closing connection of pid %d: frame of unknown type %u on stream %u",
                 (int) conn->peer_pid, frame->type, frame->stream_id);
      conn_close(conn);
      break;
    }
}

static void
conn_handle_events(ttrpc_conn_t *conn, uint32_t events)
{
  if (ttrpc_writer_pending(&conn->writer) > 0)
    conn_flush(conn);

  for (int i = 0; i < CONN_FRAMES_PER_WAKEUP && !conn->dead && !conn_paused(conn); i++)
    {
      _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
      ttrpc_frame_t frame = { 0 };
      int r = ttrpc_reader_read(&conn->reader, conn->fd, &frame, &err);
      if (r == TTRPC_READ_AGAIN)
        break;
      if (r == TTRPC_READ_EOF)
        {
          conn_close(conn);
          break;
        }
      if (r < 0)
        {
          if (errno_is_hangup(r))
            server_debug(conn->server, "ttrpc: connection of pid %d closed by the peer: %s", (int) conn->peer_pid,
                         wedge_error_message(&err));
          else
            server_log(conn->server, "ttrpc: closing connection of pid %d: %s", (int) conn->peer_pid,
                       wedge_error_message(&err));
          conn_close(conn);
          break;
        }
      conn_handle_frame(conn, &frame);
      ttrpc_frame_clear(&frame);
    }

  /* A paused connection is not read, so a hang-up would be reported again and again. */
  if (!conn->dead && (events & (EPOLLHUP | EPOLLERR)) && conn_paused(conn))
    conn_close(conn);
  conn_update_events(conn);
}

static int
peer_check(ttrpc_server_t *s, int fd, pid_t *ret_pid)
{
  struct ucred cred;
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
    {
      server_log(s, "ttrpc: refusing connection: SO_PEERCRED: %s", strerror(errno));
      return -errno;
    }
  /* As ttrpc's UnixSocketRequireSameUser, which containerd's shims use: only our own euid and
   * egid may talk to us. */
  if (cred.uid != geteuid() || cred.gid != getegid())
    {
      server_log(s, "ttrpc: refusing connection from pid %d: uid %u gid %u, expected uid %u gid %u",
                 (int) cred.pid, cred.uid, cred.gid, geteuid(), getegid());
      return -EPERM;
    }
  *ret_pid = cred.pid;
  return 0;
}

static void
server_accept(ttrpc_server_t *s)
{
  for (int i = 0; i < ACCEPTS_PER_WAKEUP; i++)
    {
      _cleanup_close_ int fd = accept4(s->listener.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          if ((errno == EMFILE || errno == ENFILE) && s->spare_fd >= 0)
            {
              /* Out of fds, the pending connection would keep the level-triggered listener
               * ready forever: free the spare fd to accept it and drop it. */
              server_log(s, "ttrpc: refusing connection: %s", strerror(errno));
              close(s->spare_fd);
              int dropped = accept4(s->listener.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
              if (dropped >= 0)
                close(dropped);
              s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
              continue;
            }
          if (errno != EAGAIN && errno != EWOULDBLOCK)
            server_log(s, "ttrpc: accept: %s", strerror(errno));
          return;
        }
      pid_t pid = 0;
      if (peer_check(s, fd, &pid) < 0)
        continue;
      if (s->n_conns >= s->opts.max_connections)
        {
          server_log(s, "ttrpc: refusing connection from pid %d: %u connections open already", (int) pid,
                     s->n_conns);
          continue;
        }
      ttrpc_conn_t *conn = calloc(1, sizeof(*conn));
      if (conn == NULL)
        {
          server_log(s, "ttrpc: refusing connection from pid %d: out of memory", (int) pid);
          continue;
        }
      conn->kind = WATCH_CONN;
      conn->server = s;
      conn->peer_pid = pid;
      conn->reader = (ttrpc_reader_t) TTRPC_READER_INIT;
      conn->writer = (ttrpc_writer_t) TTRPC_WRITER_INIT;
      conn->events = EPOLLIN;
      struct epoll_event ev = { .events = EPOLLIN, .data.ptr = conn };
      if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        {
          server_log(s, "ttrpc: refusing connection from pid %d: epoll: %s", (int) pid, strerror(errno));
          free(conn);
          continue;
        }
      conn->fd = TAKE_FD(fd);
      LIST_PUSH(&s->conns, conn);
      s->n_conns++;
    }
}

int
ttrpc_server_process(ttrpc_server_t *s, wedge_error_t *err)
{
  struct epoll_event events[EVENTS_PER_WAIT];
  int n = epoll_wait(s->epfd, events, EVENTS_PER_WAIT, 0);
  if (n < 0)
    {
      if (errno == EINTR)
        return 0;
      return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "ttrpc: epoll_wait");
    }
  server_enter(s);
  for (int i = 0; i < n; i++)
    {
      enum watch_kind *kind = events[i].data.ptr;
      if (*kind == WATCH_LISTENER)
        server_accept(s);
      else
        {
          ttrpc_conn_t *conn = (ttrpc_conn_t *) kind;
          if (!conn->dead)
            conn_handle_events(conn, events[i].events);
        }
    }
  server_leave(s);
  return 0;
}

int
ttrpc_server_new(int listen_fd, const ttrpc_server_options_t *opts, ttrpc_server_t **ret, wedge_error_t *err)
{
  _cleanup_close_ int lfd = listen_fd;
  int flags = fcntl(lfd, F_GETFL);
  if (flags < 0 || fcntl(lfd, F_SETFL, flags | O_NONBLOCK) < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "ttrpc: cannot make the listening socket non-blocking");

  _cleanup_close_ int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "ttrpc: epoll_create1");

  _cleanup_free_ ttrpc_server_t *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "ttrpc: out of memory");
  if (opts)
    s->opts = *opts;
  if (s->opts.max_connections == 0)
    s->opts.max_connections = TTRPC_DEFAULT_MAX_CONNECTIONS;
  if (s->opts.max_requests_in_flight == 0)
    s->opts.max_requests_in_flight = TTRPC_DEFAULT_MAX_IN_FLIGHT;
  if (s->opts.max_output == 0)
    s->opts.max_output = TTRPC_DEFAULT_MAX_OUTPUT;
  if (s->opts.log == NULL)
    s->opts.log = default_log;

  s->listener.kind = WATCH_LISTENER;
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &s->listener };
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev) < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "ttrpc: epoll_ctl");

  s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  s->listener.fd = TAKE_FD(lfd);
  s->epfd = TAKE_FD(epfd);
  *ret = TAKE_PTR(s);
  return 0;
}

int
ttrpc_listen_unix(const char *path, wedge_error_t *err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen(path) >= sizeof(addr.sun_path))
    return wedge_error_set(err, ENAMETOOLONG, WEDGE_INVALID_ARGUMENT, "ttrpc: socket path too long: %s", path);
  strcpy(addr.sun_path, path);

  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "ttrpc: socket");
  if (bind(fd, (struct sockaddr *) &addr, sizeof(addr)) < 0)
    return wedge_error_set_errno(err, errno, errno == EADDRINUSE ? WEDGE_ALREADY_EXISTS : WEDGE_INTERNAL,
                                 "ttrpc: bind %s", path);
  if (chmod(path, 0600) < 0 || listen(fd, SOMAXCONN) < 0)
    {
      int saved = errno;
      unlink(path);
      return wedge_error_set_errno(err, saved, WEDGE_INTERNAL, "ttrpc: listen on %s", path);
    }
  return TAKE_FD(fd);
}

void
ttrpc_server_free(ttrpc_server_t *s)
{
  if (s == NULL)
    return;
  server_enter(s);
  while (s->conns)
    conn_close(s->conns);
  server_leave(s);
  close(s->listener.fd);
  close(s->epfd);
  if (s->spare_fd >= 0)
    close(s->spare_fd);
  free(s->services);
  free(s);
}

int
ttrpc_server_register(ttrpc_server_t *s, const char *service, const ttrpc_method_t *methods, size_t n,
                      void *userdata, wedge_error_t *err)
{
  if (server_find_service(s, service))
    return wedge_error_set(err, EEXIST, WEDGE_ALREADY_EXISTS, "ttrpc: duplicate service %s registered", service);
  service_t *services = reallocarray(s->services, s->n_services + 1, sizeof(*services));
  if (services == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "ttrpc: out of memory");
  services[s->n_services++] = (service_t) {
    .name = service,
    .methods = methods,
    .n_methods = n,
    .userdata = userdata,
  };
  s->services = services;
  return 0;
}

int
ttrpc_server_get_fd(const ttrpc_server_t *s)
{
  return s->epfd;
}

unsigned
ttrpc_server_connection_count(const ttrpc_server_t *s)
{
  return s->n_conns;
}
