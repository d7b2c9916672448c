#include "runtime/spawn.h"

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
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/loop.h"

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

/* Reads what is available now; returns false at EOF or on a hard error (the fd stays open: its
 * loop source goes first). */
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
        return false;
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

/* ---- a runtime call on the loop ------------------------------------------------------------ */

struct spawn_job
{
  struct spawn_job *prev, *next; /* spawn_in_flight */
  char *name;             /* argv[0], for messages */
  int timeout_ms;
  pid_t pid;
  int pidfd;
  struct loop_source *pid_source, *in_source, *out_source, *err_source, *timer;
  int in_fd;              /* our end of the stdin pipe, -1 when done */
  char *in_data;
  size_t in_len, in_off;
  bool capture_out, capture_err;
  struct capture out, err;
  bool timed_out;
  spawn_done_fn done;
  void *data;
};

/* The calls whose child has not been reaped yet, so that spawn_claim_exit() can tell a subreaper's
 * waitpid(-1) that an exit is theirs. Process-wide, as the children are: a child of this
 * process is one of these or not, whichever loop runs it. */
static struct spawn_job *spawn_in_flight;

static void
spawn_job_free(struct spawn_job *job)
{
  if (job->prev)
    job->prev->next = job->next;
  else if (spawn_in_flight == job)
    spawn_in_flight = job->next;
  if (job->next)
    job->next->prev = job->prev;
  job->prev = job->next = NULL;
  loop_source_free(job->pid_source);
  loop_source_free(job->in_source);
  loop_source_free(job->out_source);
  loop_source_free(job->err_source);
  loop_source_free(job->timer);
  if (job->pidfd >= 0)
    close(job->pidfd);
  if (job->in_fd >= 0)
    close(job->in_fd);
  capture_release(&job->out);
  capture_release(&job->err);
  free(job->in_data);
  free(job->name);
  free(job);
}

static void
spawn_job_stdin_done(struct spawn_job *job)
{
  loop_source_free(job->in_source);
  job->in_source = NULL;
  close(job->in_fd);
  job->in_fd = -1;
}

static int
spawn_job_on_stdin(struct loop_source *s, int fd, uint32_t revents, void *data)
{
  (void) s;
  (void) revents;
  struct spawn_job *job = data;
  while (job->in_off < job->in_len)
    {
      ssize_t n = write_no_sigpipe(fd, job->in_data + job->in_off, job->in_len - job->in_off);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return 0;
      if (n < 0)
        break;
      job->in_off += (size_t) n;
    }
  spawn_job_stdin_done(job);
  return 0;
}

static int
spawn_job_on_capture(struct loop_source *s, int fd, uint32_t revents, void *data)
{
  (void) fd;
  (void) revents;
  struct spawn_job *job = data;
  bool is_out = s == job->out_source;
  struct capture *c = is_out ? &job->out : &job->err;
  if (capture_read(c))
    return 0;
  loop_source_free(s);
  if (is_out)
    job->out_source = NULL;
  else
    job->err_source = NULL;
  close(c->fd);
  c->fd = -1;
  return 0;
}

static int
spawn_job_on_timeout(struct loop_source *s, uint64_t now_usec, void *data)
{
  (void) s;
  (void) now_usec;
  struct spawn_job *job = data;
  job->timed_out = true;
  (void) pidfd_send_signal(job->pidfd, SIGKILL, NULL, 0);
  return 0;
}

/* The child has exited: whatever is buffered in the pipes is taken without waiting for EOF (a
 * container init started by `create` holds them open for its whole life). */
static void
spawn_job_finish(struct spawn_job *job, const siginfo_t *si)
{
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  if (job->out.fd >= 0)
    capture_read(&job->out);
  if (job->err.fd >= 0)
    capture_read(&job->err);
  loop_source_free(job->out_source);
  loop_source_free(job->err_source);
  job->out_source = job->err_source = NULL;

  struct spawn_result res = { .pid = job->pid, .timed_out = job->timed_out };
  spawn_fill_status(&res, si);
  if (job->capture_out)
    res.out = capture_take(&job->out, &res.out_len);
  if (job->capture_err)
    res.err = capture_take(&job->err, &res.err_len);
  int r = 0;
  if (job->timed_out)
    r = wedge_error_set(&err, ETIMEDOUT, WEDGE_DEADLINE_EXCEEDED, "'%s' did not finish within %d ms and was killed",
                        job->name, job->timeout_ms);
  spawn_done_fn done = job->done;
  void *data = job->data;
  spawn_job_free(job);
  done(r, &res, &err, data);
}

static int
spawn_job_on_exit(struct loop_source *s, int fd, uint32_t revents, void *data)
{
  (void) s;
  (void) revents;
  struct spawn_job *job = data;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid(P_PIDFD, (id_t) fd, &si, WEXITED | WNOHANG) < 0)
    {
      if (errno == EINTR || errno == EAGAIN)
        return 0;
      /* Cannot happen for a child of ours that nobody else waits for: report it as a crash. */
      si.si_code = CLD_KILLED;
      si.si_status = SIGKILL;
    }
  else if (si.si_pid == 0)
    return 0;
  spawn_job_finish(job, &si);
  return 0;
}

bool
spawn_claim_exit(pid_t pid, int wait_status)
{
  for (struct spawn_job *job = spawn_in_flight; job; job = job->next)
    if (job->pid == pid)
      {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        si.si_pid = pid;
        si.si_code = WIFEXITED(wait_status) ? CLD_EXITED : CLD_KILLED;
        si.si_status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : WTERMSIG(wait_status);
        spawn_job_finish(job, &si);
        return true;
      }
  return false;
}

