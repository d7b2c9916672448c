/* Small files written whole. */
#ifndef WEDGE_FILEIO_H
#define WEDGE_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Durable state by write-temp-then-rename, as the runc shim's atomicWriteFile: `data` goes to
 * ".<name>" beside `path` (truncated first, so the temp file of a crashed writer is reused;
 * created with `mode`, so the umask applies; never through a symlink), is fsync'ed, then renamed
 * over `path`. Readers see the old file or the new one, never a part. One writer per path: two
 * processes writing the same path at once would share the temp file (the features cache, which
 * has concurrent writers, makes unique temp files of its own). On failure the temp file is
 * removed and the message names the temp file or the rename. */
int fileio_write_atomic(const char *path, const void *data, size_t len, mode_t mode, wedge_error_t *err);

/* fileio_write_atomic without the fsync: readers still see the old file or the new one, but a
 * power loss may leave either or an empty file. For files that do not outlive a boot in any
 * meaningful way, which the runc shim writes with a plain os.WriteFile: the bundle's `runtime`
 * and `options.json` (the bundle's containers die with the machine). An fsync there cost 13 ms
 * median (36 ms max) per file on the loaded test machine's disk, on the Create path. */
int fileio_write_replace(const char *path, const void *data, size_t len, mode_t mode, wedge_error_t *err);

#endif
