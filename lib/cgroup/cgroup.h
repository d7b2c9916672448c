/* A container's cgroup: which hierarchy the host uses and where the container's directories are.
 *
 * As containerd 1.6.20's runc shim, the cgroup is found from the init's pid (/proc/<pid>/cgroup),
 * not from config.json's cgroupsPath: the runtime resolves cgroupsPath (systemd "slice:prefix:name"
 * included) and the kernel's answer for the pid is what it made of it. The host is "unified" only
 * when /sys/fs/cgroup itself is a cgroup2 mount (containerd's cgroups.Mode() == Unified); a hybrid
 * host (cgroup v1 controllers plus /sys/fs/cgroup/unified) is read as v1, as the runc shim does.
 *
 * v1: each controller's directory is its mountpoint (from /proc/self/mountinfo, the cgroup mount
 * whose super options name the controller, "cpu,cpuacct" co-mounts included) joined with the
 * controller's path from /proc/<pid>/cgroup, relative to the mount's root. A controller that is
 * not mounted has no directory (NULL). Directories are not checked for existence here: readers
 * treat a missing file as a missing controller (the runc shim's IgnoreNotExist). */
#ifndef WEDGE_CGROUP_H
#define WEDGE_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

enum cgroup_mode
{
  CGROUP_MODE_V1 = 1, /* legacy or hybrid */
  CGROUP_MODE_UNIFIED,
};

/* The v1 controllers whose statistics the runc shim reports. */
enum cgroup_controller
{
  CGROUP_CPU,
  CGROUP_CPUACCT,
  CGROUP_MEMORY,
  CGROUP_PIDS,
  CGROUP_BLKIO,
  CGROUP_HUGETLB,
  CGROUP_N_CONTROLLERS,
};

struct cgroup
{
  enum cgroup_mode mode;
  char *path;                        /* unified: the cgroup's directory */
  char *dirs[CGROUP_N_CONTROLLERS];  /* v1: each controller's directory, NULL when not mounted */
};

/* "cpu", "memory", ... (the name in /proc/<pid>/cgroup and in mount options). */
const char *cgroup_controller_name(enum cgroup_controller c);

/* CGROUP_MODE_UNIFIED when `root` is a cgroup2 mount, CGROUP_MODE_V1 otherwise. */
int cgroup_detect_mode(const char *root, enum cgroup_mode *ret_mode, wedge_error_t *err);

/* The cgroup of `pid` on this host. NotFound when the process is gone. */
int cgroup_load_pid(pid_t pid, struct cgroup **ret, wedge_error_t *err);

/* The same from the text of /proc/<pid>/cgroup and /proc/self/mountinfo (unified: `v2_root` is
 * where the unified hierarchy is mounted, mountinfo is not read). InvalidArgument when the
 * pid's cgroup file has no line for the hierarchy asked for. */
int cgroup_load_text(enum cgroup_mode mode, const char *proc_cgroup, const char *mountinfo, const char *v2_root,
                     struct cgroup **ret, wedge_error_t *err);

/* `dir` + "/" + `file` of a controller (v1) or of the unified directory (`c` ignored). NULL when
 * that controller has no directory or on ENOMEM (errno says which). */
char *cgroup_file(const struct cgroup *cg, enum cgroup_controller c, const char *file);

/* The whole of a small kernel file (cgroup files, /proc/<pid>/cgroup, mountinfo), NUL
 * terminated, at most CGROUP_FILE_MAX bytes (EFBIG beyond). Returns the length. A missing file is
 * -ENOENT with NotFound, so callers can skip it as the runc shim skips absent controllers. */
#define CGROUP_FILE_MAX (4 << 20)
ssize_t cgroup_read_file(const char *path, char **ret, wedge_error_t *err);

/* Unified only (0 on v1): enables every controller of the hierarchy's root (`v2_root`/
 * cgroup.controllers) in the cgroup.subtree_control of each ancestor of the cgroup below
 * `v2_root`, so the container's cgroup has them all, as the runc shim does at Start
 * (cgroupsv2 ToggleControllers). Every ancestor is tried; the error of the last one that
 * failed is returned, as there (an ancestor we may not write often has them already). */
int cgroup_enable_controllers(const struct cgroup *cg, const char *v2_root, wedge_error_t *err);

/* Moves process `pid` into the cgroup `path`, as containerd's runc shim moves its daemon into
 * Options.shim_cgroup at `start` (1.6.20 manager_linux.go: cgroups.Load(V1, StaticPath(path)) or
 * cgroupsv2.LoadManager("/sys/fs/cgroup", path), then Add/AddProc; 2.x the same). Nothing is
 * created: the cgroup is the administrator's, and one that does not exist is an error.
 *  - unified (/sys/fs/cgroup is cgroup2): `path` must be absolute and clean ("/a/b"; not "a",
 *    "/a/", "/a/../b") and not below /sys/fs/cgroup, else "failed to load cgroup P: invalid
 *    group path ..."; the pid goes to <root>/<path>/cgroup.procs.
 *  - v1 and hybrid: <root> is the parent of the first cgroup v1 mount in /proc/self/mountinfo.
 *    The pid goes to <root>/<s>/<path>/cgroup.procs for each subsystem s the runc shim knows
 *    (systemd for name=systemd, freezer, pids, net_cls, net_prio, perf_event, cpuset, cpu,
 *    cpuacct, memory, blkio, rdma, devices unless in a user namespace, hugetlb) whose directory
 *    exists; the others are skipped, and a hybrid host's cgroup2 is left alone, as there.
 *    "failed to load cgroup P: ..." when it exists in none. `path` may be relative (it is joined
 *    below each subsystem); a ".." component is refused (the runc shim would leave the hierarchy).
 * The first write that fails is the error, "failed to join cgroup P: write <file>: <reason>"
 * (cpuset refuses a cgroup without cpus/mems: ENOSPC); the caller kills the process then, as the
 * runc shim does, so a half-done move does not matter. */
int cgroup_attach_pid(const char *path, pid_t pid, wedge_error_t *err);

/* The same on a tree below `root` (unified: the cgroup2 mount; v1: the parent of the v1 mounts),
 * for tests on stand-in directories. */
int cgroup_attach_pid_at(enum cgroup_mode mode, const char *root, const char *path, pid_t pid, wedge_error_t *err);

/* The parent directory of the first cgroup v1 mount in `mountinfo` (containerd's
 * v1MountPoint): where the runc shim looks for <subsystem>/<path>. -ENOENT (NotFound) when
 * there is none. */
int cgroup_v1_root(const char *mountinfo, char **ret, wedge_error_t *err);

/* Accepts NULL. */
void cgroup_free(struct cgroup *cg);

#endif
