/* The OCI runtime's own error message, from its JSON log (runc/crun `--log F --log-format json`).
 *
 * Both runc and crun append to the log for every call of a container, so the file grows with
 * stale errors. The caller records the file size before the call (runtime_log_offset) and asks for
 * the last error record written after that offset (runtime_log_last_error). Records are one JSON
 * object per line: runc writes {"level","msg","time"}, crun {"msg","level","time"}, youki
 * {"level":"ERROR","message",...}. `level` is matched case-insensitively, `msg` or `message` is
 * taken, lines that are not JSON objects are skipped, a last line without newline is read. */
#ifndef WEDGE_RUNTIME_LOG_H
#define WEDGE_RUNTIME_LOG_H

#include <stddef.h>
#include <sys/types.h>

/* Size of the file now, or 0 when it does not exist. */
off_t runtime_log_offset(const char *path);

/* The `msg` of the last record with level "error" in buf[0..len), whitespace-trimmed and
 * malloc'd; NULL when there is none. */
char *runtime_log_last_error_buf(const char *buf, size_t len);

/* The same for the bytes of `path` from `offset` on (at most the last 1 MiB of them).
 * NULL when the file is missing, unchanged, or has no error record. */
char *runtime_log_last_error(const char *path, off_t offset);

#endif
