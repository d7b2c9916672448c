/* The shim's event loop: one thread, one epoll instance, no work in signal handlers.
 *
 * Every object the loop dispatches is a `struct loop_source` whose first member is its type tag
 * (systemd's event-source.h idea): the epoll data pointer of every registration points at such a
 * tag, so dispatch knows what woke without a lookup. Source kinds:
 *
 *   io      an fd and an epoll event mask (level-triggered), changeable with loop_io_set_events().
 *           The loop does not own the fd unless loop_io_own_fd() is called.
 *   signal  one signal number, delivered through the loop's single signalfd. The signal must be
 *           blocked in the whole process before the source is added (loop_block_signals()),
 *           otherwise its default action or a handler would see it first: adding an unblocked
 *           signal fails with -EINVAL. Signals coalesce (kernel semantics): one SIGCHLD may stand
 *           for many exits, so a SIGCHLD callback reaps with waitpid(-1, WNOHANG) until empty.
 *           A disabled signal source takes its signal out of the signalfd mask, so the signal
 *           stays pending (blocked) until the source is enabled again.
 *   timer   a one-shot CLOCK_MONOTONIC deadline; re-armed with loop_timer_set(). Timers are an
 *           ordered deadline list whose head becomes the epoll_wait() timeout, not timerfds:
 *           the shim's timers are few and coarse (IO drain, shutdown grace, runtime timeouts),
 *           so arming one costs no fd, no epoll_ctl() and no syscall. Deadlines are rounded up
 *           to the millisecond epoll_wait() can express, so a timer never fires early.
 *   defer   a callback run after the epoll events and timers of the current iteration (or of
 *           the next one if enabled from a defer callback, so a defer cannot starve the loop).
 *           One-shot: it disables itself before its callback runs; loop_source_set_enabled()
 *           queues it again. While a defer is pending, epoll_wait() does not sleep.
 *
 * One iteration: epoll_wait() (sleeping until the nearest timer, or not at all when a defer is
 * pending), dispatch of the io and signal events, expired timers, pending defers, then release of
 * the sources freed during the iteration.
 *
 * Lifetime: loop_source_free() may be called at any time, also from any callback, on any
 * source including the one running. It unregisters at once (epoll_ctl DEL before returning, so
 * the caller may close the fd next) and the source is never dispatched again, but its memory
 * is released only at the end of the iteration (libuv's closing handles, redis ae.c), because
 * the events already returned by epoll_wait() may still point at it. Callbacks therefore never
 * see freed memory, and the loop re-checks the source after every callback.
 *
 * Failure: a callback returns 0 or a negative errno. A negative return disables that source
 * only (the rest of the loop goes on) and is reported to the hook set with
 * loop_set_failure_hook(), for logging. No source ever makes the loop exit on its own; only
 * loop_exit() does.
 *
 * No allocation happens per event: sources are allocated when added; epoll events are read into
 * a fixed array and signals into a stack buffer.
 *
 * Fork: signals blocked with loop_block_signals() stay blocked in a forked child; whoever execs
 * a child (the runtime) must restore the signal mask in the child first.
 *
 * The loop is not thread-safe and not reentrant: loop_run()/loop_run_once() from a callback
 * fails with -EBUSY. */
#ifndef WEDGE_LOOP_H
#define WEDGE_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/signalfd.h>

#include "base/error.h"

enum loop_source_type
{
  LOOP_SOURCE_IO = 1,
  LOOP_SOURCE_SIGNAL,
  LOOP_SOURCE_TIMER,
  LOOP_SOURCE_DEFER,
  LOOP_SOURCE_SIGNALFD, /* internal: the loop's own signalfd registration */
};

struct loop;
struct loop_source;

typedef int (*loop_io_cb)(struct loop_source *s, int fd, uint32_t revents, void *data);
typedef int (*loop_signal_cb)(struct loop_source *s, const struct signalfd_siginfo *si, void *data);
/* `now_usec` is the CLOCK_MONOTONIC time of this iteration. */
typedef int (*loop_timer_cb)(struct loop_source *s, uint64_t now_usec, void *data);
typedef int (*loop_defer_cb)(struct loop_source *s, void *data);
typedef void (*loop_failure_hook)(struct loop_source *s, int error, void *data);

int loop_new(struct loop **ret, wedge_error_t *err);
/* Frees every source still registered (closing owned fds) and the loop. Not from a callback. */
void loop_free(struct loop *l);

