/* `start`: containerd-shim-runc-v2's manager.Start (runtime/v2/runc/manager/manager_linux.go,
 * 1.6.20); docs/protocol.md.
 *
 * containerd reads stdout and stderr through ONE pipe and takes all of it, trimmed, as its
 * answer (1.6.20 runtime/v2/binary.go `binary.Start`, CombinedOutput); it waits until every
 * holder of that pipe has closed it. So on success nothing but the answer is written, and the
 * daemon gets /dev/null as fds 0-2.
 *
 * The answer is the bare address for containerd 1.x, and for 2.x the JSON bootstrap params of
 * its own runc shim, {"version":3,"address":"unix://...","protocol":"ttrpc"}: 1.6 takes any
 * output whole as the address, 1.7 refuses a version above 2 (1.7.0 runtime/v2/shim.go
 * `parseStartResponse`; 2.1's, core/runtime/v2/shim.go, takes up to 3), and only a version 3
 * shim gets 2.x's sandbox behaviour (containers of a pod join the running shim without
 * `start`/`delete`, and their Delete is not followed by a Shutdown). start_bootstrap_version
 * says how we tell. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "base/cleanup.h"
#include "base/gobuildinfo.h"
#include "runtime/runc_options.h"
#include "shim.h"
#include "shimio.h"
#include "base/shimsock.h"

#ifndef PR_SCHED_CORE
#define PR_SCHED_CORE 62
#endif
#ifndef PR_SCHED_CORE_CREATE
#define PR_SCHED_CORE_CREATE 1
#endif
#define SCHED_CORE_SCOPE_TGID 1

/* Keeps the raw stdin for the daemon (see shim.h); removes a stale copy when empty. */
static int
save_start_stdin(const char *data, size_t len, wedge_error_t *err)
{
  if (len == 0)
    {
      unlink(SHIM_START_STDIN_FILE);
      return 0;
    }
  _cleanup_close_ int fd = open(SHIM_START_STDIN_FILE, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "write %s", SHIM_START_STDIN_FILE);
  while (len > 0)
    {
      ssize_t n = write(fd, data, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "write %s", SHIM_START_STDIN_FILE);
      data += n;
      len -= (size_t) n;
    }
  return 0;
}

static void
child_fail(int errpipe, int errnum)
{
  ssize_t n = write(errpipe, &errnum, sizeof(errnum));
  (void) n;
  _exit(127);
}

/* In the child between fork and exec: only async-signal-safe calls. */
static void
child_exec_daemon(const char *self, char *const argv[], int listen_fd, int errpipe, bool sched_core)
{
  /* Out of the way of fds 0-3, which are about to be replaced. */
  int moved = fcntl(errpipe, F_DUPFD_CLOEXEC, 10);
  if (moved < 0)
    child_fail(errpipe, errno);
  errpipe = moved;

  if (setsid() < 0)
    child_fail(errpipe, errno);

  /* The daemon and, through it, the containers share one core-scheduling cookie, as the runc
   * shim arranges with schedcore.Create(ProcessGroup) before starting its daemon. */
  if (sched_core && prctl(PR_SCHED_CORE, PR_SCHED_CORE_CREATE, 0, SCHED_CORE_SCOPE_TGID, 0) < 0)
    child_fail(errpipe, errno);

  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0)
    child_fail(errpipe, errno);
  /* fd 3 must not collide with the fds we are about to place. */
  int sock = fcntl(listen_fd, F_DUPFD_CLOEXEC, 10);
  if (sock < 0)
    child_fail(errpipe, errno);
  for (int fd = 0; fd < 3; fd++)
    if (dup2(devnull, fd) < 0)
      child_fail(errpipe, errno);
  if (dup2(sock, 3) < 0)
    child_fail(errpipe, errno);
  /* containerd's Go exec passes exactly fds 0-3; whatever else the caller of `start` left
   * inheritable (a test harness' pipes) must not live on in the daemon. The error pipe is
   * CLOEXEC and survives until exec. */
  if (close_range(4, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    child_fail(errpipe, errno);

  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);

  execv(self, argv);
  child_fail(errpipe, errno);
}

/* The runc shim puts its daemon one point above containerd (the parent of `start`) so that
 * under memory pressure the kernel kills a shim before containerd. */
