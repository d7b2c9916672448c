#include "base/loop.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"

#define LOOP_MAX_EVENTS 64
#define LOOP_SIGINFO_BATCH 16

struct loop_source
{
  enum loop_source_type type; /* first: epoll's data.ptr points here */
  struct loop *loop;
  void *data;
  bool enabled;
  bool closing;
  int error;
  struct loop_source *prev, *next;         /* every live source, for loop_free() */
  struct loop_source *q_prev, *q_next;     /* timer list or defer queue */
  uint64_t stamp;                          /* phase in which it was (re)queued */
  struct loop_source *closing_next;
  union
  {
    struct
    {
      int fd;
      uint32_t events;
      bool registered;
      bool owned;
      loop_io_cb cb;
    } io;
    struct
    {
      int signo;
      loop_signal_cb cb;
    } signal;
    struct
    {
      uint64_t deadline;
      bool linked;
      loop_timer_cb cb;
    } timer;
    struct
    {
      bool queued;
      loop_defer_cb cb;
    } defer;
  };
};

struct loop
{
  enum loop_source_type signalfd_tag; /* data.ptr of the signalfd registration */
  int epfd;
  int sigfd;
  sigset_t sigmask;
  struct loop_source *signal_sources[_NSIG];

  struct loop_source *sources;
  struct loop_source *timers;         /* ordered by deadline, enabled only */
  struct loop_source *defers, *defers_tail;
  struct loop_source *closing;

  bool dispatching;
  bool exit_requested;
  int exit_code;
  uint64_t now;
  uint64_t phase;                     /* bumped when the timer and defer phases start */

  loop_failure_hook failure_hook;
  void *failure_data;

  struct epoll_event events[LOOP_MAX_EVENTS];
};

uint64_t
loop_clock_usec(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

int64_t
loop_clock_ms(void)
{
  return (int64_t) (loop_clock_usec() / 1000);
}

uint64_t
loop_now(struct loop *l)
{
  return l->dispatching ? l->now : loop_clock_usec();
}

int
loop_new(struct loop **ret, wedge_error_t *err)
{
  _cleanup_free_ struct loop *l = calloc(1, sizeof(*l));
  if (l == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "cannot allocate event loop");
  l->signalfd_tag = LOOP_SOURCE_SIGNALFD;
  sigemptyset(&l->sigmask);

  _cleanup_close_ int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "epoll_create1");
  _cleanup_close_ int sigfd = signalfd(-1, &l->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sigfd < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "signalfd");
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &l->signalfd_tag };
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, sigfd, &ev) < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "epoll_ctl(signalfd)");

  l->epfd = TAKE_FD(epfd);
  l->sigfd = TAKE_FD(sigfd);
  *ret = TAKE_PTR(l);
  return 0;
}

static void source_unlink(struct loop_source *s);

static void
source_release(struct loop_source *s)
{
  if (s->type == LOOP_SOURCE_IO && s->io.owned && s->io.fd >= 0)
    close(s->io.fd);
  free(s);
}

void
loop_free(struct loop *l)
{
  if (l == NULL)
    return;
  assert(!l->dispatching);
  while (l->sources)
    {
      struct loop_source *s = l->sources;
      source_unlink(s);
      source_release(s);
    }
  while (l->closing)
    {
      struct loop_source *s = l->closing;
      l->closing = s->closing_next;
      source_release(s);
    }
  close(l->sigfd);
  close(l->epfd);
  free(l);
}

int
loop_block_signals(const int *signals, size_t n, wedge_error_t *err)
{
  sigset_t set;
  sigemptyset(&set);
  for (size_t i = 0; i < n; i++)
    if (sigaddset(&set, signals[i]) < 0)
      return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "invalid signal number %d", signals[i]);
  if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "sigprocmask");
  return 0;
}

static struct loop_source *
source_new(struct loop *l, enum loop_source_type type, void *data)
{
  struct loop_source *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->type = type;
  s->loop = l;
  s->data = data;
  s->next = l->sources;
  if (l->sources)
    l->sources->prev = s;
  l->sources = s;
  return s;
}

