#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "base/loop.h"
#include "fifo_loop.h"
#include "runtime/spawn.h"

static struct spawn_opts
sh_opts(const char *const *argv)
{
  return (struct spawn_opts){
    .argv = argv,
    .stdin_fd = SPAWN_NULL,
    .stdout_fd = SPAWN_CAPTURE,
    .stderr_fd = SPAWN_CAPTURE,
    .timeout_ms = 10000,
  };
}

/* Runs `sh -c script` with stdout and stderr captured; the call itself must succeed. */
static void
run_script(const char *script, struct spawn_result *res)
{
  const char *argv[] = { "sh", "-c", script, NULL };
  struct spawn_opts o = sh_opts(argv);
  *res = (struct spawn_result){ 0 };
  assert_int_equal(spawn_run(&o, res, NULL), 0);
}

static void
test_captures_stdout_and_stderr(void **state)
{
  (void) state;
  struct spawn_result res;
  run_script("echo out; echo err >&2", &res);
  assert_true(res.exited);
  assert_int_equal(res.status, 0);
  assert_true(res.pid > 0);
  assert_string_equal(res.out, "out\n");
  assert_int_equal(res.out_len, 4);
  assert_string_equal(res.err, "err\n");
  spawn_result_clear(&res);
}

static void
test_uncaptured_streams_are_null(void **state)
{
  (void) state;
  const char *argv[] = { "true", NULL };
  struct spawn_opts o = sh_opts(argv);
  o.stdout_fd = SPAWN_NULL;
  o.stderr_fd = SPAWN_NULL;
  struct spawn_result res = { 0 };
  assert_int_equal(spawn_run(&o, &res, NULL), 0);
  assert_null(res.out);
  assert_null(res.err);
  spawn_result_clear(&res);
}

static void
test_stdin_data_reaches_child(void **state)
{
  (void) state;
  /* Larger than a socket buffer, so writing has to interleave with reading. */
  size_t len = 600 * 1024;
  _cleanup_free_ char *data = malloc(len);
  for (size_t i = 0; i < len; i++)
    data[i] = (char) ('a' + i % 26);
  const char *argv[] = { "cat", NULL };
  struct spawn_opts o = sh_opts(argv);
  o.stdin_fd = SPAWN_CAPTURE;
  o.stdin_data = data;
  o.stdin_len = len;
  struct spawn_result res = { 0 };
  assert_int_equal(spawn_run(&o, &res, NULL), 0);
  assert_int_equal(res.out_len, len);
  assert_memory_equal(res.out, data, len);
  spawn_result_clear(&res);
}

static void
test_child_not_reading_stdin_is_fine(void **state)
{
  (void) state;
  size_t len = 1 << 20;
  _cleanup_free_ char *data = calloc(1, len);
  const char *argv[] = { "true", NULL };
  struct spawn_opts o = sh_opts(argv);
  o.stdin_fd = SPAWN_CAPTURE;
  o.stdin_data = data;
  o.stdin_len = len;
  struct spawn_result res = { 0 };
  assert_int_equal(spawn_run(&o, &res, NULL), 0);
  assert_true(res.exited);
  assert_int_equal(res.status, 0);
  spawn_result_clear(&res);
}

static void
test_exit_status(void **state)
{
  (void) state;
  struct spawn_result res;
  run_script("exit 3", &res);
  assert_true(res.exited);
  assert_int_equal(res.status, 3);
  char buf[64];
  assert_string_equal(spawn_result_describe(&res, buf, sizeof buf), "exit status 3");
  spawn_result_clear(&res);
}

static void
test_signal_death(void **state)
{
  (void) state;
  struct spawn_result res;
  run_script("kill -SEGV $$", &res);
  assert_false(res.exited);
  assert_int_equal(res.signal, SIGSEGV);
  char buf[64];
  assert_string_equal(spawn_result_describe(&res, buf, sizeof buf), "killed by signal 11 (Segmentation fault)");
  spawn_result_clear(&res);
}

