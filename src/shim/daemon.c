/* The shim daemon, as `start` leaves it: cwd = the (first) bundle, fds 0-2 on /dev/null, the
 * listening socket as fd 3 (or -socket PATH), a session of its own.
 *
 * It sets up what the runc shim sets up before serving (runtime/v2/shim/shim.go run,
 * shim_unix.go), then serves the task service (task.h) on `listen_fd` from the event loop
 * (loop.h): the ttrpc server, the stdio copiers, SIGCHLD feeding the reaper, SIGTERM/SIGINT
 * stopping, the event queue's retry timer, until a Shutdown finds no container left. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "shim.h"
#include "base/shimsock.h"
#include "service/events.h"
#include "base/loop.h"
#include "runtime/reaper.h"
#include "service/task.h"
#include "ttrpc/ttrpc.h"

#define DAEMON_LISTEN_FD 3

static int
daemon_listener(struct shim_ctx *ctx, wedge_error_t *err)
{
  if (ctx->flags.socket[0])
    {
      _cleanup_free_ char *address = NULL;
      if (asprintf(&address, SHIMSOCK_SCHEME "%s", ctx->flags.socket) < 0)
        return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
      int fd = -1;
      int r = shimsock_listen(address, &fd, err);
      return r < 0 ? r : fd;
    }
  int accepting = 0;
  socklen_t len = sizeof(accepting);
  if (getsockopt(DAEMON_LISTEN_FD, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &len) < 0 || !accepting)
    return wedge_error_set(err, EBADF, WEDGE_FAILED_PRECONDITION,
                           "fd %d is not a listening socket (the daemon is started by `start`)", DAEMON_LISTEN_FD);
  if (fcntl(DAEMON_LISTEN_FD, F_SETFD, FD_CLOEXEC) < 0)
    return wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "fcntl fd %d", DAEMON_LISTEN_FD);
  return DAEMON_LISTEN_FD;
}

/* The daemon removes its socket file when its loop ends, whatever ended it (Shutdown with no
 * task left, SIGTERM, the Create timeout, a failure), before it drains: from then on a `start`
 * of the same group binds a new socket instead of handing containerd one that is closing. The
 * path comes from the listening fd itself, known from the start: the bundle's `address`, which
 * the runc shim reads at start for the same purpose (runc/task/service.go NewTaskService
 * registers RemoveSocket as a shutdown callback), is gone by the time the loop ends, since
 * containerd deletes the bundle as soon as Shutdown is answered (1.6.20 runtime/v2/shim.go
 * waitShutdown, then `delete`, then bundle.Delete). A daemon that is killed cannot do this:
 * `delete` removes the file then (delete.c). */
static void
daemon_remove_socket(struct shim_ctx *ctx, const char *address)
{
  if (address == NULL)
    return;
  const char *path = shimsock_path(address);
  if (unlink(path) < 0 && errno != ENOENT)
    shimlog(&ctx->log, SHIMLOG_WARN, "remove socket %s: %s", path, strerror(errno));
}

/* A Create that never comes (containerd gave up between `start` and Create, and will not send
 * Shutdown) must not leave the daemon behind forever. */
#define DAEMON_CREATE_TIMEOUT_MS (120 * 1000)
#define DAEMON_CREATE_TIMEOUT_MAX_S (24 * 3600)
/* containerd's shutdown deadline is 3 s; what is still queued after this is lost. */
#define DAEMON_EVENTS_DRAIN_MS 2500

static const int daemon_signals[] = { SIGCHLD, SIGTERM, SIGINT };

struct daemon
{
  struct shim_ctx *ctx;
  int create_timeout_ms;
  struct loop *loop;
  struct task_service *tasks;
  struct events *events;
  struct reaper *reaper;
  ttrpc_server_t *server;
  struct loop_source *events_timer;
  struct loop_source *events_defer;
  struct loop_source *create_timer;
};

static void
daemon_on_shutdown(void *data)
{
  struct daemon *d = data;
  loop_exit(d->loop, 0);
}

static void __attribute__((format(printf, 3, 0)))
daemon_ttrpc_vlog(struct shim_ctx *ctx, enum shimlog_level level, const char *fmt, va_list ap)
{
  if (!shimlog_enabled(&ctx->log, level))
    return;
  char buf[512];
  vsnprintf(buf, sizeof(buf), fmt, ap);
  shimlog(&ctx->log, level, "%s", buf);
}

static void __attribute__((format(printf, 2, 3)))
daemon_ttrpc_log(void *userdata, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  daemon_ttrpc_vlog(userdata, SHIMLOG_WARN, fmt, ap);
  va_end(ap);
}

static void __attribute__((format(printf, 2, 3)))
daemon_ttrpc_debug(void *userdata, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  daemon_ttrpc_vlog(userdata, SHIMLOG_DEBUG, fmt, ap);
  va_end(ap);
}

static void
daemon_loop_failure(struct loop_source *s, int error, void *data)
{
  struct daemon *d = data;
  shimlog(&d->ctx->log, SHIMLOG_ERROR, "event source %d disabled: %s", (int) loop_source_get_type(s), strerror(-error));
}

