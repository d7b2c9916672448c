#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

extern char **environ;

/* Exit status of the child when its setup fails before exec; the real errno travels over the
 * status pipe, so the value only matters if that pipe is broken. */
#define SPAWN_CHILD_FAILED 127
/* The child's stack until it execs: its frames and libc's (a few KiB); only touched pages are
 * ever allocated. */
#define SPAWN_CHILD_STACK (64 * 1024)

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

/* What the child needs, prepared by the parent: the child shares the parent's memory until it
 * execs (spawn_launch) and allocates nothing. */
struct spawn_child_args
{
  pid_t parent;
  const char *path;
  char *const *argv;
  char *const *envp;
  const char *cwd;
  const int *src;
  int *lifted;
  size_t n_src;
  int status_fd;
  int max_fd;
};

/* Only async-signal-safe calls from here to exec: the parent may have other threads, and this
 * runs on a stack of its own in the parent's memory (CLONE_VM), so it never returns and writes
 * nothing of the parent's but `lifted`. Not instrumented: the sanitizers keep per-thread state
 * in the TLS this child shares with the suspended parent, and would leave the poisoned frame of
 * a function that never returns in the shadow of a stack that is unmapped afterwards. */
__attribute__((no_sanitize_address)) static int
spawn_child(void *data)
{
  const struct spawn_child_args *a = data;
  pid_t parent = a->parent;
  const int *src = a->src;
  int *lifted = a->lifted;
  size_t n_src = a->n_src;
  int status_fd = a->status_fd;
  int e;

  /* A death signal set after the parent died never fires; the re-check closes that window. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
    goto fail;
  if (getppid() != parent)
    _exit(SPAWN_CHILD_FAILED);

  /* The raw system call, not signal(): glibc refuses to touch the two real-time signals it
   * reserves (32, 33), and GNU make starts its recipes with those ignored. An ignored
   * disposition survives execve, so the runtime would inherit it. */
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      {
        struct
        {
          void (*handler)(int);
          unsigned long flags;
          void (*restorer)(void);
          uint64_t mask;
        } kact = { SIG_DFL, 0, NULL, 0 };
        syscall(SYS_rt_sigaction, sig, &kact, NULL, sizeof(kact.mask));
      }
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
    for (int fd = (int) n_src; fd < a->max_fd; fd++)
      fcntl(fd, F_SETFD, FD_CLOEXEC);

  if (a->cwd && chdir(a->cwd) < 0)
    goto fail;

  execve(a->path, a->argv, a->envp);

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
  int in_fd;  /* our end of the stdin pipe, -1 when done */
  const char *in_data;
  size_t in_len, in_off;
  struct capture out, err;
};

/* write(2) on a pipe whose reader is gone raises SIGPIPE, which would kill a shim that has not
 * ignored it. Block it around the write and consume the one we caused, so the caller sees EPIPE
 * and nothing else changes (a SIGPIPE that was already pending is left alone). */
static ssize_t
write_no_sigpipe(int fd, const void *buf, size_t len)
{
  sigset_t pipe_set, old, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE);

  sigprocmask(SIG_BLOCK, &pipe_set, &old);
  ssize_t n = write(fd, buf, len);
  int saved = errno;
  if (n < 0 && saved == EPIPE && !was_pending)
    {
      const struct timespec zero = { 0, 0 };
      while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
        ;
    }
  sigprocmask(SIG_SETMASK, &old, NULL);
  errno = saved;
  return n;
}