/* ---- io ---- */

static int
io_sync(struct loop_source *s)
{
  struct loop *l = s->loop;
  /* epoll reports EPOLLHUP and EPOLLERR even with an empty mask, so "no events" means "not in
   * epoll at all". */
  bool want = s->enabled && !s->closing && s->io.events != 0;
  struct epoll_event ev = { .events = s->io.events, .data.ptr = &s->type };

  if (want && !s->io.registered)
    {
      if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, s->io.fd, &ev) < 0)
        return -errno;
      s->io.registered = true;
    }
  else if (want)
    {
      if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, s->io.fd, &ev) < 0)
        return -errno;
    }
  else if (s->io.registered)
    {
      s->io.registered = false;
      /* Fails with EBADF if the fd was closed already; the registration is gone then anyway
       * unless the description lives on in a dup, which is the caller's bug (free before close). */
      (void) epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->io.fd, NULL);
    }
  return 0;
}

int
loop_add_io(struct loop *l, int fd, uint32_t events, loop_io_cb cb, void *data, struct loop_source **ret,
            wedge_error_t *err)
{
  assert(cb);
  if (fd < 0)
    return wedge_error_set(err, EBADF, WEDGE_INVALID_ARGUMENT, "invalid fd %d", fd);
  struct loop_source *s = source_new(l, LOOP_SOURCE_IO, data);
  if (s == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "cannot allocate io source");
  s->io.fd = fd;
  s->io.events = events;
  s->io.cb = cb;
  s->enabled = true;
  int r = io_sync(s);
  if (r < 0)
    {
      source_unlink(s);
      free(s);
      return wedge_error_set_errno(err, r, WEDGE_INTERNAL, "cannot watch fd %d", fd);
    }
  if (ret)
    *ret = s;
  return 0;
}

int
loop_io_set_events(struct loop_source *s, uint32_t events)
{
  assert(s->type == LOOP_SOURCE_IO);
  if (s->io.events == events)
    return 0;
  uint32_t old = s->io.events;
  s->io.events = events;
  int r = io_sync(s);
  if (r < 0)
    s->io.events = old;
  return r;
}

uint32_t
loop_io_get_events(const struct loop_source *s)
{
  assert(s->type == LOOP_SOURCE_IO);
  return s->io.events;
}

int
loop_io_get_fd(const struct loop_source *s)
{
  assert(s->type == LOOP_SOURCE_IO);
  return s->io.fd;
}

void
loop_io_own_fd(struct loop_source *s)
{
  assert(s->type == LOOP_SOURCE_IO);
  s->io.owned = true;
}

/* ---- signals ---- */

static int
signal_sync(struct loop *l)
{
  if (signalfd(l->sigfd, &l->sigmask, SFD_NONBLOCK | SFD_CLOEXEC) < 0)
    return -errno;
  return 0;
}

static int
signal_set_watched(struct loop_source *s, bool on)
{
  struct loop *l = s->loop;
  if (on)
    sigaddset(&l->sigmask, s->signal.signo);
  else
    sigdelset(&l->sigmask, s->signal.signo);
  return signal_sync(l);
}

int
loop_add_signal(struct loop *l, int signo, loop_signal_cb cb, void *data, struct loop_source **ret,
                wedge_error_t *err)
{
  assert(cb);
  if (signo <= 0 || signo >= _NSIG || signo == SIGKILL || signo == SIGSTOP)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "invalid signal number %d", signo);
  if (l->signal_sources[signo])
    return wedge_error_set(err, EBUSY, WEDGE_ALREADY_EXISTS, "signal %d is already watched", signo);

  sigset_t blocked;
  if (sigprocmask(SIG_BLOCK, NULL, &blocked) < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "sigprocmask");
  /* An unblocked signal would take its default action (or a handler) before signalfd saw it. */
  if (!sigismember(&blocked, signo))
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT,
                           "signal %d (%s) is not blocked: call loop_block_signals() first", signo,
                           strsignal(signo));

  struct loop_source *s = source_new(l, LOOP_SOURCE_SIGNAL, data);
  if (s == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "cannot allocate signal source");
  s->signal.signo = signo;
  s->signal.cb = cb;
  s->enabled = true;
  l->signal_sources[signo] = s;
  int r = signal_set_watched(s, true);
  if (r < 0)
    {
      source_unlink(s);
      free(s);
      return wedge_error_set_errno(err, r, WEDGE_INTERNAL, "signalfd");
    }
  if (ret)
    *ret = s;
  return 0;
}

