/* The task service behind the real ttrpc server, as containerd reaches it: each input is a
 * sequence of requests (method, payload) sent as ttrpc frames on a unix socket to a fresh server
 * with the 17 Task methods registered, driven by the shim's own loop. Every request must get a
 * Response (Wait may defer), and the daemon must neither crash nor leak.
 *
 * Input: records of [method byte][payload length, 2 bytes little-endian][payload]. The method
 * byte's low bits pick the method (one index past the Task methods is a method no service has,
 * the next one sends the payload as raw bytes on the socket); bit 7 picks the v3 service name.
 * Bit 15 of the length sends the next request before this one's reply (pipelining).
 *
 * The OCI runtime is a shell script first on PATH as `runc` that succeeds and writes a pid no
 * process has, so Create, Start, Exec, Kill and Delete reach their state machines without a
 * container. What a request names on the host is pinned before it is sent, so that fuzzing never
 * writes, mounts or runs anything outside the harness's directory: Create's bundle, rootfs
 * mounts, stdio paths, checkpoint and the runtime binary, root and criu paths of its Options, and
 * Exec's stdio paths. Everything else reaches the shim as the fuzzer wrote it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "service/events.h"
#include "base/loop.h"
#include "runtime/runc_options.h"
#include "shim.pb-c.h"
#include "runtime/spawn.h"
#include "service/task.h"
#include "ttrpc/ttrpc.h"
#include "ttrpc.pb-c.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char FUZZ_RUNTIME[] =
  "#!/bin/sh\n"
  "cmd=''; pidfile=''\n"
  "while [ $# -gt 0 ]; do\n"
  "  case \"$1\" in\n"
  "    --pid-file) pidfile=$2; shift 2; continue;;\n"
  "    --root|--log|--log-format|--bundle|--console-socket|--process) shift 2; continue;;\n"
  "    create|start|kill|delete|pause|resume|ps|exec|update|state) [ -z \"$cmd\" ] && cmd=$1;;\n"
  "  esac\n"
  "  shift\n"
  "done\n"
  "case $cmd in\n"
  "  create) echo 4194303 > \"$pidfile\";;\n"
  "  exec) echo 4194302 > \"$pidfile\";;\n"
  "  ps) echo '[4194303,4194302]';;\n"
  "esac\n"
  "exit 0\n";

static const char *const fuzz_methods[] = {
  "State", "Create", "Start",     "Delete",  "Pids",   "Pause",  "Resume",  "Checkpoint", "Kill",
  "Exec",  "ResizePty", "CloseIO", "Update", "Wait",   "Stats",  "Connect", "Shutdown",
};
#define FUZZ_METHOD_UNKNOWN ARRAY_SIZE(fuzz_methods)
#define FUZZ_RAW_BYTES (ARRAY_SIZE(fuzz_methods) + 1)
#define FUZZ_MAX_REQUESTS 32
/* Idle loop iterations after which a request without a reply is deferred (Wait). */
#define FUZZ_IDLE_ITERATIONS 4
#define FUZZ_IN_FLIGHT_WAITS 50

static char *fuzz_dir;
static char *fuzz_bundle;
static char *fuzz_sock;
static char *fuzz_root;

static int
fuzz_rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
  (void) st;
  (void) type;
  (void) ftw;
  return remove(path);
}

