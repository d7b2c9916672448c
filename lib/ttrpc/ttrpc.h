/* ttrpc: containerd's small RPC protocol, as spoken by ttrpc v1.1.1 (containerd 1.6.20).
 *
 * A frame is a 10-byte big-endian header (data length, stream id, type, flags) followed by a
 * protobuf ttrpc.Request (type 1) or ttrpc.Response (type 2). There is no preface or handshake;
 * authentication is SO_PEERCRED. Requests on one connection are pipelined and answered in any
 * order, matched by stream id. Only unary calls exist in the shim and events APIs, so streaming
 * (type 3 Data, the remote-open flag) is not implemented.
 *
 * Three parts:
 *  - frames (ttrpc_frame.c): an incremental reader and a buffered writer for non-blocking fds;
 *  - the server (ttrpc_server.c), driven by the caller's epoll loop through ONE fd;
 *  - a blocking client (ttrpc_client.c), used to publish events to containerd. */
#ifndef WEDGE_TTRPC_H
#define WEDGE_TTRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <protobuf-c/protobuf-c.h>

#include "base/error.h"

#define TTRPC_HEADER_SIZE 10
/* ttrpc's messageLengthMax (4 << 20): the largest data part either side accepts. */
#define TTRPC_MESSAGE_MAX (4u << 20)

enum ttrpc_msg_type
{
  TTRPC_TYPE_REQUEST = 1,
  TTRPC_TYPE_RESPONSE = 2,
  TTRPC_TYPE_DATA = 3, /* ttrpc 1.2 streaming only */
};

enum ttrpc_flags
{
  TTRPC_FLAG_REMOTE_CLOSED = 0x01,
  TTRPC_FLAG_REMOTE_OPEN = 0x02,
  TTRPC_FLAG_NO_DATA = 0x04,
};

/* containerd's namespace metadata key (namespaces/ttrpc.go). */
#define TTRPC_NAMESPACE_KEY "containerd-namespace-ttrpc"

/* ---------------------------------------------------------------------------------------------
 * Frames */

typedef struct ttrpc_frame
{
  uint32_t stream_id;
  uint8_t type;
  uint8_t flags;
  uint32_t length;
  uint8_t *data; /* malloc'd, `length` bytes; NULL when length is 0 */
} ttrpc_frame_t;

void ttrpc_frame_clear(ttrpc_frame_t *frame);

/* Encodes a header into `buf` (TTRPC_HEADER_SIZE bytes). */
void ttrpc_header_encode(uint8_t *buf, uint32_t length, uint32_t stream_id, uint8_t type, uint8_t flags);

/* Incremental frame reader. Zero-initialise it (TTRPC_READER_INIT); ttrpc_reader_clear() frees a
 * partially read body. */
typedef struct ttrpc_reader
{
  uint8_t header[TTRPC_HEADER_SIZE];
  size_t header_len;
  ttrpc_frame_t frame;
  size_t data_len;
} ttrpc_reader_t;

#define TTRPC_READER_INIT { .header_len = 0 }

enum ttrpc_read_result
{
  TTRPC_READ_AGAIN = 0, /* the fd has no more bytes for now (EAGAIN) */
  TTRPC_READ_FRAME = 1, /* *ret_frame holds a complete frame, now owned by the caller */
  TTRPC_READ_EOF = 2,   /* the peer closed the connection between two frames */
};

/* Reads from `fd` (non-blocking) as much as the current frame needs and no more, so several
 * frames queued on the socket come out one per call. Returns an enum ttrpc_read_result, or:
 *  -EMSGSIZE  the header announces more than TTRPC_MESSAGE_MAX; nothing was allocated;
 *  -EPROTO    the peer closed the connection in the middle of a frame;
 *  -errno     read() failed.
 * After an error the stream is out of sync and the connection must be closed. */
int ttrpc_reader_read(ttrpc_reader_t *r, int fd, ttrpc_frame_t *ret_frame, wedge_error_t *err);

/* The same state machine fed from memory: consumes bytes from buf and sets *ret_consumed.
 * Returns TTRPC_READ_FRAME or TTRPC_READ_AGAIN (all of buf consumed, frame incomplete), or
 * -EMSGSIZE. */
