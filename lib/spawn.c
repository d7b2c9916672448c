#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

extern char **environ;

/* Exit status of the child when its setup fails before exec; the real errno travels over the
 * status pipe, so the value only matters if that pipe is broken. */
#define SPAWN_CHILD_FAILED 127

struct capture
{
  int fd;
  char *buf;
  size_t len;
  size_t cap;
};

void
spawn_result_clear(struct spawn_result *res)
{
  if (res == NULL)
    return;
  free(res->out);
  free(res->err);
  *res = (struct spawn_result){ 0 };
}

const char *
spawn_result_describe(const struct spawn_result *res, char *buf, size_t len)
{
  if (res->timed_out)
    snprintf(buf, len, "timed out, killed by signal %d (%s)", res->signal, strsignal(res->signal));
  else if (res->exited)
    snprintf(buf, len, "exit status %d", res->status);
  else
    snprintf(buf, len, "killed by signal %d (%s)", res->signal, strsignal(res->signal));
  return buf;
}

/* execvpe() would search PATH in the child, where a failure can only be reported as an errno.
 * Searching here lets a missing runtime be named precisely before anything is forked. */
static int
spawn_resolve(const char *name, char **ret, wedge_error_t *err)
{
  if (name == NULL || *name == '\0')
    return wedge_error_set(err, ENOEXEC, WEDGE_INVALID_ARGUMENT, "no program to run");
  if (strchr(name, '/'))
    {
      char *copy = strdup(name);
      if (copy == NULL)
        return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
      *ret = copy;
      return 0;
    }

  const char *path = getenv("PATH");
  if (path == NULL || *path == '\0')
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

  for (const char *p = path; *p; )
    {
      size_t n = strcspn(p, ":");
      _cleanup_free_ char *candidate = NULL;
      if (asprintf(&candidate, "%.*s/%s", (int) n, n ? p : ".", name) < 0)
        return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
      struct stat st;
      if (stat(candidate, &st) == 0 && S_ISREG(st.st_mode) && access(candidate, X_OK) == 0)
        {
          *ret = TAKE_PTR(candidate);
          return 0;
        }
      p += n;
      if (*p == ':')
        p++;
    }
  return wedge_error_set(err, ENOEXEC, WEDGE_FAILED_PRECONDITION, "cannot run '%s': not found in PATH", name);
}

/* Our environment without NOTIFY_SOCKET: runc forwards it into the container and waits for
 * READY=1 on it, which is only meaningful when systemd started the runtime. */
static char **
spawn_default_env(void)
{
  size_t n = 0;
  while (environ && environ[n])
    n++;
  char **env = calloc(n + 1, sizeof(char *));
  if (env == NULL)
    return NULL;
  size_t j = 0;
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], "NOTIFY_SOCKET=", strlen("NOTIFY_SOCKET=")) != 0)
      env[j++] = environ[i];
  return env;
}