static void
fuzz_cleanup(void)
{
  if (fuzz_dir)
    nftw(fuzz_dir, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *
fuzz_path(const char *dir, const char *name)
{
  char *p = NULL;
  if (asprintf(&p, "%s/%s", dir, name) < 0)
    abort();
  return p;
}

static void
fuzz_write(const char *path, const char *text, mode_t mode)
{
  FILE *f = fopen(path, "we");
  if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0 || chmod(path, mode) < 0)
    abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void) argc;
  (void) argv;
  /* Under TMPDIR: fuzz/run.sh points it at its scratch dir, which it removes even when libFuzzer
   * ends the process without running atexit handlers (a crash, -max_total_time). */
  const char *tmp = getenv("TMPDIR");
  if (asprintf(&fuzz_dir, "%s/wedge-fuzz-dispatch.XXXXXX", tmp && tmp[0] ? tmp : "/tmp") < 0
      || mkdtemp(fuzz_dir) == NULL)
    abort();
  atexit(fuzz_cleanup);
  _cleanup_free_ char *bin = fuzz_path(fuzz_dir, "bin");
  _cleanup_free_ char *runc = fuzz_path(bin, "runc");
  _cleanup_free_ char *rootfs = NULL, *config = NULL, *path = NULL;
  fuzz_bundle = fuzz_path(fuzz_dir, "bundle");
  fuzz_sock = fuzz_path(fuzz_dir, "sock");
  fuzz_root = fuzz_path(fuzz_dir, "root");
  rootfs = fuzz_path(fuzz_bundle, "rootfs");
  config = fuzz_path(fuzz_bundle, "config.json");
  if (mkdir(bin, 0700) < 0 || mkdir(fuzz_bundle, 0700) < 0 || mkdir(rootfs, 0700) < 0)
    abort();
  fuzz_write(runc, FUZZ_RUNTIME, 0755);
  fuzz_write(config, "{}", 0600);
  /* The runtime is looked up in PATH as "runc" when Options name no binary. */
  if (asprintf(&path, "%s:/usr/bin:/bin", bin) < 0 || setenv("PATH", path, 1) < 0)
    abort();
  return 0;
}

/* Removes what requests left in the bundle (options.json, exec specs), keeping config.json and
 * rootfs, so that runs do not grow the directory. */
static void
fuzz_reset_bundle(void)
{
  _cleanup_closedir_ DIR *d = opendir(fuzz_bundle);
  if (d == NULL)
    abort();
  struct dirent *e;
  while ((e = readdir(d)))
    {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 || strcmp(e->d_name, "rootfs") == 0
          || strcmp(e->d_name, "config.json") == 0)
        continue;
      (void) unlinkat(dirfd(d), e->d_name, 0);
    }
}

static void
fuzz_clear_stdio(char **in, char **out, char **errp)
{
  *in = (char *) "";
  *out = (char *) "";
  *errp = (char *) "";
}

/* Packs `msg` into *ret_payload (malloc'd); false when it cannot. */
static bool
fuzz_repack(const ProtobufCMessage *msg, uint8_t **ret_payload, size_t *ret_len)
{
  return ttrpc_pack_message(msg, ret_payload, ret_len, NULL) == 0;
}

/* Pins Create's host paths and runtime; the rest of the request stays as decoded. A payload
 * that does not decode is sent as it is (the shim must refuse it). */
static bool
fuzz_pin_create(const uint8_t *payload, size_t len, uint8_t **ret_payload, size_t *ret_len)
{
  Containerd__Task__V2__CreateTaskRequest *req = containerd__task__v2__create_task_request__unpack(NULL, len, payload);
  if (req == NULL)
    return false;
  char *saved_bundle = req->bundle, *saved_in = req->stdin, *saved_out = req->stdout, *saved_err = req->stderr;
  char *saved_checkpoint = req->checkpoint;
  size_t saved_n_rootfs = req->n_rootfs;
  req->bundle = fuzz_bundle;
  req->n_rootfs = 0;
  req->checkpoint = (char *) "";
  fuzz_clear_stdio(&req->stdin, &req->stdout, &req->stderr);

  Google__Protobuf__Any *saved_options = req->options;
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  _cleanup_free_ uint8_t *opts_packed = NULL;
  Containerd__Runc__V1__Options *opts = NULL;
  if (saved_options && runc_options_unpack(saved_options, &opts, NULL) == 0 && opts)
    {
      char *saved[] = { opts->binary_name, opts->root, opts->criu_path, opts->criu_work_path, opts->criu_image_path };
      opts->binary_name = (char *) "";
      opts->root = fuzz_root;
      opts->criu_path = (char *) "";
      opts->criu_work_path = (char *) "";
      opts->criu_image_path = (char *) "";
      size_t n = 0;
      if (fuzz_repack(&opts->base, &opts_packed, &n))
        {
          any.type_url = saved_options->type_url;
          any.value.data = opts_packed;
          any.value.len = n;
          req->options = &any;
        }
      opts->binary_name = saved[0];
      opts->root = saved[1];
      opts->criu_path = saved[2];
      opts->criu_work_path = saved[3];
      opts->criu_image_path = saved[4];
      containerd__runc__v1__options__free_unpacked(opts, NULL);
      if (req->options != &any)
        req->options = NULL;
    }
  bool ok = fuzz_repack(&req->base, ret_payload, ret_len);
  req->bundle = saved_bundle;
  req->stdin = saved_in;
  req->stdout = saved_out;
  req->stderr = saved_err;
  req->checkpoint = saved_checkpoint;
  req->n_rootfs = saved_n_rootfs;
  req->options = saved_options;
  containerd__task__v2__create_task_request__free_unpacked(req, NULL);
  return ok;
}