int ttrpc_reader_feed(ttrpc_reader_t *r, const uint8_t *buf, size_t len, size_t *ret_consumed,
                      ttrpc_frame_t *ret_frame, wedge_error_t *err);

void ttrpc_reader_clear(ttrpc_reader_t *r);

/* Output buffer for one connection. Frames are appended whole; ttrpc_writer_flush() sends what
 * the socket takes and keeps the rest, so a slow peer never blocks the caller. */
typedef struct ttrpc_writer
{
  uint8_t *buf;
  size_t start; /* first unsent byte */
  size_t end;   /* end of queued bytes */
  size_t cap;
} ttrpc_writer_t;

#define TTRPC_WRITER_INIT { .buf = NULL }

/* Appends header + data. -EMSGSIZE when len > TTRPC_MESSAGE_MAX, -ENOMEM. */
int ttrpc_writer_queue(ttrpc_writer_t *w, uint32_t stream_id, uint8_t type, uint8_t flags,
                       const uint8_t *data, size_t len, wedge_error_t *err);

/* Appends header + the packed message, packed straight into the buffer. */
int ttrpc_writer_queue_message(ttrpc_writer_t *w, uint32_t stream_id, uint8_t type, uint8_t flags,
                               const ProtobufCMessage *msg, wedge_error_t *err);

/* Writes queued bytes with send(MSG_NOSIGNAL) until done or EAGAIN. Returns 0 when the buffer is
 * empty, 1 when bytes remain (wait for EPOLLOUT), -errno when the connection is broken. */
int ttrpc_writer_flush(ttrpc_writer_t *w, int fd, wedge_error_t *err);

size_t ttrpc_writer_pending(const ttrpc_writer_t *w);
void ttrpc_writer_clear(ttrpc_writer_t *w);

/* ---------------------------------------------------------------------------------------------
 * Server
 *
 * Integration with an epoll loop: the server owns an inner epoll instance holding the listening
 * socket and every connection. Register ttrpc_server_get_fd() for EPOLLIN in the outer loop and
 * call ttrpc_server_process() whenever it is readable. process() never blocks: it accepts,
 * reads, dispatches to handlers and flushes output as far as the sockets allow, and leaves
 * pending output to EPOLLOUT on the inner instance (which wakes the outer loop again).
 *
 * Limits on what a peer controls: frame size (TTRPC_MESSAGE_MAX, checked before allocating),
 * connections (extra ones are accepted and closed at once, with a log line), requests in
 * flight per connection and queued output per connection (reading from that connection pauses
 * until replies are sent or drained, so a peer that does not read cannot grow our memory).
 *
 * A peer that hangs up, even with requests in flight or replies unsent (EPIPE, ECONNRESET: containerd
 * closes a task's connection when it is done with the task, and 2.x often before it has read
 * the last reply), has its connection closed with a line to log_debug only. Any other failure
 * to read or write goes to log.
 *
 * A frame that cannot be read (oversized, truncated, unknown type) closes its connection, is
 * logged, and does not affect other connections. This is stricter than Go ttrpc, which reads
 * and discards an oversized body and answers ResourceExhausted, and skips unknown types:
 * containerd never sends either, and a peer that does is out of sync or hostile. A Request that
 * does not decode is answered with InvalidArgument "unmarshal request error: ..." and an even
 * stream id with InvalidArgument "StreamID must be odd for client initiated streams", as Go
 * ttrpc does; the connection stays open.
 *
 * Not thread-safe: process(), the handlers and every ttrpc_call_*() run on the loop's thread. */

typedef struct ttrpc_server ttrpc_server_t;
typedef struct ttrpc_call ttrpc_call_t;

/* A method handler. It may reply before returning or later (a deferred reply, e.g. Wait):
 *  - reply now: call one ttrpc_call_reply*() and return 0;
 *  - defer: keep `call` and return 0; the handler's owner must then call exactly one
 *    ttrpc_call_reply*() or ttrpc_call_abandon() later, even after the connection or the
 *    server is gone (the call then just frees itself);
 *  - fail: return a negative errno with `err` set and without replying; the server replies
 *    with err's status and message (status 0 becomes Unknown, as Go's convertCode does). */
typedef int (*ttrpc_handler_fn)(ttrpc_call_t *call, void *userdata, wedge_error_t *err);

typedef struct ttrpc_method
{
  const char *name; /* "Create" */
  ttrpc_handler_fn handler;
} ttrpc_method_t;

