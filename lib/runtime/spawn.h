/* Running a helper program (the OCI runtime) as a child of the shim.
 *
 * Contract:
 * - The child gets PR_SET_PDEATHSIG(SIGKILL) (so a dying shim never leaves a runtime behind; the
 *   kernel ties it to the calling thread, so call from a thread that outlives the child), an
 *   empty signal mask and default dispositions (the shim blocks signals for its signalfd), and
 *   the environment given, or ours without NOTIFY_SOCKET (runc treats it specially).
 * - Only the fds named here reach the child: stdin/stdout/stderr as given (SPAWN_NULL means
 *   /dev/null, SPAWN_CAPTURE means a pipe whose content lands in spawn_result), plus
 *   `extra_fds` placed at 3, 4, ... (runc's --preserve-fds). Everything else is closed on exec
 *   (every fd of ours is O_CLOEXEC; close_range(CLOSE_RANGE_CLOEXEC) is the backstop).
 * - spawn_async() starts the child and returns once it has exec'd; the event loop then feeds its
 *   stdin, collects its output and watches its pidfd, and the done callback runs from the loop
 *   when the child has exited. The loop is free meanwhile: this is how the shim runs runtime
 *   calls for several containers at once. spawn_run() is the same on a private loop (loop_sync).
 * - The call is over when the child exits, not at EOF on the capture pipes: a container init
 *   started by `create` inherits the runtime's stdio and keeps it open for its whole life. Once
 *   the child has exited, whatever is buffered in the pipes is read without blocking.
 * - A child still running after `timeout_ms` is SIGKILLed and reaped; the call fails with
 *   -ETIMEDOUT. A missing binary fails with -ENOEXEC and the message names the binary.
 * - The call's own exit is taken from its pidfd (waitid(P_PIDFD)), so a subreaper's other children
 *   (container processes reparented to us) are left to the reaper. The reaper's waitpid(-1) may
 *   reap the runtime first (its SIGCHLD and its pidfd wake the loop together): the reaper hands
 *   every pid to spawn_claim_exit() before anything else, so the call still completes with it.
 * - Captured output is capped (SPAWN_CAPTURE_MAX per stream); more is read and dropped.
 */
#ifndef WEDGE_SPAWN_H
#define WEDGE_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"

#define SPAWN_NULL (-1)
#define SPAWN_CAPTURE (-2)
#define SPAWN_CAPTURE_MAX (1 << 20)

struct spawn_opts
{
  const char *const *argv;  /* argv[0] is looked up in PATH unless it contains a '/' */
  const char *const *envp;  /* NULL: our environment minus NOTIFY_SOCKET */
  const char *cwd;          /* NULL: inherit */
  int stdin_fd;             /* fd, SPAWN_NULL; or SPAWN_CAPTURE with stdin_data below */
  int stdout_fd;            /* fd, SPAWN_NULL or SPAWN_CAPTURE */
  int stderr_fd;            /* fd, SPAWN_NULL or SPAWN_CAPTURE */
  const char *stdin_data;   /* with stdin_fd == SPAWN_CAPTURE: written to the child's stdin, then closed */
  size_t stdin_len;
  const int *extra_fds;     /* become fds 3, 4, ... in the child */
  size_t n_extra_fds;
  int timeout_ms;           /* <= 0: no timeout */
};

struct spawn_result
{
  pid_t pid;
  bool exited;        /* true: `status` is the exit code; false: killed by `signal` */
  int status;
  int signal;
  bool timed_out;
  char *out;          /* captured stdout, NUL terminated (NULL when not captured) */
  size_t out_len;
  char *err;          /* captured stderr, NUL terminated (NULL when not captured) */
  size_t err_len;
};

struct loop;
struct spawn_job;

/* `res` is the caller's to clear (spawn_result_clear); `err` is set when r < 0 (-ETIMEDOUT: res
 * still holds what was captured). */
typedef void (*spawn_done_fn)(int r, struct spawn_result *res, wedge_error_t *err, void *data);

/* Starts the program on `l` (see above). 0: started, `done` runs once from the loop, never from
 * this call; *ret (may be NULL) is the job until then. Negative: nothing runs, done never will. */
int spawn_async(struct loop *l, const struct spawn_opts *opts, spawn_done_fn done, void *data, struct spawn_job **ret,
                wedge_error_t *err);

/* An exit reaped by someone else's waitpid(-1) (reaper.h): true when `pid` was the child of a call
 * in flight, which then completes with that status (its done runs now). */
bool spawn_claim_exit(pid_t pid, int wait_status);

/* SIGKILLs the child of a job whose done has not run yet, reaps it and frees the job; done never
 * runs. For owners that go away with a call in flight. Accepts NULL. */
void spawn_job_cancel(struct spawn_job *job);

/* Runs the program and waits for it. Returns 0 when the child ran (whatever its exit status;
 * look at *ret), or a negative errno when it could not be started or did not finish in time
 * (-ETIMEDOUT; *ret is still filled with what was captured). */
int spawn_run(const struct spawn_opts *opts, struct spawn_result *ret, wedge_error_t *err);

/* Starts the program and returns once it has exec'd, without waiting for it: *ret_pid and a
 * pidfd for it (O_CLOEXEC) in *ret_pidfd. The caller owns the child and must reap it (or leave it
 * to a subreaper's waitpid). Streams are fds or SPAWN_NULL (no SPAWN_CAPTURE); timeout_ms and
 * stdin_data are not used. */
int spawn_start(const struct spawn_opts *opts, pid_t *ret_pid, int *ret_pidfd, wedge_error_t *err);

/* Frees the captured buffers; the struct can be reused. Accepts NULL. */
void spawn_result_clear(struct spawn_result *res);

/* "exit status 3", "killed by signal 9 (Killed)": for error messages. Static buffer per call
 * site is not used: the text is written to `buf`. */
const char *spawn_result_describe(const struct spawn_result *res, char *buf, size_t len);

#endif