static bool
fuzz_pin_exec(const uint8_t *payload, size_t len, uint8_t **ret_payload, size_t *ret_len)
{
  Containerd__Task__V2__ExecProcessRequest *req = containerd__task__v2__exec_process_request__unpack(NULL, len, payload);
  if (req == NULL)
    return false;
  char *saved_in = req->stdin, *saved_out = req->stdout, *saved_err = req->stderr;
  fuzz_clear_stdio(&req->stdin, &req->stdout, &req->stderr);
  bool ok = fuzz_repack(&req->base, ret_payload, ret_len);
  req->stdin = saved_in;
  req->stdout = saved_out;
  req->stderr = saved_err;
  containerd__task__v2__exec_process_request__free_unpacked(req, NULL);
  return ok;
}

typedef struct fuzz_ctx
{
  ttrpc_server_t *server;
  bool shutdown;
} fuzz_ctx_t;

static int
fuzz_on_server(struct loop_source *s, int fd, uint32_t revents, void *data)
{
  (void) s;
  (void) fd;
  (void) revents;
  fuzz_ctx_t *ctx = data;
  return ttrpc_server_process(ctx->server, NULL);
}

static void
fuzz_on_shutdown(void *data)
{
  fuzz_ctx_t *ctx = data;
  ctx->shutdown = true;
}

static void
fuzz_quiet(void *userdata, const char *fmt, ...)
{
  (void) userdata;
  (void) fmt;
}

/* The client socket is non-blocking (the frame reader needs that); a full socket is drained by
 * letting the server run. */
static bool
fuzz_send_all(struct loop *loop, int fd, const uint8_t *buf, size_t len)
{
  for (int stalled = 0; len > 0;)
    {
      ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
      if (n < 0 && errno == EAGAIN && stalled++ < 1000)
        {
          (void) loop_run_once(loop, 1);
          continue;
        }
      if (n < 0)
        return false;
      buf += n;
      len -= (size_t) n;
    }
  return true;
}

static bool
fuzz_send_request(struct loop *loop, int fd, uint32_t stream_id, const char *service, const char *method, const uint8_t *payload,
                  size_t len)
{
  Ttrpc__KeyValue ns = TTRPC__KEY_VALUE__INIT;
  ns.key = (char *) TTRPC_NAMESPACE_KEY;
  ns.value = (char *) "fuzz";
  Ttrpc__KeyValue *md[] = { &ns };
  Ttrpc__Request req = TTRPC__REQUEST__INIT;
  req.service = (char *) service;
  req.method = (char *) method;
  req.payload.data = (uint8_t *) payload;
  req.payload.len = len;
  req.n_metadata = 1;
  req.metadata = md;
  ttrpc_writer_t w = TTRPC_WRITER_INIT;
  bool ok = ttrpc_writer_queue_message(&w, stream_id, TTRPC_TYPE_REQUEST, 0, &req.base, NULL) == 0
            && fuzz_send_all(loop, fd, w.buf + w.start, ttrpc_writer_pending(&w));
  ttrpc_writer_clear(&w);
  return ok;
}