static int
adjust_oom_score(pid_t daemon, wedge_error_t *err)
{
  char path[64], buf[32] = { 0 };
  snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int) getppid());
  _cleanup_close_ int in = open(path, O_RDONLY | O_CLOEXEC);
  if (in < 0 || read(in, buf, sizeof(buf) - 1) <= 0)
    return wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "get parent OOM score");
  long score = strtol(buf, NULL, 10) + 1;
  if (score > 1000)
    score = 1000;

  snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int) daemon);
  _cleanup_close_ int out = open(path, O_WRONLY | O_CLOEXEC);
  int n = snprintf(buf, sizeof(buf), "%ld", score);
  if (out < 0 || write(out, buf, (size_t) n) != n)
    return wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "set shim OOM score");
  return 0;
}

/* Options.shim_cgroup: the runc shim moves the daemon it has just started into that cgroup (by
 * pid, after the fork, before the OOM score), and fails `start` when it cannot. Only a new daemon
 * moves: a container joining a group's running daemon changes nothing, as there. */
static int
join_shim_cgroup(const char *input, size_t input_len, pid_t daemon, wedge_error_t *err)
{
  _cleanup_runc_options_ Containerd__Runc__V1__Options *opts = NULL;
  int r = runc_options_unpack_bytes(input, input_len, &opts, err);
  if (r < 0)
    return wedge_error_prefix(err, "shim options");
  if (opts == NULL || opts->shim_cgroup == NULL || opts->shim_cgroup[0] == '\0')
    return 0;
  return cgroup_attach_pid(opts->shim_cgroup, daemon, err);
}

static int
spawn_daemon(struct shim_ctx *ctx, int listen_fd, pid_t *ret_pid, wedge_error_t *err)
{
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n < 0)
    return wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "readlink /proc/self/exe");
  self[n] = '\0';

  char *argv[] = {
    self,
    (char *) "-namespace", (char *) ctx->flags.namespace_,
    (char *) "-id", (char *) ctx->flags.id,
    (char *) "-address", (char *) ctx->flags.address,
    ctx->flags.debug ? (char *) "-debug" : NULL,
    NULL,
  };

  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) < 0)
    return wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "pipe");
  _cleanup_close_ int err_rd = errpipe[0];
  _cleanup_close_ int err_wr = errpipe[1];

  pid_t pid = fork();
  if (pid < 0)
    return wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "fork");
  if (pid == 0)
    child_exec_daemon(self, argv, listen_fd, err_wr, ctx->env.sched_core);

  close(TAKE_FD(err_wr));
  int child_errno = 0;
  ssize_t r;
  do
    r = read(err_rd, &child_errno, sizeof(child_errno));
  while (r < 0 && errno == EINTR);
  if (r > 0)
    {
      waitpid(pid, NULL, 0);
      return wedge_error_set_errno(err, child_errno, WEDGE_UNKNOWN, "start shim daemon %s", self);
    }
  *ret_pid = pid;
  return 0;
}

static int
start_run(struct shim_ctx *ctx, char **ret_address, wedge_error_t *err)
{
  _cleanup_free_ char *input = NULL;
  size_t input_len = 0;
  int r = shim_read_stdin(&input, &input_len, err);
  if (r < 0)
    return r;

  _cleanup_free_ char *group = NULL;
  r = shimsock_group_id("config.json", ctx->flags.id, &group, err);
  if (r < 0)
    return r;
  _cleanup_free_ char *address = NULL;
  r = shimsock_address(getenv(SHIM_SOCKET_DIR_ENV), ctx->flags.address, ctx->flags.namespace_, group, &address, err);
  if (r < 0)
    return r;

  _cleanup_close_ int listen_fd = -1;
  r = shimsock_listen(address, &listen_fd, err);
  if (r == -EADDRINUSE)
    {
      wedge_error_clear(err);
      r = shimsock_remove_stale(address, err);
      /* Another container of the same group already has a daemon: containerd gets its
       * address and a connection of its own to it. */
      if (r == -EADDRINUSE)
        {
          wedge_error_clear(err);
          r = shimsock_write_address("address", address, err);
          if (r < 0)
            return wedge_error_prefix(err, "write existing socket for shim");
          r = save_start_stdin(input, input_len, err);
          if (r < 0)
            return r;
          *ret_address = TAKE_PTR(address);
          return 0;
        }
      if (r < 0)
        return wedge_error_prefix(err, "remove pre-existing socket");
      r = shimsock_listen(address, &listen_fd, err);
    }
  if (r < 0)
    return wedge_error_prefix(err, "create new shim socket");

  r = shimsock_write_address("address", address, err);
  if (r == 0)
    r = save_start_stdin(input, input_len, err);
  pid_t pid = -1;
  if (r == 0)
    r = spawn_daemon(ctx, listen_fd, &pid, err);
  if (r == 0)
    {
      r = join_shim_cgroup(input, input_len, pid, err);
      if (r == 0 && (r = adjust_oom_score(pid, err)) < 0)
        wedge_error_prefix(err, "failed to adjust OOM score for shim");
      if (r < 0)
        {
          kill(pid, SIGKILL);
          waitpid(pid, NULL, 0);
        }
    }
  if (r < 0)
    {
      unlink(shimsock_path(address));
      return r;
    }
  *ret_address = TAKE_PTR(address);
  return 0;
}