static void
test_timeout_kills_and_reaps(void **state)
{
  (void) state;
  const char *argv[] = { "sh", "-c", "echo started; exec sleep 30", NULL };
  struct spawn_opts o = sh_opts(argv);
  o.timeout_ms = 300;
  struct spawn_result res = { 0 };
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  time_t t0 = time(NULL);
  assert_int_equal(spawn_run(&o, &res, &err), -ETIMEDOUT);
  assert_true(time(NULL) - t0 < 5);
  assert_int_equal(err.status, WEDGE_DEADLINE_EXCEEDED);
  assert_non_null(strstr(wedge_error_message(&err), "did not finish within 300 ms"));
  assert_true(res.timed_out);
  assert_false(res.exited);
  assert_int_equal(res.signal, SIGKILL);
  assert_string_equal(res.out, "started\n");
  /* Reaped: the pid is no longer our child. */
  assert_int_equal(waitpid(res.pid, NULL, WNOHANG), -1);
  assert_int_equal(errno, ECHILD);
  spawn_result_clear(&res);
}

static void
test_missing_binary_is_named(void **state)
{
  (void) state;
  const char *argv[] = { "wedge-no-such-runtime", "state", NULL };
  struct spawn_opts o = sh_opts(argv);
  struct spawn_result res = { 0 };
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(spawn_run(&o, &res, &err), -ENOEXEC);
  assert_string_equal(wedge_error_message(&err), "cannot run 'wedge-no-such-runtime': not found in PATH");
  assert_int_equal(res.pid, 0);

  const char *argv2[] = { "/nonexistent/runc", NULL };
  o.argv = argv2;
  assert_int_equal(spawn_run(&o, &res, &err), -ENOEXEC);
  assert_string_equal(wedge_error_message(&err), "cannot run '/nonexistent/runc': No such file or directory");
}

static void
test_not_executable(void **state)
{
  (void) state;
  char path[] = "/tmp/wedge-spawn-XXXXXX";
  int fd = mkostemp(path, O_CLOEXEC);
  assert_true(fd >= 0);
  close(fd);
  chmod(path, 0644);
  const char *argv[] = { path, NULL };
  struct spawn_opts o = sh_opts(argv);
  struct spawn_result res = { 0 };
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  int r = spawn_run(&o, &res, &err);
  unlink(path);
  assert_int_equal(r, -ENOEXEC);
  _cleanup_free_ char *want = NULL;
  assert_true(asprintf(&want, "cannot run '%s': Permission denied", path) > 0);
  assert_string_equal(wedge_error_message(&err), want);
}

/* fds of the child shell, listed by a plain command: a pipeline would add the shell's own pipe
 * ends to the list while it runs. */
#define LIST_FDS "ls /proc/$$/fd"

static void
test_only_given_fds_reach_child(void **state)
{
  (void) state;
  /* A descriptor without CLOEXEC, as a careless library might leave one: the backstop. */
  _cleanup_close_ int leaky = open("/dev/null", O_RDONLY | O_CLOEXEC);
  assert_true(leaky >= 0);
  assert_int_equal(fcntl(leaky, F_SETFD, 0), 0);
  _cleanup_close_ int tidy = open("/dev/null", O_RDONLY | O_CLOEXEC);
  assert_true(tidy >= 0);

  struct spawn_result res;
  run_script(LIST_FDS, &res);
  assert_string_equal(res.out, "0\n1\n2\n");
  spawn_result_clear(&res);
}

static void
test_extra_fds_land_at_3(void **state)
{
  (void) state;
  int p1[2], p2[2];
  assert_int_equal(pipe2(p1, O_CLOEXEC), 0);
  assert_int_equal(pipe2(p2, O_CLOEXEC), 0);
  _cleanup_close_ int r1 = p1[0], w1 = p1[1], r2 = p2[0], w2 = p2[1];
  /* Passed in reverse order of their numbers, so placing one could clobber the other. */
  int extra[] = { w2, w1 };
  const char *argv[] = { "sh", "-c", "echo three >&3; echo four >&4; " LIST_FDS, NULL };
  struct spawn_opts o = sh_opts(argv);
  o.extra_fds = extra;
  o.n_extra_fds = 2;
  struct spawn_result res = { 0 };
  assert_int_equal(spawn_run(&o, &res, NULL), 0);
  assert_string_equal(res.out, "0\n1\n2\n3\n4\n");
  close(TAKE_FD(w1));
  close(TAKE_FD(w2));
  char buf[32] = { 0 };
  assert_int_equal(read(r2, buf, sizeof buf - 1), 6);
  assert_string_equal(buf, "three\n");
  memset(buf, 0, sizeof buf);
  assert_int_equal(read(r1, buf, sizeof buf - 1), 5);
  assert_string_equal(buf, "four\n");
  spawn_result_clear(&res);
}

