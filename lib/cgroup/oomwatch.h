/* Watches a container's memory cgroup for OOM kills on the shim's loop, as containerd 1.6.20's
 * runc shim does (pkg/oom/v1, pkg/oom/v2), and calls back once per OOM to be published as TaskOOM.
 *
 * v1: an eventfd registered through cgroup.event_control on memory.oom_control; the kernel signals
 * it on every OOM of the cgroup, and also when the cgroup is removed (then the watch stops
 * quietly). v2: inotify on memory.events; an OOM is an increase of its oom_kill counter.
 *
 * Both keep the last oom_kill count they reported (v1's memory.oom_control has one since Linux
 * 4.13), so oomwatch_check() at the init's exit, before TaskExit, reports an OOM kill whose
 * notification the loop has not dispatched yet, and the notification arriving afterwards is not
 * reported twice. A v1 notification without a counter increase (an OOM with the killer
 * disabled, or a kernel without the counter) is still reported, as the runc shim reports it. */
#ifndef WEDGE_OOMWATCH_H
#define WEDGE_OOMWATCH_H

#include <stdint.h>

#include "cgroup/cgroup.h"
#include "base/error.h"
#include "base/loop.h"

struct oomwatch;

typedef void (*oomwatch_cb)(void *data);

/* NotFound when the cgroup has no memory controller (nothing to watch). */
int oomwatch_new(struct loop *l, const struct cgroup *cg, oomwatch_cb cb, void *data, struct oomwatch **ret,
                 wedge_error_t *err);

/* Reads the notification and the counter now (without waiting for the loop) and calls back once
 * when an OOM happened that was not reported yet. */
void oomwatch_check(struct oomwatch *w);

/* The oom_kill counter of the cgroup (v1 memory.oom_control, v2 memory.events); -ENOENT when the
 * cgroup or the counter is missing. */
int oomwatch_read_count(const struct cgroup *cg, uint64_t *ret);

/* Unregisters and closes. Accepts NULL. */
void oomwatch_free(struct oomwatch *w);

#endif