static int64_t
spawn_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Only async-signal-safe calls from here to exec: the parent may have other threads. */
static _Noreturn void
spawn_child(pid_t parent, const char *path, char *const *argv, char *const *envp, const char *cwd,
            const int *src, int *lifted, size_t n_src, int status_fd, int max_fd)
{
  int e;

  /* A death signal set after the parent died never fires; the re-check closes that window. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
    goto fail;
  if (getppid() != parent)
    _exit(SPAWN_CHILD_FAILED);

  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);

  /* The status pipe and every source move above the target range first, so placing fd i never
   * clobbers something still needed later. dup2 then clears CLOEXEC on the targets only. */
  int moved = fcntl(status_fd, F_DUPFD_CLOEXEC, (int) n_src);
  if (moved < 0)
    goto fail;
  status_fd = moved;
  for (size_t i = 0; i < n_src; i++)
    {
      lifted[i] = fcntl(src[i], F_DUPFD_CLOEXEC, (int) n_src);
      if (lifted[i] < 0)
        goto fail;
    }
  for (size_t i = 0; i < n_src; i++)
    if (dup2(lifted[i], (int) i) < 0)
      goto fail;

  if (close_range((unsigned) n_src, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    for (int fd = (int) n_src; fd < max_fd; fd++)
      fcntl(fd, F_SETFD, FD_CLOEXEC);

  if (cwd && chdir(cwd) < 0)
    goto fail;

  execve(path, argv, envp);

fail:
  e = errno;
  while (write(status_fd, &e, sizeof e) < 0 && errno == EINTR)
    ;
  _exit(SPAWN_CHILD_FAILED);
}

static int
capture_pipe(struct capture *c, int *ret_child_end, wedge_error_t *err)
{
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot create a pipe");
  if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0)
    {
      int e = errno;
      close(p[0]);
      close(p[1]);
      return wedge_error_set_errno(err, e, WEDGE_INTERNAL, "cannot make a pipe non-blocking");
    }
  c->fd = p[0];
  *ret_child_end = p[1];
  return 0;
}

/* Reads what is available now; returns false at EOF or on a hard error (the fd is then closed). */
static bool
capture_read(struct capture *c)
{
  for (;;)
    {
      char tmp[16384];
      ssize_t n = read(c->fd, tmp, sizeof tmp);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return true;
      if (n <= 0)
        {
          close(c->fd);
          c->fd = -1;
          return false;
        }
      size_t keep = (size_t) n;
      if (c->len + keep > SPAWN_CAPTURE_MAX)
        keep = SPAWN_CAPTURE_MAX - c->len;
      if (keep == 0)
        continue;
      if (c->len + keep + 1 > c->cap)
        {
          size_t ncap = c->cap ? c->cap : 4096;
          while (ncap < c->len + keep + 1)
            ncap *= 2;
          char *nbuf = realloc(c->buf, ncap);
          if (nbuf == NULL)
            continue;
          c->buf = nbuf;
          c->cap = ncap;
        }
      memcpy(c->buf + c->len, tmp, keep);
      c->len += keep;
      c->buf[c->len] = '\0';
    }
}

/* Captured streams always come back NUL terminated, empty ones as "". */
static char *
capture_take(struct capture *c, size_t *ret_len)
{
  if (c->fd >= 0)
    {
      close(c->fd);
      c->fd = -1;
    }
  if (c->buf == NULL)
    c->buf = calloc(1, 1);
  *ret_len = c->buf ? c->len : 0;
  c->len = c->cap = 0;
  return TAKE_PTR(c->buf);
}

static void
capture_release(struct capture *c)
{
  if (c->fd >= 0)
    close(c->fd);
  free(c->buf);
}

/* Waits for the exec (the status pipe closes on success) and returns the child's errno if its
 * setup or exec failed, else 0. */
static int
spawn_exec_errno(int status_fd)
{
  int e = 0;
  ssize_t n;
  do
    n = read(status_fd, &e, sizeof e);
  while (n < 0 && errno == EINTR);
  return n == (ssize_t) sizeof e ? e : 0;
}

static void
spawn_fill_status(struct spawn_result *res, const siginfo_t *si)
{
  if (si->si_code == CLD_EXITED)
    {
      res->exited = true;
      res->status = si->si_status;
    }
  else
    {
      res->exited = false;
      res->signal = si->si_status;
    }
}

static int
spawn_wait_pidfd(int pidfd, siginfo_t *si)
{
  for (;;)
    {
      memset(si, 0, sizeof *si);
      if (waitid(P_PIDFD, (id_t) pidfd, si, WEXITED) == 0)
        return 0;
      if (errno != EINTR)
        return -errno;
    }
}

struct spawn_io
{
  int in_fd;  /* our end of the stdin socket, -1 when done */
  const char *in_data;
  size_t in_len, in_off;
  struct capture out, err;
};

static void
spawn_io_write_stdin(struct spawn_io *io)
{
  while (io->in_off < io->in_len)
    {
      /* A socket rather than a pipe: MSG_NOSIGNAL turns a child that exits without reading into
       * EPIPE here instead of a SIGPIPE for the whole shim. */
      ssize_t n = send(io->in_fd, io->in_data + io->in_off, io->in_len - io->in_off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return;
      if (n < 0)
        break;
      io->in_off += (size_t) n;
    }
  close(io->in_fd);
  io->in_fd = -1;
}

/* Pumps stdin/stdout/stderr until the child exits or the deadline passes. Returns 1 when the
 * child exited, 0 on timeout, negative errno on a poll failure. */
static int
spawn_io_loop(struct spawn_io *io, int pidfd, int64_t deadline)
{
  for (;;)
    {
      struct pollfd pfd[4];
      nfds_t n = 0;
      pfd[n++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
      int i_in = -1, i_out = -1, i_err = -1;
      if (io->in_fd >= 0)
        {
          i_in = (int) n;
          pfd[n++] = (struct pollfd){ .fd = io->in_fd, .events = POLLOUT };
        }
      if (io->out.fd >= 0)
        {
          i_out = (int) n;
          pfd[n++] = (struct pollfd){ .fd = io->out.fd, .events = POLLIN };
        }
      if (io->err.fd >= 0)
        {
          i_err = (int) n;
          pfd[n++] = (struct pollfd){ .fd = io->err.fd, .events = POLLIN };
        }

      int wait_ms = -1;
      if (deadline > 0)
        {
          int64_t left = deadline - spawn_now_ms();
          if (left <= 0)
            return 0;
          wait_ms = left > INT_MAX ? INT_MAX : (int) left;
        }
      int r = poll(pfd, n, wait_ms);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return -errno;
      if (r == 0)
        continue;

      if (i_in >= 0 && pfd[i_in].revents)
        spawn_io_write_stdin(io);
      if (i_out >= 0 && pfd[i_out].revents)
        capture_read(&io->out);
      if (i_err >= 0 && pfd[i_err].revents)
        capture_read(&io->err);
      if (pfd[0].revents)
        return 1;
    }
}

static int
spawn_child_fd(int requested, int null_fd, int capture_end)
{
  if (requested == SPAWN_NULL)
    return null_fd;
  if (requested == SPAWN_CAPTURE)
    return capture_end;
  return requested;
}

int
spawn_run(const struct spawn_opts *opts, struct spawn_result *ret, wedge_error_t *err)
{
  if (opts == NULL || opts->argv == NULL || ret == NULL)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "spawn: no program given");

  const char *name = opts->argv[0];
  _cleanup_free_ char *path = NULL;
  int r = spawn_resolve(name, &path, err);
  if (r < 0)
    return r;

  _cleanup_free_ char **env_default = NULL;
  char *const *envp = (char *const *) opts->envp;
  if (envp == NULL)
    {
      env_default = spawn_default_env();
      if (env_default == NULL)
        return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
      envp = env_default;
    }

  size_t n_src = 3 + opts->n_extra_fds;
  _cleanup_free_ int *src = calloc(n_src, sizeof(int));
  _cleanup_free_ int *lifted = calloc(n_src, sizeof(int));
  if (src == NULL || lifted == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");

  _cleanup_close_ int null_fd = -1;
  _cleanup_close_ int in_child = -1, out_child = -1, err_child = -1;
  _cleanup_close_ int status_rd = -1, status_wr = -1, pidfd = -1;
  struct spawn_io io = { .in_fd = -1, .out = { .fd = -1 }, .err = { .fd = -1 } };

  if (opts->stdin_fd == SPAWN_NULL || opts->stdout_fd == SPAWN_NULL || opts->stderr_fd == SPAWN_NULL)
    {
      null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
      if (null_fd < 0)
        return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot open /dev/null");
    }

  if (opts->stdin_fd == SPAWN_CAPTURE)
    {
      int sp[2];
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot create a socket pair");
      shutdown(sp[0], SHUT_RD);
      shutdown(sp[1], SHUT_WR);
      io.in_fd = sp[0];
      in_child = sp[1];
      io.in_data = opts->stdin_data;
      io.in_len = opts->stdin_data ? opts->stdin_len : 0;
    }
  if (opts->stdout_fd == SPAWN_CAPTURE && (r = capture_pipe(&io.out, &out_child, err)) < 0)
    goto out;
  if (opts->stderr_fd == SPAWN_CAPTURE && (r = capture_pipe(&io.err, &err_child, err)) < 0)
    goto out;

  src[0] = spawn_child_fd(opts->stdin_fd, null_fd, in_child);
  src[1] = spawn_child_fd(opts->stdout_fd, null_fd, out_child);
  src[2] = spawn_child_fd(opts->stderr_fd, null_fd, err_child);
  for (size_t i = 0; i < opts->n_extra_fds; i++)
    src[3 + i] = opts->extra_fds[i];
  for (size_t i = 0; i < n_src; i++)
    if (src[i] < 0)
      {
        r = wedge_error_set(err, EBADF, WEDGE_INVALID_ARGUMENT, "cannot run '%s': fd %d to pass as %zu is invalid",
                            name, src[i], i);
        goto out;
      }

  int status_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) < 0)
    {
      r = wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot create a pipe");
      goto out;
    }
  status_rd = status_pipe[0];
  status_wr = status_pipe[1];

  struct rlimit rl;
  int max_fd = (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536) ? (int) rl.rlim_cur : 65536;

  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0)
    {
      r = wedge_error_set_errno(err, errno, WEDGE_RESOURCE_EXHAUSTED, "cannot fork to run '%s'", name);
      goto out;
    }
  if (pid == 0)
    spawn_child(parent, path, (char *const *) opts->argv, envp, opts->cwd, src, lifted, n_src, status_wr, max_fd);

  /* Nobody else may reap this child before the pidfd exists (the reaper waits for the pids it
   * knows, never for -1), so pidfd_open on the bare pid cannot pick up a recycled pid. */
  pidfd = pidfd_open(pid, 0);
  int pidfd_errno = errno;

  close(TAKE_FD(status_wr));
  close(TAKE_FD(in_child));
  close(TAKE_FD(out_child));
  close(TAKE_FD(err_child));

  if (pidfd < 0)
    {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      r = wedge_error_set_errno(err, pidfd_errno, WEDGE_INTERNAL, "pidfd_open for '%s'", name);
      goto out;
    }

  siginfo_t si;
  int exec_errno = spawn_exec_errno(status_rd);
  if (exec_errno)
    {
      spawn_wait_pidfd(pidfd, &si);
      r = wedge_error_set(err, ENOEXEC, WEDGE_FAILED_PRECONDITION, "cannot run '%s': %s", path, strerror(exec_errno));
      goto out;
    }

  int64_t deadline = opts->timeout_ms > 0 ? spawn_now_ms() + opts->timeout_ms : 0;
  r = spawn_io_loop(&io, pidfd, deadline);
  bool timed_out = r == 0;
  if (r <= 0)
    pidfd_send_signal(pidfd, SIGKILL, NULL, 0);

  int wr = spawn_wait_pidfd(pidfd, &si);
  if (wr < 0 || r < 0)
    {
      r = wedge_error_set_errno(err, wr < 0 ? -wr : -r, WEDGE_INTERNAL, "waiting for '%s' (pid %d)", name, (int) pid);
      goto out;
    }

  /* The child is gone; its descendants (a container init after `create`) may still hold the
   * pipes open, so take what is buffered and do not wait for EOF. */
  if (io.out.fd >= 0)
    capture_read(&io.out);
  if (io.err.fd >= 0)
    capture_read(&io.err);

  struct spawn_result res = { .pid = pid, .timed_out = timed_out };
  spawn_fill_status(&res, &si);
  if (opts->stdout_fd == SPAWN_CAPTURE)
    res.out = capture_take(&io.out, &res.out_len);
  if (opts->stderr_fd == SPAWN_CAPTURE)
    res.err = capture_take(&io.err, &res.err_len);
  *ret = res;

  r = 0;
  if (timed_out)
    r = wedge_error_set(err, ETIMEDOUT, WEDGE_DEADLINE_EXCEEDED, "'%s' did not finish within %d ms and was killed",
                        name, opts->timeout_ms);

out:
  if (io.in_fd >= 0)
    close(io.in_fd);
  capture_release(&io.out);
  capture_release(&io.err);
  return r;
}