/* ---- timers ---- */

/* Takes `s` out of the timer list or the defer queue (`tail` NULL for the list without one). */
static void
queue_unlink(struct loop_source *s, struct loop_source **head, struct loop_source **tail)
{
  if (s->q_prev)
    s->q_prev->q_next = s->q_next;
  else
    *head = s->q_next;
  if (s->q_next)
    s->q_next->q_prev = s->q_prev;
  else if (tail)
    *tail = s->q_prev;
  s->q_prev = s->q_next = NULL;
}

static void
timer_unlink(struct loop_source *s)
{
  struct loop *l = s->loop;
  if (!s->timer.linked)
    return;
  queue_unlink(s, &l->timers, NULL);
  s->timer.linked = false;
}

static void
timer_link(struct loop_source *s)
{
  struct loop *l = s->loop;
  assert(!s->timer.linked);
  struct loop_source *prev = NULL, *cur = l->timers;
  while (cur && cur->timer.deadline <= s->timer.deadline)
    {
      prev = cur;
      cur = cur->q_next;
    }
  s->q_prev = prev;
  s->q_next = cur;
  if (prev)
    prev->q_next = s;
  else
    l->timers = s;
  if (cur)
    cur->q_prev = s;
  s->timer.linked = true;
  s->stamp = l->phase;
}

int
loop_add_timer(struct loop *l, uint64_t usec, loop_timer_cb cb, void *data, struct loop_source **ret,
               wedge_error_t *err)
{
  assert(cb);
  struct loop_source *s = source_new(l, LOOP_SOURCE_TIMER, data);
  if (s == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "cannot allocate timer source");
  s->timer.cb = cb;
  (void) loop_timer_set(s, usec);
  if (ret)
    *ret = s;
  return 0;
}

int
loop_timer_set(struct loop_source *s, uint64_t usec)
{
  assert(s->type == LOOP_SOURCE_TIMER);
  if (s->closing)
    return -ESTALE;
  timer_unlink(s);
  s->timer.deadline = loop_clock_usec() + usec;
  s->enabled = true;
  timer_link(s);
  return 0;
}

/* ---- defers ---- */

static void
defer_unqueue(struct loop_source *s)
{
  struct loop *l = s->loop;
  if (!s->defer.queued)
    return;
  queue_unlink(s, &l->defers, &l->defers_tail);
  s->defer.queued = false;
}

static void
defer_queue(struct loop_source *s)
{
  struct loop *l = s->loop;
  if (s->defer.queued)
    return;
  s->q_prev = l->defers_tail;
  s->q_next = NULL;
  if (l->defers_tail)
    l->defers_tail->q_next = s;
  else
    l->defers = s;
  l->defers_tail = s;
  s->defer.queued = true;
  s->stamp = l->phase;
}

int
loop_add_defer(struct loop *l, loop_defer_cb cb, void *data, struct loop_source **ret, wedge_error_t *err)
{
  assert(cb);
  struct loop_source *s = source_new(l, LOOP_SOURCE_DEFER, data);
  if (s == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "cannot allocate defer source");
  s->defer.cb = cb;
  s->enabled = true;
  defer_queue(s);
  if (ret)
    *ret = s;
  return 0;
}

/* ---- generic ---- */