static void
spawn_io_write_stdin(struct spawn_io *io)
{
  while (io->in_off < io->in_len)
    {
      ssize_t n = write_no_sigpipe(io->in_fd, io->in_data + io->in_off, io->in_len - io->in_off);
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

/* What both spawn_run and spawn_start need before the fork: the resolved binary, the
 * environment, /dev/null when a stream asks for it, and the fd table (stdio slots left for the
 * caller, extra fds filled). */
struct spawn_prep
{
  char *path;
  char **env_default;
  char *const *envp;
  int null_fd;
  int *src, *lifted;
  size_t n_src;
};

static void
spawn_prep_release(struct spawn_prep *p)
{
  free(p->path);
  free(p->env_default);
  if (p->null_fd >= 0)
    close(p->null_fd);
  free(p->src);
  free(p->lifted);
}

static int
spawn_prepare(const struct spawn_opts *opts, struct spawn_prep *p, wedge_error_t *err)
{
  *p = (struct spawn_prep){ .null_fd = -1 };
  if (opts == NULL || opts->argv == NULL)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "spawn: no program given");
  int r = spawn_resolve(opts->argv[0], &p->path, err);
  if (r < 0)
    return r;
  p->envp = (char *const *) opts->envp;
  if (p->envp == NULL)
    {
      p->env_default = spawn_default_env();
      if (p->env_default == NULL)
        return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
      p->envp = p->env_default;
    }
  p->n_src = 3 + opts->n_extra_fds;
  p->src = calloc(p->n_src, sizeof(int));
  p->lifted = calloc(p->n_src, sizeof(int));
  if (p->src == NULL || p->lifted == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < opts->n_extra_fds; i++)
    p->src[3 + i] = opts->extra_fds[i];
  if (opts->stdin_fd == SPAWN_NULL || opts->stdout_fd == SPAWN_NULL || opts->stderr_fd == SPAWN_NULL)
    {
      p->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
      if (p->null_fd < 0)
        return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot open /dev/null");
    }
  return 0;
}

/* Starts the child as posix_spawn() and Go's os/exec do: CLONE_VM | CLONE_VFORK, on a stack of
 * its own, the parent suspended until the child has exec'd or exited. fork() copied our page
 * tables and took copy-on-write faults on both sides for nothing: 1 ms more per runtime call
 * than runc.v2's shim on the test machines (docs/performance.md). Every signal stays blocked
 * meanwhile, so that no handler of ours runs in the child on our memory; the child resets the
 * dispositions and the mask itself. Returns the pid or a negative errno. */
static pid_t
spawn_clone(struct spawn_child_args *args)
{
  long page = sysconf(_SC_PAGESIZE);
  size_t size = SPAWN_CHILD_STACK + (size_t) page;
  char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED)
    return -errno;
  /* A guard page below the stack: an overflow faults instead of writing into our memory. */
  if (mprotect(stack, (size_t) page, PROT_NONE) < 0)
    {
      int e = errno;
      munmap(stack, size);
      return -e;
    }
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  pid_t pid = clone(spawn_child, stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, args);
  int e = errno;
  pthread_sigmask(SIG_SETMASK, &saved, NULL);
  munmap(stack, size);
  return pid < 0 ? -e : pid;
}

/* Forks and execs the prepared program; returns once it has exec'd, with a pidfd for it. A
 * failed exec is reaped here and reported as -ENOEXEC naming the binary. */
static int
spawn_launch(const struct spawn_opts *opts, const struct spawn_prep *p, pid_t *ret_pid, int *ret_pidfd,
             wedge_error_t *err)
{
  const char *name = opts->argv[0];
  for (size_t i = 0; i < p->n_src; i++)
    if (p->src[i] < 0)
      return wedge_error_set(err, EBADF, WEDGE_INVALID_ARGUMENT, "cannot run '%s': fd %d to pass as %zu is invalid",
                             name, p->src[i], i);

  int status_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot create a pipe");
  _cleanup_close_ int status_rd = status_pipe[0], status_wr = status_pipe[1];

  struct rlimit rl;
  int max_fd = (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536) ? (int) rl.rlim_cur : 65536;

  struct spawn_child_args args = {
    .parent = getpid(),
    .path = p->path,
    .argv = (char *const *) opts->argv,
    .envp = p->envp,
    .cwd = opts->cwd,
    .src = p->src,
    .lifted = p->lifted,
    .n_src = p->n_src,
    .status_fd = status_wr,
    .max_fd = max_fd,
  };
  pid_t pid = spawn_clone(&args);
  if (pid < 0)
    return wedge_error_set_errno(err, -pid, WEDGE_RESOURCE_EXHAUSTED, "cannot fork to run '%s'", name);

  /* Nobody else may reap this child before the pidfd exists (the loop, and with it the reaper,
   * does not run until we return), so pidfd_open on the bare pid cannot pick up a recycled pid. */
  _cleanup_close_ int pidfd = pidfd_open(pid, 0);
  int pidfd_errno = errno;
  close(TAKE_FD(status_wr));
  if (pidfd < 0)
    {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
      return wedge_error_set_errno(err, pidfd_errno, WEDGE_INTERNAL, "pidfd_open for '%s'", name);
    }

  int exec_errno = spawn_exec_errno(status_rd);
  if (exec_errno)
    {
      siginfo_t si;
      spawn_wait_pidfd(pidfd, &si);
      return wedge_error_set(err, ENOEXEC, WEDGE_FAILED_PRECONDITION, "cannot run '%s': %s", p->path,
                             strerror(exec_errno));
    }
  *ret_pid = pid;
  *ret_pidfd = TAKE_FD(pidfd);
  return 0;
}

