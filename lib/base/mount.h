/* Mounts of a container's rootfs. */
#ifndef WEDGE_MOUNT_H
#define WEDGE_MOUNT_H

#include "base/error.h"

/* Unmounts everything stacked on `target` (umount2 until it is no longer a mount point), as the
 * runc shim's mount.UnmountAll does. A missing target is fine. EBUSY is retried briefly, then
 * reported with the path. */
int mount_unmount_all(const char *target, wedge_error_t *err);

/* 1 when `path` is a mount point (from /proc/self/mountinfo, after resolving symlinks), 0 when
 * not, a negative errno when `path` cannot be resolved or mountinfo read. */
int mount_is_mountpoint(const char *path);

/* The mount point field of one /proc/self/mountinfo line, unescaped, inside `line` (which is
 * modified); NULL when the line has fewer than five fields. */
char *mount_info_mount_point(char *line);

#endif
