#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>
#include <fcntl.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "base/loop.h"

static struct loop *
new_loop(void)
{
  struct loop *l = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(loop_new(&l, &err), 0);
  assert_non_null(l);
  return l;
}

static void
new_pipe(int p[2])
{
  assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
}

struct io_seen
{
  int calls;
  int fd;
  uint32_t revents;
};

static int
record_io(struct loop_source *s, int fd, uint32_t revents, void *data)
{
  (void) s;
  struct io_seen *seen = data;
  seen->calls++;
  seen->fd = fd;
  seen->revents = revents;
  char buf[16];
  while (read(fd, buf, sizeof(buf)) > 0)
    ;
  return 0;
}

static void
test_io_readiness(void **state)
{
  (void) state;
  struct loop *l = new_loop();
  int p[2];
  new_pipe(p);
  struct io_seen seen = { 0 };
  struct loop_source *s = NULL;
  assert_int_equal(loop_add_io(l, p[0], EPOLLIN, record_io, &seen, &s, NULL), 0);
  assert_int_equal(loop_source_get_type(s), LOOP_SOURCE_IO);
  assert_int_equal(loop_io_get_fd(s), p[0]);

  assert_int_equal(loop_run_once(l, 0), 0);
  assert_int_equal(seen.calls, 0);

  assert_int_equal(write(p[1], "x", 1), 1);
  assert_int_equal(loop_run_once(l, 1000), 1);
  assert_int_equal(seen.calls, 1);
  assert_int_equal(seen.fd, p[0]);
  assert_true(seen.revents & EPOLLIN);

  /* An empty mask silences even the hang-up of a closed writer. */
  assert_int_equal(loop_io_set_events(s, 0), 0);
  close(p[1]);
  assert_int_equal(loop_run_once(l, 0), 0);
  assert_int_equal(seen.calls, 1);

  assert_int_equal(loop_io_set_events(s, EPOLLIN), 0);
  assert_int_equal(loop_run_once(l, 1000), 1);
  assert_true(seen.revents & EPOLLHUP);

  /* Disabled: not reported; enabled again: reported. */
  assert_int_equal(loop_source_set_enabled(s, false), 0);
  assert_false(loop_source_get_enabled(s));
  assert_int_equal(loop_run_once(l, 0), 0);
  assert_int_equal(loop_source_set_enabled(s, true), 0);
  assert_int_equal(loop_run_once(l, 0), 1);

  loop_io_own_fd(s);
  loop_source_free(s);
  /* The owned fd was closed with the source. */
  assert_int_equal(fcntl(p[0], F_GETFD), -1);
  loop_free(l);
}

struct child_seen
{
  int signals;
  pid_t pid;
  int status;
  uint32_t signo;
};

static int
reap(struct loop_source *s, const struct signalfd_siginfo *si, void *data)
{
  struct child_seen *seen = data;
  seen->signals++;
  seen->signo = si->ssi_signo;
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
    {
      seen->pid = pid;
      seen->status = status;
    }
  loop_exit(loop_source_get_loop(s), 0);
  return 0;
}

static void
test_signal_sigchld(void **state)
{
  (void) state;
  struct loop *l = new_loop();
  const int sigs[] = { SIGCHLD };
  assert_int_equal(loop_block_signals(sigs, ARRAY_SIZE(sigs), NULL), 0);

  struct child_seen seen = { 0 };
  struct loop_source *s = NULL;
  assert_int_equal(loop_add_signal(l, SIGCHLD, reap, &seen, &s, NULL), 0);

  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(loop_add_signal(l, SIGCHLD, reap, &seen, NULL, &err), -EBUSY);
  assert_string_equal(wedge_error_message(&err), "signal 17 is already watched");

  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0)
    _exit(7);

  alarm(10);
  assert_int_equal(loop_run(l), 0);
  alarm(0);
  assert_int_equal(seen.signo, SIGCHLD);
  assert_int_equal(seen.pid, child);
  assert_true(WIFEXITED(seen.status));
  assert_int_equal(WEXITSTATUS(seen.status), 7);

  loop_source_free(s);
  loop_free(l);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static void
test_unblocked_signal_refused(void **state)
{
  (void) state;
  struct loop *l = new_loop();
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR2);
  sigprocmask(SIG_UNBLOCK, &set, NULL);

  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  struct child_seen seen = { 0 };
  assert_int_equal(loop_add_signal(l, SIGUSR2, reap, &seen, NULL, &err), -EINVAL);
  assert_int_equal(err.status, WEDGE_INVALID_ARGUMENT);
  assert_non_null(strstr(wedge_error_message(&err), "is not blocked: call loop_block_signals() first"));
  loop_free(l);
}