static void
test_given_stdio_fd_is_used(void **state)
{
  (void) state;
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  _cleanup_close_ int r = p[0], w = p[1];
  const char *argv[] = { "sh", "-c", "echo to-fd", NULL };
  struct spawn_opts o = sh_opts(argv);
  o.stdout_fd = w;
  struct spawn_result res = { 0 };
  assert_int_equal(spawn_run(&o, &res, NULL), 0);
  assert_null(res.out);
  close(TAKE_FD(w));
  char buf[32] = { 0 };
  assert_int_equal(read(r, buf, sizeof buf - 1), 6);
  assert_string_equal(buf, "to-fd\n");
  spawn_result_clear(&res);
}

static void
test_env_signals_and_cwd_are_reset(void **state)
{
  (void) state;
  setenv("NOTIFY_SOCKET", "/run/systemd/notify", 1);
  setenv("WEDGE_KEEP", "kept", 1);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGCHLD);
  sigprocmask(SIG_BLOCK, &block, &old);
  struct sigaction ign = { .sa_handler = SIG_IGN }, old_int;
  sigaction(SIGINT, &ign, &old_int);

  const char *argv[] = { "sh", "-c",
                         "echo ${NOTIFY_SOCKET-unset} $WEDGE_KEEP $(pwd); grep -E '^Sig(Blk|Ign)' /proc/self/status",
                         NULL };
  struct spawn_opts o = sh_opts(argv);
  o.cwd = "/tmp";
  struct spawn_result res = { 0 };
  int r = spawn_run(&o, &res, NULL);

  sigprocmask(SIG_SETMASK, &old, NULL);
  sigaction(SIGINT, &old_int, NULL);
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WEDGE_KEEP");

  assert_int_equal(r, 0);
  assert_string_equal(res.out, "unset kept /tmp\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
  spawn_result_clear(&res);
}

static void
test_explicit_env(void **state)
{
  (void) state;
  const char *argv[] = { "/bin/sh", "-c", "echo $ONLY ${HOME-nohome}", NULL };
  const char *envp[] = { "ONLY=this", NULL };
  struct spawn_opts o = sh_opts(argv);
  o.envp = envp;
  struct spawn_result res = { 0 };
  assert_int_equal(spawn_run(&o, &res, NULL), 0);
  assert_string_equal(res.out, "this nohome\n");
  spawn_result_clear(&res);
}

static void
test_returns_at_exit_not_at_eof(void **state)
{
  (void) state;
  /* Like `create`: a descendant keeps stdout open after the child itself has exited. */
  struct spawn_result res;
  time_t t0 = time(NULL);
  run_script("sleep 30 & echo $!", &res);
  assert_true(time(NULL) - t0 < 5);
  pid_t orphan = atoi(res.out);
  assert_true(orphan > 0);
  kill(orphan, SIGKILL);
  spawn_result_clear(&res);
}

static void
test_parent_death_kills_child(void **state)
{
  (void) state;
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  _cleanup_close_ int r = p[0], w = p[1];

  pid_t mid = fork();
  assert_true(mid >= 0);
  if (mid == 0)
    {
      const char *argv[] = { "sh", "-c", "echo $$ >&3; exec sleep 30", NULL };
      int extra[] = { w };
      struct spawn_opts o = sh_opts(argv);
      o.extra_fds = extra;
      o.n_extra_fds = 1;
      struct spawn_result res;
      spawn_run(&o, &res, NULL);
      _exit(0);
    }
  close(TAKE_FD(w));
  char buf[32] = { 0 };
  assert_true(read(r, buf, sizeof buf - 1) > 0);
  pid_t grandchild = atoi(buf);
  assert_true(grandchild > 0);
  _cleanup_close_ int gfd = pidfd_open(grandchild, 0);
  assert_true(gfd >= 0);

  kill(mid, SIGKILL);
  assert_int_equal(waitpid(mid, NULL, 0), mid);
  struct pollfd pfd = { .fd = gfd, .events = POLLIN };
  assert_int_equal(poll(&pfd, 1, 5000), 1);
}

struct async_done
{
  int n;
  int r[2];
  struct spawn_result res[2];
};

static void
on_async_done(int r, struct spawn_result *res, wedge_error_t *err, void *data)
{
  struct async_done *d = data;
  assert_true(d->n < 2);
  d->r[d->n] = r;
  d->res[d->n++] = *res;
  *res = (struct spawn_result){ 0 };
  wedge_error_clear(err);
}