static bool
daemon_reaped(pid_t pid, int wait_status, void *data)
{
  struct daemon *d = data;
  return task_service_reap(d->tasks, pid, wait_status);
}

/* After anything that may have published: retry the queue's head when it is due. */
static void
daemon_arm_events(struct daemon *d)
{
  int ms = events_retry_in_ms(d->events);
  if (ms < 0)
    (void) loop_source_set_enabled(d->events_timer, false);
  else
    (void) loop_timer_set(d->events_timer, (uint64_t) ms * 1000);
}

static int
daemon_on_events_timer(struct loop_source *s, uint64_t now_usec, void *data)
{
  (void) s;
  (void) now_usec;
  struct daemon *d = data;
  events_flush(d->events);
  daemon_arm_events(d);
  return 0;
}

/* Events published during an iteration leave after its replies (events_set_pending_hook). */
static void
daemon_events_pending(void *data)
{
  struct daemon *d = data;
  (void) loop_source_set_enabled(d->events_defer, true);
}

static int
daemon_on_events_defer(struct loop_source *s, void *data)
{
  (void) s;
  struct daemon *d = data;
  events_flush(d->events);
  daemon_arm_events(d);
  return 0;
}

static int
daemon_on_create_timer(struct loop_source *s, uint64_t now_usec, void *data)
{
  (void) s;
  (void) now_usec;
  struct daemon *d = data;
  if (task_service_count(d->tasks) > 0)
    return 0;
  shimlog(&d->ctx->log, SHIMLOG_WARN, "no task created within %d s, exiting", d->create_timeout_ms / 1000);
  loop_exit(d->loop, 0);
  return 0;
}

static int
daemon_on_signal(struct loop_source *s, const struct signalfd_siginfo *si, void *data)
{
  (void) s;
  struct daemon *d = data;
  if (si->ssi_signo != SIGCHLD)
    {
      shimlog(&d->ctx->log, SHIMLOG_INFO, "shutting down on signal %s", strsignal((int) si->ssi_signo));
      loop_exit(d->loop, 0);
      return 0;
    }
  /* SIGCHLDs coalesce; reap until nothing is left whatever the count. */
  reaper_collect(d->reaper, daemon_reaped, d);
  daemon_arm_events(d);
  return 0;
}

static int
daemon_on_server(struct loop_source *s, int fd, uint32_t revents, void *data)
{
  (void) s;
  (void) fd;
  (void) revents;
  struct daemon *d = data;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  int r = ttrpc_server_process(d->server, &err);
  if (r < 0)
    {
      shimlog(&d->ctx->log, SHIMLOG_ERROR, "ttrpc server: %s", wedge_error_message(&err));
      loop_exit(d->loop, 1);
      return r;
    }
  if (task_service_count(d->tasks) > 0)
    (void) loop_source_set_enabled(d->create_timer, false);
  daemon_arm_events(d);
  return 0;
}

static int
daemon_setup(struct daemon *d, int listen_fd, wedge_error_t *err)
{
  struct shim_ctx *ctx = d->ctx;
  int r = loop_new(&d->loop, err);
  if (r < 0)
    {
      close(listen_fd);
      return r;
    }
  loop_set_failure_hook(d->loop, daemon_loop_failure, d);
  r = reaper_new(&d->reaper, err);
  if (r < 0)
    {
      close(listen_fd);
      return r;
    }
  r = events_new(ctx->env.ttrpc_address, ctx->flags.namespace_, &ctx->log, &d->events, err);
  if (r < 0)
    {
      close(listen_fd);
      return r;
    }
  struct task_service_config cfg = {
    .loop = d->loop,
    .namespace_ = ctx->flags.namespace_,
    .events = d->events,
    .reaper = d->reaper,
    .runtime_timeout_ms = ctx->env.runtime_timeout_ms,
    .log = &ctx->log,
    .on_shutdown = daemon_on_shutdown,
    .data = d,
  };
  r = task_service_new(&cfg, &d->tasks, err);
  if (r < 0)
    {
      close(listen_fd);
      return r;
    }
  ttrpc_server_options_t opts = { .log = daemon_ttrpc_log, .log_debug = daemon_ttrpc_debug, .log_userdata = ctx };
  r = ttrpc_server_new(listen_fd, &opts, &d->server, err);
  if (r < 0)
    return r;
  r = task_service_register(d->tasks, d->server, err);
  if (r < 0)
    return r;

  r = loop_block_signals(daemon_signals, ARRAY_SIZE(daemon_signals), err);
  for (size_t i = 0; r == 0 && i < ARRAY_SIZE(daemon_signals); i++)
    r = loop_add_signal(d->loop, daemon_signals[i], daemon_on_signal, d, NULL, err);
  if (r == 0)
    r = loop_add_io(d->loop, ttrpc_server_get_fd(d->server), EPOLLIN, daemon_on_server, d, NULL, err);
  if (r == 0)
    r = loop_add_timer(d->loop, (uint64_t) d->create_timeout_ms * 1000, daemon_on_create_timer, d,
                       &d->create_timer, err);
  if (r == 0)
    r = loop_add_timer(d->loop, 0, daemon_on_events_timer, d, &d->events_timer, err);
  if (r == 0)
    (void) loop_source_set_enabled(d->events_timer, false);
  if (r == 0)
    r = loop_add_defer(d->loop, daemon_on_events_defer, d, &d->events_defer, err);
  if (r == 0)
    {
      (void) loop_source_set_enabled(d->events_defer, false);
      events_set_pending_hook(d->events, daemon_events_pending, d);
    }
  return r;
}