static int
count_signal(struct loop_source *s, const struct signalfd_siginfo *si, void *data)
{
  (void) s;
  assert_int_equal(si->ssi_signo, SIGUSR1);
  (*(int *) data)++;
  return 0;
}

static void
test_disabled_signal_stays_pending(void **state)
{
  (void) state;
  struct loop *l = new_loop();
  const int sigs[] = { SIGUSR1 };
  assert_int_equal(loop_block_signals(sigs, ARRAY_SIZE(sigs), NULL), 0);
  int calls = 0;
  struct loop_source *s;
  assert_int_equal(loop_add_signal(l, SIGUSR1, count_signal, &calls, &s, NULL), 0);
  assert_int_equal(loop_source_set_enabled(s, false), 0);
  assert_int_equal(raise(SIGUSR1), 0);
  assert_int_equal(loop_run_once(l, 0), 0);
  assert_int_equal(calls, 0);

  sigset_t pending;
  sigpending(&pending);
  assert_true(sigismember(&pending, SIGUSR1));

  assert_int_equal(loop_source_set_enabled(s, true), 0);
  assert_int_equal(loop_run_once(l, 1000), 1);
  assert_int_equal(calls, 1);
  loop_free(l);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
}

struct timer_log
{
  const void *order[8];
  uint64_t at[8];
  int n;
  uint64_t start;
};

static int
log_timer(struct loop_source *s, uint64_t now, void *data)
{
  (void) now;
  struct timer_log *log = data;
  struct loop *l = loop_source_get_loop(s);
  log->at[log->n] = loop_clock_usec() - log->start;
  log->order[log->n++] = s;
  if (log->n == 3)
    loop_exit(l, 0);
  return 0;
}

static void
test_timers_fire_in_order_never_early(void **state)
{
  (void) state;
  struct loop *l = new_loop();
  struct timer_log log = { .start = loop_clock_usec() };
  struct loop_source *t30, *t10, *t20;
  assert_int_equal(loop_add_timer(l, 30000, log_timer, &log, &t30, NULL), 0);
  assert_int_equal(loop_add_timer(l, 10000, log_timer, &log, &t10, NULL), 0);
  assert_int_equal(loop_add_timer(l, 20000, log_timer, &log, &t20, NULL), 0);
  assert_int_equal(loop_source_get_type(t10), LOOP_SOURCE_TIMER);

  alarm(10);
  assert_int_equal(loop_run(l), 0);
  alarm(0);
  assert_int_equal(log.n, 3);
  assert_ptr_equal(log.order[0], t10);
  assert_ptr_equal(log.order[1], t20);
  assert_ptr_equal(log.order[2], t30);
  assert_true(log.at[0] >= 10000);
  assert_true(log.at[1] >= 20000);
  assert_true(log.at[2] >= 30000);
  /* One-shot: fired timers are disabled. */
  assert_false(loop_source_get_enabled(t10));
  assert_int_equal(loop_run_once(l, 0), 0);

  /* Re-armed. */
  log.n = 0;
  log.start = loop_clock_usec();
  assert_int_equal(loop_timer_set(t20, 5000), 0);
  while (log.n == 0)
    assert_true(loop_run_once(l, 1000) >= 0);
  assert_true(log.at[0] >= 5000);
  loop_free(l);
}

static int
rearm_zero(struct loop_source *s, uint64_t now, void *data)
{
  (void) now;
  int *calls = data;
  (*calls)++;
  return loop_timer_set(s, 0);
}

static void
test_timer_rearmed_in_callback_waits_for_next_iteration(void **state)
{
  (void) state;
  struct loop *l = new_loop();
  int calls = 0;
  assert_int_equal(loop_add_timer(l, 0, rearm_zero, &calls, NULL, NULL), 0);
  assert_int_equal(loop_run_once(l, 1000), 1);
  assert_int_equal(calls, 1);
  assert_int_equal(loop_run_once(l, 1000), 1);
  assert_int_equal(calls, 2);
  loop_free(l);
}

/* Two sources ready in the same epoll batch, each freeing the other (and itself) when it runs:
 * whichever runs first, the second must not be dispatched, and nothing is used after free. */
struct pair
{
  struct loop_source *a, *b;
  int calls;
};

static int
free_both(struct loop_source *s, int fd, uint32_t revents, void *data)
{
  (void) s;
  (void) fd;
  (void) revents;
  struct pair *p = data;
  p->calls++;
  loop_source_free(p->a);
  loop_source_free(p->b);
  /* Freeing twice is harmless. */
  loop_source_free(p->a);
  return 0;
}