int
loop_source_set_enabled(struct loop_source *s, bool enabled)
{
  if (s->closing)
    return -ESTALE;
  if (s->enabled == enabled)
    return 0;
  s->enabled = enabled;
  int r = 0;
  switch (s->type)
    {
    case LOOP_SOURCE_IO:
      r = io_sync(s);
      break;
    case LOOP_SOURCE_SIGNAL:
      r = signal_set_watched(s, enabled);
      break;
    case LOOP_SOURCE_TIMER:
      if (enabled)
        timer_link(s);
      else
        timer_unlink(s);
      break;
    case LOOP_SOURCE_DEFER:
      if (enabled)
        defer_queue(s);
      else
        defer_unqueue(s);
      break;
    case LOOP_SOURCE_SIGNALFD:
    default:
      assert(!"not a user source");
    }
  if (r < 0)
    s->enabled = !enabled;
  return r;
}

bool
loop_source_get_enabled(const struct loop_source *s)
{
  return s->enabled && !s->closing;
}

enum loop_source_type
loop_source_get_type(const struct loop_source *s)
{
  return s->type;
}

struct loop *
loop_source_get_loop(const struct loop_source *s)
{
  return s->loop;
}

int
loop_source_get_error(const struct loop_source *s)
{
  return s->error;
}

/* Takes the source out of every structure of the loop; the memory stays. */
static void
source_unlink(struct loop_source *s)
{
  struct loop *l = s->loop;
  switch (s->type)
    {
    case LOOP_SOURCE_IO:
      s->enabled = false;
      (void) io_sync(s);
      break;
    case LOOP_SOURCE_SIGNAL:
      if (s->enabled)
        (void) signal_set_watched(s, false);
      l->signal_sources[s->signal.signo] = NULL;
      break;
    case LOOP_SOURCE_TIMER:
      timer_unlink(s);
      break;
    case LOOP_SOURCE_DEFER:
      defer_unqueue(s);
      break;
    case LOOP_SOURCE_SIGNALFD:
    default:
      assert(!"not a user source");
    }
  s->enabled = false;
  if (s->prev)
    s->prev->next = s->next;
  else
    l->sources = s->next;
  if (s->next)
    s->next->prev = s->prev;
  s->prev = s->next = NULL;
}

void
loop_source_free(struct loop_source *s)
{
  if (s == NULL || s->closing)
    return;
  struct loop *l = s->loop;
  source_unlink(s);
  s->closing = true;
  if (l->dispatching)
    {
      s->closing_next = l->closing;
      l->closing = s;
    }
  else
    source_release(s);
}

void
loop_set_failure_hook(struct loop *l, loop_failure_hook hook, void *data)
{
  l->failure_hook = hook;
  l->failure_data = data;
}

void
loop_exit(struct loop *l, int code)
{
  l->exit_requested = true;
  l->exit_code = code;
}

bool
loop_exit_requested(const struct loop *l)
{
  return l->exit_requested;
}

/* ---- dispatch ---- */

static void
after_callback(struct loop_source *s, int r)
{
  if (r >= 0 || s->closing)
    return;
  s->error = r;
  (void) loop_source_set_enabled(s, false);
  if (s->loop->failure_hook)
    s->loop->failure_hook(s, r, s->loop->failure_data);
}

static int
dispatch_signals(struct loop *l)
{
  struct signalfd_siginfo si[LOOP_SIGINFO_BATCH];
  ssize_t n = read(l->sigfd, si, sizeof(si));
  if (n < 0)
    return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;

  int dispatched = 0;
  for (size_t i = 0; i < (size_t) n / sizeof(si[0]); i++)
    {
      uint32_t signo = si[i].ssi_signo;
      if (signo >= _NSIG)
        continue;
      struct loop_source *s = l->signal_sources[signo];
      if (s == NULL || !s->enabled || s->closing)
        continue;
      after_callback(s, s->signal.cb(s, &si[i], s->data));
      dispatched++;
    }
  return dispatched;
}

static int
dispatch_event(struct loop *l, const struct epoll_event *ev)
{
  enum loop_source_type *tag = ev->data.ptr;
  if (*tag == LOOP_SOURCE_SIGNALFD)
    return dispatch_signals(l);

  assert(*tag == LOOP_SOURCE_IO);
  struct loop_source *s = (struct loop_source *) tag;
  /* An earlier callback of this batch may have freed, disabled or re-aimed this source. */
  if (s->closing || !s->io.registered)
    return 0;
  uint32_t revents = ev->events & (s->io.events | EPOLLHUP | EPOLLERR);
  if (revents == 0)
    return 0;
  after_callback(s, s->io.cb(s, s->io.fd, revents, s->data));
  return 1;
}

