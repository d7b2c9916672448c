#include "taskio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

struct taskio
{
  int child_in, child_out, child_err; /* given to the runtime; -1: /dev/null */
  int stdin_writer;                   /* the shim's own writer on the stdin FIFO, until CloseIO */
};

static void
taskio_close(int *fd)
{
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

/* The child's fd must block as a normal stdio fd does; O_NONBLOCK was only for the open. It is
 * a flag of the open file description, so clear it before the runtime inherits it. */
static int
taskio_open_fifo(const char *path, int flags, int *ret, wedge_error_t *err)
{
  _cleanup_close_ int fd = open(path, flags | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "open %s", path);
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "fcntl %s", path);
  *ret = TAKE_FD(fd);
  return 0;
}

static int
taskio_scheme(const char *uri, const char **ret_path, wedge_error_t *err)
{
  const char *sep = strstr(uri, "://");
  if (sep == NULL)
    {
      *ret_path = uri;
      return 0;
    }
  if (strncmp(uri, "file://", 7) == 0)
    {
      *ret_path = uri + 7;
      return 1;
    }
  return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "unknown STDIO scheme %.*s", (int) (sep - uri), uri);
}

int
taskio_open(const char *in, const char *out, const char *errpath, bool terminal, struct taskio **ret,
            wedge_error_t *err)
{
  if (terminal)
    return wedge_error_set(err, ENOTSUP, WEDGE_UNIMPLEMENTED, "terminal: not implemented yet");

  _cleanup_free_ struct taskio *io = calloc(1, sizeof(*io));
  if (io == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "out of memory");
  io->child_in = io->child_out = io->child_err = io->stdin_writer = -1;

  int r = 0;
  const char *path = NULL;
  if (out && out[0])
    {
      r = taskio_scheme(out, &path, err);
      if (r == 1)
        {
          /* file://: stdout and stderr both append to the file, as the runc shim does. */
          io->child_out = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
          if (io->child_out < 0)
            return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "open %s", path);
          io->child_err = fcntl(io->child_out, F_DUPFD_CLOEXEC, 3);
          if (io->child_err < 0)
            r = wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "dup");
          goto done;
        }
      if (r == 0)
        r = taskio_open_fifo(path, O_WRONLY, &io->child_out, err);
      if (r < 0)
        goto done;
    }
  if (errpath && errpath[0])
    {
      r = taskio_open_fifo(errpath, O_WRONLY, &io->child_err, err);
      if (r < 0)
        goto done;
    }
  if (in && in[0])
    {
      r = taskio_open_fifo(in, O_RDONLY, &io->child_in, err);
      if (r < 0)
        goto done;
      /* Our writer keeps the FIFO from reporting EOF when the client goes away (runc shim). */
      io->stdin_writer = open(in, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (io->stdin_writer < 0)
        r = wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "open %s", in);
    }

done:
  if (r < 0)
    {
      taskio_free(TAKE_PTR(io));
      return r;
    }
  *ret = TAKE_PTR(io);
  return 0;
}

void
taskio_free(struct taskio *io)
{
  if (io == NULL)
    return;
  taskio_release_child_ends(io);
  taskio_close(&io->stdin_writer);
  free(io);
}

struct oci_stdio
taskio_stdio(const struct taskio *io)
{
  return (struct oci_stdio){ io->child_in, io->child_out, io->child_err };
}

void
taskio_release_child_ends(struct taskio *io)
{
  taskio_close(&io->child_in);
  taskio_close(&io->child_out);
  taskio_close(&io->child_err);
}

void
taskio_close_stdin(struct taskio *io)
{
  taskio_close(&io->stdin_writer);
}

int
taskio_on_drained(struct taskio *io, taskio_drained_fn cb, void *data)
{
  (void) io;
  cb(data);
  return 0;
}

int
taskio_wait(struct taskio *io, int timeout_ms)
{
  (void) io;
  (void) timeout_ms;
  return 0;
}