/* true when the program at `exe` is containerd 2.0 or later: its main package is
 * github.com/containerd/containerd/vN/... with N >= 2 (1.x has no major version suffix). */
static bool
containerd_v2_or_later(const char *exe)
{
  static const char prefix[] = "github.com/containerd/containerd/v";
  _cleanup_free_ char *main_path = NULL;
  if (gobuildinfo_main_path(exe, &main_path, NULL) < 0 || strncmp(main_path, prefix, sizeof(prefix) - 1) != 0)
    return false;
  const char *major = main_path + sizeof(prefix) - 1;
  char *end = NULL;
  long n = strtol(major, &end, 10);
  return end != major && *end == '/' && n >= 2;
}

/* The bootstrap version to answer: 2 is the bare address, 3 the JSON params.
 * - SHIM_VERSION_ENV, when set, decides (2 or 3; anything else is refused).
 * - containerd 1.6 sets no MAX_SHIM_VERSION and cannot read JSON: 2.
 * - 1.7 and 2.x give `start` the same argv and environment (MAX_SHIM_VERSION=2 from both: 2.x
 *   never raised it, and its own runc shim ignores it), so the caller's program tells them
 *   apart: `start`'s parent is containerd itself (an exec.Cmd), and a 2.x binary's Go build
 *   information names its main package github.com/containerd/containerd/v2/cmd/containerd.
 *   Anything we cannot read is 2, which every containerd accepts. */
static int
start_bootstrap_version(const struct shim_env *env, wedge_error_t *err)
{
  const char *forced = getenv(SHIM_VERSION_ENV);
  if (forced != NULL && forced[0] != '\0')
    {
      if (strcmp(forced, "2") == 0)
        return 2;
      if (strcmp(forced, "3") == 0)
        return 3;
      return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "%s=%s: want 2 (bare address) or 3 (JSON bootstrap params)",
                             SHIM_VERSION_ENV, forced);
    }
  if (env->max_shim_version == NULL)
    return 2;
  char exe[64];
  snprintf(exe, sizeof(exe), "/proc/%d/exe", (int) getppid());
  return containerd_v2_or_later(exe) ? 3 : 2;
}

/* What containerd reads on stdout. *ret_text is malloc'd. */
static int
start_answer(int version, const char *address, char **ret_text, wedge_error_t *err)
{
  char *text;
  if (version == 2)
    text = strdup(address);
  else
    {
      /* The keys in the runc shim's order (Go marshals struct fields in declaration order). */
      json_t *j = json_pack("{s:i, s:s, s:s}", "version", version, "address", address, "protocol", "ttrpc");
      text = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
      json_decref(j);
    }
  if (text == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
  *ret_text = text;
  return 0;
}

int
shim_start(struct shim_ctx *ctx)
{
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  _cleanup_free_ char *address = NULL;
  _cleanup_free_ char *answer = NULL;

  int version = start_bootstrap_version(&ctx->env, &err);
  if (version < 0 || start_run(ctx, &address, &err) < 0 || start_answer(version, address, &answer, &err) < 0)
    {
      shim_report("%s", wedge_error_message(&err));
      return 1;
    }
  /* No newline, as the runc shim; containerd trims the output anyway. */
  if (fputs(answer, stdout) < 0 || fflush(stdout) != 0)
    return 1;
  return 0;
}
