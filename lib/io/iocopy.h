/* Copying a container's stdio between its pipes (or its terminal) and the FIFOs containerd names.
 *
 * containerd passes three strings (the runc shim reads them in containerd 1.6.20 pkg/process/io.go
 * `createIO`; docs/protocol.md); this module handles "" (no stream) and absolute FIFO paths,
 * which the client created and opened its own ends of. The container gets anonymous pipes
 * (iocopy_runtime_stdio()); the shim copies
 *   stdout/stderr: container pipe -> FIFO        stdin: FIFO -> container pipe
 * with splice(2) when the source holds at least a page (both sides are pipes, so whole pipe
 * buffers move without a copy through user space). Smaller amounts, and everything if the kernel
 * refuses the splice, go through read/write and one fixed buffer per stream (IOCOPY_BUFFER_SIZE,
 * allocated on first use): splice never merges buffers, so a trickle of tiny writes spliced one
 * by one would fill the FIFO's 16 slots after 16 writes, where write(2) packs them into pages.
 *
 * Opening a FIFO never blocks the loop. A blocking O_WRONLY open waits for a reader, and an
 * O_WRONLY|O_NONBLOCK open fails with ENXIO while there is none, but an O_RDONLY|O_NONBLOCK open
 * always succeeds at once (fifo(7)). So:
 *   stdout/stderr: open O_RDONLY|O_NONBLOCK first, then O_WRONLY|O_NONBLOCK, which succeeds
 *                  because our own read end is a reader. The read end is kept until the stream
 *                  ends, as the runc shim keeps it: with a reader always present, writes never
 *                  fail with EPIPE when the client goes away and later re-attaches; they just
 *                  wait once the FIFO is full.
 *   stdin:         open O_RDONLY|O_NONBLOCK, then O_WRONLY|O_NONBLOCK and keep that write end,
 *                  as the runc shim does: the container does not see EOF when a client detaches,
 *                  only after CloseIO (iocopy_close_stdin()) and once every client writer closed.
 * Both opens must name the same FIFO (checked by device and inode) and it must be a FIFO; a
 * symbolic link in the last component is refused (O_NOFOLLOW), so a path pointing at a file
 * elsewhere is never opened for writing.
 *
 * Back-pressure: when the FIFO is full (slow or absent reader), the copier stops reading the
 * container's pipe until the FIFO drains; the container then blocks in write(2) on its full
 * pipe. Nothing is dropped and the shim holds no data beyond that one buffer. A FIFO nobody
 * reads stalls only its own container.
 *
 * Done: the output streams (stdout, stderr) are done when the container's pipe reached EOF (every
 * writer, including the shim's copy handed to the runtime, closed) and all of it went to the FIFO,
 * or when the stream failed. A failed write other than "FIFO full" ends the stream. The
 * callback registered with iocopy_on_done() runs once, from a loop defer after the iteration in
 * which the last output stream finished (at once, deferred, when already done), so the daemon can
 * hold the exit event until the output is drained. stdin does not count towards done.
 *
 * The shim must ignore SIGPIPE (containerd's shim does): a container that closes its stdin makes
 * the stdin copy's write fail with EPIPE, which ends the stdin stream.
 *
 * Terminal mode (cfg.terminal, `ctr run -t`): the process's stdio is a pty the runtime makes and
 * whose master it sends over a console socket (console.h); iocopy_new() opens the FIFOs and the
 * socket, the runtime is given iocopy_console_socket() and no stdio, and once the runtime call
 * returned iocopy_receive_terminal() takes the master and starts copying
 *   master -> stdout FIFO        stdin FIFO -> master
 * (no stderr: the pty is both, as with the runc shim; a stderr path is ignored). The stdin FIFO
 * is opened and kept as above. The output ends when the master answers EIO (every slave fd is
 * closed: the process and whatever inherited its terminal are gone; the kernel hands out what
 * the process wrote before that), or, after iocopy_process_exited(), as soon as the master is
 * empty (someone else still holds the slave; the runc shim ends its console copy at the exit as
 * well). Once the output is done the terminal is torn down: stdin stops and the master is closed.
 * When the stdin FIFO reaches EOF (CloseIO and the client's writer closed), the runc shim closes
 * the console and so hangs up the container's session; so do we, after copying what the master
 * holds at that moment. */