/* Two calls on one loop run at the same time: the loop waits for neither. */
static void
test_async_calls_overlap(void **state)
{
  struct fifo_loop *fl = *state;
  const char *argv[] = { "sh", "-c", "sleep 1; echo done", NULL };
  struct spawn_opts o = sh_opts(argv);
  struct async_done d = { 0 };
  int64_t t0 = loop_clock_ms();
  assert_int_equal(spawn_async(fl->loop, &o, on_async_done, &d, NULL, NULL), 0);
  assert_int_equal(spawn_async(fl->loop, &o, on_async_done, &d, NULL, NULL), 0);
  assert_int_equal(d.n, 0);
  fifo_loop_until(fl, d.n == 2, 10000);
  assert_int_equal(d.n, 2);
  /* In sequence it would take 2 s. */
  assert_true(loop_clock_ms() - t0 < 1900);
  for (int i = 0; i < 2; i++)
    {
      assert_int_equal(d.r[i], 0);
      assert_string_equal(d.res[i].out, "done\n");
      spawn_result_clear(&d.res[i]);
    }
}

/* A subreaper's waitpid(-1) may take the exit of a runtime call in flight before its pidfd is
 * read: handed to spawn_claim_exit, the call still completes with that status. */
static void
test_async_exit_reaped_elsewhere_is_claimed(void **state)
{
  struct fifo_loop *fl = *state;
  const char *argv[] = { "sh", "-c", "exit 7", NULL };
  struct spawn_opts o = sh_opts(argv);
  struct async_done d = { 0 };
  assert_int_equal(spawn_async(fl->loop, &o, on_async_done, &d, NULL, NULL), 0);
  int st;
  pid_t got = waitpid(-1, &st, 0);
  assert_true(got > 0);
  assert_false(spawn_claim_exit(got + 1, 0));
  assert_true(spawn_claim_exit(got, st));
  assert_int_equal(d.n, 1);
  assert_int_equal(d.r[0], 0);
  assert_true(d.res[0].exited);
  assert_int_equal(d.res[0].status, 7);
  assert_int_equal(d.res[0].pid, got);
  spawn_result_clear(&d.res[0]);
  assert_false(spawn_claim_exit(got, st));
  assert_true(loop_run_once(fl->loop, 50) >= 0);
  assert_int_equal(d.n, 1);
}

/* A cancelled call leaves no child and never calls back. */
static void
test_async_cancel(void **state)
{
  struct fifo_loop *fl = *state;
  const char *argv[] = { "sleep", "30", NULL };
  struct spawn_opts o = sh_opts(argv);
  struct async_done d = { 0 };
  struct spawn_job *job = NULL;
  assert_int_equal(spawn_async(fl->loop, &o, on_async_done, &d, &job, NULL), 0);
  spawn_job_cancel(job);
  assert_int_equal(loop_run_once(fl->loop, 100), 0);
  assert_int_equal(d.n, 0);
  assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
  assert_int_equal(errno, ECHILD);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_captures_stdout_and_stderr),
    cmocka_unit_test(test_uncaptured_streams_are_null),
    cmocka_unit_test(test_stdin_data_reaches_child),
    cmocka_unit_test(test_child_not_reading_stdin_is_fine),
    cmocka_unit_test(test_exit_status),
    cmocka_unit_test(test_signal_death),
    cmocka_unit_test(test_timeout_kills_and_reaps),
    cmocka_unit_test(test_missing_binary_is_named),
    cmocka_unit_test(test_not_executable),
    cmocka_unit_test(test_only_given_fds_reach_child),
    cmocka_unit_test(test_extra_fds_land_at_3),
    cmocka_unit_test(test_given_stdio_fd_is_used),
    cmocka_unit_test(test_env_signals_and_cwd_are_reset),
    cmocka_unit_test(test_explicit_env),
    cmocka_unit_test(test_returns_at_exit_not_at_eof),
    cmocka_unit_test(test_parent_death_kills_child),
    cmocka_unit_test_setup_teardown(test_async_calls_overlap, fifo_loop_setup, fifo_loop_teardown),
    cmocka_unit_test_setup_teardown(test_async_exit_reaped_elsewhere_is_claimed, fifo_loop_setup, fifo_loop_teardown),
    cmocka_unit_test_setup_teardown(test_async_cancel, fifo_loop_setup, fifo_loop_teardown),
  };
  return cmocka_run_group_tests_name("spawn", tests, NULL, NULL);
}
