/* Reaping children as a subreaper, with an exit cache.
 *
 * After `runtime create` returns, the container's init is reparented to us
 * (PR_SET_CHILD_SUBREAPER), so its exit reaches us through SIGCHLD + waitpid(). It can exit
 * before we have read its pid file, and before a process object exists for it: the exit is then
 * kept in the cache (as conmon's ctr_exit.c keeps exits by pid) and handed over when the pid is
 * claimed. A cached exit is kept with the time it was reaped; the pid cannot be reused while the
 * exit sits unclaimed for a long time only in theory, so entries older than REAPER_CACHE_TTL_S
 * are dropped. */
#ifndef WEDGE_REAPER_H
#define WEDGE_REAPER_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"

#define REAPER_CACHE_TTL_S 60
#define REAPER_CACHE_MAX 1024

struct reaper;

/* Makes the caller a child subreaper and allocates the cache. */
int reaper_new(struct reaper **ret, wedge_error_t *err);
void reaper_free(struct reaper *r);

/* Called for each reaped pid; return true when the pid was claimed (otherwise it is cached). */
typedef bool (*reaper_exit_cb)(pid_t pid, int wait_status, void *data);

/* waitpid(-1, WNOHANG) until nothing is left to reap; returns how many were reaped. The exit of
 * a runtime call in flight goes to that call (spawn_claim_exit), never to cb or the cache. */
int reaper_collect(struct reaper *r, reaper_exit_cb cb, void *data);

/* Takes the cached exit of `pid`: true and *ret_status when there was one. */
bool reaper_take(struct reaper *r, pid_t pid, int *ret_status);

#endif
