/* Mounting CreateTaskRequest.rootfs onto <bundle>/rootfs, as containerd's mount.All does for the
 * runc shim (mount/mount_linux.go at v1.6.20).
 *
 * Each mount carries a type ("overlay", "bind", ...), a source and fstab-style options. Options
 * that name mount flags ("ro", "nosuid", "rbind", ...) become MS_* flags, the propagation words
 * ("rprivate", "shared", ...) a second mount(2) call, and everything else is joined with ',' into
 * the data string handed to the filesystem (overlay's lowerdir=..., upperdir=...). As in
 * containerd, a read-only bind is a bind followed by a MS_REMOUNT|MS_BIND|MS_RDONLY remount,
 * because the kernel ignores MS_RDONLY on the first bind mount call. */
#ifndef WEDGE_ROOTFS_H
#define WEDGE_ROOTFS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

struct rootfs_mount
{
  const char *type;
  const char *source;
  const char *const *options;
  size_t n_options;
};

struct rootfs_options
{
  unsigned long flags;       /* MS_* for the mount(2) call */
  unsigned long propagation; /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC), 0: none */
  char *data;                /* malloc'd, "" when no filesystem options */
};

/* Parses fstab-style options. "defaults" is no flag; a word that clears a flag ("rw", "suid",
 * "dev", ...) clears it when an earlier word set it. Unknown words go to data in their order.
 * Only -ENOMEM fails. */
int rootfs_parse_options(const char *const *options, size_t n, struct rootfs_options *ret, wedge_error_t *err);
void rootfs_options_clear(struct rootfs_options *o);

/* Mounts one entry on `target`. Errors: the mount(2) errno, with the message
 * "failed to mount rootfs component <type> <source> (<options>): <strerror>"; data longer than
 * a page (what mount(2) copies) is -E2BIG before anything is tried. */
int rootfs_mount_one(const struct rootfs_mount *m, const char *target, wedge_error_t *err);

/* Mounts every entry in order on `target`; on a failure, unmounts what was mounted (everything
 * stacked on target) and reports the first error. */
int rootfs_mount_all(const struct rootfs_mount *mounts, size_t n, const char *target, wedge_error_t *err);

#endif