/* Reads the responses that arrived and marks their requests answered (request k has stream id
 * 2k+1); a second response to one request is a bug. `answered` NULL: after raw bytes, whose
 * stream ids are anything, responses are only decoded. Sets *closed when the server closed the
 * connection. */
static void
fuzz_read_responses(int fd, ttrpc_reader_t *r, bool answered[FUZZ_MAX_REQUESTS], bool *closed)
{
  for (;;)
    {
      ttrpc_frame_t f = { 0 };
      int ret = ttrpc_reader_read(r, fd, &f, NULL);
      if (ret == TTRPC_READ_AGAIN)
        return;
      if (ret != TTRPC_READ_FRAME)
        {
          *closed = true;
          return;
        }
      if (f.type != TTRPC_TYPE_RESPONSE)
        abort();
      Ttrpc__Response *resp = ttrpc__response__unpack(NULL, f.length, f.data);
      if (resp == NULL)
        abort();
      /* WEDGE_FUZZ_VERBOSE=1 shows what each request got, to see how far a seed reaches. */
      if (getenv("WEDGE_FUZZ_VERBOSE"))
        fprintf(stderr, "stream %u: %s %s\n", f.stream_id, resp->status ? wedge_status_name(resp->status->code) : "OK",
                resp->status && resp->status->message ? resp->status->message : "");
      ttrpc__response__free_unpacked(resp, NULL);
      uint32_t k = (f.stream_id - 1) / 2;
      if (answered == NULL)
        {
          ttrpc_frame_clear(&f);
          continue;
        }
      if (f.stream_id % 2 != 1 || k >= FUZZ_MAX_REQUESTS || answered[k])
        abort();
      answered[k] = true;
      ttrpc_frame_clear(&f);
    }
}

/* A runtime call in flight is a child of ours (the stand-in runtime): the loop hears of its end
 * through its pidfd, so the pump waits for it instead of counting idle iterations. Exited
 * children are reaped here and handed to spawn_claim_exit, as the daemon's reaper does (a
 * runtime's exit can reach waitid(P_ALL) before its pidfd is read). __WALL: the runtime is a
 * clone child until it has exec'd. */
static bool
fuzz_runtime_in_flight(void)
{
  for (;;)
    {
      siginfo_t si = { 0 };
      if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL) < 0)
        return false;
      if (si.si_pid == 0)
        return true;
      (void) spawn_claim_exit(si.si_pid, si.si_code == CLD_EXITED ? W_EXITCODE(si.si_status, 0) : si.si_status);
    }
}

/* Runs the loop until `answered[k]` (k < 0: none) or nothing happened for FUZZ_IDLE_ITERATIONS
 * iterations with no runtime call in flight (FUZZ_IN_FLIGHT_WAITS of 100 ms with one). */
