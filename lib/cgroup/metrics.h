/* A container's cgroup statistics as the Stats reply carries them: io.containerd.cgroups.v1.Metrics
 * on a v1 or hybrid host, io.containerd.cgroups.v2.Metrics on a unified one, filled from the same
 * files and with the same rules as github.com/containerd/cgroups in containerd 1.6.20, so that
 * `ctr task metrics` prints the same rows for wedge as for the runc shim.
 *
 * v1 (cgroups.Cgroup.Stat with IgnoreNotExist): a controller whose files are missing is left out
 * (its message stays NULL), cpu is always present (usage and throttling, zero when neither cpu
 * nor cpuacct is readable); memory with usage/memsw/kmem/kmem.tcp entries (memsw skipped when
 * swap accounting is off), memory_oom_control, pids (limit 0 for "max"), blkio (the CFQ
 * *_recursive files, else throttle.io_serviced / throttle.io_service_bytes, devices named from
 * /proc/partitions), hugetlb for every size in /sys/kernel/mm/hugepages. A malformed file is an
 * error (Internal), as there.
 *
 * v2 (cgroupsv2.Manager.Stat): pids, cpu, memory, io, rdma (empty) and hugetlb are always present,
 * memory_events only when memory.events is readable; cpu.stat and memory.stat are read only when
 * their controller is listed in cgroup.controllers; "max" reads as UINT64_MAX except pids.max.
 *
 * The messages returned are allocated as protobuf-c's unpacker would allocate them: free them with
 * protobuf_c_message_free_unpacked(&m->base, NULL). */
#ifndef WEDGE_METRICS_H
#define WEDGE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "cgroup/cgroup.h"
#include "cgroups_v1_metrics.pb-c.h"
#include "cgroups_v2_metrics.pb-c.h"
#include "base/error.h"

#define METRICS_V1_TYPE_URL "io.containerd.cgroups.v1.Metrics"
#define METRICS_V2_TYPE_URL "io.containerd.cgroups.v2.Metrics"

/* Where the v1 reader looks besides the cgroup (tests point them at fixtures). NULL members
 * take the host's files. */
struct metrics_v1_host
{
  const char *partitions;    /* /proc/partitions */
  const char *hugepages_dir; /* /sys/kernel/mm/hugepages */
};

int metrics_v1_read(const struct cgroup *cg, const struct metrics_v1_host *host, Io__Containerd__Cgroups__V1__Metrics **ret,
                    wedge_error_t *err);
int metrics_v2_read(const struct cgroup *cg, Io__Containerd__Cgroups__V2__Metrics **ret, wedge_error_t *err);

/* The packed message for the Stats reply's Any: v1 or v2 after cg->mode, with its type URL. */
int metrics_pack(const struct cgroup *cg, uint8_t **ret_data, size_t *ret_len, const char **ret_type_url,
                 wedge_error_t *err);

#endif