void
spawn_job_cancel(struct spawn_job *job)
{
  if (job == NULL)
    return;
  /* A SIGKILLed child is gone within microseconds (the runtime is not in the container's frozen
   * cgroup), so waiting here keeps the lifetime simple: no callback, nothing left behind. */
  (void) pidfd_send_signal(job->pidfd, SIGKILL, NULL, 0);
  siginfo_t si;
  (void) spawn_wait_pidfd(job->pidfd, &si);
  spawn_job_free(job);
}

int
spawn_async(struct loop *l, const struct spawn_opts *opts, spawn_done_fn done, void *data, struct spawn_job **ret,
            wedge_error_t *err)
{
  if (l == NULL || done == NULL)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "spawn: no loop or callback given");
  struct spawn_prep p;
  int r = spawn_prepare(opts, &p, err);
  if (r < 0)
    {
      spawn_prep_release(&p);
      return r;
    }
  const char *name = opts->argv[0];
  struct spawn_job *job = calloc(1, sizeof(*job));
  if (job == NULL || (job->name = strdup(name)) == NULL)
    {
      free(job);
      spawn_prep_release(&p);
      return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
    }
  *job = (struct spawn_job){
    .name = job->name, .timeout_ms = opts->timeout_ms, .pidfd = -1, .in_fd = -1,
    .out = { .fd = -1 }, .err = { .fd = -1 },
    .capture_out = opts->stdout_fd == SPAWN_CAPTURE, .capture_err = opts->stderr_fd == SPAWN_CAPTURE,
    .done = done, .data = data,
  };

  _cleanup_close_ int in_child = -1, out_child = -1, err_child = -1;
  if (opts->stdin_fd == SPAWN_CAPTURE)
    {
      /* A pipe, not a socket: crun 1.8.1 reads `update --resources -` by opening /dev/stdin,
       * which fails with ENXIO on a socket. Our end is non-blocking so a child that does not
       * read cannot stall us. */
      int sp[2];
      if (pipe2(sp, O_CLOEXEC) < 0)
        {
          r = wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot create a pipe");
          goto fail;
        }
      job->in_fd = sp[1];
      in_child = sp[0];
      if (fcntl(job->in_fd, F_SETFL, O_NONBLOCK) < 0)
        {
          r = wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot make the stdin pipe non-blocking");
          goto fail;
        }
      job->in_len = opts->stdin_data ? opts->stdin_len : 0;
      if (job->in_len && (job->in_data = malloc(job->in_len)) == NULL)
        {
          r = wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
          goto fail;
        }
      if (job->in_len)
        memcpy(job->in_data, opts->stdin_data, job->in_len);
    }
  if (job->capture_out && (r = capture_pipe(&job->out, &out_child, err)) < 0)
    goto fail;
  if (job->capture_err && (r = capture_pipe(&job->err, &err_child, err)) < 0)
    goto fail;

  p.src[0] = spawn_child_fd(opts->stdin_fd, p.null_fd, in_child);
  p.src[1] = spawn_child_fd(opts->stdout_fd, p.null_fd, out_child);
  p.src[2] = spawn_child_fd(opts->stderr_fd, p.null_fd, err_child);
  r = spawn_launch(opts, &p, &job->pid, &job->pidfd, err);
  close(TAKE_FD(in_child));
  close(TAKE_FD(out_child));
  close(TAKE_FD(err_child));
  if (r < 0)
    goto fail;

  if ((r = loop_add_io(l, job->pidfd, EPOLLIN, spawn_job_on_exit, job, &job->pid_source, err)) < 0
      || (job->in_fd >= 0
          && (r = loop_add_io(l, job->in_fd, EPOLLOUT, spawn_job_on_stdin, job, &job->in_source, err)) < 0)
      || (job->out.fd >= 0
          && (r = loop_add_io(l, job->out.fd, EPOLLIN, spawn_job_on_capture, job, &job->out_source, err)) < 0)
      || (job->err.fd >= 0
          && (r = loop_add_io(l, job->err.fd, EPOLLIN, spawn_job_on_capture, job, &job->err_source, err)) < 0)
      || (opts->timeout_ms > 0
          && (r = loop_add_timer(l, (uint64_t) opts->timeout_ms * 1000, spawn_job_on_timeout, job, &job->timer,
                                 err)) < 0))
    {
      spawn_prep_release(&p);
      spawn_job_cancel(job);
      return r;
    }
  spawn_prep_release(&p);
  job->next = spawn_in_flight;
  if (job->next)
    job->next->prev = job;
  spawn_in_flight = job;
  if (ret)
    *ret = job;
  return 0;

fail:
  spawn_prep_release(&p);
  spawn_job_free(job);
  return r;
}

struct spawn_sync
{
  struct loop_sync s;
  struct spawn_result res;
};

static void
spawn_sync_done(int r, struct spawn_result *res, wedge_error_t *err, void *data)
{
  struct spawn_sync *ss = data;
  ss->res = *res;
  *res = (struct spawn_result){ 0 };
  loop_sync_complete(&ss->s, r, err);
}

int
spawn_run(const struct spawn_opts *opts, struct spawn_result *ret, wedge_error_t *err)
{
  if (ret == NULL)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "spawn: no program given");
  struct spawn_sync ss = { .res = { 0 } };
  int r = loop_sync_begin(&ss.s, err);
  if (r < 0)
    return r;
  r = loop_sync_end(&ss.s, spawn_async(ss.s.loop, opts, spawn_sync_done, &ss, NULL, err), err);
  *ret = ss.res;
  return r;
}