static void
test_free_self_and_other_during_dispatch(void **state)
{
  (void) state;
  struct loop *l = new_loop();
  int p1[2], p2[2];
  new_pipe(p1);
  new_pipe(p2);
  struct pair pair = { 0 };
  assert_int_equal(loop_add_io(l, p1[0], EPOLLIN, free_both, &pair, &pair.a, NULL), 0);
  assert_int_equal(loop_add_io(l, p2[0], EPOLLIN, free_both, &pair, &pair.b, NULL), 0);
  loop_io_own_fd(pair.a);
  loop_io_own_fd(pair.b);
  assert_int_equal(write(p1[1], "x", 1), 1);
  assert_int_equal(write(p2[1], "x", 1), 1);

  assert_int_equal(loop_run_once(l, 1000), 1);
  assert_int_equal(pair.calls, 1);
  assert_int_equal(loop_run_once(l, 0), 0);
  assert_int_equal(pair.calls, 1);
  close(p1[1]);
  close(p2[1]);
  loop_free(l);
}

/* A callback removes another source and closes its fd; a new fd that takes the number must not
 * be confused with it. */
struct remover
{
  struct loop_source *victim;
  int victim_fd;
  int calls;
};

static int
remove_other(struct loop_source *s, int fd, uint32_t revents, void *data)
{
  (void) s;
  (void) fd;
  (void) revents;
  struct remover *r = data;
  r->calls++;
  if (r->victim)
    {
      loop_source_free(r->victim);
      close(r->victim_fd);
      r->victim = NULL;
    }
  char c;
  while (read(fd, &c, 1) > 0)
    ;
  return 0;
}

static int
must_not_run(struct loop_source *s, int fd, uint32_t revents, void *data)
{
  (void) s;
  (void) fd;
  (void) revents;
  (void) data;
  fail_msg("a removed source was dispatched");
  return 0;
}

static void
test_remove_other_source_from_callback(void **state)
{
  (void) state;
  struct loop *l = new_loop();
  int p1[2], p2[2];
  new_pipe(p1);
  new_pipe(p2);
  struct remover r = { .victim_fd = p2[0] };
  struct loop_source *killer;
  /* The victim is registered first so that epoll reports it in the same batch. */
  assert_int_equal(loop_add_io(l, p2[0], EPOLLIN, must_not_run, NULL, &r.victim, NULL), 0);
  assert_int_equal(loop_add_io(l, p1[0], EPOLLIN, remove_other, &r, &killer, NULL), 0);
  assert_int_equal(write(p1[1], "x", 1), 1);
  assert_int_equal(loop_run_once(l, 1000), 1);
  assert_int_equal(r.calls, 1);
  assert_null(r.victim);

  /* Now both ready in one batch, in whatever order epoll returns them. */
  struct loop_source *victim2;
  int p3[2];
  new_pipe(p3);
  r.victim_fd = p3[0];
  assert_int_equal(loop_add_io(l, p3[0], EPOLLIN, remove_other, &r, &victim2, NULL), 0);
  r.victim = victim2;
  assert_int_equal(write(p3[1], "x", 1), 1);
  assert_int_equal(write(p1[1], "x", 1), 1);
  int calls_before = r.calls;
  int dispatched = loop_run_once(l, 1000);
  assert_int_equal(dispatched, r.calls - calls_before);
  assert_true(r.calls - calls_before >= 1);
  assert_null(r.victim);

  loop_source_free(killer);
  close(p1[0]);
  close(p1[1]);
  close(p2[1]);
  close(p3[1]);
  loop_free(l);
}

struct defer_state
{
  int runs;
  int rearm;
  struct loop_source *timer;
};

static int
defer_cb(struct loop_source *s, void *data)
{
  struct defer_state *d = data;
  d->runs++;
  if (d->timer)
    {
      loop_source_free(d->timer);
      d->timer = NULL;
    }
  if (d->rearm-- > 0)
    return loop_source_set_enabled(s, true);
  return 0;
}

static int
never_timer(struct loop_source *s, uint64_t now, void *data)
{
  (void) s;
  (void) now;
  (void) data;
  fail_msg("freed timer fired");
  return 0;
}

static void
test_defer_runs_once_per_iteration(void **state)
{
  (void) state;
  struct loop *l = new_loop();
  struct defer_state d = { .rearm = 2 };
  struct loop_source *s;
  assert_int_equal(loop_add_defer(l, defer_cb, &d, &s, NULL), 0);
  assert_int_equal(loop_source_get_type(s), LOOP_SOURCE_DEFER);
  assert_int_equal(loop_add_timer(l, 60 * 1000000ull, never_timer, NULL, &d.timer, NULL), 0);

  /* A pending defer keeps epoll_wait from sleeping; re-enabled in its callback, it runs again
   * in the next iteration, not in the same one. */
  uint64_t t0 = loop_clock_usec();
  assert_int_equal(loop_run_once(l, 5000), 1);
  assert_int_equal(d.runs, 1);
  assert_null(d.timer);
  assert_int_equal(loop_run_once(l, 5000), 1);
  assert_int_equal(loop_run_once(l, 5000), 1);
  assert_int_equal(d.runs, 3);
  assert_true(loop_clock_usec() - t0 < 1000000);
  assert_false(loop_source_get_enabled(s));
  assert_int_equal(loop_run_once(l, 0), 0);
  loop_free(l);
}

