/* A temp dir for FIFOs and files, and an epoll loop of the test's own: the fixture of the tests
 * that drive something on the loop from the outside (test_iocopy's copiers, test_oomwatch's
 * watch, test_spawn's runtime calls in flight). The waits poll against a deadline and never depend on tight timings: the machines
 * that run the tests are loaded. Include after cmocka.h; the helpers assert. */
#ifndef WEDGE_TEST_FIFO_LOOP_H
#define WEDGE_TEST_FIFO_LOOP_H

#include <stddef.h>
#include <stdint.h>

#include "base/loop.h"

struct fifo_loop
{
  char *dir; /* removed, with all in it, by fifo_loop_destroy */
  struct loop *loop;
};

void fifo_loop_init(struct fifo_loop *fl);
void fifo_loop_destroy(struct fifo_loop *fl);
/* The same as a cmocka setup/teardown pair, for a test that needs nothing else: *state is the
 * struct fifo_loop. */
int fifo_loop_setup(void **state);
int fifo_loop_teardown(void **state);

/* Makes the FIFO dir/name; returns its path. */
char *fifo_loop_mkfifo(struct fifo_loop *fl, const char *name);

/* Runs the loop for `ms`, whatever happens. */
void fifo_loop_run_for(struct fifo_loop *fl, int ms);
/* Runs the loop until a 50 ms round dispatches nothing: what was queued has been handled. */
void fifo_loop_settle(struct fifo_loop *fl);
/* Runs the loop while reading fd into buf, until `len` bytes came, EOF, or `ms` passed; returns
 * the bytes read. A blocking fd is read only when poll says so. */
size_t fifo_loop_read(struct fifo_loop *fl, int fd, char *buf, size_t len, int ms);

/* Runs the loop until `cond` holds or `ms` passed (then the caller's assertion fails). */
#define fifo_loop_until(fl, cond, ms)                                                              \
  do                                                                                               \
    {                                                                                              \
      int64_t fifo_loop_end_ = loop_clock_ms() + (ms);                                          \
      while (!(cond) && loop_clock_ms() < fifo_loop_end_)                                       \
        assert_true(loop_run_once((fl)->loop, 10) >= 0);                                           \
    }                                                                                              \
  while (0)

#endif
