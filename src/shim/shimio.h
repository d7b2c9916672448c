/* containerd-shim-wedge-v2: what its commands say to containerd on the shim's own stdio.
 * containerd reads `start`'s address, `delete`'s DeleteResponse and `-info`'s RuntimeInfo on
 * stdout and puts stderr into its error when the command fails; `start` and `delete` get the
 * runtime options (or 2.x's BootstrapParams) on stdin. Shared by start.c, delete.c, info.c and
 * daemon.c, so that none of them calls into main.c. */
#ifndef WEDGE_SHIMIO_H
#define WEDGE_SHIMIO_H

#include <stddef.h>

#include "base/error.h"

/* All of stdin (at most 1 MiB, else -EFBIG) into a malloc'd *ret_buf; a closed fd 0 reads as
 * empty. */
int shim_read_stdin(char **ret_buf, size_t *ret_len, wedge_error_t *err);

/* Writes all of buf to stdout (containerd reads the protobuf answers of delete and -info
 * there). */
int shim_write_stdout(const void *buf, size_t len, wedge_error_t *err);

/* Prints "<runtime name>: <message>" on stderr, the way the runc shim reports failures. */
void shim_report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
