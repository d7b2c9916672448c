#include "io/console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/loop.h"

/* Room for a few fds: a peer that sends more than one is refused, and every fd it sent must be
 * received to be closed rather than silently dropped with MSG_CTRUNC. */
#define CONSOLE_MAX_FDS 8

struct console_socket
{
  int fd;
  char *dir;
  char *path;
};

/* Waits for POLLIN on fd until deadline_ms: 0, or -ETIMEDOUT. */
static int
console_poll_in(int fd, int64_t deadline_ms)
{
  for (;;)
    {
      int64_t left = deadline_ms - loop_clock_ms();
      if (left < 0)
        left = 0;
      struct pollfd pfd = { .fd = fd, .events = POLLIN };
      int r = poll(&pfd, 1, (int) left);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return -errno;
      if (r == 0)
        return -ETIMEDOUT;
      return 0;
    }
}

static const char *
console_base_dir(void)
{
  const char *vars[] = { "XDG_RUNTIME_DIR", "TMPDIR" };
  for (size_t i = 0; i < ARRAY_SIZE(vars); i++)
    {
      const char *v = getenv(vars[i]);
      if (v && v[0] == '/')
        return v;
    }
  return "/tmp";
}

int
console_socket_new(const char *base, struct console_socket **ret, wedge_error_t *err)
{
  if (base == NULL)
    base = console_base_dir();
  _cleanup_free_ struct console_socket *cs = calloc(1, sizeof(*cs));
  if (cs == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
  cs->fd = -1;
  if (asprintf(&cs->dir, "%s/wedge-pty.XXXXXX", base) < 0)
    {
      cs->dir = NULL;
      return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
    }
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  /* The XXXXXX are filled in place, so the length is known before the directory exists. */
  if (strlen(cs->dir) + 1 + strlen(CONSOLE_SOCKET_NAME) >= sizeof(sa.sun_path))
    {
      int r = wedge_error_set(err, ENAMETOOLONG, WEDGE_INVALID_ARGUMENT,
                              "console socket path under %s is too long for a unix socket", base);
      free(cs->dir);
      return r;
    }
  /* mkdtemp makes the directory 0700. */
  if (mkdtemp(cs->dir) == NULL)
    {
      int r = wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot create console socket directory in %s", base);
      free(cs->dir);
      return r;
    }
  if (asprintf(&cs->path, "%s/%s", cs->dir, CONSOLE_SOCKET_NAME) < 0)
    {
      cs->path = NULL;
      console_socket_free(TAKE_PTR(cs));
      return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
    }
  memcpy(sa.sun_path, cs->path, strlen(cs->path) + 1);
  cs->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int r = 0;
  if (cs->fd < 0)
    r = wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot create console socket");
  else if (bind(cs->fd, (const struct sockaddr *) &sa, sizeof(sa)) < 0)
    r = wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot bind console socket %s", cs->path);
  else if (listen(cs->fd, 1) < 0)
    r = wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot listen on console socket %s", cs->path);
  if (r < 0)
    {
      console_socket_free(TAKE_PTR(cs));
      return r;
    }
  *ret = TAKE_PTR(cs);
  return 0;
}

void
console_socket_free(struct console_socket *cs)
{
  if (cs == NULL)
    return;
  if (cs->fd >= 0)
    close(cs->fd);
  if (cs->path)
    (void) unlink(cs->path);
  if (cs->dir)
    (void) rmdir(cs->dir);
  free(cs->path);
  free(cs->dir);
  free(cs);
}

const char *
console_socket_path(const struct console_socket *cs)
{
  return cs->path;
}

static int
console_refuse(wedge_error_t *err, const char *what)
{
  return wedge_error_set(err, EBADMSG, WEDGE_INTERNAL, "console socket: %s", what);
}

int
console_receive_fd(int conn, int timeout_ms, int *ret_master, wedge_error_t *err)
{
  int r = console_poll_in(conn, loop_clock_ms() + (timeout_ms > 0 ? timeout_ms : 0));
  if (r == -ETIMEDOUT)
    return wedge_error_set(err, ETIMEDOUT, WEDGE_DEADLINE_EXCEEDED,
                           "console socket: the runtime sent no terminal within %d ms", timeout_ms);
  if (r < 0)
    return wedge_error_set_errno(err, -r, WEDGE_INTERNAL, "console socket: poll");

  char name[CONSOLE_NAME_MAX];
  union
  {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * CONSOLE_MAX_FDS)];
  } control;
  memset(&control, 0, sizeof(control));
  struct iovec iov = { .iov_base = name, .iov_len = sizeof(name) };
  struct msghdr msg = {
    .msg_iov = &iov,
    .msg_iovlen = 1,
    .msg_control = control.buf,
    .msg_controllen = sizeof(control.buf),
  };
  ssize_t n;
  do
    n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "console socket: cannot receive the terminal");

  /* Every fd that arrived is ours to close, whatever else is wrong with the message. */
  int fds[CONSOLE_MAX_FDS * 2];
  size_t n_fds = 0;
  bool foreign = false;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
    {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
        {
          foreign = true;
          continue;
        }
      size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < k && n_fds < ARRAY_SIZE(fds); i++)
        memcpy(&fds[n_fds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
    }

  const char *why = NULL;
  if (n == 0 && n_fds == 0)
    why = "the runtime closed the connection without sending a terminal";
  else if (msg.msg_flags & MSG_CTRUNC)
    why = "the runtime sent more file descriptors than a terminal";
  else if (msg.msg_flags & MSG_TRUNC || (size_t) n >= sizeof(name))
    why = "the terminal's name is too long";
  else if (foreign)
    why = "unexpected control message";
  else if (n_fds != 1)
    why = n_fds == 0 ? "no file descriptor received" : "more than one file descriptor received";
  else if (!isatty(fds[0]))
    why = "the file descriptor received is not a terminal";
  if (why)
    {
      for (size_t i = 0; i < n_fds; i++)
        close(fds[i]);
      return console_refuse(err, why);
    }
  *ret_master = fds[0];
  return 0;
}

int
console_socket_receive(struct console_socket *cs, int timeout_ms, int *ret_master, wedge_error_t *err)
{
  int64_t deadline = loop_clock_ms() + (timeout_ms > 0 ? timeout_ms : 0);
  int r = console_poll_in(cs->fd, deadline);
  if (r == -ETIMEDOUT)
    return wedge_error_set(err, ETIMEDOUT, WEDGE_DEADLINE_EXCEEDED,
                           "console socket: the runtime did not connect within %d ms", timeout_ms);
  if (r < 0)
    return wedge_error_set_errno(err, -r, WEDGE_INTERNAL, "console socket: poll");
  _cleanup_close_ int conn = accept4(cs->fd, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "console socket: accept");
  int64_t left = deadline - loop_clock_ms();
  return console_receive_fd(conn, left > 0 ? (int) left : 0, ret_master, err);
}

int
console_resize(int master, unsigned width, unsigned height, wedge_error_t *err)
{
  if (width > UINT16_MAX || height > UINT16_MAX)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "console size %ux%u is too large", width, height);
  struct winsize ws = { .ws_row = (unsigned short) height, .ws_col = (unsigned short) width };
  if (ioctl(master, TIOCSWINSZ, &ws) < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot resize the terminal");
  return 0;
}