static void
fuzz_pump(struct loop *loop, int fd, ttrpc_reader_t *r, bool answered[FUZZ_MAX_REQUESTS], int k, bool *closed)
{
  for (int idle = 0, waits = 0; (k < 0 || answered == NULL || !answered[k]) && !*closed
                                && idle < FUZZ_IDLE_ITERATIONS && waits < FUZZ_IN_FLIGHT_WAITS;)
    {
      bool in_flight = fuzz_runtime_in_flight();
      if (loop_run_once(loop, in_flight ? 100 : 0) <= 0)
        {
          if (in_flight)
            waits++;
          else
            idle++;
        }
      fuzz_read_responses(fd, r, answered, closed);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  fuzz_ctx_t ctx = { 0 };
  struct loop *loop = NULL;
  struct events *events = NULL;
  struct task_service *ts = NULL;
  ttrpc_reader_t reader = TTRPC_READER_INIT;

  (void) unlink(fuzz_sock);
  int lfd = ttrpc_listen_unix(fuzz_sock, NULL);
  if (lfd < 0)
    abort();
  ttrpc_server_options_t opts = { .log = fuzz_quiet };
  struct task_service_config cfg = {
    .namespace_ = "fuzz",
    .runtime_root = fuzz_root,
    .on_shutdown = fuzz_on_shutdown,
    .data = &ctx,
  };
  if (ttrpc_server_new(lfd, &opts, &ctx.server, NULL) < 0 || loop_new(&loop, NULL) < 0
      || loop_add_io(loop, ttrpc_server_get_fd(ctx.server), EPOLLIN, fuzz_on_server, &ctx, NULL, NULL) < 0
      || events_new(NULL, "fuzz", NULL, &events, NULL) < 0)
    abort();
  cfg.loop = loop;
  cfg.events = events;
  if (task_service_new(&cfg, &ts, NULL) < 0 || task_service_register(ts, ctx.server, NULL) < 0)
    abort();

  _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  strncpy(sa.sun_path, fuzz_sock, sizeof(sa.sun_path) - 1);
  if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
    abort();
  if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
    abort();

  /* Bit 15 of a record's length sends the next request without waiting for this one's reply,
   * so requests arrive pipelined, several in one read. */
  bool answered[FUZZ_MAX_REQUESTS] = { false };
  bool may_defer[FUZZ_MAX_REQUESTS] = { false };
  bool closed = false;
  size_t n = 0;
  for (size_t pos = 0; pos + 3 <= size && n < FUZZ_MAX_REQUESTS && !closed && !ctx.shutdown; n++)
    {
      uint8_t op = data[pos];
      size_t len = (size_t) data[pos + 1] | ((size_t) (data[pos + 2] & 0x7f) << 8);
      bool pipelined = data[pos + 2] & 0x80;
      pos += 3;
      if (len > size - pos)
        len = size - pos;
      const uint8_t *payload = data + pos;
      pos += len;

      size_t idx = (size_t) (op & 0x7f) % (ARRAY_SIZE(fuzz_methods) + 2);
      const char *service = op & 0x80 ? TASK_SERVICE_V3 : TASK_SERVICE_V2;
      if (idx == FUZZ_RAW_BYTES)
        {
          /* The stream is out of step after raw bytes: nothing more is sent or checked. */
          if (fuzz_send_all(loop, fd, payload, len))
            fuzz_pump(loop, fd, &reader, NULL, -1, &closed);
          closed = false;
          n = 0;
          break;
        }
      const char *method = idx == FUZZ_METHOD_UNKNOWN ? "Bogus" : fuzz_methods[idx];
      may_defer[n] = strcmp(method, "Wait") == 0;

      _cleanup_free_ uint8_t *pinned = NULL;
      size_t pinned_len = 0;
      if (strcmp(method, "Create") == 0 && fuzz_pin_create(payload, len, &pinned, &pinned_len))
        payload = pinned, len = pinned_len;
      else if (strcmp(method, "Exec") == 0 && fuzz_pin_exec(payload, len, &pinned, &pinned_len))
        payload = pinned, len = pinned_len;

      if (!fuzz_send_request(loop, fd, (uint32_t) (2 * n + 1), service, method, payload, len))
        abort();
      if (!pipelined)
        fuzz_pump(loop, fd, &reader, answered, (int) n, &closed);
    }
  if (n > 0)
    fuzz_pump(loop, fd, &reader, answered, -1, &closed);
  /* A connection closed on well-formed frames, or a request left without a reply (other than
   * Wait, which may wait for an exit), is a bug. Shutdown may end the exchange early. */
  if (closed && !ctx.shutdown)
    abort();
  for (size_t k = 0; k < n && !ctx.shutdown; k++)
    if (!answered[k] && !may_defer[k])
      abort();

  ttrpc_reader_clear(&reader);
  task_service_free(ts);
  ttrpc_server_free(ctx.server);
  loop_free(loop);
  events_free(events);
  fuzz_reset_bundle();
  return 0;
}
