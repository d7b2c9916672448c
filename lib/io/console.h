/* The console socket: how a process with a terminal hands its pty master to the shim.
 *
 * With `process.terminal: true` the runtime (runc, crun) makes the pty inside the container, makes
 * the slave the process's stdin/stdout/stderr and controlling terminal, and sends the master over
 * the AF_UNIX socket named by `--console-socket`: it connects, sends one message whose data is an
 * informational name ("/dev/ptmx" from runc 1.1.5's libcontainer/utils/cmsg.go `SendFd`, " "
 * from crun 1.8.1's src/libcrun/utils.c `send_fd_to_socket_with_payload`) with one SCM_RIGHTS
 * fd, and closes its copy (docs/protocol.md). Both runc 1.1.5 and crun 1.8.1 do that before
 * `create` / `exec --detach` exits: the connection waits in the listen backlog and the message in
 * the socket buffer until the shim accepts, which is what containerd's runc shim relies on (it
 * accepts only after the runtime call returned: containerd 1.6.20 pkg/process/init.go
 * `Init.Create`). So a receive after the runtime call finds the master at once; its timeout only
 * bounds a runtime that does not behave.
 *
 * The socket lives in a fresh directory of its own, mode 0700, so nobody but our uid can connect
 * (the runc shim's go-runc makes a `pty*` temp dir the same way, under $XDG_RUNTIME_DIR or the
 * temp dir). Every fd is CLOEXEC; the received master too (MSG_CMSG_CLOEXEC). */
#ifndef WEDGE_CONSOLE_H
#define WEDGE_CONSOLE_H

#include "base/error.h"

/* How long a receive waits after the runtime call returned (see above). */
#define CONSOLE_RECEIVE_TIMEOUT_MS 2000
/* The payload (the pty's name) is informational; runc refuses names of 4096 bytes or more. */
#define CONSOLE_NAME_MAX 4096
#define CONSOLE_SOCKET_NAME "pty.sock"

struct console_socket;

/* Makes `<base>/wedge-pty.XXXXXX/pty.sock` and listens on it. `base` NULL: $XDG_RUNTIME_DIR,
 * else $TMPDIR, else /tmp (when absolute). Fails with -ENAMETOOLONG when the path does not fit a
 * sockaddr_un. */
int console_socket_new(const char *base, struct console_socket **ret, wedge_error_t *err);
/* Closes the socket, removes it and its directory. Accepts NULL. */
void console_socket_free(struct console_socket *cs);

/* The path to give the runtime as --console-socket. */
const char *console_socket_path(const struct console_socket *cs);

/* Accepts the runtime's connection and receives the master from it, waiting at most timeout_ms
 * in all. The fd is CLOEXEC and a terminal. -ETIMEDOUT (DeadlineExceeded) when nothing arrived;
 * see console_receive_fd() for the other refusals. */
int console_socket_receive(struct console_socket *cs, int timeout_ms, int *ret_master, wedge_error_t *err);

/* Receives the master on a connected stream socket `conn`, waiting at most timeout_ms for the
 * message. Refused (-EBADMSG, Internal, nothing left open): a peer that closes without sending,
 * a message without exactly one fd (extra fds are closed), a truncated name or control part,
 * an fd that is not a terminal. */
int console_receive_fd(int conn, int timeout_ms, int *ret_master, wedge_error_t *err);

/* TIOCSWINSZ on the master: the kernel sends SIGWINCH to the terminal's foreground process
 * group when the size changes. Sizes above 65535 are refused (-EINVAL). */
int console_resize(int master, unsigned width, unsigned height, wedge_error_t *err);

#endif
