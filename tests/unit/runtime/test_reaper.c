#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "runtime/reaper.h"

struct claims
{
  pid_t claim;        /* the pid the callback claims */
  int n_seen;
  pid_t seen[8];
  int status[8];
};

static bool
record_exit(pid_t pid, int wait_status, void *data)
{
  struct claims *c = data;
  if (c->n_seen < (int) ARRAY_SIZE(c->seen))
    {
      c->seen[c->n_seen] = pid;
      c->status[c->n_seen] = wait_status;
      c->n_seen++;
    }
  return pid == c->claim;
}

static pid_t
spawn_exiting(int code)
{
  pid_t pid = fork();
  if (pid == 0)
    _exit(code);
  return pid;
}

/* Collects until `want` exits were reaped or 5 s passed; returns how many were. */
static int
collect_until(struct reaper *r, int want, reaper_exit_cb cb, void *data)
{
  int n = 0;
  for (int i = 0; i < 500 && n < want; i++)
    {
      n += reaper_collect(r, cb, data);
      if (n < want)
        {
          struct timespec ts = { 0, 10 * 1000 * 1000 };
          nanosleep(&ts, NULL);
        }
    }
  return n;
}

static int
setup(void **state)
{
  struct reaper *r = NULL;
  if (reaper_new(&r, NULL) < 0)
    return -1;
  *state = r;
  return 0;
}

static int
teardown(void **state)
{
  reaper_free(*state);
  return 0;
}

static void
test_becomes_subreaper(void **state)
{
  (void) state;
  int on = 0;
  assert_int_equal(prctl(PR_GET_CHILD_SUBREAPER, &on, 0, 0, 0), 0);
  assert_int_equal(on, 1);
}

static void
test_unclaimed_exit_is_cached_once(void **state)
{
  struct reaper *r = *state;
  pid_t pid = spawn_exiting(3);
  assert_true(pid > 0);
  struct claims c = { .claim = -1 };
  assert_int_equal(collect_until(r, 1, record_exit, &c), 1);
  assert_int_equal(c.seen[0], pid);

  int st = -1;
  assert_true(reaper_take(r, pid, &st));
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 3);
  assert_false(reaper_take(r, pid, &st));
}

static void
test_claimed_exit_is_not_cached(void **state)
{
  struct reaper *r = *state;
  pid_t pid = fork();
  if (pid == 0)
    {
      pause();
      _exit(0);
    }
  assert_true(pid > 0);
  kill(pid, SIGKILL);
  struct claims c = { .claim = pid };
  assert_int_equal(collect_until(r, 1, record_exit, &c), 1);
  assert_true(WIFSIGNALED(c.status[0]));
  assert_int_equal(WTERMSIG(c.status[0]), SIGKILL);
  assert_false(reaper_take(r, pid, NULL));
}

/* The container init is our grandchild (its parent, the runtime, exits first): as a subreaper we
 * still reap it. */
static void
test_reaps_reparented_grandchild(void **state)
{
  struct reaper *r = *state;
  int fds[2];
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  pid_t child = fork();
  if (child == 0)
    {
      pid_t grandchild = fork();
      if (grandchild == 0)
        {
          struct timespec ts = { 0, 100 * 1000 * 1000 };
          nanosleep(&ts, NULL);
          _exit(7);
        }
      (void) !write(fds[1], &grandchild, sizeof(grandchild));
      _exit(0);
    }
  close(fds[1]);
  pid_t grandchild = 0;
  assert_int_equal(read(fds[0], &grandchild, sizeof(grandchild)), sizeof(grandchild));
  close(fds[0]);

  struct claims c = { .claim = -1 };
  assert_int_equal(collect_until(r, 2, record_exit, &c), 2);
  int st = -1;
  assert_true(reaper_take(r, grandchild, &st));
  assert_int_equal(WEXITSTATUS(st), 7);
  assert_true(reaper_take(r, child, &st));
  assert_int_equal(WEXITSTATUS(st), 0);
}

static void
test_cache_is_bounded(void **state)
{
  struct reaper *r = *state;
  enum { N = REAPER_CACHE_MAX + 8 };
  static pid_t pids[N];
  for (int i = 0; i < N; i++)
    {
      pids[i] = spawn_exiting(0);
      assert_true(pids[i] > 0);
    }
  assert_int_equal(collect_until(r, N, NULL, NULL), N);
  int cached = 0;
  for (int i = 0; i < N; i++)
    cached += reaper_take(r, pids[i], NULL);
  assert_int_equal(cached, REAPER_CACHE_MAX);
}

static void
test_nothing_to_reap(void **state)
{
  assert_int_equal(reaper_collect(*state, NULL, NULL), 0);
  assert_false(reaper_take(*state, 1, NULL));
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_becomes_subreaper, setup, teardown),
    cmocka_unit_test_setup_teardown(test_unclaimed_exit_is_cached_once, setup, teardown),
    cmocka_unit_test_setup_teardown(test_claimed_exit_is_not_cached, setup, teardown),
    cmocka_unit_test_setup_teardown(test_reaps_reparented_grandchild, setup, teardown),
    cmocka_unit_test_setup_teardown(test_cache_is_bounded, setup, teardown),
    cmocka_unit_test_setup_teardown(test_nothing_to_reap, setup, teardown),
  };
  return cmocka_run_group_tests_name("reaper", tests, NULL, NULL);
}
