/* The shim daemon's log, in the format containerd shows for its shims.
 *
 * containerd creates `<bundle>/log` as a FIFO and holds it open O_RDWR|O_NONBLOCK before it runs
 * `start`; it copies whatever it reads there into its own log (runtime/v2/shim_unix.go
 * openShimLog). containerd-shim-runc-v2 writes logrus TextFormatter lines to it
 * (runtime/v2/shim/shim.go setLogger: RFC3339NanoFixed timestamps, FullTimestamp) with the field
 * runtime=<runtime name>, e.g.
 *
 *   time="2026-11-29T01:26:52.123456789Z" level=info msg="starting signal loop" namespace=default pid=42 runtime=io.containerd.runc.v2
 *
 * We write the same: `time`, `level`, `msg` (omitted when empty), then the other fields sorted
 * by key. A value is written bare when it only holds [A-Za-z0-9-._/@^+] (empty stays empty) and
 * otherwise quoted as Go's %q does (logrus needsQuoting/appendValue). Level names are logrus':
 * debug, info, warning, error. The time is local time with a numeric offset, "Z" for UTC, as
 * Go's time.Now().Format(RFC3339NanoFixed).
 *
 * Writing never blocks and never kills the process: the FIFO is opened O_NONBLOCK; a line that
 * does not fit in the pipe (EAGAIN) or has no reader (EPIPE, after containerd restarted) is
 * dropped and counted. The caller must have SIGPIPE ignored (the daemon does so first thing, as
 * the runc shim does); this module does not change process-wide signal state. Lines are capped
 * at PIPE_BUF bytes so that each write(2) is atomic: long messages are cut and end in "...".
 *
 * No globals: a `struct shimlog` is passed to whoever logs. A NULL logger drops everything. */
#ifndef WEDGE_SHIMLOG_H
#define WEDGE_SHIMLOG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/error.h"

enum shimlog_level
{
  SHIMLOG_ERROR = 0,
  SHIMLOG_WARN = 1,
  SHIMLOG_INFO = 2,
  SHIMLOG_DEBUG = 3,
};

struct shimlog_field
{
  const char *key;
  const char *value;
};

#define SHIMLOG_MAX_FIELDS 8
#define SHIMLOG_LINE_MAX PIPE_BUF

struct shimlog
{
  int fd;                    /* -1: no sink, lines are dropped */
  bool own_fd;               /* close fd in shimlog_close() */
  enum shimlog_level max_level;
  struct shimlog_field fields[SHIMLOG_MAX_FIELDS]; /* malloc'd copies, logged on every line */
  size_t n_fields;
  uint64_t dropped;          /* lines lost to EAGAIN/EPIPE/short writes */
};

/* A logger writing to `fd` (not owned; e.g. STDERR_FILENO for the start/delete CLI paths).
 * `debug` enables SHIMLOG_DEBUG lines; otherwise the threshold is info, as logrus' default. */
void shimlog_init_fd(struct shimlog *log, int fd, bool debug);

/* Opens `path` (the bundle's `log` FIFO) O_WRONLY|O_NONBLOCK|O_CLOEXEC as the sink. Fails with
 * -ENXIO when nobody holds the FIFO open for reading (containerd always does before `start`),
 * and with the open(2) error otherwise; the message names the path. On failure the logger is
 * left as initialised by shimlog_init_fd(log, -1, debug), so it can still be used. */
int shimlog_open(struct shimlog *log, const char *path, bool debug, wedge_error_t *err);

/* Adds a field written on every line (runtime=..., namespace=...). Copies both strings.
 * -E2BIG beyond SHIMLOG_MAX_FIELDS, -ENOMEM. */
int shimlog_add_field(struct shimlog *log, const char *key, const char *value);

/* Closes an owned fd and frees the fields. Accepts NULL. */
void shimlog_close(struct shimlog *log);

bool shimlog_enabled(const struct shimlog *log, enum shimlog_level level);

void shimlog(struct shimlog *log, enum shimlog_level level, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

/* As shimlog() with extra fields for this line only (e.g. error=..., id=...). */
void shimlog_with(struct shimlog *log, enum shimlog_level level, const struct shimlog_field *fields,
                  size_t n_fields, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Formats one line (ending in '\n', not NUL terminated) into buf, which must hold at least
 * SHIMLOG_LINE_MAX bytes. Returns its length. Pure: exposed for tests and for callers that
 * log at a time they measured themselves. */
size_t shimlog_format(const struct shimlog *log, const struct timespec *now, enum shimlog_level level,
                      const struct shimlog_field *fields, size_t n_fields, const char *msg,
                      char *buf, size_t cap);

/* logrus' level name ("warning" for SHIMLOG_WARN). */
const char *shimlog_level_name(enum shimlog_level level);

#endif
