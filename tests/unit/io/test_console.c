/* console.c: the console socket, receiving a real pty master over SCM_RIGHTS, refusals, resize. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "io/console.h"
#include "testutil.h"

static int
open_fd_count(void)
{
  DIR *d = opendir("/proc/self/fd");
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.')
      n++;
  closedir(d);
  return n;
}

static int
pty_master(void)
{
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  assert_true(m >= 0);
  assert_int_equal(grantpt(m), 0);
  assert_int_equal(unlockpt(m), 0);
  return m;
}

/* What runc and crun do: one message, the name as data, the fds as one SCM_RIGHTS. */
static void
send_fds(int sock, const int *fds, size_t n, const char *payload)
{
  union
  {
    struct cmsghdr align;
    char buf[CMSG_SPACE(sizeof(int) * 4)];
  } control;
  memset(&control, 0, sizeof(control));
  struct iovec iov = { .iov_base = (void *) payload, .iov_len = strlen(payload) };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
  if (n > 0)
    {
      msg.msg_control = control.buf;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
      struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * n);
      memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    }
  assert_int_equal(sendmsg(sock, &msg, 0), (ssize_t) strlen(payload));
}

static int
connect_to(const char *path)
{
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(s >= 0);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
  assert_int_equal(connect(s, (struct sockaddr *) &sa, sizeof(sa)), 0);
  return s;
}

static void
assert_same_file(int a, int b)
{
  struct stat sa, sb;
  assert_int_equal(fstat(a, &sa), 0);
  assert_int_equal(fstat(b, &sb), 0);
  assert_true(sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino && sa.st_rdev == sb.st_rdev);
}