#ifndef WEDGE_IOCOPY_H
#define WEDGE_IOCOPY_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"
#include "base/loop.h"
#include "runtime/oci.h"

#define IOCOPY_BUFFER_SIZE (64 * 1024)

struct iocopy_config
{
  const char *stdin_path;  /* NULL or "": no stdin */
  const char *stdout_path; /* NULL or "": no stdout */
  const char *stderr_path; /* NULL or "": no stderr */
  /* Non-NULL: stdout and stderr are appended to this existing regular file instead (log URI
   * file://, logio.h), the paths above are not read for them. A file is not pollable and never
   * full, so its streams are written as data arrives; a failed write ends the stream. */
  const char *append_path;
  uid_t uid;               /* owner given to the container's pipe ends; (uid_t) -1: unchanged */
  gid_t gid;               /* (gid_t) -1: unchanged */
  bool terminal;           /* terminal mode (see above); a stdout path is then required */
};

struct iocopy;
struct proc;

typedef void (*iocopy_done_cb)(struct iocopy *io, void *data);

/* Creates the pipes for the non-empty streams, opens the FIFOs (never blocking) and starts
 * copying on `l`. Errors name the stream and the path ("cannot open stdout FIFO /x: ..."). */
int iocopy_new(struct loop *l, const struct iocopy_config *cfg, struct iocopy **ret, wedge_error_t *err);
/* Stops copying and closes every fd; data not copied yet is dropped. NULL is fine. */
void iocopy_free(struct iocopy *io);

/* The container's ends of the pipes, for the runtime's stdio (-1 where the stream is empty).
 * They stay owned by the copier. */
struct oci_stdio iocopy_runtime_stdio(const struct iocopy *io);
/* Closes the shim's copies of the container's ends, once the runtime has inherited them: while
 * the shim holds the write end of the stdout pipe, that pipe can never reach EOF. */
void iocopy_close_runtime_ends(struct iocopy *io);

/* CloseIO: drops the shim's own writer of the stdin FIFO, so EOF reaches the container once
 * every client writer is gone too. */
void iocopy_close_stdin(struct iocopy *io);

/* Terminal mode: the --console-socket path for the runtime (NULL otherwise, or once received). */
const char *iocopy_console_socket(const struct iocopy *io);
/* Terminal mode, after the runtime call returned: receives the master (console.h, bounded by
 * CONSOLE_RECEIVE_TIMEOUT_MS), removes the socket and starts copying. */
int iocopy_receive_terminal(struct iocopy *io, wedge_error_t *err);
/* Starts copying with `master` (taken over, also on failure); what iocopy_receive_terminal()
 * does once it has the fd. */
int iocopy_attach_terminal(struct iocopy *io, int master, wedge_error_t *err);
/* ResizePty: sets the terminal's window size; 0 without a terminal or once it is torn down. */
int iocopy_resize(struct iocopy *io, unsigned width, unsigned height, wedge_error_t *err);
/* The process was reaped: a terminal's output ends once the master is empty (see above). Nothing
 * changes without a terminal, whose pipes end at EOF. */
void iocopy_process_exited(struct iocopy *io);

/* Replaces the done callback (NULL clears it). */
void iocopy_on_done(struct iocopy *io, iocopy_done_cb cb, void *data);
bool iocopy_is_done(const struct iocopy *io);

/* Copies the output streams of this copier only (with poll(2), without running the loop) until
 * they are done or `timeout_ms` passed: 0, or -ETIMEDOUT. It blocks the caller at most
 * timeout_ms; the done callback still runs later from the loop. Meant for delete, which by then
 * normally finds the copier done and returns at once. */
int iocopy_wait(struct iocopy *io, int timeout_ms);

/* proc_io_wait_fn for lib/process/process.h: `data` is the struct iocopy *. */
int iocopy_proc_io_wait(struct proc *p, int timeout_ms, void *data);

/* A pipe for one container stream, CLOEXEC on both ends; O_NONBLOCK only on the shim's end
 * (pipe2(O_NONBLOCK) would make the container's writes fail with EAGAIN instead of blocking).
 * `container_reads`: the container gets the read end (stdin), else the write end. */
int iocopy_pipe(bool container_reads, int *ret_shim_end, int *ret_container_end, wedge_error_t *err);

#endif