static int
dispatch_timers(struct loop *l)
{
  int dispatched = 0;
  l->phase++;
  for (;;)
    {
      /* Callbacks may re-arm or free any timer, so the scan restarts after each one. A timer
       * armed during this phase waits for the next iteration, even with a zero delay. */
      struct loop_source *s = l->timers;
      while (s && s->timer.deadline <= l->now && s->stamp == l->phase)
        s = s->q_next;
      if (s == NULL || s->timer.deadline > l->now)
        return dispatched;
      timer_unlink(s);
      s->enabled = false;
      after_callback(s, s->timer.cb(s, l->now, s->data));
      dispatched++;
    }
}

static int
dispatch_defers(struct loop *l)
{
  int dispatched = 0;
  l->phase++;
  for (;;)
    {
      struct loop_source *s = l->defers;
      if (s == NULL || s->stamp == l->phase)
        return dispatched;
      defer_unqueue(s);
      s->enabled = false;
      after_callback(s, s->defer.cb(s, s->data));
      dispatched++;
    }
}

static int
compute_timeout(struct loop *l, int timeout_ms)
{
  if (l->defers)
    return 0;
  if (l->timers == NULL)
    return timeout_ms;
  uint64_t now = loop_clock_usec();
  uint64_t deadline = l->timers->timer.deadline;
  if (deadline <= now)
    return 0;
  uint64_t ms = (deadline - now + 999) / 1000;
  if (ms > INT32_MAX)
    ms = INT32_MAX;
  if (timeout_ms >= 0 && (uint64_t) timeout_ms < ms)
    return timeout_ms;
  return (int) ms;
}

int
loop_run_once(struct loop *l, int timeout_ms)
{
  if (l->dispatching)
    return -EBUSY;

  int n = epoll_wait(l->epfd, l->events, LOOP_MAX_EVENTS, compute_timeout(l, timeout_ms));
  if (n < 0)
    {
      if (errno != EINTR)
        return -errno;
      n = 0;
    }

  l->dispatching = true;
  l->now = loop_clock_usec();
  int dispatched = 0;
  for (int i = 0; i < n; i++)
    {
      int r = dispatch_event(l, &l->events[i]);
      if (r > 0)
        dispatched += r;
    }
  dispatched += dispatch_timers(l);
  dispatched += dispatch_defers(l);
  l->dispatching = false;

  while (l->closing)
    {
      struct loop_source *s = l->closing;
      l->closing = s->closing_next;
      source_release(s);
    }
  return dispatched;
}

int
loop_run(struct loop *l)
{
  if (l->dispatching)
    return -EBUSY;
  while (!l->exit_requested)
    {
      int r = loop_run_once(l, -1);
      if (r < 0)
        return r;
    }
  l->exit_requested = false;
  return l->exit_code;
}

int
loop_sync_begin(struct loop_sync *s, wedge_error_t *err)
{
  *s = (struct loop_sync){ .err = WEDGE_ERROR_INIT };
  return loop_new(&s->loop, err);
}

void
loop_sync_complete(struct loop_sync *s, int r, wedge_error_t *err)
{
  s->done = true;
  s->r = r;
  if (err)
    wedge_error_move(&s->err, err);
}

int
loop_sync_end(struct loop_sync *s, int started, wedge_error_t *err)
{
  int r = started;
  if (started == 0)
    {
      while (!s->done && r >= 0)
        r = loop_run_once(s->loop, -1);
      if (r >= 0)
        {
          r = s->r;
          if (err)
            wedge_error_move(err, &s->err);
        }
      else
        wedge_error_set(err, -r, WEDGE_INTERNAL, "event loop failed");
    }
  else if (started > 0)
    r = 0;
  wedge_error_clear(&s->err);
  loop_free(s->loop);
  s->loop = NULL;
  return r;
}
