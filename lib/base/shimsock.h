/* The shim's listening socket: its name, creation, and the `address` file.
 *
 * containerd never chooses the socket; it dials whatever `start` prints and, after a restart,
 * whatever `<bundle>/address` holds. The name only has to be stable per grouping id so that a
 * second `start` of the same group finds the running daemon. We derive it exactly as
 * containerd-shim-runc-v2 1.6.20 does (runtime/v2/shim/util_unix.go SocketAddress,
 * runtime/v2/runc/manager/manager_linux.go Start):
 *
 *   unix://<dir>/<lowercase hex SHA-256(filepath.Join(-address, namespace, groupingID))>
 *
 * with <dir> = /run/containerd/s (hard-coded defaults.DefaultStateDir + "/s"). The grouping id
 * is the first of the config.json annotations io.containerd.runc.v2.group,
 * io.kubernetes.cri.sandbox-id that is present (even empty), else the task id. */
#ifndef WEDGE_SHIMSOCK_H
#define WEDGE_SHIMSOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

#define SHIMSOCK_DEFAULT_DIR "/run/containerd/s"
#define SHIMSOCK_SCHEME "unix://"
/* sun_path is 108 bytes including the NUL. */
#define SHIMSOCK_PATH_MAX 107

/* Go's filepath.Join: the non-empty elements joined with "/" and then cleaned lexically
 * (filepath.Clean: repeated slashes collapsed, "." removed, ".." resolved against the previous
 * element, "/.." is "/", no trailing slash, "." for an empty result). All elements empty gives
 * "". Returns a malloc'd string, NULL when out of memory. */
char *shimsock_path_join(const char *const *elems, size_t n_elems);

/* Reads the grouping id from the OCI config at `config_path` (see above). Fails as the runc
 * shim does when config.json is missing or is not JSON (the message names the path); a
 * non-string annotation is ignored. *ret_group is malloc'd. */
int shimsock_group_id(const char *config_path, const char *id, char **ret_group, wedge_error_t *err);

/* Builds the socket address in `dir` (NULL: SHIMSOCK_DEFAULT_DIR). -ENAMETOOLONG when the path
 * would not fit in sun_path. *ret_address is malloc'd. */
int shimsock_address(const char *dir, const char *containerd_address, const char *namespace_, const char *group,
                     char **ret_address, wedge_error_t *err);

/* The filesystem path of a "unix://" address, or NULL for any other form (an abstract name;
 * containerd would dial "\0<name>", which we never print). */
const char *shimsock_path(const char *address);

/* Creates the socket's directory (and parents, mode 0700), binds, chmods the socket 0600 and
 * listens. The fd is SOCK_CLOEXEC. -EADDRINUSE (message names the path) when the path exists:
 * the caller decides between a running shim and a stale file (shimsock_can_connect). */
int shimsock_listen(const char *address, int *ret_fd, wedge_error_t *err);

/* true when something accepts connections at the address (a running shim of the same group).
 * Never blocks: a full backlog still counts as running. */
bool shimsock_can_connect(const char *address);

/* Removes the socket file of `address` unless something accepts connections there (a live
 * daemon of the group, shimsock_can_connect): 0 when no file is left (removed, or there was
 * none), -EADDRINUSE when a listener keeps it, another negative errno when unlink fails. `start`
 * calls it before replacing a stale socket and `delete` after a daemon is gone (see
 * docs/reliability.md, "Sockets"). Not atomic: a `start` of the same group that binds a new
 * socket between the check and the unlink loses its file; containerd does not start a group's
 * shim while it cleans up after that group's dead one. */
int shimsock_remove_stale(const char *address, wedge_error_t *err);

/* The "unix://" address a listening socket is bound to (getsockname), i.e. exactly what `start`
 * printed. -EINVAL for an unnamed or abstract socket. *ret_address is malloc'd. */
int shimsock_listener_address(int fd, char **ret_address, wedge_error_t *err);

/* Writes `address` (no newline) to `path` atomically: a temporary ".<name>" in the same
 * directory, fsync, rename, as the runc shim's WriteAddress. containerd 1.6/1.7 read it to
 * reconnect after a restart. */
int shimsock_write_address(const char *path, const char *address, wedge_error_t *err);

#endif