static int
exit_after(struct loop_source *s, uint64_t now, void *data)
{
  (void) now;
  (void) data;
  loop_exit(loop_source_get_loop(s), 42);
  return 0;
}

static int
count_defer(struct loop_source *s, void *data)
{
  (void) s;
  (*(int *) data)++;
  return 0;
}

static void
test_exit_finishes_the_iteration(void **state)
{
  (void) state;
  struct loop *l = new_loop();
  int defers = 0;
  assert_int_equal(loop_add_timer(l, 1000, exit_after, NULL, NULL, NULL), 0);
  assert_false(loop_exit_requested(l));
  alarm(10);
  assert_int_equal(loop_run(l), 42);
  alarm(0);
  /* The request is consumed: the next run waits for the next exit. */
  assert_false(loop_exit_requested(l));
  assert_int_equal(loop_add_defer(l, count_defer, &defers, NULL, NULL), 0);
  assert_int_equal(loop_add_timer(l, 1000, exit_after, NULL, NULL, NULL), 0);
  assert_int_equal(loop_run(l), 42);
  assert_int_equal(defers, 1);
  loop_free(l);
}

struct failure_seen
{
  struct loop_source *s;
  int error;
  int calls;
};

static int
fail_io(struct loop_source *s, int fd, uint32_t revents, void *data)
{
  (void) s;
  (void) fd;
  (void) revents;
  (*(int *) data)++;
  return -EIO;
}

static void
on_failure(struct loop_source *s, int error, void *data)
{
  struct failure_seen *f = data;
  f->s = s;
  f->error = error;
  f->calls++;
}

static void
test_failing_callback_disables_only_its_source(void **state)
{
  (void) state;
  struct loop *l = new_loop();
  struct failure_seen f = { 0 };
  loop_set_failure_hook(l, on_failure, &f);
  int p1[2], p2[2];
  new_pipe(p1);
  new_pipe(p2);
  int failing_calls = 0;
  struct io_seen seen = { 0 };
  struct loop_source *bad, *good;
  assert_int_equal(loop_add_io(l, p1[0], EPOLLIN, fail_io, &failing_calls, &bad, NULL), 0);
  assert_int_equal(loop_add_io(l, p2[0], EPOLLIN, record_io, &seen, &good, NULL), 0);
  assert_int_equal(write(p1[1], "x", 1), 1);
  assert_int_equal(loop_run_once(l, 1000), 1);
  assert_int_equal(failing_calls, 1);
  assert_int_equal(f.calls, 1);
  assert_ptr_equal(f.s, bad);
  assert_int_equal(f.error, -EIO);
  assert_int_equal(loop_source_get_error(bad), -EIO);
  assert_false(loop_source_get_enabled(bad));

  /* Still readable, but disabled: not dispatched again; the other source goes on. */
  assert_int_equal(write(p2[1], "y", 1), 1);
  assert_int_equal(loop_run_once(l, 1000), 1);
  assert_int_equal(failing_calls, 1);
  assert_int_equal(seen.calls, 1);

  loop_io_own_fd(bad);
  loop_io_own_fd(good);
  close(p1[1]);
  close(p2[1]);
  loop_free(l);
}

static int
nested_run(struct loop_source *s, void *data)
{
  *(int *) data = loop_run_once(loop_source_get_loop(s), 0);
  return 0;
}

static void
test_not_reentrant(void **state)
{
  (void) state;
  struct loop *l = new_loop();
  int r = 0;
  assert_int_equal(loop_add_defer(l, nested_run, &r, NULL, NULL), 0);
  assert_int_equal(loop_run_once(l, 0), 1);
  assert_int_equal(r, -EBUSY);
  loop_free(l);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_io_readiness),
    cmocka_unit_test(test_signal_sigchld),
    cmocka_unit_test(test_unblocked_signal_refused),
    cmocka_unit_test(test_disabled_signal_stays_pending),
    cmocka_unit_test(test_timers_fire_in_order_never_early),
    cmocka_unit_test(test_timer_rearmed_in_callback_waits_for_next_iteration),
    cmocka_unit_test(test_free_self_and_other_during_dispatch),
    cmocka_unit_test(test_remove_other_source_from_callback),
    cmocka_unit_test(test_defer_runs_once_per_iteration),
    cmocka_unit_test(test_exit_finishes_the_iteration),
    cmocka_unit_test(test_failing_callback_disables_only_its_source),
    cmocka_unit_test(test_not_reentrant),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
