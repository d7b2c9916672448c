/* containerd-shim-wedge-v2: the ways containerd runs the binary.
 *
 *   start   bring a daemon up (or find the group's running one), print its address (bare for
 *           containerd 1.x, JSON bootstrap params version 3 for 2.x: start.c), exit 0
 *   delete  clean up after a daemon that is gone, print a DeleteResponse, exit 0
 *   (none)  the daemon itself, serving the task API on the socket `start` hands it as fd 3
 *   -info   (containerd 2.0+, no other flag) print a containerd.types.RuntimeInfo, exit 0
 *
 * Files in the bundle that this binary owns (containerd owns the rest: 1.6.20 runtime/v2/bundle.go
 * `NewBundle`; the runc shim's in runtime/v2/runc/container.go `NewContainer`; docs/protocol.md):
 *   address      written by `start`, the exact string it prints
 *   start-stdin  the raw bytes `start` read on stdin (an options Any, a 2.3 BootstrapParams or
 *                nothing), for the daemon's Create; absent when empty. `start` itself reads
 *                only Options.shim_cgroup from them (runc_options_unpack_bytes)
 *   runtime      written by the daemon at Create: the OCI runtime binary name (empty = "runc"),
 *                as the runc shim does; `delete` reads it
 *   options.json written by the daemon at Create: JSON with at least "root" (runtime --root
 *                parent, default /run/containerd/runc) and "binary_name", the same names the
 *                runc shim uses for containerd.runc.v1.Options; `delete` reads it */
#ifndef WEDGE_SHIM_H
#define WEDGE_SHIM_H

#include "base/shimflags.h"
#include "base/shimlog.h"

/* The runtime name containerd resolves to this binary (io.containerd.<wedge>.<v2>); it prefixes
 * our errors on stderr and is the `runtime` field of every log line, as the runc shim's. */
#define SHIM_RUNTIME_NAME "io.containerd.wedge.v2"

/* Test-only override of the socket directory (default /run/containerd/s). containerd never
 * derives the socket path itself, it dials what `start` prints and what `address` holds, so a
 * different directory cannot confuse it; the variable only has to be the same for every
 * `start` of a group. Integration tests use it so they never touch /run/containerd. */
#define SHIM_SOCKET_DIR_ENV "WEDGE_SHIM_SOCKET_DIR"

/* Seconds the daemon waits for its first Create before it exits (default 120). containerd never
 * sets it: it is for tests, which cannot wait two minutes. */
#define SHIM_CREATE_TIMEOUT_ENV "WEDGE_SHIM_CREATE_TIMEOUT"

/* The bootstrap version `start` answers, "2" (the bare address) or "3" (the JSON params of
 * containerd 2.x's runc shim), instead of the one it works out from its caller (start.c). For a
 * containerd 2.x that `start` cannot recognise, set it through the shim manager's environment:
 * [plugins."io.containerd.shim.v1.manager"] env = ["WEDGE_SHIM_VERSION=3"]. containerd 1.6
 * fails every start with "3", 1.7 refuses it ("unsupported shim version (3)"). */
#define SHIM_VERSION_ENV "WEDGE_SHIM_VERSION"

#define SHIM_START_STDIN_FILE "start-stdin"
#define SHIM_RUNTIME_FILE "runtime"
#define SHIM_OPTIONS_FILE "options.json"
#define SHIM_DEFAULT_RUNTIME "runc"

struct shim_ctx
{
  struct shim_flags flags;
  struct shim_env env;
  struct shimlog log;    /* stderr for start/delete, the bundle's log FIFO for the daemon */
};

/* Each returns the process exit status. */
int shim_start(struct shim_ctx *ctx);
int shim_delete(struct shim_ctx *ctx);
int shim_daemon(struct shim_ctx *ctx);
int shim_info(struct shim_ctx *ctx);

#endif
