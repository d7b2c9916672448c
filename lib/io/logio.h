/* Log URIs: the `binary://` and `file://` forms of a process's stdio, as containerd 1.6.20's runc
 * shim reads them (pkg/process/io.go createIO, NewBinaryIO). `ctr run --log-uri URI` sends the
 * URI as both stdout and stderr; the shim decides by stdout alone:
 *   no scheme (an absolute path)  FIFOs, copied by iocopy.h
 *   file:///path                   stdout and stderr appended to one file; its directory is
 *                                  created (0755) and the file too (0644); stdin as given
 *   binary:///path?k=v&k2=v2       a logging binary started at create: argv `path k v k2 v2`
 *                                  (each key with its first value, "" when it has none),
 *                                  environment exactly CONTAINER_ID=<process id> and
 *                                  CONTAINER_NAMESPACE=<namespace>, stdin/stdout/stderr
 *                                  /dev/null, the read ends of the process's stdout and stderr
 *                                  pipes as fds 3 and 4, and fd 5 the write end of a pipe it
 *                                  closes (or writes to) when ready; create waits for that.
 *                                  No stdin reaches the process.
 *   any other scheme               "unknown STDIO scheme <s>"
 * The scheme is recognised as Go's url.Parse does (letters, then letters, digits, "+-.", then
 * ':'); the path and query are percent-decoded, the query's '+' is a space.
 *
 * Differences from the runc shim, deliberate: query arguments keep their order (Go iterates a
 * map); the shim closes its copies of the pipes' write ends once the runtime has them, so the
 * logger sees EOF when the process and whatever inherited its stdout are gone (the runc shim
 * holds them until delete); a logger that does not become ready within LOGIO_READY_TIMEOUT_MS is
 * killed and create fails (the runc shim waits forever). At free, a logger still running gets
 * SIGTERM and LOGIO_STOP_TIMEOUT_MS to exit, then SIGKILL (the runc shim's 12 s), and is reaped. */
#ifndef WEDGE_LOGIO_H
#define WEDGE_LOGIO_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"
#include "runtime/oci.h"

#define LOGIO_READY_TIMEOUT_MS (120 * 1000)
#define LOGIO_STOP_TIMEOUT_MS (12 * 1000)

enum logio_scheme
{
  LOGIO_FIFO = 0,
  LOGIO_FILE,
  LOGIO_BINARY,
};

struct logio_uri
{
  enum logio_scheme scheme;
  char *path;  /* FIFO: NULL (the caller keeps its string); else the decoded path */
  char **args; /* binary: key, value, ... from the query, NULL-terminated; NULL otherwise */
};

/* Parses a stdout string. "" and absolute paths are LOGIO_FIFO. */
int logio_uri_parse(const char *s, struct logio_uri *ret, wedge_error_t *err);
void logio_uri_clear(struct logio_uri *u);

/* file://: creates the directory and the file (append mode), as the runc shim does before it
 * opens the file for both streams. Errors name the path. */
int logio_file_prepare(const char *path, wedge_error_t *err);

struct logio; /* a started logging binary */

struct logio_config
{
  const struct logio_uri *uri; /* LOGIO_BINARY */
  const char *id;              /* CONTAINER_ID: the container id, or the exec id for an exec */
  const char *namespace_;      /* CONTAINER_NAMESPACE */
};

/* Starts the binary and waits until it is ready. Errors: "failed to start binary process:
 * cannot run '<path>': <reason>" (missing, not executable), "failed to read from logging
 * binary: ...", or the ready timeout. */
int logio_start(const struct logio_config *cfg, struct logio **ret, wedge_error_t *err);
/* SIGTERM, up to LOGIO_STOP_TIMEOUT_MS, SIGKILL, reap; nothing when it exited already. NULL ok. */
void logio_free(struct logio *l);

/* `base` with stdout and stderr replaced by the process's ends of the logger's pipes (`l` NULL:
 * `base` unchanged). */
struct oci_stdio logio_runtime_stdio(const struct logio *l, struct oci_stdio base);
/* Drops our copies of the process's ends once the runtime has inherited them. NULL ok. */
void logio_close_runtime_ends(struct logio *l);

/* A pid the reaper collected: true when it was this logger (it is then not waited for again). */
bool logio_claim(struct logio *l, pid_t pid);
pid_t logio_pid(const struct logio *l);

#endif