int
spawn_start(const struct spawn_opts *opts, pid_t *ret_pid, int *ret_pidfd, wedge_error_t *err)
{
  if (opts && (opts->stdin_fd == SPAWN_CAPTURE || opts->stdout_fd == SPAWN_CAPTURE || opts->stderr_fd == SPAWN_CAPTURE))
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "spawn_start: no capture");
  struct spawn_prep p;
  int r = spawn_prepare(opts, &p, err);
  if (r >= 0)
    {
      p.src[0] = spawn_child_fd(opts->stdin_fd, p.null_fd, -1);
      p.src[1] = spawn_child_fd(opts->stdout_fd, p.null_fd, -1);
      p.src[2] = spawn_child_fd(opts->stderr_fd, p.null_fd, -1);
      r = spawn_launch(opts, &p, ret_pid, ret_pidfd, err);
    }
  spawn_prep_release(&p);
  return r;
}

int
spawn_run(const struct spawn_opts *opts, struct spawn_result *ret, wedge_error_t *err)
{
  if (ret == NULL)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "spawn: no program given");
  struct spawn_prep p;
  int r = spawn_prepare(opts, &p, err);
  if (r < 0)
    {
      spawn_prep_release(&p);
      return r;
    }
  const char *name = opts->argv[0];

  _cleanup_close_ int in_child = -1, out_child = -1, err_child = -1, pidfd = -1;
  struct spawn_io io = { .in_fd = -1, .out = { .fd = -1 }, .err = { .fd = -1 } };
  if (opts->stdin_fd == SPAWN_CAPTURE)
    {
      /* A pipe, not a socket: crun 1.8.1 reads `update --resources -` by opening /dev/stdin,
       * which fails with ENXIO on a socket. Our end is non-blocking so a child that does not
       * read cannot stall us. */
      int sp[2];
      if (pipe2(sp, O_CLOEXEC) < 0)
        {
          r = wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot create a pipe");
          goto out;
        }
      io.in_fd = sp[1];
      in_child = sp[0];
      if (fcntl(io.in_fd, F_SETFL, O_NONBLOCK) < 0)
        {
          r = wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot make the stdin pipe non-blocking");
          goto out;
        }
      io.in_data = opts->stdin_data;
      io.in_len = opts->stdin_data ? opts->stdin_len : 0;
    }
  if (opts->stdout_fd == SPAWN_CAPTURE && (r = capture_pipe(&io.out, &out_child, err)) < 0)
    goto out;
  if (opts->stderr_fd == SPAWN_CAPTURE && (r = capture_pipe(&io.err, &err_child, err)) < 0)
    goto out;

  p.src[0] = spawn_child_fd(opts->stdin_fd, p.null_fd, in_child);
  p.src[1] = spawn_child_fd(opts->stdout_fd, p.null_fd, out_child);
  p.src[2] = spawn_child_fd(opts->stderr_fd, p.null_fd, err_child);
  pid_t pid;
  r = spawn_launch(opts, &p, &pid, &pidfd, err);
  close(TAKE_FD(in_child));
  close(TAKE_FD(out_child));
  close(TAKE_FD(err_child));
  if (r < 0)
    goto out;

  siginfo_t si;
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
  spawn_prep_release(&p);
  if (io.in_fd >= 0)
    close(io.in_fd);
  capture_release(&io.out);
  capture_release(&io.err);
  return r;
}
