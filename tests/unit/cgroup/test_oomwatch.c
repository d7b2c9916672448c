#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cgroup/cgroup.h"
#include "base/cleanup.h"
#include "base/loop.h"
#include "cgroup/oomwatch.h"
#include "fifo_loop.h"
#include "testutil.h"

/* A v2 cgroup directory of our own on a loop of the test's own (fifo_loop.h): only
 * memory.events matters to the watch, and inotify reports a write to a plain file as it reports
 * the kernel's modification of memory.events. */
struct fixture
{
  struct fifo_loop fl;
  char *events;
  struct cgroup cg;
  int ooms;
};

static void
write_events(struct fixture *f, unsigned oom_kill)
{
  char text[128];
  snprintf(text, sizeof(text), "low 0\nhigh 0\nmax 3\noom 1\noom_kill %u\noom_group_kill 0\n", oom_kill);
  assert_int_equal(tu_write_file(f->events, text, 0644), 0);
}

static int
setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  fifo_loop_init(&f->fl);
  assert_non_null(f->events = tu_path(f->fl.dir, "memory.events"));
  f->cg.mode = CGROUP_MODE_UNIFIED;
  f->cg.path = f->fl.dir;
  *state = f;
  return 0;
}

static int
teardown(void **state)
{
  struct fixture *f = *state;
  fifo_loop_destroy(&f->fl);
  free(f->events);
  free(f);
  return 0;
}

static void
on_oom(void *data)
{
  struct fixture *f = data;
  f->ooms++;
}

static void
test_v2_counter_increase_is_one_oom(void **state)
{
  struct fixture *f = *state;
  /* A count from before the watch is not this container's OOM. */
  write_events(f, 2);
  struct oomwatch *w = NULL;
  assert_int_equal(oomwatch_new(f->fl.loop, &f->cg, on_oom, f, &w, NULL), 0);
  fifo_loop_settle(&f->fl);
  assert_int_equal(f->ooms, 0);

  write_events(f, 3);
  fifo_loop_settle(&f->fl);
  assert_int_equal(f->ooms, 1);

  /* memory.events changes for other reasons (high, max): no OOM. */
  write_events(f, 3);
  fifo_loop_settle(&f->fl);
  assert_int_equal(f->ooms, 1);
  oomwatch_free(w);
}

static void
test_check_at_exit_reports_first_and_once(void **state)
{
  struct fixture *f = *state;
  write_events(f, 0);
  struct oomwatch *w = NULL;
  assert_int_equal(oomwatch_new(f->fl.loop, &f->cg, on_oom, f, &w, NULL), 0);
  /* The kill happened, the loop has not dispatched its notification: the exit path sees it. */
  write_events(f, 1);
  oomwatch_check(w);
  assert_int_equal(f->ooms, 1);
  /* The queued notification afterwards does not report it again, nor does a second check. */
  fifo_loop_settle(&f->fl);
  oomwatch_check(w);
  assert_int_equal(f->ooms, 1);
  oomwatch_free(w);
}

static void
test_no_memory_cgroup(void **state)
{
  struct fixture *f = *state;
  struct cgroup v1 = { .mode = CGROUP_MODE_V1 };
  struct oomwatch *w = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(oomwatch_new(f->fl.loop, &v1, on_oom, f, &w, &err), -ENOENT);
  assert_int_equal(err.status, WEDGE_NOT_FOUND);
  assert_string_equal(wedge_error_message(&err), "no memory cgroup to watch");
  assert_null(w);
  /* v2 without memory.events (memory controller not enabled for the cgroup). */
  assert_int_equal(oomwatch_new(f->fl.loop, &f->cg, on_oom, f, &w, &err), -ENOENT);
  assert_null(w);
  oomwatch_check(NULL);
  oomwatch_free(NULL);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_v2_counter_increase_is_one_oom, setup, teardown),
    cmocka_unit_test_setup_teardown(test_check_at_exit_reports_first_and_once, setup, teardown),
    cmocka_unit_test_setup_teardown(test_no_memory_cgroup, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