/* SHIM_CREATE_TIMEOUT_ENV in whole seconds; anything else is ignored (and logged). */
static int
daemon_create_timeout_ms(struct shim_ctx *ctx)
{
  const char *v = getenv(SHIM_CREATE_TIMEOUT_ENV);
  if (v == NULL || v[0] == '\0')
    return DAEMON_CREATE_TIMEOUT_MS;
  char *end = NULL;
  errno = 0;
  long s = strtol(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || s < 1 || s > DAEMON_CREATE_TIMEOUT_MAX_S)
    {
      shimlog(&ctx->log, SHIMLOG_WARN, "ignoring %s=%s (whole seconds, 1 to %d)", SHIM_CREATE_TIMEOUT_ENV, v,
              DAEMON_CREATE_TIMEOUT_MAX_S);
      return DAEMON_CREATE_TIMEOUT_MS;
    }
  return (int) s * 1000;
}

static int
daemon_serve(struct shim_ctx *ctx, int listen_fd, const char *address)
{
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  struct daemon d = { .ctx = ctx, .create_timeout_ms = daemon_create_timeout_ms(ctx) };
  int status;

  if (daemon_setup(&d, listen_fd, &err) < 0)
    {
      shimlog(&ctx->log, SHIMLOG_ERROR, "%s", wedge_error_message(&err));
      status = 1;
    }
  else
    {
      shimlog(&ctx->log, SHIMLOG_INFO, "serving api on socket");
      status = loop_run(d.loop);
    }
  daemon_remove_socket(ctx, address);

  /* The Shutdown reply is queued (and normally sent); give the socket a moment to take what is
   * left, then send the events still queued, as the runc shim closes its publisher. */
  if (d.server)
    for (int i = 0; i < 3; i++)
      {
        struct pollfd pfd = { .fd = ttrpc_server_get_fd(d.server), .events = POLLIN };
        if (poll(&pfd, 1, 10) <= 0)
          break;
        (void) ttrpc_server_process(d.server, NULL);
      }
  if (d.events && events_drain(d.events, DAEMON_EVENTS_DRAIN_MS) > 0)
    shimlog(&ctx->log, SHIMLOG_WARN, "%zu events not delivered", events_pending(d.events));

  task_service_free(d.tasks);
  ttrpc_server_free(d.server);
  loop_free(d.loop);
  events_free(d.events);
  reaper_free(d.reaper);
  return status;
}

int
shim_daemon(struct shim_ctx *ctx)
{
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;

  /* Before anything can fail on a write: the log FIFO loses its reader whenever containerd
   * restarts, and the runc shim ignores SIGPIPE for the same reason. */
  signal(SIGPIPE, SIG_IGN);

  if (shimlog_open(&ctx->log, "log", ctx->flags.debug, &err) < 0)
    wedge_error_clear(&err);
  else
    /* As the runc shim (fifo.OpenFifoDup2 onto stderr): sanitizer reports and anything else
     * written to fd 2 reach containerd's log too. */
    dup2(ctx->log.fd, STDERR_FILENO);
  shimlog_add_field(&ctx->log, "runtime", SHIM_RUNTIME_NAME);
  for (size_t i = 0; i < ctx->flags.n_unknown; i++)
    shimlog(&ctx->log, SHIMLOG_DEBUG, "ignoring unknown flag %s", ctx->flags.unknown[i]);

  /* Container processes are reparented to us, so their exits reach us (as the runc shim:
   * containerd 1.6.20 runtime/v2/shim/shim.go `run`, shim_linux.go `subreaper`). */
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
    {
      shimlog(&ctx->log, SHIMLOG_ERROR, "set child subreaper: %s", strerror(errno));
      shimlog_close(&ctx->log);
      return 1;
    }

  int listen_fd = daemon_listener(ctx, &err);
  if (listen_fd < 0)
    {
      shimlog(&ctx->log, SHIMLOG_ERROR, "%s", wedge_error_message(&err));
      shimlog_close(&ctx->log);
      return 1;
    }

  _cleanup_free_ char *address = NULL;
  if (shimsock_listener_address(listen_fd, &address, &err) < 0)
    {
      shimlog(&ctx->log, SHIMLOG_WARN, "the socket file will not be removed at exit: %s", wedge_error_message(&err));
      wedge_error_clear(&err);
    }

  int status = daemon_serve(ctx, listen_fd, address);
  shimlog_close(&ctx->log);
  return status;
}
