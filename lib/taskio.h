/* stdio of one container process, as containerd names it in Create / Exec (reference §8.1).
 *
 * This is the direct mode: the process gets the client's FIFOs themselves (or a file:// file)
 * as its stdin/stdout/stderr, nothing is copied by the shim. It has the runc shim's visible
 * behaviour for the cases containerd 1.6 uses: the output reaches the client in order and the
 * client sees EOF when the last holder of the write ends (the container's processes) is gone,
 * so "exit reported after IO drained" holds by construction; the stdin FIFO is also held open
 * for writing by the shim until CloseIO, so the container does not see EOF when a client
 * detaches. What it cannot do is keep the container writing when the client went away (the
 * runc shim holds a reader; here a write then fails with EPIPE), io_uid/io_gid ownership, and
 * terminals. A copying implementation (iocopy) replaces it without changing this interface.
 *
 * Empty strings mean "not connected": that stream gets /dev/null from the runtime. A scheme
 * other than none or file:// is refused ("unknown STDIO scheme <s>"; binary:// not yet). */
#ifndef WEDGE_TASKIO_H
#define WEDGE_TASKIO_H

#include <stdbool.h>

#include "error.h"
#include "oci.h"

struct taskio;

typedef void (*taskio_drained_fn)(void *data);

/* Opens the FIFOs (the client has opened its ends before the RPC, so none of the opens
 * blocks; a missing reader is -ENXIO). */
int taskio_open(const char *in, const char *out, const char *errpath, bool terminal, struct taskio **ret,
                wedge_error_t *err);
void taskio_free(struct taskio *io);

/* The fds to give the runtime (-1: /dev/null). Borrowed. */
struct oci_stdio taskio_stdio(const struct taskio *io);

/* After the runtime has the fds (create/exec done): drops the shim's copies of the container's
 * ends, so that the client sees EOF once the container's processes are gone. */
void taskio_release_child_ends(struct taskio *io);

/* CloseIO: closes the shim's own writer of the stdin FIFO. */
void taskio_close_stdin(struct taskio *io);

/* Runs cb once everything the process wrote has been handed to the client (at once in direct
 * mode). A pending callback is dropped by taskio_free. */
int taskio_on_drained(struct taskio *io, taskio_drained_fn cb, void *data);

/* proc's io_wait hook: 0 when drained within timeout_ms. */
int taskio_wait(struct taskio *io, int timeout_ms);

#endif
