/* Exit records: a process's exit kept on disk until containerd has taken its TaskExit.
 *
 * containerd 1.6's runc shim keeps a TaskExit in memory and drops it after its sixth failed
 * send (~21 s of backoff), so an exit that happens while containerd is down for longer is lost,
 * and one that is queued when the shim dies is lost too. wedge writes each exit (container id,
 * exec id, pid, status, time) into the bundle by write-temp-then-rename before publishing it;
 * the publisher removes the record once containerd accepted the event (events_publish_durable),
 * and the `delete` subcommand reports a record still there instead of a made-up 137, so the exit
 * reaches containerd even when the shim did not survive to send it.
 *
 * Records live in the bundle, which containerd removes after the task is deleted: nothing of
 * them outlives the container. One record per process: the init's is EXITSTORE_INIT_NAME, an
 * exec's EXITSTORE_EXEC_PREFIX<exec id>.json. */
#ifndef WEDGE_EXITSTORE_H
#define WEDGE_EXITSTORE_H

#include <stdint.h>
#include <time.h>

#include "base/error.h"

#define EXITSTORE_INIT_NAME "wedge-exit.json"
#define EXITSTORE_EXEC_PREFIX "wedge-exit-"

struct exitstore_exit
{
  char *container_id;
  char *exec_id; /* "" for the init */
  uint32_t pid;
  uint32_t exit_status;
  struct timespec exited_at;
};

/* The record's path for a process of the bundle `dir`; NULL when out of memory. */
char *exitstore_path(const char *dir, const char *exec_id);

/* Writes the record atomically (readers see the whole record or none), mode 0600. */
int exitstore_write(const char *path, const struct exitstore_exit *e, wedge_error_t *err);

/* -ENOENT (WEDGE_NOT_FOUND) when there is no record; -EINVAL when it is not one of ours. The
 * strings of `ret` are allocated: release them with exitstore_exit_clear. */
int exitstore_read(const char *path, struct exitstore_exit *ret, wedge_error_t *err);

void exitstore_exit_clear(struct exitstore_exit *e);

#endif
