/* Pid files written by OCI runtimes (--pid-file): a decimal pid. runc writes it atomically
 * without a newline; crun truncates and writes. We tolerate surrounding whitespace and nothing
 * else. */
#ifndef WEDGE_PIDFILE_H
#define WEDGE_PIDFILE_H

#include <sys/types.h>

#include "base/error.h"

/* Parses buf[0..len): returns the pid (> 0) or -EINVAL with a message quoting the content. */
pid_t pidfile_parse(const char *buf, size_t len, wedge_error_t *err);

/* Reads and parses `path`. -ENOENT (NotFound) when the file is missing, -EINVAL when the content
 * is not a pid. The message names the path. */
pid_t pidfile_read(const char *path, wedge_error_t *err);

#endif