/* Blocks the `n` given signals in the calling thread, which for the single-threaded shim is the
 * whole process. Call before adding signal sources. */
int loop_block_signals(const int *signals, size_t n, wedge_error_t *err);

/* `ret` may be NULL when the source lives as long as the loop. */
int loop_add_io(struct loop *l, int fd, uint32_t events, loop_io_cb cb, void *data, struct loop_source **ret,
                wedge_error_t *err);
int loop_add_signal(struct loop *l, int signo, loop_signal_cb cb, void *data, struct loop_source **ret,
                    wedge_error_t *err);
/* Fires once, `usec` microseconds from now. */
int loop_add_timer(struct loop *l, uint64_t usec, loop_timer_cb cb, void *data, struct loop_source **ret,
                   wedge_error_t *err);
/* Queued at once: runs at the end of the current (or next) iteration. */
int loop_add_defer(struct loop *l, loop_defer_cb cb, void *data, struct loop_source **ret, wedge_error_t *err);

/* Changes the events of an io source (0 is allowed and stops all reports, EPOLLHUP included). */
int loop_io_set_events(struct loop_source *s, uint32_t events);
uint32_t loop_io_get_events(const struct loop_source *s);
int loop_io_get_fd(const struct loop_source *s);
/* The fd is closed when the source is freed. */
void loop_io_own_fd(struct loop_source *s);

/* Re-arms a timer `usec` from now, and enables it. */
int loop_timer_set(struct loop_source *s, uint64_t usec);

/* Enables or disables any source. Disabling an io source removes it from epoll; a timer keeps
 * its deadline and fires when enabled again if the deadline passed meanwhile; enabling a defer
 * queues it. */
int loop_source_set_enabled(struct loop_source *s, bool enabled);
bool loop_source_get_enabled(const struct loop_source *s);
enum loop_source_type loop_source_get_type(const struct loop_source *s);
struct loop *loop_source_get_loop(const struct loop_source *s);
/* The last negative errno a callback of this source returned, 0 if none. */
int loop_source_get_error(const struct loop_source *s);

/* Unregisters now, releases at the end of the iteration (see the header comment). NULL is fine. */
void loop_source_free(struct loop_source *s);

void loop_set_failure_hook(struct loop *l, loop_failure_hook hook, void *data);

/* CLOCK_MONOTONIC in microseconds, cached per iteration while dispatching. */
uint64_t loop_now(struct loop *l);

/* CLOCK_MONOTONIC in microseconds, read now: the clock of every loop's timers. */
uint64_t loop_clock_usec(void);

/* The same in milliseconds, for the deadlines that code outside a loop's dispatch keeps. */
int64_t loop_clock_ms(void);

/* One iteration, sleeping at most timeout_ms (-1: until something happens). Returns the number
 * of callbacks dispatched, or a negative errno (-EBUSY when called from a callback). */
int loop_run_once(struct loop *l, int timeout_ms);
/* Iterates until loop_exit(); returns the code given to loop_exit(). */
int loop_run(struct loop *l);
/* Requests the end of loop_run() after the current iteration completes. */
void loop_exit(struct loop *l, int code);
bool loop_exit_requested(const struct loop *l);

/* Running one asynchronous operation to completion on a private loop: the blocking API that the
 * CLI and the unit tests use is the asynchronous one run this way, so there is one
 * implementation of each operation. The pattern, for an operation `op_async(loop, done, data)`
 * whose `done` callback stores its results and calls loop_sync_complete():
 *
 *   struct loop_sync s;
 *   int r = loop_sync_begin(&s, err);
 *   if (r < 0) return r;
 *   return loop_sync_end(&s, op_async(s.loop, done, &s, err), err);
 *
 * loop_sync_end() runs the loop until loop_sync_complete() was called when `started` is 0, takes
 * over the result (r and the error) and frees the loop; a negative `started` (nothing started, the
 * error already in err) and 1 (finished at once, success) are returned as they are. The private
 * loop is a loop of its own, so this may be called from a callback of another loop, which then
 * waits meanwhile. */
struct loop_sync
{
  struct loop *loop;
  bool done;
  int r;
  wedge_error_t err;
};
int loop_sync_begin(struct loop_sync *s, wedge_error_t *err);
/* Records the result (taking the error's message) and ends loop_sync_end()'s wait. */
void loop_sync_complete(struct loop_sync *s, int r, wedge_error_t *err);
int loop_sync_end(struct loop_sync *s, int started, wedge_error_t *err);

#endif
