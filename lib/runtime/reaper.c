#include "runtime/reaper.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "base/loop.h"
#include "runtime/spawn.h"

struct reaper_exit
{
  pid_t pid;
  int wait_status;
  time_t reaped_at; /* CLOCK_MONOTONIC seconds */
};

struct reaper
{
  struct reaper_exit cache[REAPER_CACHE_MAX];
  size_t n_cache;
};

static time_t
reaper_now(void)
{
  return (time_t) (loop_clock_usec() / 1000000);
}

int
reaper_new(struct reaper **ret, wedge_error_t *err)
{
  /* Without this, a container init whose runtime has exited is reparented to pid 1 and its exit
   * never reaches us. */
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "prctl(PR_SET_CHILD_SUBREAPER)");

  struct reaper *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "out of memory");
  *ret = r;
  return 0;
}

void
reaper_free(struct reaper *r)
{
  free(r);
}

static void
reaper_remove_at(struct reaper *r, size_t i)
{
  r->cache[i] = r->cache[--r->n_cache];
}

static void
reaper_expire(struct reaper *r, time_t now)
{
  for (size_t i = 0; i < r->n_cache;)
    {
      if (now - r->cache[i].reaped_at > REAPER_CACHE_TTL_S)
        reaper_remove_at(r, i);
      else
        i++;
    }
}

static void
reaper_cache_put(struct reaper *r, pid_t pid, int wait_status)
{
  time_t now = reaper_now();
  reaper_expire(r, now);
  if (r->n_cache == REAPER_CACHE_MAX)
    {
      /* Full of young entries: the oldest is the least likely still to be claimed. */
      size_t oldest = 0;
      for (size_t i = 1; i < r->n_cache; i++)
        if (r->cache[i].reaped_at < r->cache[oldest].reaped_at)
          oldest = i;
      reaper_remove_at(r, oldest);
    }
  r->cache[r->n_cache++] = (struct reaper_exit){ pid, wait_status, now };
}

int
reaper_collect(struct reaper *r, reaper_exit_cb cb, void *data)
{
  int n = 0;
  for (;;)
    {
      int wait_status;
      pid_t pid = waitpid(-1, &wait_status, WNOHANG);
      if (pid < 0 && errno == EINTR)
        continue;
      if (pid <= 0)
        break;
      n++;
      /* A runtime call in flight (spawn.h): its exit is the call's, not a container's. */
      if (spawn_claim_exit(pid, wait_status))
        continue;
      if (cb == NULL || !cb(pid, wait_status, data))
        reaper_cache_put(r, pid, wait_status);
    }
  return n;
}

bool
reaper_take(struct reaper *r, pid_t pid, int *ret_status)
{
  reaper_expire(r, reaper_now());
  for (size_t i = 0; i < r->n_cache; i++)
    if (r->cache[i].pid == pid)
      {
        if (ret_status)
          *ret_status = r->cache[i].wait_status;
        reaper_remove_at(r, i);
        return true;
      }
  return false;
}
