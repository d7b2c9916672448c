/* Small files written whole, and read whole. */
#ifndef WEDGE_FILEIO_H
#define WEDGE_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"

/* Reads `fd` until end of file or until `cap` bytes are in `buf` (EINTR retried): *ret_len.
 * -errno of a failed read, with no message: the caller names the file. Read cap = max + 1 to
 * tell a file of exactly `max` bytes from a longer one. */
int fileio_read_fd(int fd, void *buf, size_t cap, size_t *ret_len);

/* mkdir -p: creates `path` and its missing parents with `mode` (Go's os.MkdirAll, which the runc
 * shim uses for socket and log directories). An existing directory is fine. */
int fileio_mkdir_parents(const char *path, mode_t mode, wedge_error_t *err);

/* Copies the regular file `from` to `to` (created 0666 minus umask, or truncated), as Go's
 * os.Create + io.Copy. The message names the file that failed. */
int fileio_copy(const char *from, const char *to, wedge_error_t *err);

/* rm -rf `path` without following symlinks; a missing path is fine. */
int fileio_remove_tree(const char *path, wedge_error_t *err);

/* Write-temp-then-rename: `data` goes to ".<name>" beside `path` (truncated first, so the temp
 * file of a crashed writer is reused; created with `mode`, so the umask applies; never through a
 * symlink), then is renamed over `path`. Readers see the old file or the new one, never a part.
 * One writer per path: two processes writing the same path at once would share the temp file
 * (the features cache, which has concurrent writers, makes unique temp files of its own). On
 * failure the temp file is removed and the message names the temp file or the rename.
 *
 * No fsync: a power loss may leave the old file, the new one or an empty one. Everything the
 * shim writes so lives no longer than a boot: the bundle's `runtime` and `options.json`, exec
 * process files, exit records and the address file (all under containerd's state dir, /run on
 * a real host). An fsync cost 13 ms median (36 ms max) per file on the loaded test machine's
 * disk, on the Create and start paths; the runc shim writes most of these with a plain
 * os.WriteFile. */
int fileio_write_replace(const char *path, const void *data, size_t len, mode_t mode, wedge_error_t *err);

#endif
