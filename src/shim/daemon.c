/* The shim daemon, as `start` leaves it: cwd = the (first) bundle, fds 0-2 on /dev/null, the
 * listening socket as fd 3 (or -socket PATH), a session of its own.
 *
 * PLACEHOLDER. Until the ttrpc server (branch `ttrpc`) and the event loop (branch `loop`) land,
 * it sets up what the runc shim sets up before serving (runtime/v2/shim/shim.go run,
 * shim_unix.go) and then accepts connections and closes them. The integration point is
 * daemon_serve(): replace its body with the loop running the task service on `listen_fd`. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cleanup.h"
#include "shim.h"
#include "shimsock.h"

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

/* The runc shim removes its socket when it shuts down (service.go Shutdown reads `address`). */
static void
daemon_remove_socket(void)
{
  char buf[256];
  _cleanup_close_ int fd = open("address", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  if (n <= 0)
    return;
  buf[n] = '\0';
  const char *path = shimsock_path(buf);
  if (path)
    unlink(path);
}

/* INTEGRATION POINT: the ttrpc task service goes here. For now: accept and close, reap
 * children (we are their subreaper), leave on SIGTERM/SIGINT. */
static int
daemon_serve(struct shim_ctx *ctx, int listen_fd, int sig_fd)
{
  struct pollfd pfd[2] = {
    { .fd = listen_fd, .events = POLLIN },
    { .fd = sig_fd, .events = POLLIN },
  };
  for (;;)
    {
      if (poll(pfd, ARRAY_SIZE(pfd), -1) < 0)
        {
          if (errno == EINTR)
            continue;
          shimlog(&ctx->log, SHIMLOG_ERROR, "poll: %s", strerror(errno));
          return 1;
        }
      if (pfd[0].revents & POLLIN)
        {
          int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
          if (conn >= 0)
            {
              shimlog(&ctx->log, SHIMLOG_DEBUG, "closing connection: task service not implemented yet");
              close(conn);
            }
        }
      if (pfd[1].revents & POLLIN)
        {
          struct signalfd_siginfo si;
          if (read(sig_fd, &si, sizeof(si)) != sizeof(si))
            continue;
          if (si.ssi_signo == SIGCHLD)
            {
              while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
              continue;
            }
          shimlog(&ctx->log, SHIMLOG_INFO, "shutting down on signal %s", strsignal((int) si.ssi_signo));
          return 0;
        }
    }
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

  /* Container processes are reparented to us, so their exits reach us (reference §8.6). */
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

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  _cleanup_close_ int sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sig_fd < 0)
    {
      shimlog(&ctx->log, SHIMLOG_ERROR, "signalfd: %s", strerror(errno));
      close(listen_fd);
      shimlog_close(&ctx->log);
      return 1;
    }

  shimlog(&ctx->log, SHIMLOG_INFO, "serving api on socket");
  int status = daemon_serve(ctx, listen_fd, sig_fd);
  close(listen_fd);
  daemon_remove_socket();
  shimlog_close(&ctx->log);
  return status;
}
