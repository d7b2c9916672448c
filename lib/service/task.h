/* The containerd.task.v2.Task service (also served as containerd.task.v3.Task, which is the same
 * on the wire): the containers of one shim, their processes, and the events they cause.
 *
 * One task_service holds every container of the shim by id. A container owns its init process
 * (process.h), its execs, their stdio (iocopy.h), its runtime (oci.h, from the runc Options of
 * Create) and the rootfs it mounted. Handlers run on the loop thread, one at a time. A request
 * naming a process waits its turn on that process's queue and its reply goes out when its
 * runtime call (on the loop) is over, so one process's runtime calls never hold up another's
 * requests; docs/architecture.md "Runtime calls and ordering" says which request waits for which
 * (those of one process in arrival order, as the runc shim's per-process mutex orders them).
 *
 * Semantics are the runc shim's (containerd 1.6.20 runtime/v2/runc/task/service.go, 2.1
 * cmd/containerd-shim-runc-v2/task/service.go; docs/protocol.md): unknown id → NotFound
 * "container not created: not found" (`service.getContainer`; Connect never fails); unknown exec
 * → NotFound "process does not exist <exec>: not found" (runc/container.go `Container.Process`);
 * duplicate exec → AlreadyExists "id <exec>: already exists" (`service.Exec`); Create/Start/...
 * runtime failures carry the runtime's message ("OCI runtime create failed: ..."). NotFound,
 * AlreadyExists, FailedPrecondition and InvalidArgument messages end in containerd's class text
 * as errdefs.ToGRPC leaves them.
 * Checkpoint: checkpoint.h. Stats answers the cgroup metrics (metrics.h) of the init's cgroup,
 * NotFound "cgroup does not exist" without one; TaskOOM is published from Start of the init on
 * (oomwatch.h), and checked once more at its exit.
 *
 * Terminals (Create/Exec with terminal): the runtime gets a console socket and the stdio is the
 * pty it sends back (iocopy.h terminal mode); ResizePty sets its window size (a process without a
 * terminal ignores it, as with the runc shim); CloseIO drops the shim's stdin writer as without
 * one. A terminal with a checkpoint is refused (Unimplemented).
 *
 * Exits: the daemon's reaper hands every reaped pid to task_service_reap(). The process is marked
 * exited (proc_set_exited), and once its stdio is drained TaskExit is published and every
 * pending Wait is answered. An exit found while Start of that process is still being handled is
 * held until TaskStart is queued; an exit is reported once. A deleted process leaves a
 * tombstone, so a repeated Delete returns the same pid, status and time instead of NotFound.
 *
 * Events are published through events.h in the order TaskCreate < TaskStart < TaskExit <
 * TaskDelete (TaskExecAdded < TaskExecStarted < exec TaskExit). An init's TaskExit waits for the
 * TaskExit of its running execs, at most a few seconds. Each TaskExit is first written to the
 * bundle as an exit record (exitstore.h), removed once containerd took the event. */
#ifndef WEDGE_TASK_H
#define WEDGE_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"
#include "service/events.h"
#include "base/loop.h"
#include "runtime/reaper.h"
#include "base/shimlog.h"
#include "ttrpc/ttrpc.h"

#define TASK_SERVICE_V2 "containerd.task.v2.Task"
#define TASK_SERVICE_V3 "containerd.task.v3.Task"
#define TASK_TOMBSTONES_MAX 64

/* Go's zero time (0001-01-01T00:00:00Z) in Unix seconds: exited_at of a process still running. */
#define TASK_ZERO_TIME_SECONDS (-62135596800LL)

struct task_service;

struct task_service_config
{
  struct loop *loop;       /* borrowed, required: stdio copying runs on it */
  const char *namespace_;  /* containerd namespace (-namespace) */
  struct events *events;   /* borrowed, required */
  struct reaper *reaper;   /* borrowed; NULL: exits reach us only through task_service_reap */
  struct shimlog *log;     /* borrowed, may be NULL */
  const char *runtime_root; /* NULL: RUNC_OPTIONS_DEFAULT_ROOT when Options.root is empty */
  int runtime_timeout_ms;  /* per runtime call (create, start, kill, ...); <= 0: OCI_DEFAULT_TIMEOUT_MS */
  /* Called when Shutdown found no container left (after its reply is queued). */
  void (*on_shutdown)(void *data);
  void *data;
};

int task_service_new(const struct task_service_config *cfg, struct task_service **ret, wedge_error_t *err);
/* Answers pending Waits as abandoned, frees every container (it does not delete or unmount
 * anything: that is containerd's Delete). Accepts NULL. */
void task_service_free(struct task_service *ts);

/* Registers the 17 methods under both service names. */
int task_service_register(struct task_service *ts, ttrpc_server_t *server, wedge_error_t *err);

/* A reaped child. true when it was one of our processes. */
bool task_service_reap(struct task_service *ts, pid_t pid, int wait_status);

/* Containers still held (Shutdown exits only at 0). */
size_t task_service_count(const struct task_service *ts);

/* For the `delete` subcommand and tests: Options.root (or the default) + "/" + namespace. */
char *task_runtime_root(const char *options_root, const char *namespace_);

#endif