typedef void (*ttrpc_log_fn)(void *userdata, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef struct ttrpc_server_options
{
  unsigned max_connections;       /* 0 = TTRPC_DEFAULT_MAX_CONNECTIONS */
  unsigned max_requests_in_flight; /* per connection; 0 = TTRPC_DEFAULT_MAX_IN_FLIGHT */
  size_t max_output;              /* per connection, bytes; 0 = TTRPC_DEFAULT_MAX_OUTPUT */
  ttrpc_log_fn log;               /* NULL = lines on stderr */
  ttrpc_log_fn log_debug;         /* what is normal but may help a debugging reader; NULL = dropped */
  void *log_userdata;             /* for both */
} ttrpc_server_options_t;

#define TTRPC_DEFAULT_MAX_CONNECTIONS 128
/* Requests in flight are the deferred ones (a handler that replies before returning holds its
 * request for no longer than the call): a Wait per live process, which containerd keeps open
 * until the exit, and the requests queued behind a process's runtime call. The limit bounds the
 * memory a peer can make a connection hold (about 0.5 KiB a call); at 64 it stopped a container
 * with 64 long execs (kubectl exec sessions, slow exec probes) from answering anything else.
 * containerd/ttrpc v1.1.1 (containerd 1.6.20's) has none: server.go, (*serverConn).run starts a
 * goroutine per request. */
#define TTRPC_DEFAULT_MAX_IN_FLIGHT 1024
#define TTRPC_DEFAULT_MAX_OUTPUT (2 * (TTRPC_MESSAGE_MAX + TTRPC_HEADER_SIZE))

/* Takes ownership of `listen_fd` (a listening AF_UNIX stream socket, e.g. fd 3 inherited from
 * the `start` process), also on failure; sets it non-blocking. `opts` may be NULL. */
int ttrpc_server_new(int listen_fd, const ttrpc_server_options_t *opts, ttrpc_server_t **ret,
                     wedge_error_t *err);

/* Creates a listening socket at `path` (mode 0600, as the runc shim makes it; a stale socket
 * file is NOT removed here) and returns its fd. */
int ttrpc_listen_unix(const char *path, wedge_error_t *err);

/* Closes every connection and the listener. Deferred calls still held by handlers are detached
 * (their later reply is dropped) after their cancel callback, if any, ran. Accepts NULL. */
void ttrpc_server_free(ttrpc_server_t *s);

/* Registers `n` methods of `service` ("containerd.task.v2.Task"). The strings and the array
 * must outlive the server. -EEXIST when the service is already registered. */
int ttrpc_server_register(ttrpc_server_t *s, const char *service, const ttrpc_method_t *methods,
                          size_t n, void *userdata, wedge_error_t *err);

/* The fd to watch for EPOLLIN in the outer loop. */
int ttrpc_server_get_fd(const ttrpc_server_t *s);

/* Handles everything that is ready, without blocking. Returns 0, or -errno only when the server
 * itself is broken (epoll_wait failed); per-connection trouble is logged and handled. */
int ttrpc_server_process(ttrpc_server_t *s, wedge_error_t *err);

unsigned ttrpc_server_connection_count(const ttrpc_server_t *s);

/* Request accessors; valid until the call is replied to or abandoned. */
const char *ttrpc_call_service(const ttrpc_call_t *call);
const char *ttrpc_call_method(const ttrpc_call_t *call);
uint32_t ttrpc_call_stream_id(const ttrpc_call_t *call);
const uint8_t *ttrpc_call_payload(const ttrpc_call_t *call, size_t *ret_len);
/* The request's timeout_nano (0 = none). */
int64_t ttrpc_call_timeout_ns(const ttrpc_call_t *call);
/* The first value of metadata `key`, or NULL. */
const char *ttrpc_call_metadata(const ttrpc_call_t *call, const char *key);
/* False once the connection the call came on has closed: a reply would be dropped. */
bool ttrpc_call_connected(const ttrpc_call_t *call);

/* Decodes the payload as `desc`. On failure: -EINVAL with status Internal and Go ttrpc's text
 * "ttrpc: error unmarshalling payload: ...", suitable for returning from the handler. Free the
 * result with protobuf_c_message_free_unpacked(msg, NULL). */
int ttrpc_call_unpack(const ttrpc_call_t *call, const ProtobufCMessageDescriptor *desc,
                      ProtobufCMessage **ret, wedge_error_t *err);

/* Called when the call's connection closes (or the server is freed) while the reply is
 * deferred. The callback may reply or abandon right away; otherwise the holder still must, later. */
typedef void (*ttrpc_cancel_fn)(ttrpc_call_t *call, void *userdata);
void ttrpc_call_set_cancel(ttrpc_call_t *call, ttrpc_cancel_fn fn, void *userdata);

/* Each of these consumes `call` (it is freed; do not touch it again), whatever they return.
 * They queue the Response and try to send it at once; output the socket does not take is sent
 * from ttrpc_server_process(). They return 0, or -errno when the reply could not be queued or
 * the connection broke (the connection is then closed; nothing else to do). A call whose
 * connection is gone returns -ENOTCONN. */
int ttrpc_call_reply(ttrpc_call_t *call, const uint8_t *payload, size_t len);
int ttrpc_call_reply_message(ttrpc_call_t *call, const ProtobufCMessage *msg);
int ttrpc_call_reply_status(ttrpc_call_t *call, enum wedge_status status, const char *message);
int ttrpc_call_reply_error(ttrpc_call_t *call, const wedge_error_t *err);
void ttrpc_call_abandon(ttrpc_call_t *call);

/* ---------------------------------------------------------------------------------------------
 * Client
 *
 * BLOCKING: ttrpc_client_call() waits (poll) for its response up to the timeout. That is meant
 * for publishing events to containerd, which answers at once; do not call it from the epoll
 * loop thread with a long timeout. Calls on one client are sequential; stream ids are
 * 1, 3, 5, ... per connection. After a timeout or a protocol error the client is broken
 * (ttrpc_client_broken()) and must be freed and reconnected, as Go's client reports ErrClosed. */

typedef struct ttrpc_client ttrpc_client_t;

typedef struct ttrpc_kv
{
  const char *key;
  const char *value;
} ttrpc_kv_t;

/* Connects to a unix socket path (TTRPC_ADDRESS); a leading "unix://" is stripped, as
 * containerd's dialer does. Abstract addresses are not supported. */
int ttrpc_client_connect(const char *path, ttrpc_client_t **ret, wedge_error_t *err);
/* Takes an already connected stream socket (e.g. one end of a socketpair). */
int ttrpc_client_new(int fd, ttrpc_client_t **ret, wedge_error_t *err);
void ttrpc_client_free(ttrpc_client_t *c);
bool ttrpc_client_broken(const ttrpc_client_t *c);

/* One unary call. `timeout_ns` > 0 is sent as timeout_nano and bounds the wait; 0 waits
 * forever. On success *ret_payload (malloc'd, NULL when empty) and *ret_len hold the response
 * payload; pass NULL for both to discard it. When the server answers with a status, returns
 * -EREMOTEIO with err's status and message taken from it (codes wedge_status does not name
 * become Unknown). Other failures:
 * -ETIMEDOUT (DeadlineExceeded), -EPIPE/-ECONNRESET ("ttrpc: closed", Unavailable), -EPROTO. */
int ttrpc_client_call(ttrpc_client_t *c, const char *service, const char *method,
                      const uint8_t *payload, size_t len, const ttrpc_kv_t *metadata,
                      size_t n_metadata, int64_t timeout_ns, uint8_t **ret_payload,
                      size_t *ret_len, wedge_error_t *err);

/* As ttrpc_client_call() with protobuf-c messages; `resp_desc` NULL discards the reply payload
 * (google.protobuf.Empty). */
int ttrpc_client_call_message(ttrpc_client_t *c, const char *service, const char *method,
                              const ProtobufCMessage *req, const ttrpc_kv_t *metadata,
                              size_t n_metadata, int64_t timeout_ns,
                              const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **ret_resp,
                              wedge_error_t *err);

/* ---------------------------------------------------------------------------------------------
 * Message helpers shared by both sides */

/* Packs a protobuf-c message into a malloc'd buffer (*ret NULL when it encodes to 0 bytes). */
int ttrpc_pack_message(const ProtobufCMessage *msg, uint8_t **ret, size_t *ret_len, wedge_error_t *err);

#endif