static void
test_socket_private_dir(void **state)
{
  const char *base = *state;
  struct console_socket *cs = NULL;
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(console_socket_new(base, &cs, &err), 0);
  const char *path = console_socket_path(cs);
  assert_true(strncmp(path, base, strlen(base)) == 0);
  char *dir = strdup(path);
  *strrchr(dir, '/') = '\0';
  struct stat st;
  assert_int_equal(stat(dir, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0700);
  assert_int_equal(stat(path, &st), 0);
  assert_true(S_ISSOCK(st.st_mode));
  console_socket_free(cs);
  /* The socket and its directory are gone. */
  assert_int_equal(stat(dir, &st), -1);
  assert_int_equal(errno, ENOENT);
  free(dir);
}

static void
test_socket_path_too_long(void **state)
{
  char base[200];
  snprintf(base, sizeof(base), "%s/%0120d", (const char *) *state, 0);
  struct console_socket *cs = NULL;
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(console_socket_new(base, &cs, &err), -ENAMETOOLONG);
  assert_null(cs);
  assert_non_null(strstr(wedge_error_message(&err), "too long"));
  wedge_error_clear(&err);
}

/* The runtime connects and sends before the shim accepts, then exits: the master waits in the
 * backlog, as after `runc create`. */
static void
test_receive_master_after_sender_left(void **state)
{
  struct console_socket *cs = NULL;
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(console_socket_new(*state, &cs, &err), 0);
  int before = open_fd_count();
  int m = pty_master();
  int s = connect_to(console_socket_path(cs));
  send_fds(s, &m, 1, "/dev/ptmx");
  close(s);

  int got = -1;
  assert_int_equal(console_socket_receive(cs, 1000, &got, &err), 0);
  assert_true(isatty(got));
  assert_same_file(got, m);
  assert_true(fcntl(got, F_GETFD) & FD_CLOEXEC);
  close(m);
  close(got);
  console_socket_free(cs);
  assert_int_equal(open_fd_count(), before - 1); /* the listening socket is gone too */
}

static void
test_receive_fd_socketpair(void **state)
{
  (void) state;
  int sp[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
  int m = pty_master();
  send_fds(sp[1], &m, 1, " "); /* crun's payload */
  int got = -1;
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(console_receive_fd(sp[0], 1000, &got, &err), 0);
  assert_same_file(got, m);

  /* It is the master: what goes in one side of the pty comes out of the other. */
  int slave = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
  assert_true(slave >= 0);
  struct termios t;
  assert_int_equal(tcgetattr(slave, &t), 0);
  cfmakeraw(&t);
  assert_int_equal(tcsetattr(slave, TCSANOW, &t), 0);
  assert_int_equal(write(slave, "hi", 2), 2);
  char buf[8];
  assert_int_equal(read(got, buf, sizeof(buf)), 2);
  assert_memory_equal(buf, "hi", 2);
  close(slave);
  close(got);
  close(m);
  close(sp[0]);
  close(sp[1]);
}

static void
test_receive_timeout(void **state)
{
  struct console_socket *cs = NULL;
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(console_socket_new(*state, &cs, &err), 0);
  int got = -1;
  assert_int_equal(console_socket_receive(cs, 50, &got, &err), -ETIMEDOUT);
  assert_int_equal(err.status, WEDGE_DEADLINE_EXCEEDED);
  assert_string_equal(wedge_error_message(&err), "console socket: the runtime did not connect within 50 ms");
  assert_int_equal(got, -1);
  wedge_error_clear(&err);

  /* Connected, but nothing sent. */
  int s = connect_to(console_socket_path(cs));
  assert_int_equal(console_socket_receive(cs, 50, &got, &err), -ETIMEDOUT);
  assert_non_null(strstr(wedge_error_message(&err), "sent no terminal"));
  wedge_error_clear(&err);
  close(s);
  console_socket_free(cs);
}

static void
assert_refused(void (*send)(int sock), const char *text)
{
  int before = open_fd_count();
  int sp[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
  send(sp[1]);
  int got = -1;
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(console_receive_fd(sp[0], 1000, &got, &err), -EBADMSG);
  assert_int_equal(got, -1);
  assert_int_equal(err.status, WEDGE_INTERNAL);
  assert_non_null(strstr(wedge_error_message(&err), text));
  wedge_error_clear(&err);
  close(sp[0]);
  close(sp[1]);
  /* Whatever arrived was closed. */
  assert_int_equal(open_fd_count(), before);
}

static void
send_nothing(int sock)
{
  shutdown(sock, SHUT_WR);
}

static void
send_two(int sock)
{
  int fds[2] = { pty_master(), pty_master() };
  send_fds(sock, fds, 2, "/dev/ptmx");
  close(fds[0]);
  close(fds[1]);
}

static void
send_pipe(int sock)
{
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  send_fds(sock, &p[0], 1, "/dev/ptmx");
  close(p[0]);
  close(p[1]);
}

static void
send_no_fd(int sock)
{
  send_fds(sock, NULL, 0, "/dev/ptmx");
}

static void
test_refusals(void **state)
{
  (void) state;
  assert_refused(send_nothing, "closed the connection without sending a terminal");
  assert_refused(send_two, "more than one file descriptor received");
  assert_refused(send_pipe, "not a terminal");
  assert_refused(send_no_fd, "no file descriptor received");
}

static void
test_resize(void **state)
{
  (void) state;
  int m = pty_master();
  int slave = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC);
  assert_true(slave >= 0);
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(console_resize(m, 132, 43, &err), 0);
  struct winsize ws;
  assert_int_equal(ioctl(slave, TIOCGWINSZ, &ws), 0);
  assert_int_equal(ws.ws_col, 132);
  assert_int_equal(ws.ws_row, 43);
  assert_int_equal(console_resize(m, 70000, 1, &err), -EINVAL);
  assert_int_equal(err.status, WEDGE_INVALID_ARGUMENT);
  wedge_error_clear(&err);
  close(slave);
  close(m);

  /* Not a terminal. */
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  assert_true(console_resize(p[0], 80, 24, &err) < 0);
  assert_non_null(strstr(wedge_error_message(&err), "cannot resize the terminal"));
  wedge_error_clear(&err);
  close(p[0]);
  close(p[1]);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_socket_private_dir, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_socket_path_too_long, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_receive_master_after_sender_left, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test(test_receive_fd_socketpair),
    cmocka_unit_test_setup_teardown(test_receive_timeout, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test(test_refusals),
    cmocka_unit_test(test_resize),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
